"""Playbook runs and approvals, incident acknowledgement and resolution (operator endpoints).

Approving or denying records the decision (who, when, the comment) in the audit log and the incident
timeline; the responder's timer then continues the run, so commands are only ever published by it.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from soar.api.auth import Operator, require_operator
from soar.api.state import state_of
from soar.decide.approvals import ApprovalError, decide_step
from soar.decide.incidents import IncidentError, acknowledge, add_note, resolve
from soar.decide.views import incident_dict_full, run_dict, run_view
from soar.notify import Notifiers

router = APIRouter(prefix="/v1", tags=["runs"], dependencies=[Depends(require_operator)])

_CODES = {"not_found": status.HTTP_404_NOT_FOUND, "forbidden": status.HTTP_403_FORBIDDEN}


class DecisionIn(BaseModel):
    """Optional body of approve/deny."""

    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=2000)


class NoteIn(BaseModel):
    """A timeline note."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=10000)


class ResolveIn(BaseModel):
    """Optional body of resolve."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000)


def _http(e: ApprovalError | IncidentError) -> HTTPException:
    return HTTPException(_CODES.get(e.reason, status.HTTP_409_CONFLICT), str(e))


@router.get("/runs")
async def list_runs(
    request: Request,
    status_: Literal["running", "waiting", "completed", "failed", "denied"] | None = Query(
        default=None, alias="status"
    ),
    agent_id: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """Runs, newest first."""
    from sqlalchemy import select

    from soar.store.models import PlaybookRunRecord

    q = select(PlaybookRunRecord).order_by(PlaybookRunRecord.started_at.desc()).limit(limit)
    if status_ is not None:
        q = q.where(PlaybookRunRecord.status == status_)
    if agent_id is not None:
        q = q.where(PlaybookRunRecord.agent_id == agent_id)
    async with state_of(request).sessionmaker() as s:
        return [run_dict(r) for r in (await s.execute(q)).scalars()]


@router.get("/runs/{run_id}")
async def get_run(run_id: str, request: Request) -> dict[str, Any]:
    """One run with its steps (a waiting step shows the parameters it asks approval for)."""
    view = await run_view(state_of(request).sessionmaker, run_id)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown run {run_id}")
    return view


async def _decide(request: Request, run_id: str, step_id: str, decision: str, op: Operator, body: DecisionIn | None):
    try:
        out = await decide_step(
            state_of(request).sessionmaker,
            run_id,
            step_id,
            decision,  # type: ignore[arg-type]
            op.actor,
            op.roles,
            comment=body.comment if body else "",
            tier=state_of(request).settings.tier,
        )
    except ApprovalError as e:
        raise _http(e) from None
    return {
        "run_id": out.run_id,
        "step_id": out.step_id,
        "decision": out.decision,
        "decided_by": out.decided_by,
        "approved_by": list(out.approved_by),
        "approvers_required": out.approvers_required,
    }


@router.post("/runs/{run_id}/steps/{step_id}/approve")
async def approve_step(
    run_id: str,
    step_id: str,
    request: Request,
    body: DecisionIn | None = None,
    op: Operator = Depends(require_operator),
) -> dict[str, Any]:
    """Approve a waiting step; the responder runs it and continues the run.

    A step that needs two approvers (agent:release at the Optimized tier) answers ``decision: pending`` after the
    first approval and waits for a second, distinct operator.
    """
    return await _decide(request, run_id, step_id, "approved", op, body)


@router.post("/runs/{run_id}/steps/{step_id}/deny")
async def deny_step(
    run_id: str,
    step_id: str,
    request: Request,
    body: DecisionIn | None = None,
    op: Operator = Depends(require_operator),
) -> dict[str, Any]:
    """Deny a waiting step; the run stops there (or goes on past it with continue_on_error)."""
    return await _decide(request, run_id, step_id, "denied", op, body)


@router.post("/incidents/{incident_id}/ack")
async def ack_incident(incident_id: str, request: Request, op: Operator = Depends(require_operator)) -> dict[str, Any]:
    """Acknowledge an incident (stops its escalation)."""
    try:
        rec = await acknowledge(state_of(request).sessionmaker, incident_id, op.actor)
    except IncidentError as e:
        raise _http(e) from None
    return incident_dict_full(rec)


@router.post("/incidents/{incident_id}/notes")
async def note_incident(
    incident_id: str, body: NoteIn, request: Request, op: Operator = Depends(require_operator)
) -> dict[str, Any]:
    """Add a note to the incident timeline."""
    try:
        rec = await add_note(state_of(request).sessionmaker, incident_id, op.actor, body.text)
    except IncidentError as e:
        raise _http(e) from None
    return incident_dict_full(rec)


@router.post("/incidents/{incident_id}/resolve")
async def resolve_incident(
    incident_id: str, request: Request, body: ResolveIn | None = None, op: Operator = Depends(require_operator)
) -> dict[str, Any]:
    """Resolve an incident; its PagerDuty alerts are resolved with the same dedup_key."""
    state = state_of(request)
    try:
        rec, deliveries = await resolve(
            state.sessionmaker,
            incident_id,
            op.actor,
            Notifiers.from_settings(state.settings),
            body.reason if body else "",
        )
    except IncidentError as e:
        raise _http(e) from None
    return {**incident_dict_full(rec), "alerts_resolved": deliveries}
