"""``memory:rollback``: restore memory by tainted event chain (default), to a ledger version, or to a time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import model_validator

from soar.act.base import Action, ActionContext, ActionParams
from soar.act.commands import send_command
from soar.memory.ledger import MemoryState, clean_state, mark_tainted, state_at, taint_closure, value_hash
from soar.store.audit import audit

#: evidence keys a detector may use to name the tainted memory writes
EVIDENCE_KEYS = ("tainted_event_ids", "memory_event_ids", "event_ids")


def tainted_event_ids(ctx: ActionContext, extra: list[str] | None) -> list[str]:
    """Candidate tainted event ids: the finding's event ids, ids named in its evidence, and ``extra``."""
    ids: list[str] = [str(e) for e in ctx.finding.event_ids]
    for key in EVIDENCE_KEYS:
        value = ctx.finding.evidence.get(key)
        if isinstance(value, list):
            ids.extend(str(v) for v in value)
    for key in ("event_id", "memory_event_id"):
        value = ctx.finding.evidence.get(key)
        if isinstance(value, str):
            ids.append(value)
    ids.extend(extra or [])
    out: list[str] = []
    for i in dict.fromkeys(ids):
        try:
            out.append(str(uuid.UUID(i)))
        except ValueError:
            continue
    return out


class RollbackMemoryAction(Action):
    """Compute the state to restore from the ledger, mark the dropped writes, send ``restore_memory`` per store."""

    name = "memory:rollback"
    category = "memory"
    description = (
        "Roll memory back. strategy 'taint' (default): drop every write derived from the finding's tainted "
        "events (following provenance links), keeping unrelated later writes; 'version': back to a ledger "
        "version (e.g. from memory:snapshot); 'time': back to a point in time. One restore_memory command per store."
    )
    example = (
        "- {id: snapshot, action: memory:snapshot}\n"
        "- id: rollback\n  action: memory:rollback\n"
        "  with: {strategy: version, to_version: '{{ steps.snapshot.version }}'}"
    )

    class Params(ActionParams):
        """Parameters of memory:rollback."""

        strategy: Literal["taint", "version", "time"] = "taint"
        event_ids: list[str] | None = None
        to_version: int | None = None
        to_time: datetime | None = None
        stores: list[str] | None = None
        reason: str = ""

        @model_validator(mode="after")
        def _target(self) -> RollbackMemoryAction.Params:
            if self.strategy == "version" and self.to_version is None:
                raise ValueError("strategy 'version' needs to_version")
            if self.strategy == "time" and self.to_time is None:
                raise ValueError("strategy 'time' needs to_time")
            return self

    async def run(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """Roll back (idempotent: the same inputs give the same state and command ids)."""
        assert isinstance(params, self.Params)
        state: MemoryState
        if params.strategy == "taint":
            dropped = sorted(await taint_closure(ctx.session, ctx.agent_id, tainted_event_ids(ctx, params.event_ids)))
            state = await clean_state(ctx.session, ctx.agent_id, dropped)
            if params.stores:
                state = {s: e for s, e in state.items() if s in params.stores}
        else:
            state, dropped = await state_at(
                ctx.session, ctx.agent_id, version=params.to_version, at=params.to_time, stores=params.stores
            )
        marked = await mark_tainted(ctx.session, ctx.agent_id, dropped)
        reason = params.reason or ctx.finding.summary
        commands: dict[str, str] = {}
        for store, entries in sorted(state.items()):
            cmd = await send_command(ctx, "restore_memory", {"store": store, "entries": entries}, reason, store)
            commands[store] = str(cmd.command_id)
        if dropped:
            await audit(
                ctx.session,
                ctx.actor,
                "memory.rolled_back",
                f"agent:{ctx.agent_id}",
                {
                    "strategy": params.strategy,
                    "tainted_event_ids": dropped,
                    "newly_marked": marked,
                    "restored": state,
                    "run_id": ctx.run_id,
                },
            )
        expected = {store: {k: value_hash(v) or None for k, v in entries.items()} for store, entries in state.items()}
        return {
            "agent_id": ctx.agent_id,
            "strategy": params.strategy,
            "tainted_event_ids": dropped,
            "restored": state,
            "expected_hashes": expected,
            "commands": commands,
        }
