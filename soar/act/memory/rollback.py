"""``memory:rollback``: restore the keys a tainted write touched to their last good state."""

from __future__ import annotations

import uuid
from typing import Any

from soar.act.base import Action, ActionContext, ActionParams
from soar.act.commands import send_command
from soar.memory.ledger import last_good_state, mark_tainted, tainted_versions, value_hash
from soar.store.audit import audit

#: evidence keys a detector may use to name the tainted memory writes
EVIDENCE_KEYS = ("tainted_event_ids", "memory_event_ids", "event_ids")


def tainted_event_ids(ctx: ActionContext, extra: list[str] | None) -> list[str]:
    """Candidate tainted write ids: the finding's event ids, ids named in its evidence, and ``extra``."""
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
    """Mark the tainted writes, compute the last good state from the ledger, send ``restore_memory`` per store."""

    name = "memory:rollback"
    category = "memory"
    description = (
        "Roll the memory keys touched by the finding's tainted writes back to their last untainted version "
        "(deleting keys that never had one) with a restore_memory command per store."
    )
    example = "- {id: rollback, action: memory:rollback}"

    class Params(ActionParams):
        """Parameters of memory:rollback."""

        event_ids: list[str] | None = None
        reason: str = ""

    async def run(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """Roll back (idempotent: the same tainted writes give the same state and command ids)."""
        assert isinstance(params, self.Params)
        candidates = tainted_event_ids(ctx, params.event_ids)
        bad = await tainted_versions(ctx.session, ctx.agent_id, candidates)
        bad_ids = sorted(v.event_id for v in bad)
        state = await last_good_state(ctx.session, ctx.agent_id, bad_ids)
        marked = await mark_tainted(ctx.session, ctx.agent_id, bad_ids)
        reason = params.reason or ctx.finding.summary
        commands: dict[str, str] = {}
        for store, entries in sorted(state.items()):
            cmd = await send_command(ctx, "restore_memory", {"store": store, "entries": entries}, reason, store)
            commands[store] = str(cmd.command_id)
        if bad_ids:
            await audit(
                ctx.session,
                ctx.actor,
                "memory.rolled_back",
                f"agent:{ctx.agent_id}",
                {"tainted_event_ids": bad_ids, "newly_marked": marked, "restored": state, "run_id": ctx.run_id},
            )
        expected = {store: {k: value_hash(v) or None for k, v in entries.items()} for store, entries in state.items()}
        return {
            "agent_id": ctx.agent_id,
            "tainted_event_ids": bad_ids,
            "restored": state,
            "expected_hashes": expected,
            "commands": commands,
        }
