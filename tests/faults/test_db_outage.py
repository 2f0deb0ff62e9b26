"""The database is unreachable for 30 s while a real worker is busy: findings, memory writes and playbook steps
are retried, none is lost or doubled, each agent's findings are recorded in order (PostgreSQL behind a proxy the
test cuts)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from soar.broker import EmbeddedBroker
from soar.demo.receiver import WebhookReceiver
from soar.store.models import MemoryVersionRecord
from soar.store.session import get_sessionmaker
from soar.topics import TopicMap
from tests.faults.support import (
    WEBHOOK_SECRET,
    Stream,
    TcpProxy,
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

OUTAGE_S = 30.0


async def test_database_outage_loses_and_doubles_nothing(
    postgres_url: str, broker: EmbeddedBroker, topics: TopicMap, tmp_path: Path
) -> None:
    url = make_url(postgres_url)
    proxy = await TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    via_proxy = url.set(port=proxy.port).render_as_string(hide_password=False)
    agents = [TestAgent(f"db-agent-{i}") for i in range(6)]
    await enroll(postgres_url, agents)
    receiver = await WebhookReceiver(WEBHOOK_SECRET).start()
    settings = worker_settings(tmp_path, "w1", via_proxy, broker.bootstrap, topics, f"faults-db-{uuid.uuid4().hex[:6]}")
    worker = await start_worker(settings, tmp_path / "logs", f"{receiver.url}/oncall")
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks=1)
    stream = Stream()
    try:
        await producer.start()

        async def round_() -> None:
            for a in agents:
                await stream.send(producer, topics.telemetry, a, attack=True)
            await producer.send_and_wait(topics.telemetry, stream.memory_write(agents[0]), key=b"db-agent-0")

        for _ in range(2):
            await round_()
        await wait_until(lambda: _some_found(postgres_url, stream), 60, "first findings before the outage")
        proxy.cut()  # mid-stream: the worker is still responding to the first rounds
        for _ in range(6):
            await round_()
            await asyncio.sleep(OUTAGE_S / 6)
        proxy.restore()
        for _ in range(2):
            await round_()

        await wait_until(lambda: all_attacks_answered(postgres_url, stream), 180, "every attack answered")
        await asyncio.sleep(3)  # anything still in flight would show up as a duplicate now
        report = await store_report(postgres_url)
        assert_nothing_lost_or_doubled(report, stream, await attack_findings(postgres_url, stream))
        assert proxy.refused > 0, "the worker never tried the database during the outage"
        async with get_sessionmaker(postgres_url)() as s:
            q = (
                select(func.count())
                .select_from(MemoryVersionRecord)
                .where(MemoryVersionRecord.event_id.in_(stream.writes))
            )
            assert (await s.execute(q)).scalar() == len(stream.writes)
        keys = [d.headers.get("idempotency-key") for d in receiver.deliveries]
        pages = [st for st in report.steps if st.action == "notify:send" and st.status == "succeeded"]
        assert len(set(keys)) == len(pages) and pages, (keys, len(pages))
        assert worker.procs["worker"].poll() is None, "the worker died"
        log = (tmp_path / "logs" / "worker.log").read_text(errors="replace")
        assert "store unavailable" in log
    finally:
        await producer.stop()
        worker.stop()
        await proxy.stop()
        await receiver.stop()


async def _some_found(db_url: str, stream: Stream) -> bool:
    return bool(await attack_findings(db_url, stream))
