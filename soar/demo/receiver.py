"""A real local webhook receiver (uvicorn) for the demo and tests: verifies the HMAC and keeps deliveries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from soar.broker import free_port
from soar.notify.webhook import SIGNATURE_HEADER, verify_signature


@dataclass
class Delivery:
    """One request the receiver got."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    signature_ok: bool
    received_at: float


@dataclass
class WebhookReceiver:
    """Serves ``POST /<anything>`` on 127.0.0.1; ``deliveries`` holds what arrived."""

    secret: str
    port: int = field(default_factory=free_port)
    on_delivery: Callable[[Delivery], None] | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    fail_next: int = 0  # answer 503 this many times (to exercise retries)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: Request) -> JSONResponse:
        raw = await request.body()
        if self.fail_next > 0:
            self.fail_next -= 1
            return JSONResponse({"error": "unavailable"}, status_code=503)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = {"_raw": raw.decode(errors="replace")}
        ok = verify_signature(raw, self.secret, request.headers.get(SIGNATURE_HEADER, ""))
        d = Delivery(request.url.path, body, dict(request.headers), ok, time.time())
        self.deliveries.append(d)
        if self.on_delivery:
            self.on_delivery(d)
        return JSONResponse({"ok": True, "signature_ok": d.signature_ok})

    async def start(self) -> WebhookReceiver:
        """Start serving in this event loop."""
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await self._task
