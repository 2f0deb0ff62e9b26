"""kill -9 the responder between steps and inside steps; on restart nothing is skipped and nothing is done twice.

A real process (``tests/decide/crash_runner.py``: the production ``Responder``) runs against a real database
(SQLite and PostgreSQL), produces control commands to the real embedded broker and pages real local HTTP
receivers (a PagerDuty Events API stand-in and a signed webhook). The test SIGKILLs it at chosen points,
restarts it, and at the end checks every step ran exactly once, every command has one id, and the receivers
got one page per dedup key.

What "exactly once" means across a kill *after* a side effect and *before* its commit: the effect cannot be
un-done, so the resumed step repeats it with the same identity (the same ``command_id``, which agents drop;
the same PagerDuty ``dedup_key`` and ``Idempotency-Key``, which the receiver dedupes). The test checks both:
the repeat happened with the same identity, and the receiver opened one alert.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from soar.broker import EmbeddedBroker
from soar.config import ROOT
from soar.decide.approvals import decide_step
from soar.store.models import AgentRecord, AuditRecord, CredentialRecord, PlaybookRunRecord, StepRunRecord
from soar.telemetry.events import utcnow
from soar.topics import TopicMap
from tests.decide.samples import make_finding
from tests.notify.receiver import SECRET, Receiver
from tests.sdk.support import read_topic

pytestmark = pytest.mark.integration

CONTAIN = {
    "playbook": "Crash-test containment",
    "id": "5b3c2e51-8a57-4f0e-9d6b-0c1f2a3b4c5d",
    "trigger": {"detectors": ["injection"]},
    "steps": [
        {"id": "revoke", "action": "credentials:revoke"},
        {"id": "quarantine", "action": "agent:quarantine"},
        {"id": "page", "action": "notify:send", "with": {"channel": "pd"}},
        {"id": "hook", "action": "notify:send", "with": {"channel": "hook"}},
        {"id": "note", "action": "incident:note", "with": {"text": "contained"}},
    ],
}
WAIT_S = 180.0  # generous: the machine is shared; nothing here asserts timing


class Child:
    """One life of the responder process."""

    def __init__(self, cfg: dict[str, Any], tmp: Path, life: int) -> None:
        self.cfg = {**cfg, "marker_dir": str(tmp / f"life{life}")}
        self.markers = Path(self.cfg["marker_dir"])
        self.markers.mkdir()
        self.cfg_path = tmp / f"life{life}.json"
        self.cfg_path.write_text(json.dumps(self.cfg))
        self.log = tmp / f"life{life}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> Child:
        """Start ``python -m tests.decide.crash_runner``."""
        out = self.log.open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.decide.crash_runner", str(self.cfg_path),
            cwd=str(ROOT), stdout=out, stderr=out, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        out.close()
        return self

    async def wait_marker(self, name: str) -> str:
        """Wait until the child writes marker ``name`` (fails if it exits first)."""
        assert self.proc is not None
        path = self.markers / name
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while not path.exists():
            if self.proc.returncode is not None:
                raise AssertionError(f"child exited {self.proc.returncode} before {name}:\n{self.log.read_text()}")
            if loop.time() > deadline:
                raise AssertionError(f"no marker {name} after {WAIT_S}s:\n{self.log.read_text()}")
            await asyncio.sleep(0.05)
        return path.read_text()

    def kill(self) -> None:
        """SIGKILL, the way a crashed or OOM-killed worker dies."""
        assert self.proc is not None
        if self.proc.returncode is None:
            os.kill(self.proc.pid, signal.SIGKILL)

    async def reap(self) -> int:
        """Wait for the process to end."""
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), WAIT_S)


@pytest.fixture
async def receivers() -> AsyncIterator[tuple[Receiver, Receiver]]:
    """A PagerDuty Events API stand-in and a webhook receiver, both real HTTP servers on loopback."""
    pd, hook = await Receiver().start(), await Receiver().start()
    yield pd, hook
    await pd.stop()
    await hook.stop()


async def _seed(sm) -> None:  # type: ignore[no-untyped-def]
    async with sm() as s, s.begin():
        s.add(AgentRecord(agent_id="agent-1", status="active"))
        for cid in ("cred-1", "cred-2"):
            s.add(CredentialRecord(credential_id=cid, agent_id="agent-1", expires_at=utcnow() + timedelta(hours=1)))


async def _control(bootstrap: str, topic: str, expect: int) -> list[dict[str, Any]]:
    """Every command on the control topic (all were acknowledged by the broker before the call)."""
    return [value for _key, value in await read_topic(bootstrap, topic, min_count=expect)]


def _config(db_url: str, broker: EmbeddedBroker, topics: TopicMap, pd: Receiver, hook: Receiver) -> dict[str, Any]:
    return {
        "db_url": db_url,
        "bootstrap": broker.bootstrap,
        "control_topic": topics.control,
        "pagerduty_url": f"{pd.url}/v2/enqueue",
        "webhook_url": f"{hook.url}/hook",
        "webhook_secret": SECRET,
        "playbooks": [CONTAIN],
    }


async def test_kill_9_between_and_inside_steps_then_resume(
    db_url: str, sessionmaker, broker: EmbeddedBroker, topics: TopicMap, receivers, tmp_path: Path
) -> None:
    pd, hook = receivers
    await _seed(sessionmaker)
    finding = make_finding(severity="critical")
    base = {**_config(db_url, broker, topics, pd, hook), "finding": finding.model_dump(mode="json")}
    # where each life dies: after a side effect (broker) inside the transaction that creates the run (revoke and
    # quarantine run inline there), between steps, inside a step before its action, after a side effect (HTTP
    # page, killed by the receiver while the page is in flight), then it finishes
    lives: list[tuple[dict[str, Any], str | None]] = [
        ({"kill_after_publish": "quarantine"}, "published:quarantine"),
        ({"kill_at": "quarantine:committed"}, "quarantine:committed"),
        ({"kill_at": "page:started"}, "page:started"),
        ({}, None),  # killed by the PagerDuty receiver on the first trigger
        ({"kill_at": "hook:committed"}, "hook:committed"),
        ({}, "idle"),
    ]
    for life, (extra, marker) in enumerate(lives):
        child = await Child({**base, **extra}, tmp_path, life).start()
        if life == 3:
            pd.on_request = lambda _r, c=child: c.kill()  # the page reached PagerDuty; the step is not committed
            assert await child.reap() == -signal.SIGKILL
            pd.on_request = None
            continue
        assert marker is not None
        runs = await child.wait_marker(marker)
        if marker == "idle":
            assert await child.reap() == 0
            assert list(json.loads(runs).values()) == ["completed"]
            break
        child.kill()
        assert await child.reap() == -signal.SIGKILL

    async with sessionmaker() as s:
        [run] = (await s.execute(select(PlaybookRunRecord))).scalars()
        steps = {r.step_id: r for r in (await s.execute(select(StepRunRecord))).scalars()}
        audit = Counter((await s.execute(select(AuditRecord.action))).scalars())
        creds = list((await s.execute(select(CredentialRecord))).scalars())
    assert run.status == "completed"
    assert {k: v.status for k, v in steps.items()} == dict.fromkeys(
        ["revoke", "quarantine", "page", "hook", "note"], "succeeded"
    )
    # attempts: the first life's kill rolled back the whole creation (finding, run, revoke, quarantine), so revoke
    # and quarantine count one attempt each. Each later kill inside a step costs one extra attempt of that step,
    # and a step's success is committed with the next step marked running, so a kill right after a commit costs
    # the next step one attempt too: page (after quarantine:committed) and note (after hook:committed).
    assert {k: v.attempts for k, v in steps.items()} == {"revoke": 1, "quarantine": 1, "page": 4, "hook": 1, "note": 2}
    assert audit["credentials.revoked"] == 1 and audit["agent.quarantined"] == 1 and audit["incident.note"] == 1
    assert audit["step.succeeded"] == 5 and audit["run.completed"] == 1
    assert all(c.revoked_at is not None for c in creds)

    commands = await _control(broker.bootstrap, topics.control, 4)
    by_kind: dict[str, set[str]] = {}
    for c in commands:
        by_kind.setdefault(c["command"], set()).add(c["command_id"])
    assert {k: len(v) for k, v in by_kind.items()} == {"revoke": 1, "quarantine": 1}  # one identity per command
    # both were on the broker when the first life was killed: the second life re-sent the same command ids
    assert Counter(c["command"] for c in commands) == {"revoke": 2, "quarantine": 2}

    triggers = [r.body for r in pd.requests]
    assert {t["event_action"] for t in triggers} == {"trigger"}
    alerts = Counter(t["dedup_key"] for t in triggers)
    assert list(alerts) == [f"soar-{run.incident_id}"]  # PagerDuty opened one alert
    assert alerts[f"soar-{run.incident_id}"] == 2  # sent twice with the same dedup_key: killed after the first
    deliveries = Counter(r.headers["Idempotency-Key"] for r in hook.requests)
    assert deliveries == {f"{run.run_id}:hook": 1} and all(r.signature_ok() for r in hook.requests)


async def test_pending_approval_and_timeout_survive_kill_9(
    db_url: str, sessionmaker, broker: EmbeddedBroker, topics: TopicMap, receivers, tmp_path: Path
) -> None:
    pd, hook = receivers
    await _seed(sessionmaker)
    approve = {
        **CONTAIN,
        "playbook": "Approved quarantine",
        "id": str(uuid.uuid4()),
        "steps": [
            {"id": "quarantine", "action": "agent:quarantine", "approval": {"roles": ["oncall"], "timeout_s": 3600}},
            {"id": "page", "action": "notify:send", "with": {"channel": "pd"}},
        ],
    }
    timeout = {
        **CONTAIN,
        "playbook": "Revoke unless denied",
        "id": str(uuid.uuid4()),
        "steps": [
            {"id": "revoke", "action": "credentials:revoke", "approval": {"timeout_s": 3600, "on_timeout": "approve"}}
        ],
    }
    cfg = {**_config(db_url, broker, topics, pd, hook), "playbooks": [approve, timeout]}
    first = await Child({**cfg, "finding": make_finding().model_dump(mode="json"), "stay": True}, tmp_path, 0).start()
    runs = json.loads(await first.wait_marker("idle"))
    assert sorted(runs.values()) == ["waiting", "waiting"]
    first.kill()  # a live worker with two runs waiting dies
    assert await first.reap() == -signal.SIGKILL

    # while no responder runs: on-call approves one step, and the other step's deadline passes
    async with sessionmaker() as s:
        waiting = {r.step_id: r.run_id for r in (await s.execute(select(StepRunRecord))).scalars()}
    out = await decide_step(sessionmaker, waiting["quarantine"], "quarantine", "approved", "user:olga", {"oncall"})
    assert out.decision == "approved"
    async with sessionmaker() as s, s.begin():
        await s.execute(
            update(StepRunRecord)
            .where(StepRunRecord.step_id == "revoke")
            .values(approval_deadline=utcnow() - timedelta(seconds=1))
        )
    assert pd.requests == [] and await _control(broker.bootstrap, topics.control, 0) == []

    second = await Child(cfg, tmp_path, 1).start()  # restart: no finding is handed in; resume() finds the work
    runs = json.loads(await second.wait_marker("idle"))
    assert await second.reap() == 0
    assert sorted(runs.values()) == ["completed", "completed"]
    async with sessionmaker() as s:
        steps = {r.step_id: r for r in (await s.execute(select(StepRunRecord))).scalars()}
    assert steps["quarantine"].decided_by == "user:olga" and steps["quarantine"].status == "succeeded"
    assert steps["revoke"].decided_by == "system:approval-timeout" and steps["revoke"].status == "succeeded"
    assert Counter(c["command"] for c in await _control(broker.bootstrap, topics.control, 2)) == {
        "quarantine": 1,
        "revoke": 1,
    }
    assert len(pd.requests) == 1
