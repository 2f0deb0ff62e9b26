"""``memory:snapshot``: note the agent's ledger position so a later step can roll back to it."""

from __future__ import annotations

from typing import Any

from soar.act.base import Action, ActionContext, ActionParams
from soar.memory.ledger import position
from soar.store.audit import audit
from soar.telemetry.events import utcnow


class SnapshotMemoryAction(Action):
    """Record the ledger version (every write up to now) as this step's output ``version``."""

    name = "memory:snapshot"
    category = "memory"
    description = (
        "Take a snapshot of the agent's memory: the current ledger version (output 'version', 'ts', 'keys'); "
        "memory:rollback with strategy 'version' restores it later."
    )
    example = "- {id: snapshot, action: memory:snapshot}"
    containment = False

    class Params(ActionParams):
        """Parameters of memory:snapshot."""

        label: str = ""

    async def run(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """Read the position (the ledger is append-only, so the position alone names the state)."""
        assert isinstance(params, self.Params)
        version, keys = await position(ctx.session, ctx.agent_id)
        ts = utcnow().isoformat()
        await audit(
            ctx.session,
            ctx.actor,
            "memory.snapshot",
            f"agent:{ctx.agent_id}",
            {"version": version, "keys": keys, "label": params.label, "run_id": ctx.run_id},
        )
        return {"agent_id": ctx.agent_id, "version": version, "ts": ts, "keys": keys, "label": params.label}
