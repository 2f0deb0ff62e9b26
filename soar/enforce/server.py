"""A tool server that enforces soar's decisions: every call is checked through ``POST /v1/authorize`` first.

Agents call ``POST /tools/{tool}`` with their task-scoped token as a bearer token and a JSON body
``{"resource": ..., "action": ..., "args": {...}}``. The server asks soar; a deny is answered ``403`` with the
reason and the tool never runs; if soar cannot be reached the call is refused with ``503`` (fail closed)::

    async def fetch(args: dict) -> str: ...
    async with ToolServer(api_url, {"browser.fetch": fetch}).running() as server:
        print(server.url)   # agents POST {server.url}/tools/browser.fetch

Every decision is kept in ``decisions`` (newest last) for the demo and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from soar.broker import free_port

log = structlog.get_logger(__name__)

ToolHandler = Callable[[dict[str, Any]], Awaitable[Any] | Any]


@dataclass(frozen=True)
class EnforcedCall:
    """One call the tool server saw and what it decided."""

    tool: str
    resource: str
    action: str
    allowed: bool
    reason: str
    agent_id: str | None
    credential_id: str | None
    ts: float


@dataclass
class EnforcementLog:
    """The decisions of one tool server."""

    decisions: list[EnforcedCall] = field(default_factory=list)

    def denied(self) -> list[EnforcedCall]:
        """Calls that were refused."""
        return [d for d in self.decisions if not d.allowed]


def _bearer(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def create_tool_app(
    api_url: str,
    tools: Mapping[str, ToolHandler],
    *,
    http: httpx.AsyncClient | None = None,
    record: EnforcementLog | None = None,
) -> Starlette:
    """The tool server as an ASGI app; ``http`` reaches soar (default: a client made at startup)."""
    record = record if record is not None else EnforcementLog()
    api = api_url.rstrip("/")
    holder: dict[str, httpx.AsyncClient] = {}

    def client() -> httpx.AsyncClient:
        if http is not None:
            return http
        if "c" not in holder:
            holder["c"] = httpx.AsyncClient(timeout=5.0)
        return holder["c"]

    async def call(request: Request) -> JSONResponse:
        tool = request.path_params["tool"]
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"allowed": False, "reason": "malformed"}, status_code=400)
        resource, action = str(body.get("resource", "")), str(body.get("action", "call"))
        token = _bearer(request)
        if tool not in tools:
            return JSONResponse({"allowed": False, "reason": "unknown_tool"}, status_code=404)
        if not token:
            return JSONResponse({"allowed": False, "reason": "no_token"}, status_code=401)
        try:
            r = await client().post(
                f"{api}/v1/authorize", json={"token": token, "tool": tool, "resource": resource, "action": action}
            )
            r.raise_for_status()
            decision = r.json()
        except (httpx.HTTPError, ValueError) as e:  # fail closed: no decision, no call
            log.warning("authorize unreachable; refusing", tool=tool, error=str(e))
            return JSONResponse({"allowed": False, "reason": "pdp_unavailable"}, status_code=503)
        allowed, reason = bool(decision.get("allow")), str(decision.get("reason", ""))
        record.decisions.append(
            EnforcedCall(
                tool,
                resource,
                action,
                allowed,
                reason,
                decision.get("agent_id"),
                decision.get("credential_id"),
                time.time(),
            )
        )
        if not allowed:
            log.info("tool call denied", tool=tool, resource=resource, reason=reason, agent_id=decision.get("agent_id"))
            return JSONResponse({"allowed": False, "reason": reason}, status_code=403)
        args = body.get("args") if isinstance(body.get("args"), dict) else {}
        try:
            result = tools[tool](args)
            if inspect.isawaitable(result):
                result = await result
        except Exception as e:
            return JSONResponse({"allowed": True, "reason": reason, "error": str(e)}, status_code=500)
        return JSONResponse({"allowed": True, "reason": reason, "result": result})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if "c" in holder:
                await holder.pop("c").aclose()

    app = Starlette(routes=[Route("/tools/{tool}", call, methods=["POST"])], lifespan=lifespan)
    app.state.enforcement = record
    return app


class ToolServer:
    """Runs :func:`create_tool_app` under uvicorn in the current event loop, on loopback."""

    def __init__(self, api_url: str, tools: Mapping[str, ToolHandler], *, port: int = 0) -> None:
        self.record = EnforcementLog()
        self.app = create_tool_app(api_url, tools, record=self.record)
        self.port = port or free_port()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def decisions(self) -> list[EnforcedCall]:
        """Every decision so far."""
        return self.record.decisions

    async def start(self) -> ToolServer:
        """Start serving; returns once the port accepts connections."""
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        """Stop serving."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)
        self._server = self._task = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ToolServer]:
        """``async with server.running():`` start, then stop."""
        await self.start()
        try:
            yield self
        finally:
            await self.stop()
