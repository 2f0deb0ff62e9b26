"""``notify:send``: page a channel through the notifier registry, falling back along the channel's fallbacks.

``notify:webhook`` is the same action under its first name (kept so existing playbooks load).
"""

from __future__ import annotations

from typing import Any

from soar.act.base import Action, ActionContext, ActionParams
from soar.decide.records import incident_dict, timeline
from soar.errors import NotifyError
from soar.notify import DEFAULT_CHANNEL
from soar.store.audit import audit
from soar.store.models import DeliveryRecord, IncidentRecord


async def notification_body(ctx: ActionContext, message: str) -> dict[str, Any]:
    """What on-call receives: incident, finding, agent, the actions taken so far and a message."""
    incident: dict[str, Any] | None = None
    if ctx.incident_id:
        incident = incident_dict(await ctx.session.get(IncidentRecord, ctx.incident_id))
    return {
        "message": message or ctx.finding.summary,
        "incident": incident,
        "finding": ctx.finding.model_dump(mode="json"),
        "agent": ctx.agent or {"agent_id": ctx.agent_id},
        "actions_taken": ctx.actions_taken,
        "run_id": ctx.run_id,
        "playbook_id": ctx.playbook_id,
    }


class NotifyAction(Action):
    """Send the incident to a channel's notifier once per step; when it cannot deliver, try its fallbacks."""

    name = "notify:send"
    category = "notify"
    description = (
        "Page a channel (webhook, Slack, PagerDuty or e-mail, as configured) with the incident, finding, agent "
        "and actions taken; on failure, the channel's fallback (SOAR_NOTIFY_FALLBACK_<CHANNEL>) is tried."
    )
    example = "- {id: page, action: notify:send, with: {channel: oncall, message: '{{ finding.summary }}'}}"
    containment = False

    class Params(ActionParams):
        """Parameters of notify:send."""

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
        chain = ctx.notifiers.chain(params.channel)
        body = await notification_body(ctx, params.message)
        errors: list[str] = []
        for i, channel in enumerate(chain):
            key = ctx.idempotency_key if i == 0 else f"{ctx.idempotency_key}>{channel}"
            try:
                notifier = ctx.notifiers.get(channel)
                delivery = await notifier.send(ctx.session, body, idempotency_key=key, incident_id=ctx.incident_id)
            except NotifyError as e:
                errors.append(f"{channel}: {e}")
                if i + 1 == len(chain):
                    break
                await self._failed(ctx, channel, key, str(e), chain[i + 1])
                continue
            if not delivery.duplicate:
                await audit(
                    ctx.session,
                    ctx.actor,
                    "notify.delivered",
                    f"channel:{channel}",
                    {"idempotency_key": key, **delivery.as_dict(), "incident_id": ctx.incident_id},
                )
            return {"channel": channel, "requested": params.channel, "failed": errors, **delivery.as_dict()}
        raise NotifyError("; ".join(errors))

    async def _failed(self, ctx: ActionContext, channel: str, key: str, error: str, fallback: str) -> None:
        if await ctx.session.get(DeliveryRecord, key) is None:
            ctx.session.add(
                DeliveryRecord(
                    idempotency_key=key,
                    notifier=getattr(ctx.notifiers.channels.get(channel) if ctx.notifiers else None, "name", "?"),
                    target=getattr(ctx.notifiers.channels.get(channel) if ctx.notifiers else None, "target", ""),
                    status="failed",
                    attempts=0,
                    incident_id=ctx.incident_id,
                )
            )
        await timeline(
            ctx.session,
            ctx.incident_id,
            "notification",
            f"delivery to {channel} failed ({error[:200]}); falling back to {fallback}",
            {"channel": channel, "fallback": fallback, "run_id": ctx.run_id},
        )
        await ctx.session.flush()
        await audit(
            ctx.session,
            ctx.actor,
            "notify.fallback",
            f"channel:{channel}",
            {"idempotency_key": key, "error": error, "fallback": fallback, "incident_id": ctx.incident_id},
        )


class WebhookNotifyAction(NotifyAction):
    """``notify:webhook``: the first name of ``notify:send`` (any channel kind; kept for existing playbooks)."""

    name = "notify:webhook"
    description = "Same as notify:send (kept for existing playbooks)."
    example = "- {id: page, action: notify:webhook, with: {channel: oncall}, continue_on_error: true}"
