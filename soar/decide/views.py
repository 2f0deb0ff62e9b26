"""Read models of runs and incidents for the CLI and the API (plain JSON-able dicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.decide.approvals import approvers_required
from soar.store.models import IncidentEventRecord, IncidentRecord, PlaybookRunRecord, StepRunRecord


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def step_dict(s: StepRunRecord) -> dict[str, Any]:
    """One step of a run; a waiting step also says who approved so far and how many approvers it needs."""
    waiting: dict[str, Any] = {}
    if s.status == "waiting":
        terms = (s.output or {}).get("approval") or {}
        waiting = {"approved_by": terms.get("approved_by") or [], "approvers_required": approvers_required(s.action)}
    return {
        **waiting,
        "step_id": s.step_id,
        "idempotency_key": s.idempotency_key,
        "position": s.position,
        "action": s.action,
        "status": s.status,
        "attempts": s.attempts,
        "params": s.params,
        "output": s.output,
        "error": s.error,
        "started_at": _iso(s.started_at),
        "finished_at": _iso(s.finished_at),
        "approval_deadline": _iso(s.approval_deadline),
        "decision": s.decision,
        "decided_by": s.decided_by,
        "decided_at": _iso(s.decided_at),
    }


def run_dict(r: PlaybookRunRecord) -> dict[str, Any]:
    """One run, without steps."""
    return {
        "run_id": r.run_id,
        "playbook_id": r.playbook_id,
        "playbook_name": r.playbook_name,
        "finding_id": r.finding_id,
        "agent_id": r.agent_id,
        "incident_id": r.incident_id,
        "mode": r.mode,
        "status": r.status,
        "dry_run": bool(r.context.get("dry_run")),
        "started_at": _iso(r.started_at),
        "finished_at": _iso(r.finished_at),
    }


async def run_view(sessionmaker: async_sessionmaker[AsyncSession], run_id: str) -> dict[str, Any] | None:
    """A run with its steps in order (None when unknown)."""
    async with sessionmaker() as s:
        run = await s.get(PlaybookRunRecord, run_id)
        if run is None:
            return None
        q = select(StepRunRecord).where(StepRunRecord.run_id == run_id).order_by(StepRunRecord.position)
        steps = [step_dict(st) for st in (await s.execute(q)).scalars()]
    return {**run_dict(run), "steps": steps}


def _timings(i: IncidentRecord) -> dict[str, float | None]:
    ttd = (i.opened_at - i.first_event_at).total_seconds() if i.first_event_at else None
    ttc = (i.contained_at - i.first_event_at).total_seconds() if i.contained_at and i.first_event_at else None
    return {"time_to_detect_s": ttd, "time_to_contain_s": ttc}


def incident_dict_full(i: IncidentRecord) -> dict[str, Any]:
    """An incident with its time to detect (first event -> opened) and to contain (first event -> contained)."""
    return {
        "incident_id": i.incident_id,
        "agent_id": i.agent_id,
        "task_id": i.task_id,
        "title": i.title,
        "severity": i.severity,
        "status": i.status,
        "owner": i.owner,
        "first_event_at": _iso(i.first_event_at),
        "opened_at": _iso(i.opened_at),
        "contained_at": _iso(i.contained_at),
        "resolved_at": _iso(i.resolved_at),
        "acknowledged_at": _iso(i.acknowledged_at),
        "acknowledged_by": i.acknowledged_by,
        **_timings(i),
    }


async def incident_rows(
    sessionmaker: async_sessionmaker[AsyncSession], status: str, limit: int
) -> list[dict[str, Any]]:
    """Incidents, newest first."""
    async with sessionmaker() as s:
        q = select(IncidentRecord).order_by(IncidentRecord.opened_at.desc()).limit(limit)
        if status:
            q = q.where(IncidentRecord.status == status)
        return [incident_dict_full(i) for i in (await s.execute(q)).scalars()]


async def incident_view(sessionmaker: async_sessionmaker[AsyncSession], incident_id: str) -> dict[str, Any] | None:
    """An incident with its timeline (oldest first) and runs."""
    async with sessionmaker() as s:
        inc = await s.get(IncidentRecord, incident_id)
        if inc is None:
            return None
        q = (
            select(IncidentEventRecord)
            .where(IncidentEventRecord.incident_id == incident_id)
            .order_by(IncidentEventRecord.ts, IncidentEventRecord.id)
        )
        events = [
            {"ts": _iso(e.ts), "kind": e.kind, "summary": e.summary, "data": e.data}
            for e in (await s.execute(q)).scalars()
        ]
        rq = select(PlaybookRunRecord).where(PlaybookRunRecord.incident_id == incident_id)
        runs = [run_dict(r) for r in (await s.execute(rq.order_by(PlaybookRunRecord.started_at))).scalars()]
    return {**incident_dict_full(inc), "timeline": events, "runs": runs}
