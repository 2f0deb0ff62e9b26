"""The SDK loses nothing: a bounded local spool, and a broker stopped and restarted mid-stream."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from soar.broker import EmbeddedBroker, ensure_topics, free_port
from soar.sdk import SoarAgent
from soar.sdk.spool import Spool, SpoolFull
from soar.topics import TopicMap
from tests.sdk.support import read_topic


def test_spool_is_ordered_bounded_and_durable(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path, max_events=3, max_bytes=100)
    seqs = [spool.append("t", b"k", f"v{i}".encode()) for i in range(3)]
    assert seqs == sorted(seqs) and len(spool) == 3 and spool.size_bytes == 6
    with pytest.raises(SpoolFull):
        spool.append("t", b"k", b"one too many")
    assert [e.value for e in spool.peek(2)] == [b"v0", b"v1"]
    assert spool.ack(seqs[0]) == 1 and len(spool) == 2
    spool.close()
    reopened = Spool(path, max_events=3, max_bytes=10)
    assert [e.value for e in reopened.peek()] == [b"v1", b"v2"] and reopened.size_bytes == 4
    with pytest.raises(SpoolFull):
        reopened.append("t", None, b"x" * 7)
    reopened.close()


@pytest.mark.integration
async def test_events_survive_a_broker_restart_in_order(tmp_path: Path) -> None:
    port = free_port()
    topics = TopicMap("s.tel", "s.find", "s.ctl", "s.dlq")
    broker = EmbeddedBroker(port, log_path=tmp_path / "broker.log").start()
    try:
        await ensure_topics(broker.bootstrap, topics, partitions=2)
        agent = SoarAgent(
            "spooler",
            Ed25519PrivateKey.generate(),
            broker.bootstrap,
            topics,
            spool=tmp_path / "agent" / "spool.db",
            request_timeout_ms=2000,
            announce=False,
        )
        await agent.start()
        before = [await agent.output(f"before {i}") for i in range(10)]
        await agent.flush(timeout=30)
        assert agent.spool is not None and len(agent.spool) == 0

        broker.stop()  # the broker goes away mid-stream
        during = [await agent.output(f"during {i}") for i in range(25)]
        await asyncio.sleep(3.0)  # the sender tries, fails and keeps everything
        assert len(agent.spool) == 25 and agent.spool_retries >= 1

        broker = EmbeddedBroker(port, log_path=tmp_path / "broker.log").start()  # memory storage: empty again
        await ensure_topics(broker.bootstrap, topics, partitions=2)
        after = [await agent.output(f"after {i}") for i in range(5)]
        await agent.flush(timeout=60)
        assert len(agent.spool) == 0
        await agent.stop()

        records = await read_topic(broker.bootstrap, topics.telemetry, min_count=30)
        got = list(dict.fromkeys(obj["event_id"] for _, obj in records))  # at least once: keep first sightings
        assert got == during + after  # everything sent while the broker was down, in order
        assert not set(before) & set(got)  # those were acknowledged by the broker before it restarted empty
    finally:
        broker.stop()


@pytest.mark.integration
async def test_a_restarted_agent_sends_what_it_left_spooled_first(
    broker: EmbeddedBroker, topics: TopicMap, tmp_path: Path
) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path)
    spool.append(topics.telemetry, b"left", b'{"left": 1}')
    spool.close()
    async with SoarAgent(
        "left", Ed25519PrivateKey.generate(), broker.bootstrap, topics, spool=path, announce=False
    ) as agent:
        eid = await agent.heartbeat()
        await agent.flush(timeout=30)
    records = await read_topic(broker.bootstrap, topics.telemetry, min_count=2)
    mine = [obj for key, obj in records if key == b"left"]
    assert mine[0] == {"left": 1} and mine[1]["event_id"] == eid
