"""The broker is stopped and restarted mid-stream (same port; the embedded broker keeps topics in memory, so it
comes back empty, as after a Kafka disk loss): agents keep sending through the SDK's spool, the worker
reconnects by itself, and every event sent while the broker was down or after is answered, once, in order.

An empty broker restarts every partition's log at offset 0, while a consumer keeps its fetch position: on a
partition it had read up to offset p, it skips the first p records of the new log. Apache Kafka keeps its log
across a restart, so this is an artefact of the embedded broker's memory storage; the agents of the phases
after the restart therefore use partitions nobody had read before it (docs/performance.md, faults section)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from soar.broker import EmbeddedBroker, ensure_topics, free_port
from soar.demo.receiver import WebhookReceiver
from soar.identity.agents import register_agent
from soar.sdk.client import SoarAgent, partition_for_key
from soar.store.session import get_sessionmaker
from soar.topics import TopicMap
from tests.faults.support import (
    ATTACK,
    WEBHOOK_SECRET,
    Stream,
    all_attacks_answered,
    assert_nothing_lost_or_doubled,
    attack_findings,
    start_worker,
    store_report,
    wait_until,
    worker_settings,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _ids(prefix: str, wanted: Callable[[int], bool], n: int) -> list[str]:
    """``n`` agent ids whose telemetry (and findings) partition out of 4 satisfies ``wanted``."""
    out = []
    for i in itertools.count():
        agent_id = f"{prefix}-{i}"
        if wanted(partition_for_key(agent_id.encode(), list(range(4)))):
            out.append(agent_id)
            if len(out) == n:
                return out
    raise AssertionError("unreachable")


async def test_broker_restart_worker_recovers_and_spool_delivers_everything(sqlite_url: str, tmp_path: Path) -> None:
    port = free_port()
    broker = EmbeddedBroker(port, log_path=tmp_path / "broker.log").start()
    topics = TopicMap("r.tel", "r.find", "r.ctl", "r.dlq")
    await ensure_topics(broker.bootstrap, topics, partitions=4)
    receiver = await WebhookReceiver(WEBHOOK_SECRET).start()
    before_ids = _ids("restart-before", lambda p: p == 0, 2)
    later_ids = _ids("restart-later", lambda p: p != 0, 4)
    agents = [
        SoarAgent(
            agent_id,
            Ed25519PrivateKey.generate(),
            broker.bootstrap,
            topics,
            spool=tmp_path / f"spool-{i}.db",
            request_timeout_ms=2000,
            announce=False,
        )
        for i, agent_id in enumerate(before_ids + later_ids)
    ]
    # the first attack gets an agent quarantined (its SDK then refuses to send), so each phase has its own agents
    phases = {"before": agents[0:2], "during": agents[2:4], "after": agents[4:6]}
    async with get_sessionmaker(sqlite_url)() as s, s.begin():
        for a in agents:
            await register_agent(s, a.agent_id, a.public_key_b64, tools=["browser.fetch"])
    settings = worker_settings(tmp_path, "w", sqlite_url, broker.bootstrap, topics, f"faults-br-{uuid.uuid4().hex[:6]}")
    worker = await start_worker(settings, tmp_path / "logs", f"{receiver.url}/oncall")
    stream = Stream()

    async def attack_round(tag: str) -> None:
        for a in phases[tag]:
            for _ in range(3):
                stream.n += 1
                stream.sent[a.agent_id].append(await a.output(f"{tag}: summary {stream.n}"))
            stream.n += 1
            eid = await a.tool_result("browser.fetch", f"{tag}-{stream.n}", ATTACK.format(n=stream.n))
            stream.attacks[eid] = a.agent_id
            stream.sent[a.agent_id].append(eid)

    try:
        for a in agents:
            await a.start()
        await attack_round("before")
        for a in agents:
            await a.flush(timeout=30)
        await wait_until(lambda: all_attacks_answered(sqlite_url, stream), 90, "attacks before the restart answered")

        broker.stop()  # mid-stream: the agents keep sending into their spools
        await attack_round("during")
        await asyncio.sleep(3.0)  # the SDK tries, fails and keeps everything
        assert sum(len(a.spool or []) for a in agents) > 0

        broker = EmbeddedBroker(port, log_path=tmp_path / "broker.log").start()
        await ensure_topics(broker.bootstrap, topics, partitions=4)
        await attack_round("after")
        for a in agents:
            await a.flush(timeout=60)
            assert a.spool is not None and len(a.spool) == 0

        await wait_until(lambda: all_attacks_answered(sqlite_url, stream), 180, "every attack answered")
        await asyncio.sleep(3)
        report = await store_report(sqlite_url)
        assert_nothing_lost_or_doubled(report, stream, await attack_findings(sqlite_url, stream))
        assert worker.procs["worker"].poll() is None, "the worker died with the broker"
    finally:
        for a in agents:
            await a.stop()
        worker.stop()
        broker.stop()
        await receiver.stop()
