"""Enrollment: operators issue one-time tokens and revoke keys; agents enroll their own public key with a token.

``POST /v1/enroll`` takes no operator token: it is authenticated by the enrollment token and a signature by
the key being enrolled (proof of possession).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from soar.api.auth import Operator, require_operator
from soar.api.schemas import AgentKeyOut, EnrolledOut, EnrollmentIn, EnrollmentOut, ErrorOut, ReasonIn
from soar.api.state import ApiState, api_state, db_session
from soar.identity.agents import revoke_key
from soar.identity.enrollment import create_enrollment, enroll

router = APIRouter(prefix="/v1", tags=["enrollment"])


@router.post(
    "/agents/{agent_id}/enrollments",
    response_model=EnrollmentOut,
    status_code=status.HTTP_201_CREATED,
)
async def issue_enrollment(
    agent_id: str,
    body: EnrollmentIn,
    operator: Operator = Depends(require_operator),
    session: AsyncSession = Depends(db_session),
) -> EnrollmentOut:
    """Issue a one-time, expiring enrollment token for ``agent_id`` (shown once; stored hashed)."""
    async with session.begin():
        issued = await create_enrollment(
            session,
            agent_id,
            owner=body.owner,
            labels=body.labels,
            tools=body.tools,
            ttl_s=body.ttl_s,
            rotate_overlap_s=body.rotate_overlap_s,
            actor=operator.actor,
        )
    return EnrollmentOut(
        token=issued.token,
        enrollment_id=issued.enrollment_id,
        agent_id=issued.agent_id,
        expires_at=issued.expires_at,
        rotate_overlap_s=issued.rotate_overlap_s,
    )


@router.post(
    "/enroll",
    response_model=EnrolledOut,
    status_code=status.HTTP_201_CREATED,
    responses={401: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
async def enroll_agent(
    request: Request, state: ApiState = Depends(api_state), session: AsyncSession = Depends(db_session)
) -> EnrolledOut:
    """An agent registers its public key with a one-time token; the body is signed by that key."""
    raw: dict[str, Any] = await request.json()  # the signature covers the body as sent
    async with session.begin():
        result = await enroll(session, raw if isinstance(raw, dict) else {}, max_skew_s=state.settings.max_clock_skew_s)
    return EnrolledOut(
        agent_id=result.agent.agent_id,
        kid=result.kid,
        enrollment_id=result.enrollment_id,
        expiring_kids=result.expiring,
    )


@router.post(
    "/agents/{agent_id}/keys/{kid}/revoke",
    response_model=AgentKeyOut,
    responses={404: {"model": ErrorOut}},
)
async def revoke_agent_key(
    agent_id: str,
    kid: str,
    body: ReasonIn | None = None,
    operator: Operator = Depends(require_operator),
    session: AsyncSession = Depends(db_session),
) -> AgentKeyOut:
    """Revoke one key of the agent (audited): token requests and events signed with it stop verifying."""
    async with session.begin():
        key = await revoke_key(session, agent_id, kid, (body or ReasonIn()).reason, operator.actor)
        return AgentKeyOut.model_validate(key)
