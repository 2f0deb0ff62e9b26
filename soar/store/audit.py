"""The hash-chained audit log: each entry hashes the previous one, so an edit breaks the chain.

Entries are appended in batches: ``audit()`` queues an entry on the session, and when the transaction
commits, one listener takes the chain's write lock, reads the chain head once and inserts every queued
entry, chained in memory, in one statement. Taking the lock first keeps the chain linear with any number
of writers: on PostgreSQL ``LOCK TABLE audit_log``, taken and followed by the head read in one call of the
function ``soar_audit_chain_head()`` (migration a7c3e91f2b64); on SQLite the database write lock, which
the transaction already holds once it has written anything (otherwise a no-op write takes it).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from soar.store.models import AuditRecord
from soar.telemetry.events import utcnow

GENESIS = "0" * 64
_PENDING = "soar.audit.pending"

Entry = tuple[datetime, str, str, str, dict[str, Any]]


def _entry_hash(prev_hash: str, ts: str, actor: str, action: str, target: str, data: dict[str, Any]) -> str:
    body = orjson.dumps(
        {"prev": prev_hash, "ts": ts, "actor": actor, "action": action, "target": target, "data": data},
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(body).hexdigest()


async def audit(
    session: AsyncSession, actor: str, action: str, target: str, data: dict[str, Any] | None = None
) -> None:
    """Append one entry. Call inside the transaction that makes the change it records.

    The entry is written, chained, when that transaction commits (and dropped if it rolls back); it costs
    no round trip here.
    """
    data = orjson.loads(orjson.dumps(data or {}, default=str))
    pending: list[Entry] = session.info.setdefault(_PENDING, [])
    pending.append((utcnow(), actor, action, target, data))


def _lock_chain_and_read_head(session: Session) -> str:
    """Take the chain's lock, then read its head (the last entry's hash, or GENESIS)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":  # one round trip: the function locks, then reads with a fresh snapshot
        return conn.execute(text("SELECT soar_audit_chain_head()")).scalar() or GENESIS
    if conn.dialect.name == "sqlite":
        dbapi = conn.connection.dbapi_connection
        in_tx = getattr(getattr(dbapi, "_connection", dbapi), "in_transaction", None)
        if not in_tx:  # nothing written yet: SQLite opens the transaction (and its write lock) at the first write
            conn.execute(text("UPDATE audit_log SET seq = seq WHERE 0"))
    return session.execute(select(AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)).scalar() or GENESIS


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    """Chain and insert the transaction's queued entries: one lock, one head read, one insert."""
    pending: list[Entry] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()  # the transaction's own changes first (on SQLite this takes the write lock)
    prev = _lock_chain_and_read_head(session)
    rows = []
    for ts, actor, action, target, data in pending:
        h = _entry_hash(prev, ts.isoformat(), actor, action, target, data)
        rows.append({"ts": ts, "actor": actor, "action": action, "target": target, "data": data, "prev_hash": prev})
        rows[-1]["hash"] = prev = h
    # one executemany without RETURNING: rows get ascending seq in list order (the ORM would send one per row)
    session.execute(insert(AuditRecord).execution_options(render_nulls=True), rows)


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    """A rolled-back transaction's entries go with it."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


async def verify_chain(session: AsyncSession) -> tuple[bool, int]:
    """Recompute the chain; returns (intact, entries checked). Stops at the first broken link."""
    prev = GENESIS
    n = 0
    for rec in (await session.execute(select(AuditRecord).order_by(AuditRecord.seq))).scalars():
        expect = _entry_hash(prev, rec.ts.isoformat(), rec.actor, rec.action, rec.target, rec.data)
        if rec.prev_hash != prev or rec.hash != expect:
            return False, n
        prev = rec.hash
        n += 1
    return True, n
