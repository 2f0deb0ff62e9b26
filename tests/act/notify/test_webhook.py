"""notify:webhook delegates to the channel's notifier; dry run sends nothing."""

from __future__ import annotations

import pytest

from soar.act import ACTIONS
from soar.errors import NotifyError
from soar.notify import Notifiers, WebhookNotifier
from tests.act.context import make_ctx
from tests.decide.samples import Published, make_finding
from tests.notify.receiver import SECRET, Receiver


async def test_notify_action_posts_body(receiver: Receiver, sessionmaker) -> None:
    ns = Notifiers({"oncall": WebhookNotifier(receiver.url, SECRET)})
    f = make_finding()
    taken = [{"step": "quarantine", "action": "agent:quarantine", "status": "succeeded", "output": {}}]
    async with sessionmaker() as s, s.begin():
        out = await ACTIONS.get("notify:webhook")().execute(
            make_ctx(s, f, Published(), key="r:page", notifiers=ns, actions_taken=taken), {"message": "hi"}
        )
    assert out["status"] == "delivered" and out["channel"] == "oncall"
    [req] = receiver.requests
    body = req.body
    assert body["message"] == "hi" and body["finding"]["finding_id"] == str(f.finding_id)
    assert body["actions_taken"] == taken and body["agent"] == {"agent_id": "agent-1"}
    assert req.signature_ok()


async def test_notify_action_unknown_channel(sqlite_sessionmaker) -> None:
    async with sqlite_sessionmaker() as s, s.begin():
        with pytest.raises(NotifyError, match="pager"):
            await ACTIONS.get("notify:webhook")().execute(
                make_ctx(s, make_finding(), Published(), notifiers=Notifiers()), {"channel": "pager"}
            )


async def test_notify_action_dry_run(receiver: Receiver, sqlite_sessionmaker) -> None:
    ns = Notifiers({"oncall": WebhookNotifier(receiver.url, SECRET)})
    async with sqlite_sessionmaker() as s, s.begin():
        out = await ACTIONS.get("notify:webhook")().execute(
            make_ctx(s, make_finding(), Published(), notifiers=ns, dry_run=True), {}
        )
    assert out["dry_run"] is True and receiver.requests == []
