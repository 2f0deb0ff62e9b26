"""``notify:webhook``: page a channel through the notifier registry (``soar.notify``)."""

from __future__ import annotations

from typing import Any

from soar.act.base import Action, ActionContext, ActionParams
from soar.errors import NotifyError
from soar.notify import DEFAULT_CHANNEL
from soar.store.audit import audit
from soar.store.models import IncidentRecord


async def notification_body(ctx: ActionContext, message: str) -> dict[str, Any]:
    """What on-call receives: incident, finding, agent, the actions taken so far and a message."""
    incident: dict[str, Any] | None = None
    if ctx.incident_id:
        rec = await ctx.session.get(IncidentRecord, ctx.incident_id)
        if rec is not None:
            incident = {
                "incident_id": rec.incident_id,
                "title": rec.title,
                "severity": rec.severity,
                "status": rec.status,
                "agent_id": rec.agent_id,
                "opened_at": rec.opened_at.isoformat(),
                "contained_at": rec.contained_at.isoformat() if rec.contained_at else None,
            }
    return {
        "message": message or ctx.finding.summary,
        "incident": incident,
        "finding": ctx.finding.model_dump(mode="json"),
        "agent": ctx.agent or {"agent_id": ctx.agent_id},
        "actions_taken": ctx.actions_taken,
        "run_id": ctx.run_id,
        "playbook_id": ctx.playbook_id,
    }


class WebhookNotifyAction(Action):
    """Send the incident to a channel's notifier, once per step (the step's idempotency key)."""

    name = "notify:webhook"
    category = "notify"
    description = "Page a channel (a configured webhook) with the incident, finding, agent and actions taken."
    example = "- {id: page, action: notify:webhook, with: {channel: oncall}, continue_on_error: true}"
    containment = False

    class Params(ActionParams):
        """Parameters of notify:webhook."""

        channel: str = DEFAULT_CHANNEL
        message: str = ""

    def check(self, ctx: ActionContext, params: ActionParams) -> None:
        """Notifications need no agent id."""

    async def preview(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """Dry run: say where the page would go, send nothing."""
        assert isinstance(params, self.Params)
        return {"dry_run": True, "action": self.name, "channel": params.channel, "message": params.message}

    async def run(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """Deliver (a repeat with the same idempotency key is recorded as a duplicate and not sent)."""
        assert isinstance(params, self.Params)
        if ctx.notifiers is None:
            raise NotifyError("no notifiers configured")
        notifier = ctx.notifiers.get(params.channel)
        body = await notification_body(ctx, params.message)
        delivery = await notifier.send(
            ctx.session, body, idempotency_key=ctx.idempotency_key, incident_id=ctx.incident_id
        )
        if not delivery.duplicate:
            await audit(
                ctx.session,
                ctx.actor,
                "notify.delivered",
                f"channel:{params.channel}",
                {"idempotency_key": ctx.idempotency_key, **delivery.as_dict(), "incident_id": ctx.incident_id},
            )
        return {"channel": params.channel, **delivery.as_dict()}
