"""``WebhookNotifier``: POST a signed JSON body to a URL, retrying connection errors and 5xx with backoff."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, ClassVar

import httpx
import orjson

from soar.notify.base import Delivery, Notifier, post_json

SIGNATURE_HEADER = "X-Soar-Signature"


def sign(body: bytes, secret: str) -> str:
    """The signature header value: ``sha256=<hex HMAC-SHA256 of body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str) -> bool:
    """Constant-time check of a received signature header (for receivers and tests)."""
    return hmac.compare_digest(sign(body, secret), header or "")


class WebhookNotifier(Notifier):
    """Posts JSON with ``X-Soar-Signature`` and ``Idempotency-Key`` headers; the HTTP client is injectable."""

    name: ClassVar[str] = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        client: httpx.AsyncClient | None = None,
        retries: int = 3,
        backoff_s: float = 0.2,
        timeout_s: float = 5.0,
    ) -> None:
        self.url = url
        self.target = url
        self.secret = secret
        self.client = client
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s

    def encode(self, body: dict[str, Any]) -> bytes:
        """Canonical JSON bytes of the body (sorted keys), the bytes that are signed."""
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS, default=str)

    async def deliver(self, body: dict[str, Any], idempotency_key: str, event: str = "trigger") -> Delivery:
        """POST once per attempt; 2xx delivers, 4xx fails at once, 5xx and transport errors retry."""
        data = self.encode(body if event == "trigger" else {**body, "event": event})
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(data, self.secret),
            "Idempotency-Key": idempotency_key,
            "User-Agent": "soar-webhook/1",
        }
        attempts, resp = await post_json(
            self.client,
            self.url,
            data,
            headers,
            retries=self.retries,
            backoff_s=self.backoff_s,
            timeout_s=self.timeout_s,
            label="webhook",
        )
        return Delivery("delivered", attempts, resp.status_code, self.url)
