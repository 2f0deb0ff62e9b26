"""``control:publish``: send one raw control command to the agent (recorded, audited, idempotent on the step)."""

from __future__ import annotations

from typing import Any, Literal

from soar.act.base import Action, ActionContext, ActionParams
from soar.act.commands import send_command


class PublishControlAction(Action):
    """Publish a ``ControlCommand`` on soar.control without changing soar's own state of the agent."""

    name = "control:publish"
    category = "control"
    description = (
        "Send a raw control command (quarantine, release, revoke, restore_memory) with the given params to the "
        "agent; soar's registry is not changed (use agent:quarantine for that). Same command id on a resumed step."
    )
    example = (
        "- {id: restore, action: control:publish, "
        "with: {command: restore_memory, params: {store: notes, entries: {policy: ask first}}}}"
    )
    containment = False

    class Params(ActionParams):
        """Parameters of control:publish."""

        command: Literal["quarantine", "release", "revoke", "restore_memory"]
        params: dict[str, Any] = {}
        reason: str = ""

    async def run(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """Record and publish the command."""
        assert isinstance(params, self.Params)
        cmd = await send_command(ctx, params.command, params.params, params.reason or ctx.finding.summary)
        return {"agent_id": ctx.agent_id, "command": params.command, "command_id": str(cmd.command_id)}
