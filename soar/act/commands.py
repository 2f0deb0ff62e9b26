"""Sending a ``ControlCommand`` from an action: recorded once (insert-if-absent), then published."""

from __future__ import annotations

from typing import Any

from soar.act.base import ActionContext
from soar.store.audit import audit
from soar.store.models import ControlCommandRecord
from soar.store.upsert import insert_if_absent
from soar.telemetry.control import Command, ControlCommand, command_id_for


async def send_command(
    ctx: ActionContext, command: Command, params: dict[str, Any], reason: str = "", key_suffix: str = ""
) -> ControlCommand:
    """Record and publish ``command`` with an id derived from the step's idempotency key.

    Publishing happens before the step's transaction commits: if the commit is lost the step re-runs and
    re-sends the same ``command_id``, which the agent drops; publishing after commit could lose the command.
    The send starts first: under the executor ``ctx.publish`` returns once it has started, and the step waits
    for delivery before it is recorded, so the broker's acknowledgement overlaps the writes here and after.
    """
    key = ctx.idempotency_key + (f":{key_suffix}" if key_suffix else "")
    cmd = ControlCommand(
        command_id=command_id_for(key),
        agent_id=ctx.agent_id,
        command=command,
        params=params,
        reason=reason,
        incident_id=ctx.incident_id,
        run_id=ctx.run_id,
    )
    await ctx.publish(cmd)
    inserted = await insert_if_absent(
        ctx.session,
        ControlCommandRecord,
        {
            "command_id": str(cmd.command_id),
            "agent_id": cmd.agent_id,
            "command": cmd.command,
            "params": cmd.params,
            "run_id": ctx.run_id,
            "ts": cmd.ts,
        },
    )
    if inserted:
        await audit(
            ctx.session,
            ctx.actor,
            f"control.{command}",
            f"agent:{ctx.agent_id}",
            {"command_id": str(cmd.command_id), "params": params, "run_id": ctx.run_id},
        )
    return cmd
