"""Ledger-checked memory reads: at Advanced/Optimized a read is compared with the ledger, surviving a restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from soar.broker import EmbeddedBroker
from soar.config import Settings, Tier
from soar.detect.base import MemoryState
from soar.fastpath import FastWorker
from soar.identity.agents import register_agent
from soar.memory.ledger import current_entries, mark_tainted, record_writes
from soar.runtime import WorkerRuntime
from soar.store.models import MemoryVersionRecord
from soar.store.session import get_sessionmaker
from soar.telemetry.events import MemoryWriteEvent, new_event
from soar.telemetry.findings import Finding
from soar.telemetry.signing import value_hash
from soar.topics import TopicMap
from tests.helpers import TestAgent, handle_batch, service_settings
from tests.sdk.support import read_topic

A = TestAgent("mem-agent")


def _write(key: str, value: str, source: str = "user", agent: str = A.agent_id) -> MemoryWriteEvent:
    ev = new_event(
        "memory_write", agent, {"store": "notes", "key": key, "value": value, "provenance": {"source": source}}
    )
    assert isinstance(ev, MemoryWriteEvent)
    return ev


def _read(key: str, value: str, **env: object) -> bytes:
    return A.raw("memory_read", {"store": "notes", "key": key, "value_hash": value_hash(value)}, **env)


async def test_current_entries_is_latest_untainted_version(sessionmaker) -> None:
    w1, w2, w3, other = (
        _write("k", "v1"),
        _write("k", "v2", "web"),
        _write("gone", "x", "web"),
        _write("k", "o", agent="b"),
    )
    async with sessionmaker() as s, s.begin():
        await record_writes(s, [w1, w2, w3, other])
    slots = {(A.agent_id, "notes", "k"), (A.agent_id, "notes", "gone"), (A.agent_id, "notes", "never")}
    async with sessionmaker() as s:
        now = await current_entries(s, slots)
    assert now[(A.agent_id, "notes", "k")].value_hash == value_hash("v2") and (A.agent_id, "notes", "never") not in now
    async with sessionmaker() as s, s.begin():
        await mark_tainted(s, A.agent_id, [w2.event_id, w3.event_id])
    async with sessionmaker() as s:
        now = await current_entries(s, slots)
    assert now[(A.agent_id, "notes", "k")].value_hash == value_hash("v1")  # what the rollback restored
    assert now[(A.agent_id, "notes", "gone")] is None  # deleted by the rollback
    assert len(now) == 2


async def _runtime(db_url: str, tier: Tier) -> WorkerRuntime:
    return WorkerRuntime(Settings(database_url=db_url, tier=tier), MemoryState())


async def _batch(rt: WorkerRuntime, *raws: bytes) -> list[Finding]:
    return await handle_batch(rt, *raws, refresh=True)


async def _enroll(db_url: str) -> None:
    async with get_sessionmaker(db_url)() as s, s.begin():
        await register_agent(s, A.agent_id, A.public_b64)


def _tampering(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule == "memory_tampering"]


async def test_runtime_checks_reads_against_the_ledger_after_restart_at_advanced(db_url: str) -> None:
    await _enroll(db_url)
    first = await _runtime(db_url, Tier.ADVANCED)
    assert not _tampering(await _batch(first, A.raw("memory_write", _payload("k", "good")), _read("k", "good")))
    # a new runtime: the detector state is empty, the ledger is not
    restarted = await _runtime(db_url, Tier.ADVANCED)
    found = _tampering(await _batch(restarted, _read("k", "good"), _read("k", "tampered")))
    assert len(found) == 1 and found[0].evidence["expected_hash"] == value_hash("good")
    assert restarted.ledger_reads.lookups == 1  # one query for the batch
    # a write earlier in the same batch wins over the ledger's (older) entry
    again = await _runtime(db_url, Tier.OPTIMIZED)
    assert not _tampering(await _batch(again, A.raw("memory_write", _payload("k", "new")), _read("k", "new")))


async def test_runtime_foundation_keeps_the_in_memory_check(sqlite_url: str) -> None:
    await _enroll(sqlite_url)
    first = await _runtime(sqlite_url, Tier.FOUNDATION)
    assert _tampering(await _batch(first, A.raw("memory_write", _payload("k", "good")), _read("k", "tampered")))
    restarted = await _runtime(sqlite_url, Tier.FOUNDATION)
    assert not _tampering(await _batch(restarted, _read("k", "tampered")))  # today's behaviour: state was lost
    assert restarted.ledger_reads.lookups == 0


def _payload(key: str, value: str) -> dict:
    return {"store": "notes", "key": key, "value": value, "provenance": {"source": "user"}}


# --- through the real broker: a `soar worker` (fast engine) restarted between the write and the read ---------


@contextlib.asynccontextmanager
async def _worker(settings: Settings) -> AsyncIterator[FastWorker]:
    worker = FastWorker(settings)
    task = asyncio.create_task(worker.run())
    ready = settings.data_dir / "worker.ready"
    try:
        for _ in range(600):
            if ready.exists() or task.done():
                break
            await asyncio.sleep(0.1)
        if task.done():
            task.result()
        assert ready.exists(), "worker not ready"
        yield worker
    finally:
        worker._stop.set()
        await asyncio.wait_for(task, 30)


async def _wait_ledger(db_url: str, n: int) -> None:
    for _ in range(300):
        async with get_sessionmaker(db_url)() as s:
            if (await s.execute(select(func.count()).select_from(MemoryVersionRecord))).scalar() >= n:
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the write never reached the ledger")


async def _produce(bootstrap: str, topic: str, *raws: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for raw in raws:
            await producer.send_and_wait(topic, raw, key=A.agent_id.encode())
    finally:
        await producer.stop()


@pytest.mark.integration
@pytest.mark.parametrize("tier", [Tier.ADVANCED, Tier.FOUNDATION])
async def test_worker_restart_tampered_read_found_at_advanced(
    tier: Tier, db_url: str, broker: EmbeddedBroker, topics: TopicMap, tmp_path: Path
) -> None:
    if tier is Tier.FOUNDATION and "postgresql" in db_url:
        pytest.skip("the Foundation path does not touch the store; SQLite covers it")
    await _enroll(db_url)
    # the telemetry loop alone (no findings group to join), and a short session: the broker completes a join
    # after about half the session timeout (STACK.md), and this test starts a worker twice
    settings = service_settings(
        tmp_path / "data",
        db_url,
        broker.bootstrap,
        topics,
        "reads",
        tier=tier,
        worker_role="detect",
        session_timeout_s=4.0,
        heartbeat_s=0.5,
    )
    settings.data_dir.mkdir(parents=True)
    async with _worker(settings):
        await _produce(broker.bootstrap, topics.telemetry, A.raw("memory_write", _payload("policy", "good")))
        await _wait_ledger(db_url, 1)
    tampered = _read("policy", "planted instruction")
    sentinel = A.raw("input", {"source": "user", "content": "x"}, sign=False)  # unsigned
    async with _worker(settings):  # restarted: a fresh process state
        await _produce(broker.bootstrap, topics.telemetry, tampered, sentinel)
        findings = await read_topic(
            broker.bootstrap, topics.findings, min_count=2 if tier is Tier.ADVANCED else 1, wait_s=60
        )
    rules = [f["rule"] for _, f in findings]
    if tier is Tier.ADVANCED:
        assert "memory_tampering" in rules
        f = next(f for _, f in findings if f["rule"] == "memory_tampering")
        assert f["evidence"]["expected_hash"] == value_hash("good")
    else:
        assert "unsigned_event" in rules and "memory_tampering" not in rules  # Foundation: unchanged
