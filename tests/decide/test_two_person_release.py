"""agent:release at the Optimized tier needs two distinct approvers (CLI, API, responder); SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from soar.api.app import create_app
from soar.api.auth import add_operator
from soar.config import Settings, Tier, get_settings
from soar.decide.approvals import ApprovalError, approvers_required, decide_step
from soar.decide.engine import Responder
from soar.store.models import AuditRecord, IncidentEventRecord, StepRunRecord
from soar.telemetry.events import utcnow
from tests.decide.samples import Published, make_finding
from tests.decide.test_language import pb

RELEASE = [
    {"id": "note", "action": "incident:note", "with": {"text": "x"}},
    {"id": "release", "action": "agent:release"},
]


@pytest.fixture
def optimized(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process settings say tier Optimized (what the worker reads)."""
    monkeypatch.setenv("SOAR_TIER", "optimized")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def _waiting_release(sm, pub: Published) -> tuple[Responder, str]:  # type: ignore[no-untyped-def]
    r = Responder(sm, [pb(RELEASE)], pub, timer_interval_s=None)
    [out] = await r.handle([make_finding()])
    assert out.status == "waiting" and out.steps[-1]["step"] == "release"
    return r, out.run_id


def test_approvers_required_by_tier() -> None:
    assert approvers_required("agent:release", Tier.OPTIMIZED) == 2
    assert approvers_required("agent:release", "advanced") == 1
    assert approvers_required("agent:quarantine", Tier.OPTIMIZED) == 1


async def test_release_waits_without_approval_block_only_at_optimized(sqlite_sessionmaker, monkeypatch) -> None:
    monkeypatch.setenv("SOAR_TIER", "advanced")
    get_settings.cache_clear()
    try:
        pub = Published()
        [out] = await Responder(sqlite_sessionmaker, [pb(RELEASE)], pub, timer_interval_s=None).handle([make_finding()])
        assert out.status == "completed" and [c.command for c in pub] == ["release"]
    finally:
        get_settings.cache_clear()


async def test_two_distinct_approvers_then_release(sessionmaker, optimized) -> None:
    pub = Published()
    r, run_id = await _waiting_release(sessionmaker, pub)
    first = await decide_step(sessionmaker, run_id, "release", "approved", "user:alice", {"oncall"})
    assert first.decision == "pending" and first.approved_by == ("user:alice",) and first.approvers_required == 2
    assert await r.tick() == [] and pub == []  # one approval is not enough
    with pytest.raises(ApprovalError, match="already approved") as e:
        await decide_step(sessionmaker, run_id, "release", "approved", "user:alice", {"oncall"})
    assert e.value.reason == "already_approved"
    second = await decide_step(sessionmaker, run_id, "release", "approved", "user:bob", {"oncall"}, comment="ok")
    assert second.decision == "approved" and second.approved_by == ("user:alice", "user:bob")
    [done] = await r.tick()
    assert done.status == "completed" and [c.command for c in pub] == ["release"]
    async with sessionmaker() as s:
        step = await s.get(StepRunRecord, f"{run_id}:release")
        assert step is not None and step.decided_by == "user:alice,user:bob" and step.status == "succeeded"
        audits = [(a.actor, a.action) for a in (await s.execute(select(AuditRecord))).scalars()]
        lines = list((await s.execute(select(IncidentEventRecord.summary))).scalars())
    assert ("user:alice", "step.approval_recorded") in audits and ("user:bob", "step.approved") in audits
    assert any("approved by user:alice and user:bob" in x for x in lines)


async def test_one_deny_denies_after_a_first_approval(sqlite_sessionmaker, optimized) -> None:
    pub = Published()
    r, run_id = await _waiting_release(sqlite_sessionmaker, pub)
    await decide_step(sqlite_sessionmaker, run_id, "release", "approved", "user:alice")
    out = await decide_step(sqlite_sessionmaker, run_id, "release", "denied", "user:carol")
    assert out.decision == "denied"
    [done] = await r.tick()
    assert done.status == "denied" and pub == []


async def test_timeout_denies_a_two_person_step(sqlite_sessionmaker, optimized) -> None:
    pub = Published()
    steps = [{"id": "release", "action": "agent:release", "approval": {"on_timeout": "approve", "timeout_s": 60}}]
    r = Responder(sqlite_sessionmaker, [pb(steps)], pub, timer_interval_s=None)
    [out] = await r.handle([make_finding()])
    await decide_step(sqlite_sessionmaker, out.run_id, "release", "approved", "user:alice")
    async with sqlite_sessionmaker() as s, s.begin():
        await s.execute(update(StepRunRecord).values(approval_deadline=utcnow() - timedelta(seconds=1)))
    [done] = await r.tick()
    assert done.status == "denied" and pub == []


async def test_two_person_release_over_api_and_cli(sqlite_url: str, tmp_path: Path, optimized) -> None:
    from soar.store.session import get_sessionmaker

    sm = get_sessionmaker(sqlite_url)
    pub = Published()
    r, run_id = await _waiting_release(sm, pub)
    ops = tmp_path / "operators.yaml"
    alice = add_operator(ops, "alice", ["oncall"])
    viewer = add_operator(ops, "vic", ["viewer"])
    settings = Settings(data_dir=tmp_path / "data", admin_token="adm", operators_file=ops, tier=Tier.OPTIMIZED)
    app = create_app(settings, sqlite_url)
    url = f"/v1/runs/{run_id}/steps/release/approve"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://soar.test") as c:
        assert (await c.post(url, headers={"Authorization": f"Bearer {viewer}"})).status_code == 403
        resp = await c.post(url, headers={"Authorization": f"Bearer {alice}"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["decision"] == "pending" and resp.json()["approved_by"] == ["user:alice"]
        assert (await c.post(url, headers={"Authorization": f"Bearer {alice}"})).status_code == 409
        view = (await c.get(f"/v1/runs/{run_id}", headers={"Authorization": f"Bearer {viewer}"})).json()
        step = view["steps"][-1]
        assert step["status"] == "waiting" and step["approved_by"] == ["user:alice"] and step["approvers_required"] == 2
    assert await r.tick() == []
    env = {**os.environ, "SOAR_DATABASE_URL": sqlite_url, "SOAR_TIER": "optimized", "COLUMNS": "300"}
    cmd = [sys.executable, "-m", "soar", "approve", run_id, "release", "--by", "bob"]
    res = await asyncio.to_thread(subprocess.run, cmd, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "approved by user:alice,user:bob" in res.stdout
    [done] = await r.tick()
    assert done.status == "completed" and [c.command for c in pub] == ["release"]
