"""WebhookNotifier against a real HTTP receiver on 127.0.0.1: signature, idempotency, retries."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from soar.config import Settings
from soar.errors import NotifyError
from soar.notify import Notifiers, WebhookNotifier
from soar.notify.webhook import sign, verify_signature
from soar.store.models import DeliveryRecord
from tests.notify.receiver import SECRET, Receiver


async def test_webhook_signed_and_recorded(receiver: Receiver, sessionmaker) -> None:
    n = WebhookNotifier(f"{receiver.url}/hook", SECRET)
    async with sessionmaker() as s, s.begin():
        d = await n.send(s, {"incident": {"id": "i1"}, "text": "héllo"}, idempotency_key="run:page", incident_id="i1")
    assert d.status == "delivered" and d.attempts == 1 and d.response_code == 200
    [req] = receiver.requests
    assert req.path == "/hook"
    assert req.signature_ok()
    assert not req.signature_ok("wrong-secret")
    assert verify_signature(req.raw, SECRET, req.headers["X-Soar-Signature"])
    assert req.headers["Idempotency-Key"] == "run:page"
    assert req.body == {"incident": {"id": "i1"}, "text": "héllo"}
    async with sessionmaker() as s:
        rec = await s.get(DeliveryRecord, "run:page")
        assert rec is not None and rec.status == "delivered" and rec.incident_id == "i1" and rec.notifier == "webhook"


async def test_webhook_same_key_delivers_once(receiver: Receiver, sessionmaker) -> None:
    n = WebhookNotifier(receiver.url, SECRET)
    for _ in range(3):
        async with sessionmaker() as s, s.begin():
            d = await n.send(s, {"x": 1}, idempotency_key="k1")
    assert d.duplicate is True
    assert len(receiver.requests) == 1
    async with sessionmaker() as s:
        assert (await s.execute(select(func.count()).select_from(DeliveryRecord))).scalar() == 1


async def test_webhook_retries_5xx_then_delivers(receiver: Receiver, sqlite_sessionmaker) -> None:
    receiver.fail_next = 2
    n = WebhookNotifier(receiver.url, SECRET, retries=3, backoff_s=0.01)
    async with sqlite_sessionmaker() as s, s.begin():
        d = await n.send(s, {"x": 1}, idempotency_key="k2")
    assert d.attempts == 3 and len(receiver.requests) == 3
    assert len({r.headers["Idempotency-Key"] for r in receiver.requests}) == 1  # the receiver can dedupe retries


async def test_webhook_4xx_fails_without_retry(receiver: Receiver) -> None:
    receiver.fail_next, receiver.fail_status = 5, 400
    n = WebhookNotifier(receiver.url, SECRET, retries=3, backoff_s=0.01)
    with pytest.raises(NotifyError, match="HTTP 400"):
        await n.deliver({"x": 1}, "k3")
    assert len(receiver.requests) == 1


async def test_webhook_connection_refused_retries_then_fails(receiver: Receiver) -> None:
    url = receiver.url
    await receiver.stop()  # nothing listens on the port any more
    n = WebhookNotifier(url, SECRET, retries=2, backoff_s=0.01)
    with pytest.raises(NotifyError, match="after 3 attempts"):
        await n.deliver({"x": 1}, "k4")


async def test_webhook_injected_client(receiver: Receiver) -> None:
    async with httpx.AsyncClient(headers={"X-Extra": "1"}) as client:
        n = WebhookNotifier(receiver.url, SECRET, client=client)
        await n.deliver({"x": 1}, "k5")
        await n.deliver({"x": 2}, "k6")
    assert [r.headers["X-Extra"] for r in receiver.requests] == ["1", "1"]


def test_notifiers_from_settings() -> None:
    env = {"SOAR_WEBHOOK_URL": "http://127.0.0.1:1/a", "SOAR_WEBHOOK_URL_SOC": "http://127.0.0.1:1/b", "OTHER": "x"}
    ns = Notifiers.from_settings(Settings(webhook_secret="s3"), environ=env)
    assert sorted(ns.channels) == ["oncall", "soc"]
    oncall = ns.get("oncall")
    assert isinstance(oncall, WebhookNotifier) and oncall.url.endswith("/a") and oncall.secret == "s3"
    with pytest.raises(NotifyError, match="configured: oncall, soc"):
        ns.get("pager")


def test_sign_format() -> None:
    assert sign(b"{}", "k").startswith("sha256=") and len(sign(b"{}", "k")) == 7 + 64
