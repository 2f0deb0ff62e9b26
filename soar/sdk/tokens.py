"""The agent side of soar's policy decision point: signed token requests and authorize calls (httpx).

The request body is built by ``soar.identity.credentials.build_token_request`` (the server's own
format); scopes are tool globs (``"crm.*"``, shorthand for every resource and action) or scope dicts
``{"tool", "resources", "actions"}``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict

from soar.telemetry.signing import sign_object

ScopeLike = str | Mapping[str, Any]
_JSON = {"content-type": "application/json"}


class TokenGrant(BaseModel):
    """The answer of ``POST /v1/tokens``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    token: str
    credential_id: str
    expires_at: datetime | str | None = None


class AuthorizeDecision(BaseModel):
    """The answer of ``POST /v1/authorize`` (``reason`` is a short code: ok, expired, revoked, ...)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    allow: bool
    reason: str = ""


def token_request_body(
    private_key: Ed25519PrivateKey, kid: str, agent_id: str, task_id: str, scopes: Sequence[ScopeLike]
) -> dict[str, Any]:
    """The signed body of ``POST /v1/tokens``."""
    try:
        from soar.identity.credentials import build_token_request
    except ImportError:  # the SDK shipped without the server package: same agreed format, built here
        body = {
            "agent_id": agent_id,
            "task_id": task_id,
            "scopes": [
                {"tool": s, "resources": ["*"], "actions": ["*"]} if isinstance(s, str) else dict(s) for s in scopes
            ],
            "ts": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "nonce": secrets.token_urlsafe(18),
        }
        return sign_object(body, private_key, kid)
    return dict(build_token_request(private_key, kid, agent_id, task_id, list(scopes)))


async def post_token_request(http: httpx.AsyncClient, api_url: str, body: dict[str, Any]) -> TokenGrant:
    """Send a signed token request; raises ``httpx.HTTPStatusError`` when soar refuses it."""
    resp = await http.post(f"{api_url}/v1/tokens", content=orjson.dumps(body), headers=_JSON)
    resp.raise_for_status()
    return TokenGrant.model_validate(resp.json())


async def post_authorize(
    http: httpx.AsyncClient, api_url: str, token: str, tool: str, resource: str, action: str
) -> AuthorizeDecision:
    """Ask whether ``token`` may do ``action`` on ``resource`` with ``tool``."""
    body = {"token": token, "tool": tool, "resource": resource, "action": action}
    resp = await http.post(f"{api_url}/v1/authorize", content=orjson.dumps(body), headers=_JSON)
    # A deny may come back as 401/403 with a decision body; anything else that is not 2xx is an error.
    if resp.status_code in (401, 403) and resp.headers.get("content-type", "").startswith("application/json"):
        data = resp.json()
        if isinstance(data, dict) and "allow" in data:
            return AuthorizeDecision.model_validate(data)
    resp.raise_for_status()
    return AuthorizeDecision.model_validate(resp.json())
