"""Operator views of detections and response: findings, incidents with their timeline, runs and steps."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from soar.api.auth import require_operator
from soar.api.schemas import (
    ErrorOut,
    FindingOut,
    IncidentDetailOut,
    IncidentEventOut,
    IncidentOut,
    RunOut,
    StepOut,
)
from soar.api.state import db_session
from soar.store.models import (
    FindingRecord,
    IncidentEventRecord,
    IncidentRecord,
    PlaybookRunRecord,
    StepRunRecord,
)

router = APIRouter(prefix="/v1", tags=["incidents"], dependencies=[Depends(require_operator)])


@router.get("/findings", response_model=list[FindingOut])
async def findings(
    agent_id: str | None = None,
    incident_id: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    session: AsyncSession = Depends(db_session),
) -> list[FindingOut]:
    """Findings, newest first."""
    q = select(FindingRecord).order_by(FindingRecord.ts.desc(), FindingRecord.finding_id).limit(limit)
    if agent_id is not None:
        q = q.where(FindingRecord.agent_id == agent_id)
    if incident_id is not None:
        q = q.where(FindingRecord.incident_id == incident_id)
    return [FindingOut.model_validate(f) for f in (await session.execute(q)).scalars()]


@router.get("/incidents", response_model=list[IncidentOut])
async def incidents(
    agent_id: str | None = None,
    status_: Literal["open", "contained", "resolved"] | None = Query(default=None, alias="status"),
    limit: int = Query(default=100, ge=1, le=1000),
    session: AsyncSession = Depends(db_session),
) -> list[IncidentOut]:
    """Incidents, newest first."""
    q = select(IncidentRecord).order_by(IncidentRecord.opened_at.desc(), IncidentRecord.incident_id).limit(limit)
    if agent_id is not None:
        q = q.where(IncidentRecord.agent_id == agent_id)
    if status_ is not None:
        q = q.where(IncidentRecord.status == status_)
    return [IncidentOut.model_validate(i) for i in (await session.execute(q)).scalars()]


@router.get("/incidents/{incident_id}", response_model=IncidentDetailOut, responses={404: {"model": ErrorOut}})
async def incident(incident_id: str, session: AsyncSession = Depends(db_session)) -> IncidentDetailOut:
    """One incident with its timeline (oldest first), findings, and playbook runs with their steps."""
    rec = await session.get(IncidentRecord, incident_id)
    if rec is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown incident {incident_id}")
    timeline = (
        await session.execute(
            select(IncidentEventRecord)
            .where(IncidentEventRecord.incident_id == incident_id)
            .order_by(IncidentEventRecord.ts, IncidentEventRecord.id)
        )
    ).scalars()
    found = (
        await session.execute(
            select(FindingRecord).where(FindingRecord.incident_id == incident_id).order_by(FindingRecord.ts)
        )
    ).scalars()
    runs = list(
        (
            await session.execute(
                select(PlaybookRunRecord)
                .where(PlaybookRunRecord.incident_id == incident_id)
                .order_by(PlaybookRunRecord.started_at, PlaybookRunRecord.run_id)
            )
        ).scalars()
    )
    steps: dict[str, list[StepOut]] = {r.run_id: [] for r in runs}
    if runs:
        for s in (
            await session.execute(
                select(StepRunRecord)
                .where(StepRunRecord.run_id.in_(list(steps)))
                .order_by(StepRunRecord.run_id, StepRunRecord.position)
            )
        ).scalars():
            steps[s.run_id].append(StepOut.model_validate(s))
    return IncidentDetailOut(
        **IncidentOut.model_validate(rec).model_dump(),
        timeline=[IncidentEventOut.model_validate(e) for e in timeline],
        findings=[FindingOut.model_validate(f) for f in found],
        runs=[RunOut(**RunOut.model_validate(r).model_dump(exclude={"steps"}), steps=steps[r.run_id]) for r in runs],
    )
