"""The on-call endpoint is down (answers 503, or nothing listens): the notifier retries with backoff, then the
fallback channel (a second real receiver) gets the page, and the incident timeline and the audit log record the
failure and the fallback. Through the responder, as a playbook runs it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from soar.broker import free_port
from soar.decide.engine import Responder
from soar.decide.loader import load_file
from soar.notify import Notifiers, WebhookNotifier
from soar.store.models import AuditRecord, IncidentEventRecord, StepRunRecord
from tests.decide.samples import Published, make_finding
from tests.notify.receiver import SECRET, Receiver

PLAYBOOK = """
- playbook: Page on injection
  id: {id}
  trigger: {{detectors: [injection]}}
  steps:
    - {{id: page, action: notify:send, with: {{channel: oncall, message: "{{{{ finding.summary }}}}"}}}}
"""


@pytest.mark.parametrize("down", ["503", "not-listening"])
async def test_oncall_down_retries_then_falls_back_and_the_incident_records_it(
    down: str,
    receiver: Receiver,
    sessionmaker,
    tmp_path: Path,
) -> None:
    primary = await Receiver(fail_next=1000, fail_status=503).start()
    primary_url = primary.url
    if down == "not-listening":
        await primary.stop()
        primary_url = f"http://127.0.0.1:{free_port()}"
    (tmp_path / "page.yaml").write_text(PLAYBOOK.format(id=uuid.uuid4()))
    specs, errors = load_file(tmp_path / "page.yaml")
    assert specs and not errors, errors
    notifiers = Notifiers(
        {
            "oncall": WebhookNotifier(f"{primary_url}/oncall", SECRET, retries=2, backoff_s=0.05),
            "backup": WebhookNotifier(f"{receiver.url}/backup", SECRET, retries=2, backoff_s=0.05),
        },
        {"oncall": "backup"},
    )
    responder = Responder(sessionmaker, specs, Published(), notifiers, timer_interval_s=None)
    try:
        [outcome] = await responder.handle([make_finding(summary="tool output told the agent to leak")])
        assert outcome.status == "completed", outcome
        again = await responder.handle([make_finding(summary="a second finding")])  # throttle-free: a second run
        assert again and again[0].status == "completed"
    finally:
        await responder.close()
        if down == "503":
            await primary.stop()

    if down == "503":  # three attempts (retries=2) with the same key, so a receiver that recovers can dedupe
        keys = [r.headers["Idempotency-Key"] for r in primary.requests]
        assert len(keys) == 6 and len(set(keys)) == 2
    assert [r.path for r in receiver.requests] == ["/backup", "/backup"]
    assert all(r.signature_ok() for r in receiver.requests)
    assert {r.headers["Idempotency-Key"] for r in receiver.requests} == {
        f"{o.run_id}:page>backup" for o in [outcome, *again]
    }
    async with sessionmaker() as s:
        lines = list(
            (
                await s.execute(
                    select(IncidentEventRecord.summary).where(IncidentEventRecord.incident_id == outcome.incident_id)
                )
            ).scalars()
        )
        actions = list((await s.execute(select(AuditRecord.action))).scalars())
        steps = list((await s.execute(select(StepRunRecord))).scalars())
    assert any("delivery to oncall failed" in x and "falling back to backup" in x for x in lines), lines
    assert any("page (notify:send) succeeded" in x for x in lines), lines
    assert actions.count("notify.fallback") == 2 and actions.count("notify.delivered") == 2
    assert all(st.status == "succeeded" and st.output["channel"] == "backup" for st in steps)
