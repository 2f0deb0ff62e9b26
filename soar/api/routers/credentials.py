"""Operator endpoints for issued credentials: list and revoke."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from soar.api.auth import Operator, require_operator
from soar.api.schemas import CredentialOut, ErrorOut, ReasonIn
from soar.api.state import db_session
from soar.identity.credentials import revoke_agent_credentials, revoke_credential
from soar.store.models import CredentialRecord
from soar.telemetry.events import utcnow

router = APIRouter(tags=["credentials"], dependencies=[Depends(require_operator)])


@router.get("/v1/credentials", response_model=list[CredentialOut])
async def credentials(
    agent_id: str | None = None,
    active: bool = Query(default=False, description="only unrevoked, unexpired credentials"),
    limit: int = Query(default=100, ge=1, le=1000),
    session: AsyncSession = Depends(db_session),
) -> list[CredentialOut]:
    """Credentials, newest first."""
    q = select(CredentialRecord).order_by(CredentialRecord.issued_at.desc()).limit(limit)
    if agent_id is not None:
        q = q.where(CredentialRecord.agent_id == agent_id)
    if active:
        q = q.where(CredentialRecord.revoked_at.is_(None), CredentialRecord.expires_at > utcnow())
    return [CredentialOut.model_validate(c) for c in (await session.execute(q)).scalars()]


@router.post(
    "/v1/credentials/{credential_id}/revoke", response_model=CredentialOut, responses={404: {"model": ErrorOut}}
)
async def revoke(
    credential_id: str,
    body: ReasonIn | None = None,
    operator: Operator = Depends(require_operator),
    session: AsyncSession = Depends(db_session),
) -> CredentialOut:
    """Revoke one credential (audited); denied from the next authorize call on."""
    async with session.begin():
        cred = await revoke_credential(session, credential_id, (body or ReasonIn()).reason, operator.actor)
        return CredentialOut.model_validate(cred)


@router.post("/v1/agents/{agent_id}/credentials/revoke", response_model=list[str])
async def revoke_all(
    agent_id: str,
    body: ReasonIn | None = None,
    operator: Operator = Depends(require_operator),
    session: AsyncSession = Depends(db_session),
) -> list[str]:
    """Revoke every live credential of the agent (audited); returns the revoked ids."""
    async with session.begin():
        return await revoke_agent_credentials(session, agent_id, (body or ReasonIn()).reason, operator.actor)
