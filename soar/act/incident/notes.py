"""``incident:open`` and ``incident:note``: incident bookkeeping from a playbook."""

from __future__ import annotations

import uuid
from typing import Any

from soar.act.base import Action, ActionContext, ActionParams
from soar.decide.records import timeline
from soar.errors import ActionCheckFailed
from soar.store.audit import audit
from soar.store.models import IncidentRecord
from soar.telemetry.events import utcnow
from soar.telemetry.findings import Severity


class OpenIncidentAction(Action):
    """Make sure the run's incident is open, and set its owner, title or (only upwards) severity."""

    name = "incident:open"
    category = "incident"
    description = (
        "Open the run's incident (re-opening it if it was resolved, or creating one when the run has none) and "
        "set its owner, title and a higher severity."
    )
    example = "- {id: open, action: incident:open, with: {owner: secops, severity: critical}}"
    containment = False

    class Params(ActionParams):
        """Parameters of incident:open."""

        title: str = ""
        owner: str = ""
        severity: str = ""

    def check(self, ctx: ActionContext, params: ActionParams) -> None:
        """The severity must be a known one."""
        assert isinstance(params, self.Params)
        if params.severity:
            try:
                Severity.parse(params.severity)
            except ValueError as e:
                raise ActionCheckFailed(str(e)) from e

    async def run(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """Open or update (idempotent: the same values change nothing the second time)."""
        assert isinstance(params, self.Params)
        # without a run incident, the id derives from the step's key: a repeat finds the incident it opened
        derived = str(uuid.uuid5(uuid.NAMESPACE_URL, f"soar:incident:{ctx.idempotency_key}"))
        rec = await ctx.session.get(IncidentRecord, ctx.incident_id or derived)
        changes: dict[str, Any] = {}
        if rec is None:
            rec = IncidentRecord(
                incident_id=ctx.incident_id or derived,
                agent_id=ctx.agent_id,
                task_id=ctx.finding.task_id,
                title=(params.title or ctx.finding.summary)[:500],
                severity=ctx.finding.severity.label,
                status="open",
                first_event_at=ctx.finding.observed_at or ctx.finding.ts,
                opened_at=utcnow(),
            )
            ctx.session.add(rec)
            changes["created"] = True
        if rec.status == "resolved":
            rec.status, rec.resolved_at = "open", None
            changes["reopened"] = True
        if params.owner and rec.owner != params.owner:
            changes["owner"] = rec.owner = params.owner
        if params.title and rec.title != params.title:
            changes["title"] = rec.title = params.title[:500]
        if params.severity and Severity.parse(params.severity) > Severity.parse(rec.severity):
            changes["severity"] = rec.severity = Severity.parse(params.severity).label
        if changes:
            await ctx.session.flush()
            await timeline(ctx.session, rec.incident_id, "status", f"incident updated by playbook: {changes}", changes)
            await audit(ctx.session, ctx.actor, "incident.opened", f"incident:{rec.incident_id}", changes)
        return {"incident_id": rec.incident_id, "status": rec.status, "changes": changes}


class NoteIncidentAction(Action):
    """Add a note (templated text) to the incident timeline."""

    name = "incident:note"
    category = "incident"
    description = "Add a note to the run's incident timeline (text may use templates, e.g. earlier step outputs)."
    example = "- {id: note, action: incident:note, with: {text: 'snapshot {{ steps.snapshot.version }} taken'}}"
    containment = False

    class Params(ActionParams):
        """Parameters of incident:note."""

        text: str

    def check(self, ctx: ActionContext, params: ActionParams) -> None:
        """A note needs an incident."""
        if not ctx.incident_id:
            raise ActionCheckFailed("incident:note: the run has no incident")

    async def run(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """Append the note (once: the step's transaction commits it with the step)."""
        assert isinstance(params, self.Params)
        await timeline(ctx.session, ctx.incident_id, "note", params.text, {"run_id": ctx.run_id, "by": ctx.actor})
        await ctx.session.flush()
        await audit(ctx.session, ctx.actor, "incident.note", f"incident:{ctx.incident_id}", {"text": params.text})
        return {"incident_id": ctx.incident_id, "note": params.text}
