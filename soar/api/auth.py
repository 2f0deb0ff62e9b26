"""Operator authentication and roles: the one dependency every operator endpoint uses, so roles live in one place.

Operators present a bearer token. Two sources:

* the admin token: ``settings.admin_token``, or, when that is empty, a random token generated once into
  ``data_dir/admin_token`` (mode 0600); it is operator ``admin`` with role ``admin``. Its path is logged,
  never its value;
* the operators file (``settings.operators_file``, default ``data_dir/operators.yaml``; optional), one entry
  per person with the SHA-256 of their token, so the file holds no secret (``soar operators add`` writes it)::

      operators:
        - {name: alice, roles: [oncall], token_sha256: 9f86d0...}
        - {name: carol, roles: [viewer], token_sha256: 60303a...}

Roles and what they allow (``permission_for`` + ``allows``, enforced by ``require_operator``):

=========================  ==========================================================================
``viewer``                 read (every ``GET``)
any other role             read, and respond: approve/deny steps, ack/note/resolve incidents
(``responder``, ``oncall``,  (a step's ``approval.roles`` narrows who may decide it)
 ``soc``...)
``admin``                  everything, including managing agents, keys and credentials
=========================  ==========================================================================

A route that changes state and is not listed in ``RESPOND_ROUTES`` needs ``admin``: new routes are safe by default.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import structlog
import yaml
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from soar.api.state import state_of
from soar.config import Settings
from soar.identity.keys import ensure_secret_file
from soar.yamldoc import read_yaml

log = structlog.get_logger(__name__)

ADMIN_TOKEN_FILE = "admin_token"
OPERATORS_FILE = "operators.yaml"
ADMIN, VIEWER = "admin", "viewer"
Permission = Literal["read", "respond", "manage"]
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: state-changing routes a responder (any role but viewer) may call; every other write needs admin
RESPOND_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/v1/runs/{run_id}/steps/{step_id}/approve"),
        ("POST", "/v1/runs/{run_id}/steps/{step_id}/deny"),
        ("POST", "/v1/incidents/{incident_id}/ack"),
        ("POST", "/v1/incidents/{incident_id}/notes"),
        ("POST", "/v1/incidents/{incident_id}/resolve"),
    }
)
_bearer = HTTPBearer(auto_error=False, description="operator token (admin token or one from the operators file)")


@dataclass(frozen=True)
class Operator:
    """An authenticated operator; ``actor`` is what the audit log records."""

    name: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def actor(self) -> str:
        """Audit actor, ``user:<name>``."""
        return f"user:{self.name}"


class OperatorSpec(BaseModel):
    """One operator in the operators file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    roles: list[str] = Field(min_length=1)
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class OperatorsFileSpec(BaseModel):
    """The operators file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    operators: list[OperatorSpec] = []


def token_digest(token: str) -> str:
    """SHA-256 hex of a bearer token (what the operators file stores)."""
    return hashlib.sha256(token.encode()).hexdigest()


def admin_token_path(settings: Settings) -> Path:
    """Where a generated operator token is kept."""
    return settings.data_dir / ADMIN_TOKEN_FILE


def operators_path(settings: Settings) -> Path:
    """The operators file: ``settings.operators_file`` or ``data_dir/operators.yaml``."""
    return settings.operators_file or settings.data_dir / OPERATORS_FILE


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


def load_operators(path: Path) -> dict[str, Operator]:
    """Token digest -> operator, from the operators file (empty when the file does not exist).

    A malformed file is an error (``ValueError`` naming the file), not an API that silently lets nobody in.
    """
    if not path.exists():
        return {}
    try:
        spec = OperatorsFileSpec.model_validate(read_yaml(path)[0] or {})
    except (yaml.YAMLError, ValidationError) as e:
        raise ValueError(f"{path}: bad operators file: {e}") from e
    names = [o.name for o in spec.operators]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: an operator name appears twice")
    out = {o.token_sha256: Operator(o.name, frozenset(o.roles)) for o in spec.operators}
    log.info("operators loaded", path=str(path.resolve()), count=len(out))
    return out


def add_operator(path: Path, name: str, roles: Collection[str]) -> str:
    """Add (or re-key) ``name`` with ``roles`` in the operators file; returns the new token (shown once)."""
    spec = OperatorsFileSpec.model_validate(read_yaml(path)[0] or {}) if path.exists() else None
    token = secrets.token_urlsafe(32)
    entry = OperatorSpec(name=name, roles=sorted(set(roles)), token_sha256=token_digest(token))
    kept = [o for o in (spec.operators if spec else []) if o.name != name]
    data = OperatorsFileSpec(operators=[*kept, entry]).model_dump(mode="json")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False))
    tmp.replace(path)
    return token


def permission_for(method: str, route_path: str) -> Permission:
    """What calling ``method route_path`` needs: read (GET), respond (decisions on runs/incidents) or manage."""
    if method.upper() in _READ_METHODS:
        return "read"
    return "respond" if (method.upper(), route_path) in RESPOND_ROUTES else "manage"


def allows(roles: Collection[str], permission: Permission) -> bool:
    """Do ``roles`` grant ``permission``? admin: all; viewer: read; any other role: read and respond."""
    roles = set(roles)
    if ADMIN in roles:
        return True
    if permission == "read":
        return bool(roles)
    if permission == "respond":
        return bool(roles - {VIEWER})
    return False


def authenticate(token: str, admin_token: str, operators: dict[str, Operator]) -> Operator | None:
    """The operator holding ``token``, or None."""
    if not token:
        return None
    if hmac.compare_digest(token.encode(), admin_token.encode()):
        return Operator(name=ADMIN, roles=frozenset({ADMIN}))
    digest = token_digest(token)
    for known, op in operators.items():  # constant-time per entry; the list is short
        if hmac.compare_digest(digest, known):
            return op
    return None


async def require_operator(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Operator:
    """Dependency for operator endpoints: 401 without a known token, 403 when the roles do not allow the route."""
    state = state_of(request)
    op = authenticate(credentials.credentials if credentials is not None else "", state.admin_token, state.operators)
    if op is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "operator token required", headers={"WWW-Authenticate": "Bearer"}
        )
    route = request.scope.get("route")
    permission = permission_for(request.method, getattr(route, "path", request.url.path))
    if not allows(op.roles, permission):
        log.info("operator refused", operator=op.name, roles=sorted(op.roles), permission=permission)
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"operator {op.name!r} may not {permission} here")
    return op
