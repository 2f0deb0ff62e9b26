"""Recording an agent's restore confirmation on the playbook run that ordered the restore.

After applying ``restore_memory`` the SDK sends one ``memory_read`` per restored key with the hash its memory
now holds, under ``task_id = "restore:<command_id>"`` (:mod:`soar.sdk.restore`). The worker hands the verified
events of each batch to :meth:`RestorationRecorder.record`, which

* pairs the reads with the ``restore_memory`` command (only the agent the command was sent to can confirm it),
* runs :func:`soar.sdk.restore.check_restoration` against the entries the command asked for, accumulating
  confirmations across batches,
* writes the result into the ``memory:rollback`` step's output, ``restoration[store]`` (``matches``,
  ``confirmed``, ``mismatched``, ``missing``, ``command_id``) and ``matches`` (every store matches), and
* appends ``memory.restoration_checked`` to the audit log, once per change (a redelivered read changes nothing).

The command is published before the responder commits its step, so a confirmation can arrive before the
command row is visible: those reads are retried in the background for ``RETRY_DELAYS_S`` and then logged.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.sdk.restore import check_restoration, command_id_of
from soar.store.audit import audit
from soar.store.models import ControlCommandRecord, StepRunRecord
from soar.telemetry.events import AgentEvent, MemoryReadEvent

log = structlog.get_logger(__name__)

ROLLBACK_ACTION = "memory:rollback"
RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
#: (agent_id, store, key, value_hash) per confirmation read, grouped by command id
Reads = dict[str, list[tuple[str, str, str, str]]]


def confirmation_reads(events: Sequence[AgentEvent]) -> Reads:
    """The restore confirmations among ``events``, by command id."""
    out: Reads = defaultdict(list)
    for ev in events:
        if isinstance(ev, MemoryReadEvent):
            cid = command_id_of(ev.task_id)
            if cid:
                out[cid].append((ev.agent_id, ev.payload.store, ev.payload.key, ev.payload.value_hash.lower()))
    return dict(out)


async def record_confirmations(session: AsyncSession, reads: Reads) -> tuple[list[dict[str, Any]], Reads]:
    """Record confirmations on their rollback steps; returns the checks made and the reads whose command is unknown.

    Call inside a transaction. Idempotent: reads already recorded change nothing and audit nothing.
    """
    if not reads:
        return [], {}
    rows = (
        await session.execute(select(ControlCommandRecord).where(ControlCommandRecord.command_id.in_(list(reads))))
    ).scalars()
    commands = {c.command_id: c for c in rows if c.command == "restore_memory"}
    unknown: Reads = {cid: r for cid, r in reads.items() if cid not in commands}
    checks: list[dict[str, Any]] = []
    for cid, cmd in commands.items():
        own = [(s, k, h) for a, s, k, h in reads[cid] if a == cmd.agent_id]
        if len(own) < len(reads[cid]):
            log.warning("restore confirmation from another agent ignored", command_id=cid, agent_id=cmd.agent_id)
        if not own:
            continue
        check = await _record_one(session, cmd, own)
        if check is not None:
            checks.append(check)
    return checks, unknown


async def _record_one(
    session: AsyncSession, cmd: ControlCommandRecord, reads: list[tuple[str, str, str]]
) -> dict[str, Any] | None:
    store = str(cmd.params.get("store", ""))
    entries: dict[str, str | None] = dict(cmd.params.get("entries") or {})
    step = await _rollback_step(session, cmd)
    output = dict(step.output or {}) if step is not None else {}
    restoration: dict[str, Any] = dict(output.get("restoration") or {})
    before = restoration.get(store) or {}
    confirmed = {**(before.get("confirmed") or {})}
    for s, k, h in reads:
        if s == store and k in entries:
            confirmed[k] = h
    check = check_restoration(store, entries, [(store, k, h) for k, h in confirmed.items()])
    result = {
        "command_id": cmd.command_id,
        "matches": check.matches,
        "confirmed": check.confirmed,
        "mismatched": check.mismatched,
        "missing": check.missing,
    }
    if result == before:
        return None  # a redelivered confirmation: nothing new
    restoration[store] = result
    if step is not None:
        expected_stores = set((output.get("commands") or {}).keys()) or {store}
        matches = expected_stores <= set(restoration) and all(r["matches"] for r in restoration.values())
        output.pop("matches", None)
        # a new dict (so the JSON column is written), ``matches`` first so `soar runs show`'s table shows it
        step.output = {"matches": matches, **output, "restoration": restoration}
    await audit(
        session,
        "system",
        "memory.restoration_checked",
        f"agent:{cmd.agent_id}",
        {"store": store, "run_id": cmd.run_id, "step_id": step.step_id if step else None, **result},
    )
    log.info(
        "restoration checked", agent_id=cmd.agent_id, store=store, matches=check.matches, command_id=cmd.command_id
    )
    return {"agent_id": cmd.agent_id, "store": store, "run_id": cmd.run_id, **result}


async def _rollback_step(session: AsyncSession, cmd: ControlCommandRecord) -> StepRunRecord | None:
    """The ``memory:rollback`` step whose output names ``cmd`` (None for a command sent outside a run)."""
    if not cmd.run_id:
        return None
    q = select(StepRunRecord).where(StepRunRecord.run_id == cmd.run_id, StepRunRecord.action == ROLLBACK_ACTION)
    for step in (await session.execute(q)).scalars():
        if cmd.command_id in (step.output or {}).get("commands", {}).values():
            return step
    return None


class RestorationRecorder:
    """The worker's side: record confirmations from each telemetry batch, retrying ones that arrive early."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self._retries: set[asyncio.Task[None]] = set()

    async def record(self, events: Sequence[AgentEvent]) -> list[dict[str, Any]]:
        """Record the confirmations among a batch's verified events; returns the checks made."""
        reads = confirmation_reads(events)
        if not reads:
            return []
        checks, unknown = await self._attempt(reads)
        if unknown:
            task = asyncio.create_task(self._retry(unknown))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)
        return checks

    async def _attempt(self, reads: Reads) -> tuple[list[dict[str, Any]], Reads]:
        async with self.sessionmaker() as session, session.begin():
            return await record_confirmations(session, reads)

    async def _retry(self, reads: Reads) -> None:
        for delay in RETRY_DELAYS_S:
            await asyncio.sleep(delay)
            try:
                _, reads = await self._attempt(reads)
            except Exception:
                log.exception("recording restore confirmations failed; retrying")
            if not reads:
                return
        log.warning("restore confirmation for an unknown command", command_ids=sorted(reads))

    async def drain(self) -> None:
        """Wait for pending retries (tests, shutdown)."""
        if self._retries:
            await asyncio.gather(*list(self._retries), return_exceptions=True)
