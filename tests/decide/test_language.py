"""Playbook language and approvals on SQLite and PostgreSQL: idempotent containment, if, step outputs,
retries, on_failure, approve / deny / timeout."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from soar.decide.approvals import ApprovalError, decide_step
from soar.decide.engine import Responder
from soar.decide.spec import PlaybookSpec
from soar.store.models import AuditRecord, CredentialRecord, IncidentEventRecord, StepRunRecord
from soar.telemetry.events import utcnow
from tests.decide.samples import Published, make_finding


def pb(steps: list[dict[str, Any]], **kw: Any) -> PlaybookSpec:
    """A playbook on injection findings with ``steps``."""
    data: dict[str, Any] = {
        "playbook": kw.pop("title", "Test"),
        "id": kw.pop("id", str(uuid.uuid4())),
        "trigger": {"detectors": ["injection"]},
        "steps": steps,
        **kw,
    }
    return PlaybookSpec.model_validate(data)


def responder(sm, playbooks: list[PlaybookSpec], pub: Published | None = None) -> Responder:  # type: ignore[no-untyped-def]
    """A responder without its background timer (tests call ``tick``)."""
    return Responder(sm, playbooks, pub if pub is not None else Published(), timer_interval_s=None)


async def test_second_playbook_does_not_requarantine_or_revoke(sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        s.add(CredentialRecord(credential_id="c1", agent_id="agent-1", expires_at=utcnow() + timedelta(minutes=5)))
    contain = [{"id": "revoke", "action": "credentials:revoke"}, {"id": "quarantine", "action": "agent:quarantine"}]
    pub = Published()
    outs = await responder(sessionmaker, [pb(contain, title="A"), pb(contain, title="B")], pub).handle([make_finding()])
    assert [o.status for o in outs] == ["completed", "completed"]
    assert sorted(c.command for c in pub) == ["quarantine", "revoke"]  # one each, not two
    second = {st["step"]: st["output"] for st in outs[1].steps}
    assert second["quarantine"]["already"] is True and second["revoke"]["already"] is True
    async with sessionmaker() as s:
        acts = list((await s.execute(select(AuditRecord.action))).scalars())
    assert acts.count("agent.quarantined") == 1 and "agent.quarantine_skipped" in acts
    assert "credentials.revoke_skipped" in acts


async def test_if_and_step_outputs(sqlite_sessionmaker) -> None:
    steps = [
        {"id": "snap", "action": "memory:snapshot"},
        {"id": "skipme", "action": "agent:quarantine", "if": "finding.severity_level >= 4"},
        {"id": "note", "action": "incident:note", "with": {"text": "at version {{ steps.snap.version }}"}},
        {"id": "note2", "action": "incident:note", "with": {"text": "skipped={{ steps.skipme.status }}"}},
    ]
    [out] = await responder(sqlite_sessionmaker, [pb(steps)]).handle([make_finding(severity="high")])
    assert out.status == "completed"
    got = {st["step"]: st for st in out.steps}
    assert got["skipme"]["status"] == "skipped"
    assert got["note"]["output"]["note"] == "at version 0" and got["note2"]["output"]["note"] == "skipped=skipped"
    async with sqlite_sessionmaker() as s:
        notes = list(
            (await s.execute(select(IncidentEventRecord.summary).where(IncidentEventRecord.kind == "note"))).scalars()
        )
    assert notes == ["at version 0", "skipped=skipped"]


async def test_retries_then_on_failure(sqlite_sessionmaker) -> None:
    steps = [{"id": "page", "action": "notify:send", "with": {"channel": "nowhere"}, "retries": 2, "backoff_s": 0}]
    on_failure = [{"id": "note", "action": "incident:note", "with": {"text": "page failed"}}]
    [out] = await responder(sqlite_sessionmaker, [pb(steps, on_failure=on_failure)]).handle([make_finding()])
    assert out.status == "failed"
    assert [(st["step"], st["status"]) for st in out.steps] == [("page", "failed"), ("note", "succeeded")]
    async with sqlite_sessionmaker() as s:
        rec = await s.get(StepRunRecord, f"{out.run_id}:page")
        assert rec is not None and rec.attempts == 3 and "nowhere" in rec.error


async def test_timeout_fails_step(sqlite_sessionmaker, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from soar.act.incident.notes import NoteIncidentAction

    async def slow(self, ctx, params):  # type: ignore[no-untyped-def]
        await asyncio.Event().wait()  # never finishes on its own: only the step timeout ends it

    monkeypatch.setattr(NoteIncidentAction, "run", slow)
    steps = [{"id": "n", "action": "incident:note", "with": {"text": "x"}, "timeout_s": 0.05}]
    [out] = await responder(sqlite_sessionmaker, [pb(steps)]).handle([make_finding()])
    assert out.status == "failed" and "ActionTimeout" in out.steps[0]["error"]


APPROVE = [
    {"id": "note", "action": "incident:note", "with": {"text": "before"}},
    {
        "id": "quarantine",
        "action": "agent:quarantine",
        "with": {"reason": "{{ finding.summary }}"},
        "approval": {"roles": ["oncall"], "timeout_s": 600, "on_timeout": "deny"},
    },
]


async def test_approval_approved_resumes_run(sessionmaker) -> None:
    pub = Published()
    r = responder(sessionmaker, [pb(APPROVE)], pub)
    [out] = await r.handle([make_finding(summary="bad")])
    assert out.status == "waiting" and pub == []
    async with sessionmaker() as s:
        st = await s.get(StepRunRecord, f"{out.run_id}:quarantine")
        assert st is not None and st.status == "waiting" and st.params == {"reason": "bad"}
        assert st.approval_deadline is not None
    with pytest.raises(ApprovalError, match="roles"):
        await decide_step(sessionmaker, out.run_id, "quarantine", "approved", "user:bob", {"viewer"})
    await decide_step(sessionmaker, out.run_id, "quarantine", "approved", "user:alice", {"oncall"}, comment="go")
    with pytest.raises(ApprovalError, match="not waiting"):
        await decide_step(sessionmaker, out.run_id, "quarantine", "denied", "user:alice", {"oncall"})
    [done] = await r.tick()
    assert done.status == "completed" and done.contained_at is not None
    assert [c.command for c in pub] == ["quarantine"]
    assert await r.tick() == []  # nothing left to continue
    async with sessionmaker() as s:
        st = await s.get(StepRunRecord, f"{out.run_id}:quarantine")
        assert st is not None and st.status == "succeeded" and st.decided_by == "user:alice"
        lines = list((await s.execute(select(IncidentEventRecord.summary))).scalars())
        assert any("approved by user:alice: go" in x for x in lines)
        audit = (await s.execute(select(AuditRecord).where(AuditRecord.action == "step.approved"))).scalar_one()
        assert audit.actor == "user:alice"


async def test_approval_denied_stops_run(sqlite_sessionmaker) -> None:
    pub = Published()
    r = responder(sqlite_sessionmaker, [pb(APPROVE)], pub)
    [out] = await r.handle([make_finding()])
    await decide_step(sqlite_sessionmaker, out.run_id, "quarantine", "denied", "user:alice")
    [done] = await r.tick()
    assert done.status == "denied" and pub == [] and done.contained_at is None


async def test_approval_timeout_survives_restart(sqlite_sessionmaker) -> None:
    approve_on_timeout = [{**APPROVE[1], "approval": {"timeout_s": 600, "on_timeout": "approve"}}]
    pub = Published()
    [out] = await responder(sqlite_sessionmaker, [pb(approve_on_timeout, id=str(uuid.uuid4()))], pub).handle(
        [make_finding()]
    )
    assert out.status == "waiting"
    async with sqlite_sessionmaker() as s, s.begin():  # the deadline passes while no responder runs
        await s.execute(update(StepRunRecord).values(approval_deadline=utcnow() - timedelta(seconds=1)))
    spec = pb(approve_on_timeout, id=out.playbook_id)
    [done] = await responder(sqlite_sessionmaker, [spec], pub).resume()  # a new process
    assert done.status == "completed" and [c.command for c in pub] == ["quarantine"]
    async with sqlite_sessionmaker() as s:
        st = await s.get(StepRunRecord, f"{out.run_id}:quarantine")
        assert st is not None and st.decided_by == "system:approval-timeout" and st.decision == "approved"
