"""A run pages PagerDuty and a channel that is down (falls back to a webhook); resolving the incident over the API
resolves the PagerDuty alert with the same dedup_key. Real local receivers, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from soar.api.app import create_app
from soar.broker import free_port
from soar.config import Settings, get_settings
from soar.decide.engine import Responder
from soar.notify import Notifiers
from soar.store.models import DeliveryRecord, IncidentEventRecord
from soar.store.session import get_sessionmaker
from tests.decide.samples import Published, make_finding
from tests.decide.test_language import pb
from tests.notify.receiver import SECRET, Receiver

STEPS = [
    {"id": "page", "action": "notify:send", "with": {"channel": "pd", "message": "{{ finding.summary }}"}},
    {"id": "chat", "action": "notify:send", "with": {"channel": "slack"}},
]


@pytest.fixture
async def pd() -> AsyncIterator[Receiver]:
    """A PagerDuty Events API stand-in."""
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture
def channels(monkeypatch: pytest.MonkeyPatch, pd: Receiver, receiver: Receiver) -> Iterator[None]:
    """pd: PagerDuty (up); slack: down (nothing listens), falls back to backup: a signed webhook (up)."""
    for var, value in {
        "SOAR_PAGERDUTY_ROUTING_KEY_PD": "R0UTINGKEY",
        "SOAR_PAGERDUTY_URL": f"{pd.url}/v2/enqueue",
        "SOAR_SLACK_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/services/x",
        "SOAR_WEBHOOK_URL_BACKUP": f"{receiver.url}/backup",
        "SOAR_NOTIFY_FALLBACK_SLACK": "backup",
        "SOAR_WEBHOOK_SECRET": SECRET,
    }.items():
        monkeypatch.setenv(var, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_trigger_fallback_then_resolve_over_api(
    channels: None, pd: Receiver, receiver: Receiver, db_url: str, tmp_path: Path
) -> None:
    sm = get_sessionmaker(db_url)
    ns = Notifiers.from_settings()
    ns.channels["slack"].backoff_s = 0.01  # type: ignore[attr-defined]
    [out] = await Responder(sm, [pb(STEPS)], Published(), ns, timer_interval_s=None).handle([make_finding()])
    assert out.status == "completed", out.steps
    inc = out.incident_id
    [trigger] = [r.body for r in pd.requests]
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == f"soar-{inc}"
    [backup] = receiver.requests
    assert backup.path == "/backup" and backup.signature_ok() and backup.headers["Idempotency-Key"].endswith(">backup")
    chat = {s["step"]: s["output"] for s in out.steps}["chat"]
    assert chat["channel"] == "backup" and chat["requested"] == "slack" and "slack" in chat["failed"][0]
    async with sm() as s:
        lines = list((await s.execute(select(IncidentEventRecord.summary))).scalars())
        status = {d.notifier: d.status for d in (await s.execute(select(DeliveryRecord))).scalars()}
    assert any("delivery to slack failed" in x and "falling back to backup" in x for x in lines)
    assert status == {"pagerduty": "delivered", "slack": "failed", "webhook": "delivered"}

    app = create_app(Settings(data_dir=tmp_path / "data", admin_token="adm"), db_url)
    auth = {"Authorization": "Bearer adm"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://soar.test") as c:
        resp = await c.post(f"/v1/incidents/{inc}/resolve", json={"reason": "false positive"}, headers=auth)
        assert resp.status_code == 200, resp.text
        assert [d["status"] for d in resp.json()["alerts_resolved"]] == ["delivered"]
        assert (await c.post(f"/v1/incidents/{inc}/resolve", headers=auth)).status_code == 409
    assert [r.body["event_action"] for r in pd.requests] == ["trigger", "resolve"]
    assert pd.requests[1].body["dedup_key"] == f"soar-{inc}" and len(receiver.requests) == 1
