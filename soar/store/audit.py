"""The hash-chained audit log: each entry hashes the previous one, so an edit breaks the chain."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from soar.store.models import AuditRecord
from soar.telemetry.events import utcnow

GENESIS = "0" * 64


def _entry_hash(prev_hash: str, ts: str, actor: str, action: str, target: str, data: dict[str, Any]) -> str:
    body = orjson.dumps(
        {"prev": prev_hash, "ts": ts, "actor": actor, "action": action, "target": target, "data": data},
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(body).hexdigest()


async def audit(
    session: AsyncSession, actor: str, action: str, target: str, data: dict[str, Any] | None = None
) -> AuditRecord:
    """Append one entry. Call inside the transaction that makes the change it records.

    On PostgreSQL the table is locked for the append so that two writers cannot fork the chain.
    """
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        from sqlalchemy import text

        await session.execute(text("LOCK TABLE audit_log IN EXCLUSIVE MODE"))
    prev = (await session.execute(select(AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1))).scalar()
    prev_hash = prev or GENESIS
    ts = utcnow()
    data = orjson.loads(orjson.dumps(data or {}, default=str))
    rec = AuditRecord(
        ts=ts,
        actor=actor,
        action=action,
        target=target,
        data=data,
        prev_hash=prev_hash,
        hash=_entry_hash(prev_hash, ts.isoformat(), actor, action, target, data),
    )
    session.add(rec)
    await session.flush()
    return rec


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
