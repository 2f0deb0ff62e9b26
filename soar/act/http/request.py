"""``http:request``: call the user's own systems (an IdP, a secrets manager) on an allow-list, HMAC-signed.

Hosts must be listed in ``SOAR_HTTP_ALLOWED_HOSTS`` (comma separated ``host`` or ``host:port``); any other
host is refused before a connection is made. The body is canonical JSON signed with HMAC-SHA256 under
``SOAR_HTTP_SECRET`` (default: ``settings.webhook_secret``) in ``X-Soar-Signature``, the same scheme as the
webhook notifier, and carries the step's ``Idempotency-Key`` so the receiver can drop a resumed repeat.
"""

from __future__ import annotations

import os
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import orjson

from soar.act.base import Action, ActionContext, ActionParams
from soar.config import get_settings
from soar.errors import ActionCheckFailed, ActionError
from soar.notify.webhook import SIGNATURE_HEADER, sign
from soar.store.audit import audit

ALLOWED_HOSTS_ENV = "SOAR_HTTP_ALLOWED_HOSTS"
SECRET_ENV = "SOAR_HTTP_SECRET"
MAX_RESPONSE_BYTES = 64 * 1024


def allowed_hosts() -> set[str]:
    """The allow-list, lower-cased (read at call time so operators can change it without a redeploy)."""
    return {h.strip().lower() for h in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if h.strip()}


def host_allowed(url: str, allowed: set[str]) -> bool:
    """Is the URL's host (or host:port) on the allow-list? Only http(s) URLs without user info qualify."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return False  # urlsplit drops tabs and newlines that the HTTP client may read differently
    try:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
            return False
        host, port = parts.hostname.lower(), parts.port  # .port raises on "::1" or 99999
    except ValueError:  # "[::1", a bad port: not a URL we call
        return False
    return host in allowed or (port is not None and f"{host}:{port}" in allowed)


class HttpRequestAction(Action):
    """Send a signed JSON request to an allow-listed host; the JSON answer becomes the step output."""

    name = "http:request"
    category = "http"
    description = (
        "Call your own system (IdP, secrets manager, ticketing) with a JSON body signed with HMAC-SHA256 "
        "(X-Soar-Signature) and an Idempotency-Key; only hosts in SOAR_HTTP_ALLOWED_HOSTS are called, others "
        "are refused. Non-2xx answers fail the step (use retries)."
    )
    example = (
        "- id: disable_sp\n  action: http:request\n  with: {url: 'https://idp.example.com/api/disable', "
        "body: {principal: '{{ finding.agent_id }}'}}\n  retries: 2"
    )
    containment = False

    class Params(ActionParams):
        """Parameters of http:request."""

        url: str
        method: Literal["POST", "PUT", "PATCH", "DELETE"] = "POST"
        body: dict[str, Any] = {}
        headers: dict[str, str] = {}
        timeout_s: float = 10.0

    def check(self, ctx: ActionContext, params: ActionParams) -> None:
        """Refuse hosts that are not on the allow-list."""
        assert isinstance(params, self.Params)
        if not host_allowed(params.url, allowed_hosts()):
            raise ActionCheckFailed(f"http:request: host of {params.url!r} is not in {ALLOWED_HOSTS_ENV}")

    async def run(self, ctx: ActionContext, params: ActionParams) -> dict[str, Any]:
        """Send once; the receiver dedupes a resumed repeat by ``Idempotency-Key``."""
        assert isinstance(params, self.Params)
        data = orjson.dumps(params.body, option=orjson.OPT_SORT_KEYS)
        secret = os.environ.get(SECRET_ENV) or get_settings().webhook_secret
        headers = {
            **params.headers,
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(data, secret),
            "Idempotency-Key": ctx.idempotency_key,
            "User-Agent": "soar-http/1",
        }
        try:
            async with httpx.AsyncClient(timeout=params.timeout_s, follow_redirects=False) as client:
                resp = await client.request(params.method, params.url, content=data, headers=headers)
        except httpx.HTTPError as e:
            raise ActionError(f"http:request {params.url}: {type(e).__name__}: {e}") from e
        if not resp.is_success:
            raise ActionError(f"http:request {params.url}: HTTP {resp.status_code}")
        raw = resp.content[:MAX_RESPONSE_BYTES]
        try:
            answer: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            answer = raw.decode(errors="replace")
        await audit(
            ctx.session,
            ctx.actor,
            "http.request",
            f"url:{params.url}",
            {"method": params.method, "status": resp.status_code, "run_id": ctx.run_id},
        )
        return {"url": params.url, "status_code": resp.status_code, "response": answer}
