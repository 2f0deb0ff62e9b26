"""How many statements and commits it takes to record the first containment step (counted, not timed).

The finding is the bench's indirect-injection attack: it matches two shipped playbooks (exfiltration
attempt and indirect injection), each revoke -> quarantine -> ... -> page. The counts are what
``soar bench contain`` waits on before the quarantine is recorded; docs/performance.md has the history.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from soar.config import ROOT
from soar.decide.engine import Responder
from soar.decide.loader import load_playbooks
from soar.notify import Notifiers, WebhookNotifier
from soar.store.models import AgentRecord, CredentialRecord
from soar.telemetry.events import utcnow
from tests.decide.samples import Published, make_finding
from tests.notify.receiver import SECRET, Receiver

#: statements until the first quarantine has committed (they were 36 on SQLite and 39 on PostgreSQL, then 27
#: and 25 in three commits, now 23 and 21 in one: revoke and quarantine commit with the run, ``run_inline``)
BUDGET = {"sqlite": 23, "postgresql": 21}
TAGS = ["LLM01:2025", "AML.T0051.001", "AML.T0086", "LLM02:2025"]


async def test_statements_and_commits_until_the_first_quarantine(sessionmaker, receiver: Receiver) -> None:
    engine = sessionmaker.kw["bind"].sync_engine
    counts: Counter[str] = Counter()
    at_quarantine: dict[str, int] = {}

    def on_statement(*_: Any) -> None:
        counts["statements"] += 1

    def on_commit(*_: Any) -> None:
        counts["commits"] += 1

    def hook(run_id: str, step_id: str, phase: str) -> None:
        if step_id == "quarantine" and phase == "committed" and not at_quarantine:
            at_quarantine.update(counts)

    notifiers = Notifiers({"oncall": WebhookNotifier(receiver.url, SECRET, backoff_s=0.01)})
    responder = Responder(
        sessionmaker, load_playbooks(ROOT / "playbooks"), Published(), notifiers, step_hook=hook, timer_interval_s=None
    )
    for i in range(2):  # the second finding runs with the connection and its statement cache warm
        agent = f"attacker-{i}"
        async with sessionmaker() as s, s.begin():
            s.add(AgentRecord(agent_id=agent, status="active"))
            s.add(CredentialRecord(credential_id=f"c-{i}", agent_id=agent, expires_at=utcnow() + timedelta(minutes=5)))
        counts.clear()
        at_quarantine.clear()
        event.listen(engine, "before_cursor_execute", on_statement)
        event.listen(engine, "commit", on_commit)
        try:
            outcomes = await responder.handle([make_finding(agent_id=agent, severity="critical", tags=TAGS)])
        finally:
            event.remove(engine, "before_cursor_execute", on_statement)
            event.remove(engine, "commit", on_commit)
        assert sorted(o.playbook for o in outcomes) == [
            "Contain exfiltration attempt",
            "Contain indirect prompt injection",
        ]
        assert all(o.status == "completed" and o.contained_at is not None for o in outcomes)
    assert at_quarantine["commits"] == 1  # the run started with revoke and quarantine done (``run_inline``)
    assert at_quarantine["statements"] <= BUDGET[engine.dialect.name]
