"""The fast engine's findings loop through the real embedded broker: batches handled side by side, in order per
agent, offsets committed only past handled batches, a failed batch delivered again."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from soar.broker import EmbeddedBroker
from soar.config import Settings
from soar.fastpath import FastWorker, settle_heap
from soar.topics import TopicMap

pytestmark = pytest.mark.integration


@pytest.fixture
async def worker(
    broker: EmbeddedBroker, topics: TopicMap, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[FastWorker]:
    """A responder-role worker on the test's topics; its producer started, its loops not."""
    settings = Settings(
        broker=broker.bootstrap,
        database_url=sqlite_url,
        data_dir=tmp_path,
        worker_role="respond",
        topic_telemetry=topics.telemetry,
        topic_findings=topics.findings,
        topic_control=topics.control,
        topic_deadletter=topics.deadletter,
        app_id=f"t-{uuid.uuid4().hex[:8]}",
        session_timeout_s=6.0,
    )
    w = FastWorker(settings)
    w.producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    w.urgent = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await w.producer.start()
    await w.urgent.start()
    yield w
    await w.producer.stop()
    await w.urgent.stop()


async def _send(broker: EmbeddedBroker, topic: str, *records: tuple[bytes, bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _committed_past_everything(worker: FastWorker, consumer, topic: str) -> bool:  # type: ignore[no-untyped-def]
    for p in consumer.partitions_for_topic(topic) or ():
        tp = TopicPartition(topic, p)
        end = (await consumer.end_offsets([tp]))[tp]
        if end and (await consumer.committed(tp) or 0) < end:
            return False
    return True


@contextlib.asynccontextmanager
async def _running_respond_loop(
    worker: FastWorker,
    topics: TopicMap,
    handle: Callable[[list], Awaitable[None]],  # type: ignore[type-arg]
) -> AsyncIterator[AIOKafkaConsumer]:
    """The worker's findings loop running over ``handle``; stopped and its consumer closed on the way out."""
    consumer = worker._consumer(topics.findings, f"{worker.settings.app_id}-findings")
    consumer.subscribe([topics.findings])
    await consumer.start()
    loop = asyncio.create_task(worker._respond_loop(consumer, handle))
    try:
        yield consumer
    finally:
        worker._stop.set()
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await consumer.stop()


async def test_respond_loop_handles_another_agent_beside_a_slow_batch_and_one_agent_in_order(
    worker: FastWorker, broker: EmbeddedBroker, topics: TopicMap
) -> None:
    log: list[tuple[str, bytes, bytes]] = []
    slow_started = asyncio.Event()
    other_done = asyncio.Event()

    async def handle(messages: list) -> None:  # type: ignore[type-arg]
        for m in messages:
            log.append(("start", m.key, m.value))
            if m.value == b"slow":
                slow_started.set()
                # finishes only once another agent's batch was handled meanwhile (a timeout fails the test)
                await asyncio.wait_for(other_done.wait(), 20)
            if m.key == b"agent-b":
                other_done.set()
            log.append(("end", m.key, m.value))

    async with _running_respond_loop(worker, topics, handle) as consumer:
        await _send(broker, topics.findings, (b"agent-a", b"slow"))
        await asyncio.wait_for(slow_started.wait(), 30)
        await _send(broker, topics.findings, (b"agent-b", b"other"), (b"agent-a", b"after"))
        for _ in range(200):
            if ("end", b"agent-a", b"after") in log and await _committed_past_everything(
                worker, consumer, topics.findings
            ):
                break
            await asyncio.sleep(0.1)
    order = [(phase, v) for phase, _, v in log]
    assert order.index(("end", b"other")) < order.index(("end", b"slow"))  # side by side
    assert order.index(("end", b"slow")) < order.index(("start", b"after"))  # one agent's findings in order
    assert order.count(("start", b"slow")) == 1 and order.count(("start", b"after")) == 1


async def test_respond_loop_delivers_a_failed_batch_again_and_commits_past_it_once_handled(
    worker: FastWorker, broker: EmbeddedBroker, topics: TopicMap
) -> None:
    attempts: list[bytes] = []

    async def handle(messages: list) -> None:  # type: ignore[type-arg]
        for m in messages:
            attempts.append(m.value)
            if m.value == b"flaky" and attempts.count(b"flaky") == 1:
                raise RuntimeError("the first attempt fails")

    async with _running_respond_loop(worker, topics, handle) as consumer:
        await _send(broker, topics.findings, (b"agent-c", b"flaky"))
        ok = False
        for _ in range(300):
            if attempts.count(b"flaky") >= 2 and await _committed_past_everything(worker, consumer, topics.findings):
                ok = True
                break
            await asyncio.sleep(0.1)
    assert ok, attempts
    assert attempts.count(b"flaky") == 2


def test_settle_heap_freezes_what_start_up_made_and_spaces_the_young_passes() -> None:
    before = gc.get_threshold()
    loaded = [{"rule": i} for i in range(1000)]  # what start-up keeps: tracked containers, alive
    try:
        settle_heap(50_000)
        assert gc.get_threshold() == (50_000, *before[1:])
        assert gc.get_freeze_count() >= len(loaded)
        start = gc.get_count()[0]
        batch = [[i] for i in range(10_000)]  # a batch's objects, alive while it is handled
        assert gc.get_count()[0] >= start + len(batch)  # no young pass walked them meanwhile
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_young_threshold_is_a_setting_and_never_below_pythons() -> None:
    assert Settings().gc_young_threshold == 50_000
    assert Settings(gc_young_threshold=20_000).gc_young_threshold == 20_000
    with pytest.raises(ValueError, match="gc_young_threshold"):
        Settings(gc_young_threshold=100)
