"""The ``Notifier`` extension point: pages people on a channel, at most once per idempotency key.

A notifier is configured per channel and delivers a JSON-able message. It records a ``DeliveryRecord`` in
the caller's session so that a replayed or resumed step pages nobody twice::

    class EchoNotifier(Notifier):
        name = "echo"

        async def deliver(self, body, idempotency_key, event="trigger"):
            print(event, body)
            return Delivery(status="delivered", attempts=1, response_code=None, target="stdout")
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from soar.errors import NotifyError
from soar.store.models import DeliveryRecord


@dataclass(frozen=True)
class Delivery:
    """The outcome of one delivery attempt sequence."""

    status: str
    attempts: int
    response_code: int | None
    target: str
    duplicate: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (step output)."""
        return {
            "status": self.status,
            "attempts": self.attempts,
            "response_code": self.response_code,
            "target": self.target,
            "duplicate": self.duplicate,
        }


class Notifier:
    """Base class of notifiers; subclasses implement ``deliver``."""

    name: ClassVar[str] = ""
    #: notifiers that can close what they opened (PagerDuty) accept ``event="resolve"``
    resolves: ClassVar[bool] = False
    target: str = ""

    async def deliver(self, body: dict[str, Any], idempotency_key: str, event: str = "trigger") -> Delivery:
        """Send ``body`` once (with retries); raise NotifyError when it cannot be delivered."""
        raise NotImplementedError

    async def send(
        self,
        session: AsyncSession,
        body: dict[str, Any],
        *,
        idempotency_key: str,
        incident_id: str | None = None,
        event: str = "trigger",
    ) -> Delivery:
        """Deliver unless ``idempotency_key`` was already delivered; record the delivery in ``session``."""
        existing = await session.get(DeliveryRecord, idempotency_key)
        if existing is not None and existing.status == "delivered":
            return Delivery(
                status="delivered",
                attempts=existing.attempts,
                response_code=existing.response_code,
                target=existing.target,
                duplicate=True,
            )
        result = await self.deliver(body, idempotency_key, event)
        if existing is None:
            session.add(
                DeliveryRecord(
                    idempotency_key=idempotency_key,
                    notifier=self.name,
                    target=result.target,
                    status=result.status,
                    attempts=result.attempts,
                    response_code=result.response_code,
                    incident_id=incident_id,
                )
            )
        else:
            existing.status = result.status
            existing.attempts += result.attempts
            existing.response_code = result.response_code
        await session.flush()
        return result


_clients: dict[int, httpx.AsyncClient] = {}


def shared_client() -> httpx.AsyncClient:
    """One HTTP client per event loop, reused by every notifier.

    Building an ``httpx.AsyncClient`` loads the CA bundle into a new SSL context (tens of ms; 15% of worker
    CPU when it was done per page), and a kept client also keeps connections to the receivers alive.
    """
    key = id(asyncio.get_running_loop())
    client = _clients.get(key)
    if client is None or client.is_closed:
        client = _clients[key] = httpx.AsyncClient()
    return client


async def post_json(
    client: httpx.AsyncClient | None,
    url: str,
    data: bytes,
    headers: dict[str, str],
    *,
    retries: int,
    backoff_s: float,
    timeout_s: float,
    label: str,
) -> tuple[int, httpx.Response]:
    """POST with retries: 2xx returns (attempts, response), 4xx (but 429) fails at once, 5xx/transport retry."""
    client = client or shared_client()
    last = ""
    for attempt in range(1, retries + 2):
        try:
            resp = await client.post(url, content=data, headers=headers, timeout=timeout_s)
        except httpx.TransportError as e:
            last = f"{type(e).__name__}: {e}"
        else:
            if resp.is_success:
                return attempt, resp
            if resp.status_code < 500 and resp.status_code != 429:
                raise NotifyError(f"{label} {url} refused: HTTP {resp.status_code}")
            last = f"HTTP {resp.status_code}"
        if attempt <= retries:
            await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
    raise NotifyError(f"{label} {url} failed after {retries + 1} attempts: {last}")
