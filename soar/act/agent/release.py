"""``agent:release``: lift a quarantine."""

from __future__ import annotations

from typing import Any

from soar.act.agent.quarantine import set_agent_status
from soar.act.base import Action, ActionContext, ActionParams
from soar.act.commands import send_command


class ReleaseAgentAction(Action):
    """Release the agent: status ``active`` and a ``release`` command."""

    name = "agent:release"
    category = "agent"
    description = "Set the agent's status back to active and send it a release command on soar.control."
    example = "- {id: release, action: agent:release, with: {reason: false positive}}"
    containment = False

    class Params(ActionParams):
        """Parameters of agent:release."""

        reason: str = ""

    async def run(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """Release (idempotent)."""
        assert isinstance(params, self.Params)
        before, after = await set_agent_status(ctx, "active", params.reason)
        cmd = await send_command(ctx, "release", {}, params.reason)
        return {"agent_id": ctx.agent_id, "status": after, "previous": before, "command_id": str(cmd.command_id)}
