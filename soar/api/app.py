"""``create_app``: the FastAPI application (PDP endpoints, operator views, health and metrics)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from soar import __version__
from soar.api.auth import load_admin_token, load_operators, operators_path
from soar.api.routers import agents, credentials, enrollment, health, incidents, otlp, runs, tokens
from soar.api.state import ApiState
from soar.config import Settings, get_settings
from soar.identity.errors import (
    AgentNotFound,
    EnrollmentRejected,
    IdentityError,
    KeyConflict,
    TokenRequestRejected,
)
from soar.identity.http import authorize_route
from soar.identity.keys import signing_key
from soar.identity.pdp import Authorizer, state_reader
from soar.store.session import get_engine, get_sessionmaker

_FORBIDDEN_REASONS = frozenset({"agent_quarantined", "scope_not_allowed"})


def _error(code: int, detail: str, reason: str = "") -> JSONResponse:
    return JSONResponse({"detail": detail, "reason": reason}, status_code=code)


async def _token_rejected(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TokenRequestRejected)
    code = status.HTTP_403_FORBIDDEN if exc.reason in _FORBIDDEN_REASONS else status.HTTP_401_UNAUTHORIZED
    return _error(code, str(exc), exc.reason)


async def _enrollment_rejected(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EnrollmentRejected)
    code = status.HTTP_409_CONFLICT if exc.reason == "key_conflict" else status.HTTP_401_UNAUTHORIZED
    if exc.reason == "malformed":
        code = 422
    return _error(code, str(exc), exc.reason)


async def _identity_error(_: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, AgentNotFound):
        return _error(status.HTTP_404_NOT_FOUND, f"unknown agent: {exc}", "not_found")
    if isinstance(exc, KeyConflict):
        return _error(status.HTTP_409_CONFLICT, str(exc), "key_conflict")
    return _error(422, str(exc), "invalid")


def create_app(settings: Settings | None = None, db_url: str | None = None) -> FastAPI:
    """Build the API for ``settings`` (default: process settings) on ``db_url`` (default: ``settings.db_url``).

    Loads (or creates) the token signing key and the operator token at once, so the app is ready without a
    lifespan run. Several apps on one database behave as one: every decision reads the database.
    """
    settings = settings or get_settings()
    url = db_url or settings.db_url

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            authorizer = app.state.soar.authorizer
            if authorizer is not None:
                await authorizer.close()

    app = FastAPI(
        title="soar",
        version=__version__,
        summary="Agentic SOAR: policy decision point and operator API",
        lifespan=lifespan,
    )
    key = signing_key(settings)
    app.state.soar = ApiState(
        settings=settings,
        db_url=url,
        sessionmaker=get_sessionmaker(url),
        signing_key=key,
        admin_token=load_admin_token(settings),
        operators=load_operators(operators_path(settings)),
        authorizer=Authorizer(key, state_reader(url, get_engine(url))),
    )
    app.add_exception_handler(TokenRequestRejected, _token_rejected)
    app.add_exception_handler(EnrollmentRejected, _enrollment_rejected)
    app.add_exception_handler(IdentityError, _identity_error)
    for module in (health, tokens, enrollment, agents, credentials, incidents, runs, otlp):
        app.include_router(module.router)
    app.router.routes.insert(0, authorize_route())  # /v1/authorize without FastAPI's per-request cost
    return app
