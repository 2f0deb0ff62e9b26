"""agent:quarantine and agent:release on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from soar.act import ACTIONS
from soar.errors import ActionCheckFailed
from soar.store.models import AgentRecord, AuditRecord, ControlCommandRecord
from soar.telemetry.control import command_id_for
from tests.act.context import make_ctx
from tests.decide.samples import Published, make_finding


async def test_quarantine_unknown_agent_creates_record_and_sends_command(sessionmaker) -> None:
    pub = Published()
    f = make_finding(agent_id="ghost")
    action = ACTIONS.get("agent:quarantine")()
    async with sessionmaker() as s, s.begin():
        out = await action.execute(make_ctx(s, f, pub, key="r:q"), {"reason": "bad"})
    assert out["status"] == "quarantined"
    assert [c.command for c in pub] == ["quarantine"]
    assert pub[0].command_id == command_id_for("r:q")
    async with sessionmaker() as s:
        agent = await s.get(AgentRecord, "ghost")
        assert agent is not None and agent.status == "quarantined" and agent.status_reason == "bad"
        assert await s.get(ControlCommandRecord, str(command_id_for("r:q"))) is not None
        actions = set((await s.execute(select(AuditRecord.action))).scalars())
        assert {"agent.quarantined", "control.quarantine"} <= actions


async def test_quarantine_is_idempotent(sessionmaker) -> None:
    pub = Published()
    f = make_finding()
    action = ACTIONS.get("agent:quarantine")()
    async with sessionmaker() as s, s.begin():
        s.add(AgentRecord(agent_id="agent-1", status="active"))
    for _ in range(2):
        async with sessionmaker() as s, s.begin():
            await action.execute(make_ctx(s, f, pub, key="r:q"), {})
    assert len({c.command_id for c in pub}) == 1  # same id re-sent: the agent drops the repeat
    async with sessionmaker() as s:
        n = (await s.execute(select(func.count()).select_from(ControlCommandRecord))).scalar()
        assert n == 1
        n_audit = (await s.execute(select(func.count()).where(AuditRecord.action == "agent.quarantined"))).scalar()
        assert n_audit == 1


async def test_release_reverses_quarantine(sessionmaker) -> None:
    pub = Published()
    f = make_finding()
    async with sessionmaker() as s, s.begin():
        await ACTIONS.get("agent:quarantine")().execute(make_ctx(s, f, pub, key="r:q"), {})
        out = await ACTIONS.get("agent:release")().execute(make_ctx(s, f, pub, key="r:rel"), {"reason": "fp"})
    assert out == {**out, "status": "active", "previous": "quarantined"}
    assert [c.command for c in pub] == ["quarantine", "release"]
    async with sessionmaker() as s:
        agent = await s.get(AgentRecord, "agent-1")
        assert agent is not None and agent.status == "active"


async def test_quarantine_dry_run_changes_nothing(sqlite_sessionmaker) -> None:
    pub = Published()
    async with sqlite_sessionmaker() as s, s.begin():
        out = await ACTIONS.get("agent:quarantine")().execute(make_ctx(s, make_finding(), pub, dry_run=True), {})
    assert out["dry_run"] is True and pub == []
    async with sqlite_sessionmaker() as s:
        assert await s.get(AgentRecord, "agent-1") is None


def test_quarantine_params_checked() -> None:
    with pytest.raises(ValueError, match="grace"):
        ACTIONS.get("agent:quarantine").check_params({"grace": 1})


async def test_quarantine_needs_agent_id(sqlite_sessionmaker) -> None:
    f = make_finding(agent_id="x").model_copy(update={"agent_id": ""})
    async with sqlite_sessionmaker() as s, s.begin():
        with pytest.raises(ActionCheckFailed, match="agent_id"):
            await ACTIONS.get("agent:quarantine")().execute(make_ctx(s, f, Published()), {})


async def test_quarantine_trusts_the_runs_read_of_the_agent_only_while_it_still_holds(sessionmaker) -> None:
    """One statement quarantines an agent still as the run read it; a change since then is seen, not overwritten."""
    action = ACTIONS.get("agent:quarantine")()
    async with sessionmaker() as s, s.begin():
        s.add(AgentRecord(agent_id="a1", status="active", status_reason=""))
        s.add(AgentRecord(agent_id="a2", status="quarantined", status_reason="by hand"))
    as_read = {"agent_id": "a1", "status": "active", "status_reason": ""}
    pub = Published()
    async with sessionmaker() as s, s.begin():
        out = await action.execute(make_ctx(s, make_finding(agent_id="a1"), pub, key="r:q1", agent=as_read), {})
    assert (out["previous"], out["already"]) == ("active", False) and len(pub) == 1
    stale = {"agent_id": "a2", "status": "active", "status_reason": ""}  # quarantined by hand since the read
    async with sessionmaker() as s, s.begin():
        out = await action.execute(make_ctx(s, make_finding(agent_id="a2"), pub, key="r:q2", agent=stale), {})
    assert out["already"] and out["quarantined_for"] == "by hand" and len(pub) == 1
    async with sessionmaker() as s:
        a1, a2 = await s.get(AgentRecord, "a1"), await s.get(AgentRecord, "a2")
        assert a1 is not None and (a1.status, a1.status_reason) == ("quarantined", "indirect_prompt_injection on a1")
        assert a2 is not None and (a2.status, a2.status_reason) == ("quarantined", "by hand")
        q = select(AuditRecord.action, AuditRecord.target).order_by(AuditRecord.seq)
        assert [tuple(r) for r in (await s.execute(q)).all()] == [
            ("agent.quarantined", "agent:a1"),
            ("control.quarantine", "agent:a1"),
            ("agent.quarantine_skipped", "agent:a2"),
        ]
