"""Incident operations shared by the CLI, the API and the responder: acknowledge, note, resolve, escalate.

Resolving an incident resolves its PagerDuty alerts (same ``dedup_key``) on every channel that paged it.
An open incident nobody acknowledged within the escalation delay becomes a ``soar/incident_unacknowledged``
finding (its id derived from the incident, so it is made once); playbooks escalate on it like on any finding.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.decide.records import timeline
from soar.errors import SoarError
from soar.notify import Notifiers
from soar.store.audit import audit
from soar.store.models import DeliveryRecord, FindingRecord, IncidentRecord
from soar.telemetry.events import utcnow
from soar.telemetry.findings import Finding, Severity, finding_id_for

_ESCALATION_NS = uuid.UUID("5e0f7c3a-91d2-4b8e-a6f4-3c2d1b0a9e8f")
ESCALATION_RULE = "incident_unacknowledged"


class IncidentError(SoarError):
    """An incident operation is not possible (unknown incident, or already in that state)."""

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason  # not_found | conflict
        super().__init__(message)


async def _get(session: AsyncSession, incident_id: str) -> IncidentRecord:
    rec = await session.get(IncidentRecord, incident_id, with_for_update=True)
    if rec is None:
        raise IncidentError(f"unknown incident {incident_id}", reason="not_found")
    return rec


async def acknowledge(sessionmaker: async_sessionmaker[AsyncSession], incident_id: str, actor: str) -> IncidentRecord:
    """Acknowledge (stops escalation) and take ownership if nobody owns it."""
    async with sessionmaker() as session, session.begin():
        rec = await _get(session, incident_id)
        if rec.acknowledged_at is not None:
            raise IncidentError(
                f"incident {incident_id} already acknowledged by {rec.acknowledged_by}", reason="conflict"
            )
        rec.acknowledged_at, rec.acknowledged_by = utcnow(), actor
        rec.owner = rec.owner or actor
        await timeline(session, incident_id, "status", f"acknowledged by {actor}", {"by": actor})
        await session.flush()
        await audit(session, actor, "incident.acknowledged", f"incident:{incident_id}", {})
    return rec


async def add_note(
    sessionmaker: async_sessionmaker[AsyncSession], incident_id: str, actor: str, text: str
) -> IncidentRecord:
    """Add a note to the timeline."""
    async with sessionmaker() as session, session.begin():
        rec = await _get(session, incident_id)
        await timeline(session, incident_id, "note", text, {"by": actor})
        await session.flush()
        await audit(session, actor, "incident.note", f"incident:{incident_id}", {"text": text})
    return rec


async def resolve(
    sessionmaker: async_sessionmaker[AsyncSession],
    incident_id: str,
    actor: str,
    notifiers: Notifiers | None = None,
    reason: str = "",
) -> tuple[IncidentRecord, list[dict[str, Any]]]:
    """Resolve the incident, then resolve its PagerDuty alerts; returns the record and the resolve deliveries."""
    async with sessionmaker() as session, session.begin():
        rec = await _get(session, incident_id)
        if rec.status == "resolved":
            raise IncidentError(f"incident {incident_id} is already resolved", reason="conflict")
        before = rec.status
        rec.status, rec.resolved_at = "resolved", utcnow()
        rec.owner = rec.owner or actor
        await timeline(session, incident_id, "status", f"resolved by {actor}" + (f": {reason}" if reason else ""))
        await session.flush()
        await audit(session, actor, "incident.resolved", f"incident:{incident_id}", {"from": before, "reason": reason})
    deliveries = await close_alerts(sessionmaker, rec, notifiers) if notifiers is not None else []
    return rec, deliveries


async def close_alerts(
    sessionmaker: async_sessionmaker[AsyncSession], incident: IncidentRecord, notifiers: Notifiers
) -> list[dict[str, Any]]:
    """Send ``resolve`` on every channel whose notifier supports it and that delivered for this incident."""
    out: list[dict[str, Any]] = []
    async with sessionmaker() as session:
        q = select(DeliveryRecord.target).where(
            DeliveryRecord.incident_id == incident.incident_id, DeliveryRecord.status == "delivered"
        )
        targets = set((await session.execute(q)).scalars())
    for channel, notifier in sorted(notifiers.channels.items()):
        if not notifier.resolves or notifier.target not in targets:
            continue
        key = f"resolve:{incident.incident_id}:{channel}"
        async with sessionmaker() as session, session.begin():
            try:
                delivery = await notifier.send(
                    session,
                    {"incident_id": incident.incident_id},
                    idempotency_key=key,
                    incident_id=incident.incident_id,
                    event="resolve",
                )
            except SoarError as e:
                await timeline(session, incident.incident_id, "notification", f"resolve on {channel} failed: {e}")
                out.append({"channel": channel, "status": "failed", "error": str(e)})
                continue
            await timeline(
                session, incident.incident_id, "notification", f"alert resolved on {channel}", delivery.as_dict()
            )
            await session.flush()
            await audit(session, "system:responder", "notify.resolved", f"channel:{channel}", {"key": key})
        out.append({"channel": channel, **delivery.as_dict()})
    return out


async def escalation_findings(session: AsyncSession, after: timedelta) -> list[Finding]:
    """One finding per open incident unacknowledged for longer than ``after`` that has none yet."""
    cutoff = utcnow() - after
    q = select(IncidentRecord).where(
        IncidentRecord.status != "resolved",
        IncidentRecord.acknowledged_at.is_(None),
        IncidentRecord.opened_at <= cutoff,
    )
    out: list[Finding] = []
    for inc in (await session.execute(q.limit(100))).scalars():
        event_id = uuid.uuid5(_ESCALATION_NS, inc.incident_id)
        fid = finding_id_for("soar", ESCALATION_RULE, event_id)
        if await session.get(FindingRecord, str(fid)) is not None:
            continue
        age = (utcnow() - inc.opened_at).total_seconds()
        out.append(
            Finding(
                finding_id=fid,
                detector="soar",
                rule=ESCALATION_RULE,
                agent_id=inc.agent_id,
                task_id=inc.task_id,
                event_ids=[event_id],
                severity=Severity.parse(inc.severity),
                confidence=1.0,
                summary=f"incident {inc.incident_id[:8]} ({inc.title[:120]}) unacknowledged for {age:.0f}s",
                evidence={"incident_id": inc.incident_id, "unacknowledged_s": round(age), "status": inc.status},
                observed_at=inc.first_event_at or inc.opened_at,
            )
        )
    return out
