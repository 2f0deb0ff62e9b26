"""Operator authentication: the one dependency every operator endpoint uses, so roles live in one place.

Today there is one operator credential, a bearer token: ``settings.admin_token``, or, when that is empty, a
random token generated once into ``data_dir/admin_token`` (mode 0600). Its path is logged, never its value.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from soar.api.state import state_of
from soar.config import Settings
from soar.identity.keys import ensure_secret_file

log = structlog.get_logger(__name__)

ADMIN_TOKEN_FILE = "admin_token"
_bearer = HTTPBearer(auto_error=False, description="operator token (settings.admin_token or data_dir/admin_token)")


@dataclass(frozen=True)
class Operator:
    """An authenticated operator; ``actor`` is what the audit log records."""

    name: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def actor(self) -> str:
        """Audit actor, ``user:<name>``."""
        return f"user:{self.name}"


def admin_token_path(settings: Settings) -> Path:
    """Where a generated operator token is kept."""
    return settings.data_dir / ADMIN_TOKEN_FILE


def load_admin_token(settings: Settings) -> str:
    """The operator token: ``settings.admin_token``, else the one in ``data_dir/admin_token`` (created if missing)."""
    if settings.admin_token:
        return settings.admin_token
    path = admin_token_path(settings)
    created = not path.exists()
    token = ensure_secret_file(path, lambda: (secrets.token_urlsafe(32) + "\n").encode()).decode().strip()
    if not token:
        raise ValueError(f"{path} is empty; delete it to generate a new operator token")
    log.info("operator token generated" if created else "operator token loaded", path=str(path.resolve()))
    return token


async def require_operator(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Operator:
    """Dependency for operator endpoints: 401 unless the bearer token is the operator token."""
    expected = state_of(request).admin_token
    given = credentials.credentials if credentials is not None else ""
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "operator token required", headers={"WWW-Authenticate": "Bearer"}
        )
    return Operator(name="admin", roles=frozenset({"admin"}))
