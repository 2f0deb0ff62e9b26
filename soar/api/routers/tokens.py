"""The PDP: agents get task-scoped tokens, enforcement points ask whether a call is allowed.

These endpoints take no operator token: ``/v1/tokens`` is authenticated by the agent's own signature,
``/v1/authorize`` answers about the token it is given, and the JWK set is public.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from soar.api.schemas import AuthorizeIn, ErrorOut, TokenOut
from soar.api.state import ApiState, api_state, db_session
from soar.identity.credentials import Decision, TokenRequest, authorize, request_token
from soar.identity.keys import JWKSet, jwks

router = APIRouter(prefix="/v1", tags=["tokens"])


@router.post(
    "/tokens",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)
async def create_token(
    body: TokenRequest,
    request: Request,
    state: ApiState = Depends(api_state),
    session: AsyncSession = Depends(db_session),
) -> TokenOut:
    """Issue a token to an agent that signed the request with its registered key."""
    raw: dict[str, Any] = await request.json()  # the signature covers the body as sent, not the parsed model
    async with session.begin():
        issued = await request_token(session, raw, settings=state.settings, key=state.signing_key)
    return TokenOut(token=issued.token, credential_id=issued.credential_id, expires_at=issued.expires_at)


@router.post("/authorize", response_model=Decision)
async def authorize_call(body: AuthorizeIn, state: ApiState = Depends(api_state)) -> Decision:
    """Allow or deny one tool call; always 200 (the decision is in the body). Revocation is never cached."""
    if state.authorizer is not None:
        return await state.authorizer.authorize(body.token, body.tool, body.resource, body.action)
    async with state.sessionmaker() as session:
        return await authorize(session, body.token, body.tool, body.resource, body.action, key=state.signing_key)


@router.get("/.well-known/jwks.json", response_model=JWKSet)
def jwk_set(state: ApiState = Depends(api_state)) -> JWKSet:
    """soar's public token-signing keys."""
    return jwks([state.signing_key])
