"""Slack, PagerDuty (trigger, then resolve on the same dedup_key), e-mail (aiosmtpd) and fallback, against real
local receivers."""

from __future__ import annotations

import email
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from soar.act import ACTIONS
from soar.broker import free_port
from soar.decide.incidents import resolve
from soar.notify import EmailNotifier, Notifiers, PagerDutyNotifier, SlackNotifier
from soar.store.models import IncidentEventRecord, IncidentRecord
from tests.act.context import make_ctx
from tests.decide.samples import Published, make_finding
from tests.notify.receiver import Receiver


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    """A real SMTP server (aiosmtpd) on loopback."""
    inbox = _Inbox()
    port = free_port()
    c = Controller(inbox, hostname="127.0.0.1", port=port)
    c.start()
    yield inbox, port
    c.stop()


async def _incident(sm) -> None:  # type: ignore[no-untyped-def]
    async with sm() as s, s.begin():
        s.add(
            IncidentRecord(incident_id="inc-1", agent_id="agent-1", title="t", severity="critical", status="contained")
        )


async def _page(sm, ns: Notifiers, channel: str, key: str = "run-1:page") -> dict:  # type: ignore[no-untyped-def]
    async with sm() as s, s.begin():
        return await ACTIONS.get("notify:send")().execute(
            make_ctx(s, make_finding(summary="injected"), Published(), key=key, notifiers=ns, incident_id="inc-1"),
            {"channel": channel},
        )


async def test_slack_block_kit(receiver: Receiver, sqlite_sessionmaker) -> None:
    await _incident(sqlite_sessionmaker)
    out = await _page(
        sqlite_sessionmaker, Notifiers({"slack": SlackNotifier(f"{receiver.url}/services/T/B/x")}), "slack"
    )
    assert out["status"] == "delivered"
    [req] = receiver.requests
    body = req.body
    assert req.path == "/services/T/B/x" and "injected" in body["text"]
    assert body["blocks"][0]["type"] == "header" and body["blocks"][1]["type"] == "section"
    assert any("agent-1" in f["text"] for f in body["blocks"][1]["fields"])


async def test_pagerduty_trigger_then_resolve_same_dedup_key(receiver: Receiver, sessionmaker) -> None:
    await _incident(sessionmaker)
    ns = Notifiers({"pd": PagerDutyNotifier("R0UTINGKEY", url=f"{receiver.url}/v2/enqueue")})
    await _page(sessionmaker, ns, "pd")
    await _page(sessionmaker, ns, "pd", key="run-2:page")  # a second page about the same incident: same alert
    _, deliveries = await resolve(sessionmaker, "inc-1", "user:alice", ns)
    assert [d["status"] for d in deliveries] == ["delivered"]
    trig1, trig2, res = (r.body for r in receiver.requests)
    assert trig1["event_action"] == "trigger" and trig1["routing_key"] == "R0UTINGKEY"
    assert trig1["payload"]["severity"] == "critical" and trig1["payload"]["source"] == "agent-1"
    assert res["event_action"] == "resolve"
    assert trig1["dedup_key"] == trig2["dedup_key"] == res["dedup_key"] == "soar-inc-1"
    async with sessionmaker() as s:
        inc = await s.get(IncidentRecord, "inc-1")
        assert inc is not None and inc.status == "resolved"


async def test_email_over_smtp(smtp: tuple[_Inbox, int], sqlite_sessionmaker) -> None:
    inbox, port = smtp
    await _incident(sqlite_sessionmaker)
    ns = Notifiers({"email": EmailNotifier("127.0.0.1", port, "soar@test", ["oncall@test"], backoff_s=0.01)})
    out = await _page(sqlite_sessionmaker, ns, "email")
    assert out["status"] == "delivered"
    [msg] = inbox.messages
    assert msg["To"] == "oncall@test" and "CRITICAL" in msg["Subject"] and msg["X-Soar-Idempotency-Key"] == "run-1:page"
    assert "agent-1" in msg.get_payload()


async def test_fallback_when_channel_down(receiver: Receiver, sqlite_sessionmaker) -> None:
    await _incident(sqlite_sessionmaker)
    dead = SlackNotifier(f"http://127.0.0.1:{free_port()}/down", retries=1, backoff_s=0.01)
    ns = Notifiers({"slack": dead, "backup": SlackNotifier(f"{receiver.url}/backup")}, {"slack": "backup"})
    out = await _page(sqlite_sessionmaker, ns, "slack")
    assert out["channel"] == "backup" and out["requested"] == "slack" and len(out["failed"]) == 1
    assert [r.path for r in receiver.requests] == ["/backup"]
    async with sqlite_sessionmaker() as s:
        from sqlalchemy import select

        lines = list((await s.execute(select(IncidentEventRecord.summary))).scalars())
    assert any("falling back to backup" in x for x in lines)


def test_notifiers_from_environment() -> None:
    ns = Notifiers.from_settings(
        environ={
            "SOAR_SLACK_WEBHOOK_URL": "http://slack.test/x",
            "SOAR_PAGERDUTY_ROUTING_KEY_SEV1": "k",
            "SOAR_PAGERDUTY_URL": "http://pd.test/enqueue",
            "SOAR_SMTP_TO": "a@x, b@x",
            "SOAR_NOTIFY_FALLBACK_SLACK": "email",
        }
    )
    assert set(ns.channels) == {"slack", "sev1", "email"}
    assert ns.chain("slack") == ["slack", "email"]
    assert isinstance(ns.channels["sev1"], PagerDutyNotifier) and ns.channels["sev1"].url == "http://pd.test/enqueue"
