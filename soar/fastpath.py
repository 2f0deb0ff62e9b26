"""The fast-path worker engine: the same stages as the Faust worker, driven by plain aiokafka loops.

Why it exists (docs/performance.md has the figures): faust-streaming's per-event machinery costs about
1 ms of CPU per event in our worker (stream iteration, its consumer thread, per-message callbacks),
three times the pipeline's own cost, so a Faust worker tops out at a few hundred to a few thousand events/s.
Here a consumer-group loop hands whole fetches to the same ``WorkerRuntime`` and commits offsets after each
batch is processed (at-least-once; finding ids and step idempotency keys make a replay harmless).

Detector state lives in process memory in this engine (``MemoryState``): a restart relearns peer graphs
and memory hashes. The Faust engine keeps it in a changelog table.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from soar.config import Settings
from soar.detect.base import MemoryState
from soar.ingest.decoders import RawRecord
from soar.runtime import WorkerRuntime
from soar.telemetry.control import ControlCommand
from soar.topics import topic_map

log = structlog.get_logger(__name__)


class _ReadyOnAssign(ConsumerRebalanceListener):
    def __init__(self, ready: Path, name: str) -> None:
        self.ready = ready
        self.name = name

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if assigned:
            self.ready.write_text("ready\n")
            log.info("partitions assigned", stage=self.name, n=len(assigned))


class FastWorker:
    """Telemetry and findings consumer loops around one ``WorkerRuntime``."""

    producer: AIOKafkaProducer

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topics = topic_map(settings)
        self.runtime = WorkerRuntime(settings, MemoryState(), detect=settings.worker_role != "respond")
        self._stop = asyncio.Event()

    def _consumer(self, topic: str, group: str) -> AIOKafkaConsumer:
        s = self.settings
        return AIOKafkaConsumer(
            topic,
            bootstrap_servers=s.broker,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=s.fetch_max_wait_ms,
            max_partition_fetch_bytes=max(1 << 20, s.max_event_bytes * 4),
            session_timeout_ms=int(s.session_timeout_s * 1000),
            heartbeat_interval_ms=int(s.heartbeat_s * 1000),
            rebalance_timeout_ms=int(s.session_timeout_s * 1000),
        )

    def _sender(self, topic: str) -> Callable[[bytes | None, bytes], Awaitable[None]]:
        async def send(key: bytes | None, value: bytes) -> None:
            await self.producer.send(topic, value, key=key)

        return send

    def _batch_sender(self, topic: str) -> Callable[[Sequence[bytes]], Awaitable[None]]:
        """Unkeyed values produced as record batches (``create_batch``/``send_batch``), partitions in turn."""
        turn = itertools.count()

        async def send_many(values: Sequence[bytes]) -> None:
            partitions = sorted(await self.producer.partitions_for(topic))
            batch = self.producer.create_batch()
            for value in values:
                if batch.append(key=None, value=value, timestamp=None) is not None:
                    continue
                if batch.record_count():  # full: send it and start the next one with this value
                    await self.producer.send_batch(batch, topic, partition=partitions[next(turn) % len(partitions)])
                    batch = self.producer.create_batch()
                    if batch.append(key=None, value=value, timestamp=None) is not None:
                        continue
                await self.producer.send(topic, value)  # larger than a batch on its own
            if batch.record_count():
                await self.producer.send_batch(batch, topic, partition=partitions[next(turn) % len(partitions)])

        return send_many

    async def _loop(self, consumer: AIOKafkaConsumer, handle: Callable[[list], Awaitable[None]]) -> None:
        while not self._stop.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=self.settings.batch_max)
            messages = [m for msgs in batches.values() for m in msgs]
            if not messages:
                continue
            try:
                await handle(messages)
            except Exception:  # a failed batch is retried from the last commit, never silently skipped
                log.exception("batch failed; seeking back to the last committed offsets")
                try:
                    for tp in batches:
                        committed = await consumer.committed(tp)
                        consumer.seek(tp, committed if committed is not None else 0)
                except KafkaError as e:  # revoked meanwhile: the new owner starts from the last commit
                    log.warning("cannot seek back", error=str(e)[:300])
                await asyncio.sleep(1.0)
                continue
            await self.producer.flush()
            try:
                await consumer.commit()
            except KafkaError as e:
                # The group rebalanced under us (a restarted broker forgot it, or a slow batch overran the poll
                # interval): the batch is delivered again to the partitions' owner, and findings, runs and steps
                # are idempotent. Dying here would turn a broker restart into a worker outage.
                log.warning("offset commit failed; the batch will be delivered again", error=str(e)[:300])

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT."""
        s = self.settings
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        role = s.worker_role
        detect, respond = role in ("all", "detect"), role in ("all", "respond")
        # one ready file per loop this process runs: worker.ready (telemetry), responder.ready (findings)
        ready = s.data_dir / "worker.ready"
        responder_ready = s.data_dir / "responder.ready"
        for path in (ready, responder_ready):
            path.unlink(missing_ok=True)
        self.producer = AIOKafkaProducer(bootstrap_servers=s.broker, linger_ms=2, max_batch_size=256 * 1024, acks=1)
        await self.producer.start()
        send_finding = self._sender(self.topics.findings)
        send_dead = self._sender(self.topics.deadletter)
        send_dead_many = self._batch_sender(self.topics.deadletter)
        control = self.topics.control

        async def publish(cmd: ControlCommand) -> None:
            await self.producer.send_and_wait(control, cmd.model_dump_json().encode(), key=cmd.agent_id.encode())

        consumers: list[AIOKafkaConsumer] = []
        tasks: list[asyncio.Task[None]] = []
        if respond:
            responder = self.runtime.start_responder(publish)
            await responder.resume()
            findings = self._consumer(self.topics.findings, f"{s.app_id}-findings")
            findings.subscribe([self.topics.findings], listener=_ReadyOnAssign(responder_ready, "findings"))
            await findings.start()
            consumers.append(findings)

            async def on_findings(messages: list) -> None:
                await self.runtime.handle_findings([m.value for m in messages])

            tasks.append(asyncio.create_task(self._loop(findings, on_findings)))
        if detect:
            await self.runtime.refresh_directory()
            telemetry = self._consumer(self.topics.telemetry, f"{s.app_id}-telemetry")
            telemetry.subscribe([self.topics.telemetry], listener=_ReadyOnAssign(ready, "telemetry"))
            await telemetry.start()
            consumers.append(telemetry)

            async def on_telemetry(messages: list) -> None:
                records = [RawRecord(m.value, m.topic, m.partition, m.offset, m.key) for m in messages]
                await self.runtime.handle_telemetry(records, send_finding, send_dead, send_dead_many)

            async def refresh() -> None:
                while not self._stop.is_set():
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), 1.0)
                    try:
                        await self.runtime.refresh_directory(min_interval=0.9)
                    except Exception:  # the database may be briefly unavailable; keep the last snapshot
                        log.exception("directory refresh failed")

            tasks += [asyncio.create_task(self._loop(telemetry, on_telemetry)), asyncio.create_task(refresh())]
        try:
            done, _ = await asyncio.wait(
                [*tasks, asyncio.create_task(self._stop.wait())], return_when="FIRST_COMPLETED"
            )
            for t in done:
                if t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]
        finally:
            self._stop.set()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for consumer in consumers:
                await consumer.stop()
            await self.producer.stop()
            for path in (ready, responder_ready):
                path.unlink(missing_ok=True)


def run_fast_worker(settings: Settings) -> None:
    """Blocking entry point (uses uvloop when installed)."""
    try:
        import uvloop

        uvloop.run(FastWorker(settings).run())
    except ImportError:
        asyncio.run(FastWorker(settings).run())
