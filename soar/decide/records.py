"""Conversions between findings, agents, incidents and their rows, and the incident timeline helper."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from soar.decide.spec import PlaybookSpec
from soar.store.models import AgentRecord, FindingRecord, IncidentEventRecord, IncidentRecord, PlaybookRunRecord
from soar.telemetry.findings import Finding, Severity

_RUN_NS = uuid.UUID("9d1f6c2e-7b3a-4f5d-8e0c-1a2b3c4d5e6f")
SYSTEM = "system:responder"


def run_id_for(playbook_id: uuid.UUID | str, finding_id: uuid.UUID | str) -> str:
    """Deterministic run id: one run per (playbook, finding), even across racing workers."""
    return str(uuid.uuid5(_RUN_NS, f"{playbook_id}|{finding_id}"))


def finding_time(finding: Finding) -> datetime:
    """When the finding's triggering event happened (its own ts when unknown)."""
    return finding.observed_at or finding.ts


def throttle_key(playbook: PlaybookSpec, finding: Finding) -> str:
    """The key findings are throttled on (empty: no throttle).

    A key longer than its column (an agent id and a task id of 256 characters each, both the sender's to choose)
    is its SHA-256 instead: PostgreSQL refuses the longer string, and the finding's runs would fail with it.
    """
    if playbook.throttle is None:
        return ""
    key = playbook.throttle.key
    if key == "agent":
        out = finding.agent_id
    elif key == "task":
        out = f"{finding.agent_id}|{finding.task_id}"
    elif key == "rule":
        out = f"{finding.agent_id}|{finding.detector}/{finding.rule}"
    elif key == "detector":
        out = f"{finding.agent_id}|{finding.detector}"
    else:
        out = str(finding.finding_id)
    length = PlaybookRunRecord.__table__.c.throttle_key.type.length
    return out if len(out) <= length else "sha256:" + hashlib.sha256(out.encode()).hexdigest()


def finding_record(f: Finding) -> FindingRecord:
    """The row a finding is stored as."""
    return FindingRecord(
        finding_id=str(f.finding_id),
        detector=f.detector,
        rule=f.rule,
        agent_id=f.agent_id,
        task_id=f.task_id,
        severity=f.severity.label,
        confidence=f.confidence,
        summary=f.summary,
        evidence=f.model_dump(mode="json")["evidence"],
        tags=list(f.tags),
        event_ids=[str(e) for e in f.event_ids],
        ts=f.ts,
        observed_at=f.observed_at,
    )


def finding_from_record(rec: FindingRecord) -> Finding:
    """Rebuild the ``Finding`` a record was stored from."""
    return Finding(
        finding_id=uuid.UUID(rec.finding_id),
        detector=rec.detector,
        rule=rec.rule,
        agent_id=rec.agent_id,
        task_id=rec.task_id,
        event_ids=[uuid.UUID(e) for e in rec.event_ids],
        severity=Severity.parse(rec.severity),
        confidence=rec.confidence,
        summary=rec.summary,
        evidence=rec.evidence,
        tags=rec.tags,
        ts=rec.ts,
        observed_at=rec.observed_at,
    )


def agent_dict(rec: AgentRecord | None) -> dict[str, Any] | None:
    """The agent as conditions and notifications see it."""
    if rec is None:
        return None
    return {
        "agent_id": rec.agent_id,
        "owner": rec.owner,
        "labels": rec.labels,
        "tools": rec.tools,
        "status": rec.status,
        "status_reason": rec.status_reason,
    }


def incident_dict(rec: IncidentRecord | None) -> dict[str, Any] | None:
    """The incident as conditions, templates and notifications see it."""
    if rec is None:
        return None

    def iso(t: datetime | None) -> str | None:
        return t.isoformat() if t else None

    return {
        "incident_id": rec.incident_id,
        "title": rec.title,
        "severity": rec.severity,
        "status": rec.status,
        "agent_id": rec.agent_id,
        "task_id": rec.task_id,
        "owner": rec.owner,
        "opened_at": iso(rec.opened_at),
        "contained_at": iso(rec.contained_at),
        "resolved_at": iso(rec.resolved_at),
        "acknowledged_at": iso(rec.acknowledged_at),
        "acknowledged_by": rec.acknowledged_by,
    }


async def timeline(
    session: AsyncSession, incident_id: str | None, kind: str, summary: str, data: dict[str, Any] | None = None
) -> None:
    """Append one line to an incident's timeline (kinds: finding, step, approval, notification, note, status)."""
    if incident_id:
        session.add(IncidentEventRecord(incident_id=incident_id, kind=kind, summary=summary, data=data or {}))
