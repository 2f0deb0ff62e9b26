"""The memory ledger: versions of each (agent, store, key), taint marks, and the last good state.

Versions are numbered per (agent, store, key) in the order writes are recorded; the worker records writes
in partition order, which is per-agent event order.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from soar.store.models import MemoryVersionRecord
from soar.telemetry.events import MemoryWriteEvent

#: store -> key -> value to restore (None: delete the key)
MemoryState = dict[str, dict[str, str | None]]


def value_hash(value: str | None) -> str:
    """sha256 hex of a value as agents compute it for ``memory_read`` ('' for a deleted key)."""
    return "" if value is None else hashlib.sha256(value.encode()).hexdigest()


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    mod = postgresql if dialect == "postgresql" else sqlite
    return mod.insert(MemoryVersionRecord).on_conflict_do_nothing(index_elements=["event_id"])


async def record_writes(session: AsyncSession, events: Sequence[MemoryWriteEvent]) -> int:
    """Record memory writes as new versions in one batch; idempotent on ``event_id``. Returns rows added."""
    if not events:
        return 0
    ids = list(dict.fromkeys(str(e.event_id) for e in events))
    seen = set(
        (await session.execute(select(MemoryVersionRecord.event_id).where(MemoryVersionRecord.event_id.in_(ids))))
        .scalars()
        .all()
    )
    fresh: list[MemoryWriteEvent] = []
    for e in events:
        if str(e.event_id) not in seen:
            seen.add(str(e.event_id))
            fresh.append(e)
    if not fresh:
        return 0
    agents = {e.agent_id for e in fresh}
    keys = {e.payload.key for e in fresh}
    rows = await session.execute(
        select(
            MemoryVersionRecord.agent_id,
            MemoryVersionRecord.store,
            MemoryVersionRecord.key,
            func.max(MemoryVersionRecord.version),
        )
        .where(MemoryVersionRecord.agent_id.in_(agents), MemoryVersionRecord.key.in_(keys))
        .group_by(MemoryVersionRecord.agent_id, MemoryVersionRecord.store, MemoryVersionRecord.key)
    )
    latest: dict[tuple[str, str, str], int] = {(a, s, k): v for a, s, k, v in rows.all()}
    values: list[dict[str, Any]] = []
    for e in fresh:
        slot = (e.agent_id, e.payload.store, e.payload.key)
        latest[slot] = latest.get(slot, 0) + 1
        prov = e.payload.provenance
        values.append(
            {
                "event_id": str(e.event_id),
                "agent_id": e.agent_id,
                "store": e.payload.store,
                "key": e.payload.key,
                "version": latest[slot],
                "value": e.payload.value,
                "value_hash": value_hash(e.payload.value),
                "source": prov.source,
                "origin": prov.origin,
                "cause_event_id": str(prov.event_id) if prov.event_id else None,
                "ts": e.ts,
                "tainted": False,
            }
        )
    await session.execute(_insert(session), values)
    return len(values)


async def tainted_versions(
    session: AsyncSession, agent_id: str, event_ids: Iterable[uuid.UUID | str]
) -> list[MemoryVersionRecord]:
    """The ledger versions written by ``event_ids`` for ``agent_id`` (ids not in the ledger are ignored)."""
    ids = list({str(i) for i in event_ids})
    if not ids:
        return []
    q = select(MemoryVersionRecord).where(
        MemoryVersionRecord.agent_id == agent_id, MemoryVersionRecord.event_id.in_(ids)
    )
    return list((await session.execute(q)).scalars())


async def mark_tainted(session: AsyncSession, agent_id: str, event_ids: Iterable[uuid.UUID | str]) -> int:
    """Mark the versions written by ``event_ids`` tainted; returns how many were newly marked."""
    ids = list({str(i) for i in event_ids})
    if not ids:
        return 0
    result = await session.execute(
        update(MemoryVersionRecord)
        .where(
            MemoryVersionRecord.agent_id == agent_id,
            MemoryVersionRecord.event_id.in_(ids),
            MemoryVersionRecord.tainted.is_(False),
        )
        .values(tainted=True)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def last_good_state(
    session: AsyncSession, agent_id: str, tainted_event_ids: Iterable[uuid.UUID | str]
) -> MemoryState:
    """For each key a tainted write touched: the latest untainted value before the first tainted write.

    ``None`` means the key had no good version before it and should be deleted. Versions already marked
    tainted are skipped too, so rolling back twice gives the same answer.
    """
    bad = await tainted_versions(session, agent_id, tainted_event_ids)
    first_bad: dict[tuple[str, str], int] = {}
    for v in bad:
        slot = (v.store, v.key)
        first_bad[slot] = min(first_bad.get(slot, v.version), v.version)
    state: MemoryState = {}
    if not first_bad:
        return state
    stores = {s for s, _ in first_bad}
    keys = {k for _, k in first_bad}
    bad_ids = {v.event_id for v in bad}
    q = (
        select(MemoryVersionRecord)
        .where(
            MemoryVersionRecord.agent_id == agent_id,
            MemoryVersionRecord.store.in_(stores),
            MemoryVersionRecord.key.in_(keys),
            MemoryVersionRecord.tainted.is_(False),
        )
        .order_by(MemoryVersionRecord.version)
    )
    good: dict[tuple[str, str], str | None] = {}
    for v in (await session.execute(q)).scalars():
        slot = (v.store, v.key)
        if slot in first_bad and v.version < first_bad[slot] and v.event_id not in bad_ids:
            good[slot] = v.value
    for slot in sorted(first_bad):
        store, key = slot
        state.setdefault(store, {})[key] = good.get(slot)
    return state


async def history(session: AsyncSession, agent_id: str, store: str, key: str) -> list[MemoryVersionRecord]:
    """Every version of one key, oldest first."""
    q = (
        select(MemoryVersionRecord)
        .where(
            MemoryVersionRecord.agent_id == agent_id, MemoryVersionRecord.store == store, MemoryVersionRecord.key == key
        )
        .order_by(MemoryVersionRecord.version)
    )
    return list((await session.execute(q)).scalars())


async def position(session: AsyncSession, agent_id: str) -> tuple[int, int]:
    """The agent's ledger position (highest version row id, 0 when empty) and how many keys it has written."""
    row = (
        await session.execute(
            select(func.max(MemoryVersionRecord.id), func.count(func.distinct(MemoryVersionRecord.key))).where(
                MemoryVersionRecord.agent_id == agent_id
            )
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


async def taint_closure(session: AsyncSession, agent_id: str, seeds: Iterable[uuid.UUID | str]) -> set[str]:
    """The agent's memory writes derived from ``seeds``: written by a seed event, or caused by a derived write.

    Follows ``provenance.event_id`` links transitively (a write caused by reading a poisoned note is itself
    poisoned); writes with no link to the chain are left out, however late they came.
    """
    frontier = {str(s) for s in seeds}
    tainted: set[str] = set()
    seen: set[str] = set()
    while frontier:
        seen |= frontier
        q = select(MemoryVersionRecord.event_id).where(
            MemoryVersionRecord.agent_id == agent_id,
            (MemoryVersionRecord.event_id.in_(frontier)) | (MemoryVersionRecord.cause_event_id.in_(frontier)),
        )
        found = set((await session.execute(q)).scalars())
        tainted |= found
        frontier = found - seen
    return tainted


async def clean_state(session: AsyncSession, agent_id: str, tainted_event_ids: Iterable[str]) -> MemoryState:
    """For each key a tainted write touched whose current value is tainted: its latest untainted value.

    Unlike ``last_good_state`` this keeps a later, unrelated write to the same key (it is the latest untainted
    version); keys whose current value is clean need nothing. ``None`` deletes a key with no clean version.
    """
    bad = set(tainted_event_ids)
    if not bad:
        return {}
    touched = await tainted_versions(session, agent_id, bad)
    slots = {(v.store, v.key) for v in touched}
    if not slots:
        return {}
    q = (
        select(MemoryVersionRecord)
        .where(
            MemoryVersionRecord.agent_id == agent_id,
            MemoryVersionRecord.store.in_({s for s, _ in slots}),
            MemoryVersionRecord.key.in_({k for _, k in slots}),
        )
        .order_by(MemoryVersionRecord.version)
    )
    latest: dict[tuple[str, str], MemoryVersionRecord] = {}
    good: dict[tuple[str, str], str | None] = {}
    for v in (await session.execute(q)).scalars():
        slot = (v.store, v.key)
        if slot not in slots:
            continue
        latest[slot] = v
        if v.event_id not in bad and not v.tainted:
            good[slot] = v.value
    state: MemoryState = {}
    for slot in sorted(slots):
        current = latest[slot]
        if current.event_id in bad or current.tainted:
            state.setdefault(slot[0], {})[slot[1]] = good.get(slot)
    return state


async def state_at(
    session: AsyncSession,
    agent_id: str,
    *,
    version: int | None = None,
    at: datetime | None = None,
    stores: Collection[str] | None = None,
) -> tuple[MemoryState, list[str]]:
    """The values to restore to go back to ledger position ``version`` or time ``at``, and the writes undone.

    Only keys written after the cut are in the state: each gets its latest value at the cut (None: delete).
    """
    q = select(MemoryVersionRecord).where(MemoryVersionRecord.agent_id == agent_id)
    if stores:
        q = q.where(MemoryVersionRecord.store.in_(list(stores)))
    before: dict[tuple[str, str], str | None] = {}
    after: set[tuple[str, str]] = set()
    undone: list[str] = []
    for v in (await session.execute(q.order_by(MemoryVersionRecord.version))).scalars():
        slot = (v.store, v.key)
        late = (version is not None and v.id > version) or (at is not None and v.ts > at)
        if late:
            after.add(slot)
            undone.append(v.event_id)
        elif not v.tainted:
            before[slot] = v.value
    state: MemoryState = {}
    for slot in sorted(after):
        state.setdefault(slot[0], {})[slot[1]] = before.get(slot)
    return state, sorted(undone)


#: (agent_id, store, key)
Slot = tuple[str, str, str]


class LedgerEntry(NamedTuple):
    """What a slot holds according to the ledger (one version's hash, source and writing event)."""

    value_hash: str
    source: str
    event_id: str


async def current_entries(session: AsyncSession, slots: Collection[Slot]) -> dict[Slot, LedgerEntry | None]:
    """The value each slot should hold now: its latest untainted version, in one query for all slots.

    A rollback marks the writes it undoes tainted and restores the latest untainted value (a key with no
    untainted version is deleted), so "latest untainted" is what the agent's memory holds after a restore as
    well as after an ordinary write. Slots with versions but none untainted map to ``None`` (deleted); slots
    the ledger never saw are absent. Core columns only (no ORM rows): this runs once per worker batch.
    """
    if not slots:
        return {}
    mv = MemoryVersionRecord
    good = func.max(case((mv.tainted.is_(False), mv.version), else_=None))
    last = (
        select(mv.agent_id, mv.store, mv.key, good.label("good"))
        .where(
            mv.agent_id.in_({s[0] for s in slots}),
            mv.store.in_({s[1] for s in slots}),
            mv.key.in_({s[2] for s in slots}),
        )
        .group_by(mv.agent_id, mv.store, mv.key)
        .subquery()
    )
    q = select(last.c.agent_id, last.c.store, last.c.key, mv.value_hash, mv.source, mv.event_id).outerjoin(
        mv,
        (mv.agent_id == last.c.agent_id) & (mv.store == last.c.store) & (mv.key == last.c.key)
        & (mv.version == last.c.good),
    )  # fmt: skip
    wanted = set(slots)
    out: dict[Slot, LedgerEntry | None] = {}
    for agent_id, store, key, digest, source, event_id in (await session.execute(q)).all():
        if (agent_id, store, key) in wanted:
            out[(agent_id, store, key)] = None if digest is None else LedgerEntry(digest, source, event_id)
    return out
