"""The Responder on SQLite and PostgreSQL: runs, replays, throttle, incidents, resume after a crash."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError
from sqlalchemy import func, select

from soar.decide.engine import Responder, run_id_for
from soar.decide.spec import PlaybookSpec
from soar.notify import Notifiers, WebhookNotifier
from soar.store.audit import verify_chain
from soar.store.models import (
    AgentRecord,
    ControlCommandRecord,
    CredentialRecord,
    DeliveryRecord,
    FindingRecord,
    IncidentEventRecord,
    IncidentRecord,
    PlaybookRunRecord,
    StepRunRecord,
)
from soar.telemetry.control import ControlCommand
from soar.telemetry.events import utcnow
from tests.decide.samples import Published, make_finding
from tests.notify.receiver import SECRET, Receiver

PB_ID = "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"


def contain_pb(**kw: Any) -> PlaybookSpec:
    """revoke, quarantine, page: the shape of the shipped containment playbooks."""
    data: dict[str, Any] = {
        "playbook": "Contain injection",
        "id": PB_ID,
        "trigger": {"detectors": ["injection"], "min_severity": "high"},
        "throttle": {"key": "agent", "window_s": 300},
        "steps": [
            {"id": "revoke", "action": "credentials:revoke", "with": {"reason": "{{ finding.summary }}"}},
            {"id": "quarantine", "action": "agent:quarantine"},
            {"id": "page", "action": "notify:webhook", "with": {"channel": "oncall"}, "continue_on_error": True},
        ],
    }
    data.update(kw)
    return PlaybookSpec.model_validate(data)


async def count(sm, model) -> int:  # type: ignore[no-untyped-def]
    """Rows in a table."""
    async with sm() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar() or 0)


@pytest.fixture
def notifiers(receiver: Receiver) -> Notifiers:
    """Channel oncall -> the local receiver."""
    return Notifiers({"oncall": WebhookNotifier(receiver.url, SECRET, backoff_s=0.01)})


async def _seed(sm) -> None:  # type: ignore[no-untyped-def]
    async with sm() as s, s.begin():
        s.add(AgentRecord(agent_id="agent-1", status="active"))
        s.add(CredentialRecord(credential_id="c1", agent_id="agent-1", expires_at=utcnow() + timedelta(minutes=5)))


async def test_handle_contains_and_records(sessionmaker, notifiers: Notifiers, receiver: Receiver) -> None:
    await _seed(sessionmaker)
    pub = Published()
    r = Responder(sessionmaker, [contain_pb()], pub, notifiers)
    f = make_finding(summary="tool result told the agent to mail secrets")
    [out] = await r.handle([f])
    assert out.status == "completed" and out.contained_at is not None
    assert out.actions == ["credentials:revoke", "agent:quarantine", "notify:webhook"]
    assert out.run_id == run_id_for(PB_ID, f.finding_id)
    assert [c.command for c in pub] == ["revoke", "quarantine"]
    async with sessionmaker() as s:
        cred = await s.get(CredentialRecord, "c1")
        assert cred is not None and cred.revoked_at is not None  # authorize now denies
        agent = await s.get(AgentRecord, "agent-1")
        assert agent is not None and agent.status == "quarantined"
        inc = await s.get(IncidentRecord, out.incident_id)
        assert inc is not None and inc.status == "contained" and inc.contained_at == out.contained_at
        assert inc.first_event_at == f.observed_at and inc.severity == "high"
        frec = await s.get(FindingRecord, str(f.finding_id))
        assert frec is not None and frec.incident_id == inc.incident_id
        kinds = list((await s.execute(select(IncidentEventRecord.kind).order_by(IncidentEventRecord.id))).scalars())
        assert kinds[0] == "finding" and kinds.count("step") == 2 and kinds.count("notification") == 1
        assert "status" in kinds
        steps = list((await s.execute(select(StepRunRecord).order_by(StepRunRecord.position))).scalars())
        assert [(st.step_id, st.status, st.attempts) for st in steps] == [
            ("revoke", "succeeded", 1),
            ("quarantine", "succeeded", 1),
            ("page", "succeeded", 1),
        ]
        assert steps[0].idempotency_key == f"{out.run_id}:revoke"
        intact, n = await verify_chain(s)
        assert intact and n > 10
    [req] = receiver.requests
    body = req.body
    assert req.signature_ok() and req.headers["Idempotency-Key"] == f"{out.run_id}:page"
    assert body["incident"]["incident_id"] == out.incident_id
    assert [a["action"] for a in body["actions_taken"]] == ["credentials:revoke", "agent:quarantine"]


async def test_handle_replayed_finding_no_second_run_or_page(
    sessionmaker, notifiers: Notifiers, receiver: Receiver
) -> None:
    pub = Published()
    r = Responder(sessionmaker, [contain_pb()], pub, notifiers)
    f = make_finding()
    assert len(await r.handle([f])) == 1
    assert await r.handle([f]) == []
    assert await Responder(sessionmaker, [contain_pb()], pub, notifiers).handle([f, f]) == []
    assert await count(sessionmaker, PlaybookRunRecord) == 1
    assert await count(sessionmaker, FindingRecord) == 1
    assert await count(sessionmaker, DeliveryRecord) == 1
    assert len(receiver.requests) == 1
    assert [c.command for c in pub] == ["quarantine"]  # no live token: revoke had nothing to send


async def test_handle_throttle_joins_open_incident(sessionmaker, notifiers: Notifiers, receiver: Receiver) -> None:
    r = Responder(sessionmaker, [contain_pb()], Published(), notifiers)
    t0 = utcnow()
    f1 = make_finding(observed_at=t0)
    f2 = make_finding(observed_at=t0, offset_s=60, severity="critical")
    [o1] = await r.handle([f1])
    [o2] = await r.handle([f2])
    assert o2.status == "throttled" and o2.run_id == o1.run_id and o2.incident_id == o1.incident_id
    assert await count(sessionmaker, PlaybookRunRecord) == 1
    assert len(receiver.requests) == 1
    async with sessionmaker() as s:
        frec = await s.get(FindingRecord, str(f2.finding_id))
        assert frec is not None and frec.incident_id == o1.incident_id
        inc = await s.get(IncidentRecord, o1.incident_id)
        assert inc is not None and inc.severity == "critical"  # escalated by the joining finding
        n = (
            await s.execute(
                select(func.count()).where(
                    IncidentEventRecord.incident_id == o1.incident_id, IncidentEventRecord.kind == "finding"
                )
            )
        ).scalar()
        assert n == 2
    # outside the window: a new run and a new incident
    [o3] = await r.handle([make_finding(observed_at=t0, offset_s=900)])
    assert o3.status == "completed" and o3.run_id != o1.run_id and o3.incident_id != o1.incident_id
    # another agent is never throttled by agent-1's run
    [o4] = await r.handle([make_finding(agent_id="agent-2", observed_at=t0, offset_s=30)])
    assert o4.status == "completed" and o4.incident_id != o1.incident_id


async def test_handle_throttle_on_the_longest_agent_and_task_ids(
    sessionmaker, notifiers: Notifiers, receiver: Receiver
) -> None:
    """Agent and task ids of 256 characters each make a 513-character task key, longer than its column:
    PostgreSQL refused the run. The key is its digest then, and throttling works as for any other."""
    r = Responder(sessionmaker, [contain_pb(throttle={"key": "task", "window_s": 300})], Published(), notifiers)
    agent, task, t0 = "a" * 256, "t" * 256, utcnow()
    [o1] = await r.handle([make_finding(agent_id=agent, task_id=task, observed_at=t0)])
    [o2] = await r.handle([make_finding(agent_id=agent, task_id=task, observed_at=t0, offset_s=5)])
    assert o1.status == "completed" and o2.status == "throttled" and o2.run_id == o1.run_id
    async with sessionmaker() as s:
        run = await s.get(PlaybookRunRecord, o1.run_id)
        assert run is not None and run.throttle_key.startswith("sha256:") and len(run.throttle_key) == 71


class Crash(BaseException):
    """Simulates the process dying (not an Exception: nothing catches it)."""


def noted_pb() -> PlaybookSpec:
    """revoke, a note, quarantine, page: the note ends the inline steps, so quarantine has its own transaction."""
    steps = contain_pb().model_dump(mode="json", by_alias=True)["steps"]
    note = {"id": "note", "action": "incident:note", "with": {"text": "revoked"}}
    return contain_pb(steps=[steps[0], note, *steps[1:]])


async def test_resume_after_crash_skips_succeeded_steps(sessionmaker, notifiers: Notifiers) -> None:
    await _seed(sessionmaker)
    sent: list[ControlCommand] = []

    async def dying_publish(cmd: ControlCommand) -> None:
        if cmd.command == "quarantine":
            raise Crash
        sent.append(cmd)

    f = make_finding()
    with pytest.raises(Crash):
        await Responder(sessionmaker, [noted_pb()], dying_publish, notifiers).handle([f])
    run_id = run_id_for(PB_ID, f.finding_id)
    async with sessionmaker() as s:
        run = await s.get(PlaybookRunRecord, run_id)
        assert run is not None and run.status == "running"
        q = await s.get(StepRunRecord, f"{run_id}:quarantine")
        assert q is not None and q.status == "running" and q.attempts == 1
        agent = await s.get(AgentRecord, "agent-1")
        assert agent is not None and agent.status == "active"  # the crashed step's transaction rolled back

    pub = Published()
    [out] = await Responder(sessionmaker, [noted_pb()], pub, notifiers, timer_interval_s=None).resume()
    assert out.status == "completed" and out.contained_at is not None
    assert [c.command for c in pub] == ["quarantine"]  # revoke was not re-run
    assert [c.command for c in sent] == ["revoke"]
    async with sessionmaker() as s:
        steps = {st.step_id: st for st in (await s.execute(select(StepRunRecord))).scalars()}
        attempts = {k: st.attempts for k, st in steps.items()}
        assert attempts == {"revoke": 1, "note": 1, "quarantine": 2, "page": 1}
        assert all(st.status == "succeeded" for st in steps.values())
    assert await Responder(sessionmaker, [noted_pb()], pub, notifiers, timer_interval_s=None).resume() == []


async def test_crash_inside_the_creation_rolls_back_finding_run_and_inline_steps(
    sessionmaker, notifiers: Notifiers
) -> None:
    """Revoke and quarantine commit with the finding and its run (one transaction to containment): a crash after
    the quarantine command left records nothing, and the finding handled again sends the same command ids."""
    await _seed(sessionmaker)
    sent: list[ControlCommand] = []

    async def dying_publish(cmd: ControlCommand) -> None:
        sent.append(cmd)
        if cmd.command == "quarantine":
            raise Crash

    f = make_finding()
    with pytest.raises(Crash):
        await Responder(sessionmaker, [contain_pb()], dying_publish, notifiers).handle([f])
    assert [c.command for c in sent] == ["revoke", "quarantine"]
    for model in (FindingRecord, PlaybookRunRecord, StepRunRecord):
        assert await count(sessionmaker, model) == 0
    async with sessionmaker() as s:
        agent = await s.get(AgentRecord, "agent-1")
        assert agent is not None and agent.status == "active"
        creds = list((await s.execute(select(CredentialRecord))).scalars())
        assert creds and all(c.revoked_at is None for c in creds)

    pub = Published()
    [out] = await Responder(sessionmaker, [contain_pb()], pub, notifiers, timer_interval_s=None).handle([f])
    assert out.status == "completed" and out.contained_at is not None
    assert [c.command_id for c in pub] == [c.command_id for c in sent]  # the same ids: agents drop the repeats
    async with sessionmaker() as s:
        steps = {st.step_id: st for st in (await s.execute(select(StepRunRecord))).scalars()}
    assert {k: (st.status, st.attempts) for k, st in steps.items()} == {
        "revoke": ("succeeded", 1),
        "quarantine": ("succeeded", 1),
        "page": ("succeeded", 1),
    }


async def test_a_send_that_fails_fails_its_attempt_and_rolls_it_back(sessionmaker, notifiers: Notifiers) -> None:
    """Commands are sent while the step goes on writing, but the step waits for them: an undelivered command
    is never committed as sent, and the retry sends the same command id."""
    await _seed(sessionmaker)
    sent: list[ControlCommand] = []
    failures = {"quarantine": 2}  # inline with the run's creation (all rolled back), then its own first attempt

    async def flaky_publish(cmd: ControlCommand) -> None:
        await asyncio.sleep(0)  # still in flight while the step writes
        if failures.get(cmd.command):
            failures[cmd.command] -= 1
            raise KafkaConnectionError("broker went away")
        sent.append(cmd)

    steps = contain_pb().model_dump(mode="json", by_alias=True)["steps"]
    steps[1]["retries"], steps[1]["backoff_s"] = 1, 0.01
    r = Responder(sessionmaker, [contain_pb(steps=steps)], flaky_publish, notifiers, timer_interval_s=None)
    [out] = await r.handle([make_finding()])
    # the creation rolled back with the inline revoke: revoke ran again in its own transaction, with the same id
    assert out.status == "completed" and [c.command for c in sent] == ["revoke", "revoke", "quarantine"]
    assert sent[0].command_id == sent[1].command_id
    async with sessionmaker() as s:
        q = await s.get(StepRunRecord, f"{out.run_id}:quarantine")
        assert q is not None and (q.status, q.attempts) == ("succeeded", 2)
        rows = (await s.execute(select(ControlCommandRecord.command_id, ControlCommandRecord.command))).all()
        assert sorted(c for _, c in rows) == ["quarantine", "revoke"]  # the failed attempt's row rolled back
        assert {str(c.command_id) for c in sent} == {i for i, _ in rows}  # the retry sent the same id
        assert (await verify_chain(s))[0]


async def test_failed_step_stops_run_unless_continue(sessionmaker) -> None:
    pb = contain_pb(
        steps=[
            {"id": "page", "action": "notify:webhook", "with": {"channel": "nowhere"}, "continue_on_error": True},
            {"id": "quarantine", "action": "agent:quarantine"},
            {"id": "page2", "action": "notify:webhook", "with": {"channel": "nowhere"}},
            {"id": "release", "action": "agent:release"},
        ]
    )
    [out] = await Responder(sessionmaker, [pb], Published(), Notifiers()).handle([make_finding()])
    assert out.status == "failed" and out.actions == ["agent:quarantine"]
    assert out.contained_at is not None  # the containment step succeeded
    async with sessionmaker() as s:
        steps = {st.step_id: st for st in (await s.execute(select(StepRunRecord))).scalars()}
        assert steps["page"].status == "failed" and "nowhere" in steps["page"].error
        assert steps["page2"].status == "failed" and "release" not in steps


async def test_approve_mode_waits(sqlite_sessionmaker, notifiers: Notifiers) -> None:
    pub = Published()
    [out] = await Responder(sqlite_sessionmaker, [contain_pb(mode="approve")], pub, notifiers).handle([make_finding()])
    assert out.status == "waiting" and out.contained_at is None and pub == []
    async with sqlite_sessionmaker() as s:
        st = await s.get(StepRunRecord, f"{out.run_id}:revoke")
        assert st is not None and st.status == "waiting"
        run = await s.get(PlaybookRunRecord, out.run_id)
        assert run is not None and run.status == "waiting"


async def test_dry_run_changes_nothing(sqlite_sessionmaker, notifiers: Notifiers, receiver: Receiver) -> None:
    await _seed(sqlite_sessionmaker)
    pub = Published()
    [out] = await Responder(sqlite_sessionmaker, [contain_pb()], pub, notifiers, dry_run=True).handle([make_finding()])
    assert out.status == "completed" and out.dry_run and out.contained_at is None
    assert pub == [] and receiver.requests == []
    assert all(st["output"]["dry_run"] for st in out.steps)
    async with sqlite_sessionmaker() as s:
        agent = await s.get(AgentRecord, "agent-1")
        assert agent is not None and agent.status == "active"
        inc = await s.get(IncidentRecord, out.incident_id)
        assert inc is not None and inc.status == "open"


async def test_unmatched_finding_stored_without_incident(sqlite_sessionmaker) -> None:
    f = make_finding(severity="low")
    assert await Responder(sqlite_sessionmaker, [contain_pb()], Published()).handle([f]) == []
    async with sqlite_sessionmaker() as s:
        frec = await s.get(FindingRecord, str(f.finding_id))
        assert frec is not None and frec.incident_id is None
    assert await count(sqlite_sessionmaker, IncidentRecord) == 0


async def test_two_playbooks_one_incident(sqlite_sessionmaker, notifiers: Notifiers) -> None:
    page_only = contain_pb(id=str(uuid.uuid4()), playbook="Page", steps=[{"id": "page", "action": "notify:webhook"}])
    outs = await Responder(sqlite_sessionmaker, [contain_pb(), page_only], Published(), notifiers).handle(
        [make_finding()]
    )
    assert len(outs) == 2 and len({o.incident_id for o in outs}) == 1
    assert await count(sqlite_sessionmaker, IncidentRecord) == 1


async def test_handle_agents_concurrently_keeps_order_per_agent(sessionmaker, notifiers: Notifiers) -> None:
    async with sessionmaker() as s, s.begin():
        s.add_all([AgentRecord(agent_id=a, status="active") for a in ("agent-1", "agent-2", "agent-3")])
    r = Responder(sessionmaker, [contain_pb()], Published(), notifiers, timer_interval_s=None, concurrency=2)
    f1, f2, f3 = make_finding(), make_finding(agent_id="agent-2"), make_finding(offset_s=1)
    outs = await r.handle([f1, f2, f3, make_finding(agent_id="agent-3")])
    assert [o.finding_id for o in outs[:3]] == [str(f1.finding_id), str(f2.finding_id), str(f3.finding_id)]
    assert [o.status for o in outs] == ["completed", "completed", "throttled", "completed"]
    assert outs[2].run_id == outs[0].run_id  # agent-1's second finding joined its first run, in order
    # two batches for one agent at the same time: the first one handed in runs first, the second joins it
    g1, g2 = make_finding(agent_id="agent-2", offset_s=400), make_finding(agent_id="agent-2", offset_s=401)
    first, second = await asyncio.gather(r.handle([g1]), r.handle([g2]))
    assert [o.status for o in first + second] == ["completed", "throttled"] and second[0].run_id == first[0].run_id
    async with sessionmaker() as s:
        intact, n = await verify_chain(s)
        assert intact and n > 20


async def test_first_step_marked_running_with_its_run(sessionmaker, notifiers: Notifiers) -> None:
    """The run's creation commits its first step as running (a note: not inline, so it is not attempted in
    that transaction); a crash right after it resumes that attempt."""
    await _seed(sessionmaker)
    steps = contain_pb().model_dump(mode="json", by_alias=True)["steps"]
    pb = contain_pb(steps=[{"id": "note", "action": "incident:note", "with": {"text": "containing"}}, *steps])

    def die_on_start(run_id: str, step_id: str, phase: str) -> None:
        if step_id == "note" and phase == "started":
            raise Crash

    f = make_finding()
    with pytest.raises(Crash):
        await Responder(sessionmaker, [pb], Published(), notifiers, step_hook=die_on_start).handle([f])
    run_id = run_id_for(PB_ID, f.finding_id)
    async with sessionmaker() as s:
        run = await s.get(PlaybookRunRecord, run_id)
        step = await s.get(StepRunRecord, f"{run_id}:note")
        assert run is not None and run.status == "running"
        assert step is not None and (step.status, step.attempts) == ("running", 1)
    pub = Published()
    [out] = await Responder(sessionmaker, [pb], pub, notifiers, timer_interval_s=None).resume()
    assert out.status == "completed" and [c.command for c in pub] == ["revoke", "quarantine"]
    async with sessionmaker() as s:
        attempts = {st.step_id: st.attempts for st in (await s.execute(select(StepRunRecord))).scalars()}
        assert attempts == {"note": 2, "revoke": 1, "quarantine": 1, "page": 1}
        assert (await verify_chain(s))[0]


async def test_handle_raises_when_the_store_is_down(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Nothing was recorded, so the findings loop must retry the batch: the error is not swallowed."""
    from sqlalchemy.exc import OperationalError

    from soar.store.session import get_sessionmaker
    from tests.conftest import _dispose

    url = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'soar.db'}"
    r = Responder(get_sessionmaker(url), [contain_pb()], Published(), timer_interval_s=None)
    try:
        with pytest.raises(OperationalError):
            await r.handle([make_finding(), make_finding(agent_id="agent-2")])
    finally:
        await _dispose(url)
