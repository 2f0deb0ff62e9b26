"""What one API instance holds: settings, its database, soar's signing key and the operator tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.config import Settings
from soar.identity.keys import SigningKey
from soar.identity.pdp import Authorizer

if TYPE_CHECKING:
    from soar.api.auth import Operator


@dataclass(frozen=True)
class ApiState:
    """Per-app state, on ``app.state.soar``."""

    settings: Settings
    db_url: str
    sessionmaker: async_sessionmaker[AsyncSession] = field(repr=False)
    signing_key: SigningKey
    admin_token: str = field(repr=False)
    authorizer: Authorizer | None = field(default=None, repr=False)
    #: token SHA-256 -> operator, from the operators file (see ``soar.api.auth``)
    operators: dict[str, Operator] = field(default_factory=dict, repr=False)


def state_of(request: Request) -> ApiState:
    """This app's state (plain function)."""
    state: ApiState = request.app.state.soar
    return state


async def api_state(request: Request) -> ApiState:
    """Dependency: this app's state (async: a sync dependency would cost a thread-pool hop per request)."""
    return state_of(request)


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Dependency: a session for one request (writers open ``session.begin()`` themselves)."""
    async with state_of(request).sessionmaker() as session:
        yield session
