"""``agent:quarantine``: mark the agent quarantined and tell it to stop."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from soar.act.base import Action, ActionContext, ActionParams
from soar.act.commands import send_command
from soar.store.audit import audit
from soar.store.models import AgentRecord
from soar.telemetry.events import utcnow


async def set_agent_status(
    ctx: ActionContext, status: str, reason: str, agent: AgentRecord | None = None
) -> tuple[str, str]:
    """Set the agent's status (creating the record for an unknown agent); returns (before, after).

    ``agent`` is the record the caller already read ``FOR UPDATE`` in this transaction (read here if not given).
    """
    if agent is None:
        agent = await ctx.session.get(AgentRecord, ctx.agent_id, with_for_update=True)
    if agent is None:
        agent = AgentRecord(agent_id=ctx.agent_id, status="unknown", status_reason="")
        ctx.session.add(agent)
        await ctx.session.flush()
        await audit(ctx.session, ctx.actor, "agent.created", f"agent:{ctx.agent_id}", {"run_id": ctx.run_id})
    before = agent.status
    if before != status or agent.status_reason != reason:
        agent.status = status
        agent.status_reason = reason
        agent.updated_at = utcnow()
        await ctx.session.flush()
        await audit(
            ctx.session,
            ctx.actor,
            f"agent.{status}",
            f"agent:{ctx.agent_id}",
            {"from": before, "reason": reason, "run_id": ctx.run_id, "incident_id": ctx.incident_id},
        )
    return before, status


async def _quarantine_if_unchanged(ctx: ActionContext, reason: str) -> str | None:
    """Quarantine in one statement when the agent is as the run last read it; its status before, or None.

    A compare-and-set on the status and reason the run read (``ctx.agent``): when they still hold, the row
    is updated (and locked until the step commits) without reading it first, and the status before is the
    one the run read. Otherwise (changed since, unknown agent, already quarantined) nothing is written and
    the caller reads the agent ``FOR UPDATE`` instead.
    """
    known = ctx.agent
    if known is None or known.get("status") in (None, "quarantined"):
        return None
    before = str(known["status"])
    res = await ctx.session.execute(
        update(AgentRecord)
        .where(
            AgentRecord.agent_id == ctx.agent_id,
            AgentRecord.status == before,
            AgentRecord.status_reason == known.get("status_reason", ""),
        )
        .values(status="quarantined", status_reason=reason, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        return None
    await audit(
        ctx.session,
        ctx.actor,
        "agent.quarantined",
        f"agent:{ctx.agent_id}",
        {"from": before, "reason": reason, "run_id": ctx.run_id, "incident_id": ctx.incident_id},
    )
    return before


class QuarantineAgentAction(Action):
    """Quarantine the agent: status ``quarantined`` in the registry and a ``quarantine`` command."""

    name = "agent:quarantine"
    category = "agent"
    inline = True
    description = "Set the agent's status to quarantined and send it a quarantine command on soar.control."
    example = "- {id: quarantine, action: agent:quarantine, with: {reason: '{{ finding.summary }}'}}"

    class Params(ActionParams):
        """Parameters of agent:quarantine."""

        reason: str = ""

    async def run(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """Quarantine; an agent already quarantined gets no second command (the step records ``already``).

        Idempotent on the step key as well: a resumed step whose transaction was lost sees the agent active
        again (the status change rolled back with it) and re-sends the same command id, which the agent drops.
        """
        assert isinstance(params, self.Params)
        reason = params.reason or ctx.finding.summary
        before = await _quarantine_if_unchanged(ctx, reason)
        if before is not None:
            cmd = await send_command(ctx, "quarantine", {}, reason)
            return {
                "agent_id": ctx.agent_id,
                "status": "quarantined",
                "previous": before,
                "already": False,
                "command_id": str(cmd.command_id),
            }
        agent = await ctx.session.get(AgentRecord, ctx.agent_id, with_for_update=True)
        if agent is not None and agent.status == "quarantined":
            await audit(
                ctx.session,
                ctx.actor,
                "agent.quarantine_skipped",
                f"agent:{ctx.agent_id}",
                {"why": "already quarantined", "since": agent.updated_at, "run_id": ctx.run_id},
            )
            return {
                "agent_id": ctx.agent_id,
                "status": "quarantined",
                "previous": "quarantined",
                "already": True,
                "quarantined_for": agent.status_reason,
                "command_id": None,
            }
        before, after = await set_agent_status(ctx, "quarantined", reason, agent)
        cmd = await send_command(ctx, "quarantine", {}, reason)
        return {
            "agent_id": ctx.agent_id,
            "status": after,
            "previous": before,
            "already": False,
            "command_id": str(cmd.command_id),
        }
