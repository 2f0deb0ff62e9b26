"""A real HTTP receiver on 127.0.0.1 (aiohttp) that keeps every request, for webhook tests."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web

SECRET = "test-webhook-secret"


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    raw: bytes
    headers: dict[str, str]

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return orjson.loads(self.raw)

    def signature_ok(self, secret: str = SECRET) -> bool:
        """Recompute the HMAC independently of soar's code."""
        expect = "sha256=" + hmac.new(secret.encode(), self.raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expect, self.headers.get("X-Soar-Signature", ""))


@dataclass
class Receiver:
    """Answers 200, or ``fail_status`` for the next ``fail_next`` requests; ``on_request`` sees each one first."""

    requests: list[Received] = field(default_factory=list)
    on_request: Callable[[Received], None] | None = None
    fail_next: int = 0
    fail_status: int = 503
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        got = Received(request.path, raw, dict(request.headers))
        self.requests.append(got)
        if self.on_request is not None:
            self.on_request(got)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.json_response({"error": "nope"}, status=self.fail_status)
        return web.json_response({"ok": True})

    async def start(self) -> Receiver:
        """Bind an ephemeral port on loopback."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Close the server."""
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A started receiver, stopped after the test."""
    r = await Receiver().start()
    yield r
    await r.stop()
