"""Operator endpoints for the agent registry: list, inspect, register, quarantine, release."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from soar.api.auth import Operator, require_operator
from soar.api.schemas import AgentDetailOut, AgentIn, AgentKeyOut, AgentOut, ErrorOut, ReasonIn
from soar.api.state import db_session
from soar.identity.agents import AgentStatus, agent_keys, get_agent, list_agents, register_agent, set_status
from soar.store.models import AgentRecord

router = APIRouter(prefix="/v1/agents", tags=["agents"], dependencies=[Depends(require_operator)])


async def _detail(session: AsyncSession, agent: AgentRecord) -> AgentDetailOut:
    keys = [AgentKeyOut.model_validate(k) for k in await agent_keys(session, agent.agent_id)]
    return AgentDetailOut(**AgentOut.model_validate(agent).model_dump(), keys=keys)


@router.get("", response_model=list[AgentOut])
async def agents(
    status_: Literal["active", "quarantined"] | None = Query(default=None, alias="status"),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
    session: AsyncSession = Depends(db_session),
) -> list[AgentOut]:
    """Agents ordered by id."""
    return [AgentOut.model_validate(a) for a in await list_agents(session, status=status_, limit=limit, offset=offset)]


@router.get("/{agent_id}", response_model=AgentDetailOut, responses={404: {"model": ErrorOut}})
async def agent(agent_id: str, session: AsyncSession = Depends(db_session)) -> AgentDetailOut:
    """One agent: status, tools and keys."""
    rec = await get_agent(session, agent_id)
    if rec is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown agent {agent_id}")
    return await _detail(session, rec)


@router.post(
    "",
    response_model=AgentDetailOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": AgentDetailOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def register(
    body: AgentIn,
    response: Response,
    operator: Operator = Depends(require_operator),
    session: AsyncSession = Depends(db_session),
) -> AgentDetailOut:
    """Register an agent with its public key: 201 when created, 200 when it existed (key added / fields updated)."""
    async with session.begin():
        existed = await get_agent(session, body.agent_id) is not None
        rec = await register_agent(
            session,
            body.agent_id,
            body.public_key,
            owner=body.owner,
            labels=body.labels,
            tools=body.tools,
            actor=operator.actor,
        )
        out = await _detail(session, rec)
    if existed:
        response.status_code = status.HTTP_200_OK
    return out


async def _set_status(
    session: AsyncSession, agent_id: str, new: AgentStatus, body: ReasonIn, operator: Operator
) -> AgentDetailOut:
    async with session.begin():
        rec = await set_status(session, agent_id, new, body.reason, operator.actor)
        return await _detail(session, rec)


@router.post("/{agent_id}/quarantine", response_model=AgentDetailOut, responses={404: {"model": ErrorOut}})
async def quarantine(
    agent_id: str,
    body: ReasonIn | None = None,
    operator: Operator = Depends(require_operator),
    session: AsyncSession = Depends(db_session),
) -> AgentDetailOut:
    """Quarantine the agent: its tokens are denied from the next authorize call on (audited)."""
    return await _set_status(session, agent_id, "quarantined", body or ReasonIn(), operator)


@router.post("/{agent_id}/release", response_model=AgentDetailOut, responses={404: {"model": ErrorOut}})
async def release(
    agent_id: str,
    body: ReasonIn | None = None,
    operator: Operator = Depends(require_operator),
    session: AsyncSession = Depends(db_session),
) -> AgentDetailOut:
    """Release the agent from quarantine (audited)."""
    return await _set_status(session, agent_id, "active", body or ReasonIn(), operator)
