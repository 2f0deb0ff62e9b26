"""Two real workers in one consumer group; one is killed with SIGKILL mid-stream. The survivor takes its
partitions, and every attack gets its finding exactly once, every run finishes, no page is sent twice."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from soar.broker import EmbeddedBroker
from soar.demo.receiver import WebhookReceiver
from soar.telemetry.events import utcnow
from soar.topics import TopicMap
from tests.faults.support import (
    WEBHOOK_SECRET,
    Stream,
    all_attacks_answered,
    assert_nothing_lost_or_doubled,
    attack_findings,
    enroll,
    start_worker,
    store_report,
    wait_until,
    worker_settings,
)
from tests.helpers import TestAgent

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("backend_url", ["postgres", "sqlite"], indirect=True)
async def test_sigkill_one_of_two_workers_loses_and_doubles_nothing(
    backend_url: str, broker: EmbeddedBroker, topics: TopicMap, tmp_path: Path
) -> None:
    agents = [TestAgent(f"kill-agent-{i}") for i in range(12)]
    await enroll(backend_url, agents)
    receiver = await WebhookReceiver(WEBHOOK_SECRET).start()
    group = f"faults-kill-{uuid.uuid4().hex[:6]}"
    hook = f"{receiver.url}/oncall"
    victim = await start_worker(
        worker_settings(tmp_path, "victim", backend_url, broker.bootstrap, topics, group),
        tmp_path / "logs-victim",
        hook,
    )
    survivor = await start_worker(
        worker_settings(tmp_path, "survivor", backend_url, broker.bootstrap, topics, group),
        tmp_path / "logs-survivor",
        hook,
    )
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks=1, linger_ms=5)
    stream = Stream()
    try:
        await producer.start()
        await asyncio.sleep(8)  # the survivor's join rebalanced the group; let both settle on their partitions
        killed = False
        killed_at = utcnow()
        for i in range(16):
            for a in agents:
                await stream.send(producer, topics.telemetry, a, attack=(i % 2 == 0))
            if i == 5:
                await wait_until(lambda: _some_found(backend_url, stream), 60, "findings before the kill")
                proc = victim.procs["worker"]
                killed_at = utcnow()
                os.killpg(proc.pid, signal.SIGKILL)  # no shutdown, no commit: its in-flight batches are redelivered
                proc.wait(10)
                killed = True
            await asyncio.sleep(0.4)
        assert killed

        await wait_until(lambda: all_attacks_answered(backend_url, stream), 240, "every attack answered")
        await asyncio.sleep(3)
        report = await store_report(backend_url)
        assert_nothing_lost_or_doubled(report, stream, await attack_findings(backend_url, stream))

        # each step reached its final state once; only a step in flight at the kill needed a second attempt: at most
        # one per run (the step that run was on), and only in runs the victim had started before it died
        again = [st for st in report.steps if st.attempts > 1]
        started = {r.run_id: r.started_at for r in report.runs}
        assert all(st.attempts == 2 for st in again), [(st.idempotency_key, st.attempts) for st in again]
        assert len({st.run_id for st in again}) == len(again), [st.idempotency_key for st in again]
        assert all(started[st.run_id] < killed_at for st in again), [st.idempotency_key for st in again]
        # one page per dedup key; only a page whose step was in flight at the kill may have been sent again, and
        # then with the same key (receivers dedupe on it)
        keys = Counter(d.headers.get("idempotency-key") for d in receiver.deliveries)
        pages = {st.idempotency_key for st in report.steps if st.action == "notify:send" and st.status == "succeeded"}
        assert set(keys) == pages and pages
        resent = {k for k, n in keys.items() if n > 1}
        assert all(n <= 2 for n in keys.values()), keys
        assert resent <= {st.idempotency_key for st in again}, (resent, [st.idempotency_key for st in again])
        # the victim is dead, so every attack answered after the kill went through the survivor, whichever
        # partition its agent hashes to: it took the victim's partitions over
        assert survivor.procs["worker"].poll() is None
    finally:
        await producer.stop()
        survivor.stop()
        victim.stop()
        await receiver.stop()


async def _some_found(db_url: str, stream: Stream) -> bool:
    return bool(await attack_findings(db_url, stream))
