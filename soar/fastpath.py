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
import gc
import importlib
import itertools
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from soar.config import Settings
from soar.detect.base import MemoryState
from soar.ingest.decoders import RawRecord
from soar.runtime import TelemetryBatch, WorkerRuntime
from soar.telemetry.control import ControlCommand
from soar.topics import topic_map
from soar.trace import Trace

log = structlog.get_logger(__name__)


class _ReadyOnAssign(ConsumerRebalanceListener):
    def __init__(self, ready: Path, name: str, on_revoke: Callable[[], Awaitable[None]] | None = None) -> None:
        self.ready = ready
        self.name = name
        self.on_revoke = on_revoke

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if self.on_revoke is not None:  # finish and commit what is in flight before the partitions move
            await self.on_revoke()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if assigned:
            self.ready.write_text("ready\n")
            log.info("partitions assigned", stage=self.name, n=len(assigned))


class _InFlight:
    """A findings batch being handled: its task (every agent's part) and the offsets to commit once it is done."""

    def __init__(self, task: asyncio.Future[Any], batches: dict[TopicPartition, list[Any]]) -> None:
        self.task = task
        self.offsets = {tp: msgs[-1].offset + 1 for tp, msgs in batches.items()}
        self.line: dict[str, Any] | None = None

    def trace(self, trace: Trace, messages: list[Any]) -> None:
        """Start this batch's trace line (written once committed)."""
        line = self.line = {"kind": "batch", "loop": "findings", "fetched": time.time(), "n": len(messages)}
        line["parts"] = {tp.partition: [off - 1, off - 1] for tp, off in self.offsets.items()}
        line["keys"] = sorted({m.key.decode() for m in messages if m.key})
        self.task.add_done_callback(lambda _t: line.update(handled=time.time()))

    def committed(self, trace: Trace) -> None:
        """Write the trace line, if any."""
        if self.line is not None:
            trace.write(**self.line, committed=time.time())


@dataclass
class _Fetched:
    """A fetched batch: the offsets to commit once it is handled, what ``begin`` made of it, its trace line."""

    offsets: dict[TopicPartition, int]
    begun: Any
    line: dict[str, Any] | None


class _EarlierBatchFailed(Exception):
    """An agent's findings wait for its earlier ones; those failed, so these are delivered again after them."""


async def _after(prev: asyncio.Task[None] | None, handle: Callable[[list], Awaitable[None]], messages: list) -> None:
    """Handle one agent's part of a batch once its part of the batch before (``prev``) is done."""
    if prev is not None:
        await asyncio.wait([prev])
        if prev.cancelled() or prev.exception() is not None:
            raise _EarlierBatchFailed("an earlier batch of this agent failed")
    await handle(messages)


async def _all(parts: list[asyncio.Task[None]]) -> None:
    """Wait for every part, then raise the first failure (so a failed batch is done only when all of it is)."""
    results = await asyncio.gather(*parts, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r


class FastWorker:
    """Telemetry and findings consumer loops around one ``WorkerRuntime``."""

    producer: AIOKafkaProducer
    #: findings and control commands: few, and on the way to containment, so sent at once (no linger); a
    #: producer's ``flush()`` waits for a lingering batch's linger, it does not cut it short
    urgent: AIOKafkaProducer

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topics = topic_map(settings)
        state = MemoryState(max_keys=settings.state_max_keys)
        self.runtime = WorkerRuntime(settings, state, detect=settings.worker_role != "respond")
        self._stop = asyncio.Event()
        self.trace = Trace(settings.trace_dir, settings.worker_role)
        self._inflight: deque[_InFlight] = deque()  # findings batches being handled, in fetch order
        self._last_part: dict[Any, asyncio.Task[None]] = {}  # agent -> its part of the latest batch naming it
        self._commit_lock = asyncio.Lock()

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

    def _sender(self, topic: str, urgent: bool = False) -> Callable[[bytes | None, bytes], Awaitable[None]]:
        async def send(key: bytes | None, value: bytes) -> None:
            await (self.urgent if urgent else self.producer).send(topic, value, key=key)

        return send

    async def _flush(self) -> None:
        """Wait until everything produced so far is acknowledged (before offsets are committed)."""
        await asyncio.gather(self.producer.flush(), self.urgent.flush())

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

    async def _loop(
        self,
        consumer: AIOKafkaConsumer,
        handle: Callable[[Any], Awaitable[None]],
        name: str = "",
        begin: Callable[[list], Awaitable[Any]] | None = None,
    ) -> None:
        """Fetch, handle, flush, commit, one batch at a time (at least once: offsets are committed after).

        With ``begin`` the batch after is begun before a batch is handled, if its records are already fetched
        (no wait for more): ``begin`` returns what ``handle`` then takes, so the helper process checks and
        scores the next batch while this one is detected (``soar.helper``). Each batch commits its own offsets,
        so what was begun ahead is committed only after it is handled; a failure seeks back both.
        """
        ahead: _Fetched | None = None
        while not self._stop.is_set():
            batch, ahead = ahead, None
            try:
                if batch is None:
                    batch = await self._fetch(consumer, name, 200, begin)
                    if batch is None:
                        continue
                if begin is not None:
                    ahead = await self._fetch(consumer, name, 0, begin)
                await handle(batch.begun)
                if batch.line is not None:
                    batch.line["handled"] = time.time()
            except Exception:  # a failed batch is retried from the last commit, never silently skipped
                log.exception("batch failed; seeking back to the last committed offsets")
                ahead = None  # fetched ahead, or failed while being begun: every partition goes back
                try:
                    for tp in consumer.assignment():
                        committed = await consumer.committed(tp)
                        consumer.seek(tp, committed if committed is not None else 0)
                except KafkaError as e:  # revoked meanwhile: the new owner starts from the last commit
                    log.warning("cannot seek back", error=str(e)[:300])
                await asyncio.sleep(1.0)
                continue
            await self._flush()
            line = batch.line
            if line is not None:
                line["flushed"] = time.time()
            try:
                await consumer.commit(batch.offsets)
                if line is not None:
                    line["committed"] = time.time()
                    self.trace.write(**line)
            except KafkaError as e:
                # The group rebalanced under us (a restarted broker forgot it, or a slow batch overran the poll
                # interval): the batch is delivered again to the partitions' owner, and findings, runs and steps
                # are idempotent. Dying here would turn a broker restart into a worker outage.
                log.warning("offset commit failed; the batch will be delivered again", error=str(e)[:300])

    async def _fetch(
        self, consumer: AIOKafkaConsumer, name: str, wait_ms: int, begin: Callable[[list], Awaitable[Any]] | None
    ) -> _Fetched | None:
        """The next fetch (waiting up to ``wait_ms`` for records), begun; None when nothing came."""
        batches = await consumer.getmany(timeout_ms=wait_ms, max_records=self.settings.batch_max)
        messages = [m for msgs in batches.values() for m in msgs]
        if not messages:
            return None
        line: dict[str, Any] | None = None
        if self.trace.enabled:
            line = {"kind": "batch", "loop": name, "fetched": time.time(), "n": len(messages)}
            line["parts"] = {tp.partition: [msgs[0].offset, msgs[-1].offset] for tp, msgs in batches.items()}
        offsets = {tp: msgs[-1].offset + 1 for tp, msgs in batches.items()}
        return _Fetched(offsets, await begin(messages) if begin is not None else messages, line)

    async def _respond_loop(self, consumer: AIOKafkaConsumer, handle: Callable[[list], Awaitable[None]]) -> None:
        """The findings loop: each fetch goes to the responder at once, beside the batches still being handled.

        Handling a batch runs its runs to the end (notifications, later steps, a second playbook), several times
        as long as reaching containment; when the next fetch waited for it, a later attack queued behind an
        earlier one's paging. Now up to ``respond_batches_in_flight`` batches are handled at a time. A batch is
        split by agent (the record key): an agent's part starts once the part of the batch before it that names
        the same agent is done, so one agent's findings stay in order, and not at all if that one failed.
        Offsets are committed in fetch order, up to the last batch that is done with every batch before it (at
        least once, as in ``_loop``); after a failed batch the others finish, then the consumer seeks back to the
        last commit and everything after it is delivered again (findings, runs and steps are idempotent).
        """
        inflight = self._inflight
        slots = asyncio.Semaphore(max(1, self.settings.respond_batches_in_flight))
        last = self._last_part
        try:
            while not self._stop.is_set():
                await slots.acquire()
                try:
                    batches = await consumer.getmany(timeout_ms=200, max_records=self.settings.batch_max)
                except BaseException:
                    slots.release()
                    raise
                messages = [m for msgs in batches.values() for m in msgs]
                if not messages:
                    slots.release()
                    await self._commit_handled(consumer)
                    continue
                by_agent: dict[Any, list[Any]] = {}
                for m in messages:
                    by_agent.setdefault(m.key, []).append(m)
                parts = []
                for key, msgs in by_agent.items():
                    part = asyncio.create_task(_after(last.get(key), handle, msgs))
                    last[key] = part
                    parts.append(part)
                batch = _InFlight(asyncio.create_task(_all(parts)), batches)
                batch.task.add_done_callback(lambda _t: slots.release())
                if self.trace.enabled:
                    batch.trace(self.trace, messages)
                inflight.append(batch)
                for key in [k for k, t in last.items() if t.done() and not t.cancelled() and t.exception() is None]:
                    del last[key]  # done and well: nothing to wait for (a failed one stays until the seek back)
                await self._commit_handled(consumer)
        finally:
            for b in inflight:
                b.task.cancel()
            await asyncio.gather(*(b.task for b in inflight), return_exceptions=True)
            inflight.clear()

    async def _commit_handled(self, consumer: AIOKafkaConsumer, *, wait: bool = False) -> None:
        """Commit the offsets of the batches at the head of the queue that are handled (``wait``: all of them).

        One caller at a time (the loop, or a revocation): two could otherwise commit out of order.
        """
        async with self._commit_lock:
            await self._commit_handled_locked(consumer, wait)

    async def _commit_handled_locked(self, consumer: AIOKafkaConsumer, wait: bool) -> None:
        inflight = self._inflight
        if wait and inflight:
            await asyncio.wait([b.task for b in inflight])
        offsets: dict[TopicPartition, int] = {}
        done: list[_InFlight] = []
        while inflight and inflight[0].task.done():
            b = inflight.popleft()
            if b.task.cancelled() or b.task.exception() is not None:
                await self._seek_back(consumer, b, offsets)
                return
            offsets.update(b.offsets)
            done.append(b)
        if not offsets:
            return
        await self._flush()
        try:
            await consumer.commit(offsets)
        except KafkaError as e:  # as in _loop: the batches are delivered again to the partitions' owner
            log.warning("offset commit failed; the batches will be delivered again", error=str(e)[:300])
            return
        for b in done:
            b.committed(self.trace)

    async def _seek_back(
        self, consumer: AIOKafkaConsumer, failed: _InFlight, handled: dict[TopicPartition, int]
    ) -> None:
        """A batch failed: let the others finish, commit those before it, then fetch again from there."""
        error = None if failed.task.cancelled() else failed.task.exception()
        log.error("batch failed; seeking back to the last committed offsets", exc_info=error)
        rest = list(self._inflight)
        self._inflight.clear()
        if rest:
            await asyncio.wait([b.task for b in rest])
            for b in rest:  # delivered again below; their errors (if any) were logged by the parts that raised them
                if not b.task.cancelled():
                    b.task.exception()
        self._last_part.clear()  # everything after the last commit is delivered again, in order
        try:
            if handled:
                await self._flush()
                await consumer.commit(handled)
            for tp in {tp for b in (failed, *rest) for tp in b.offsets}:
                committed = await consumer.committed(tp)
                consumer.seek(tp, committed if committed is not None else 0)
        except KafkaError as e:  # revoked meanwhile: the new owner starts from the last commit
            log.warning("cannot seek back", error=str(e)[:300])
        await asyncio.sleep(1.0)

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
        self.urgent = AIOKafkaProducer(bootstrap_servers=s.broker, linger_ms=0, acks=1)
        await self.producer.start()
        await self.urgent.start()
        send_finding = self._sender(self.topics.findings, urgent=True)
        send_dead = self._sender(self.topics.deadletter)
        send_dead_many = self._batch_sender(self.topics.deadletter)
        control = self.topics.control

        async def publish(cmd: ControlCommand) -> None:
            await self.urgent.send_and_wait(control, cmd.model_dump_json().encode(), key=cmd.agent_id.encode())

        consumers: list[AIOKafkaConsumer] = []
        tasks: list[asyncio.Task[None]] = []

        async def start_responding() -> None:
            responder = self.runtime.start_responder(
                publish, step_hook=self._trace_step if self.trace.enabled else None
            )
            await responder.resume()
            findings = self._consumer(self.topics.findings, f"{s.app_id}-findings")
            findings.subscribe(
                [self.topics.findings],
                listener=_ReadyOnAssign(responder_ready, "findings", lambda: self._commit_handled(findings, wait=True)),
            )
            await findings.start()
            consumers.append(findings)

            async def on_findings(messages: list) -> None:
                await self.runtime.handle_findings([m.value for m in messages])

            tasks.append(asyncio.create_task(self._respond_loop(findings, on_findings)))

        async def start_detecting() -> None:
            # the helper checks and scores the next batch while this one is detected; it starts while the group is
            # joined, and so is scikit-learn imported (for the coordination baseline's fits, off the hot path: the
            # import would otherwise stall the event loop at the first fit); the loop begins once all are done
            helper = (
                asyncio.create_task(asyncio.to_thread(self.runtime.pipeline.start_helper)) if s.helper_process else None
            )
            sklearn = asyncio.create_task(asyncio.to_thread(importlib.import_module, "sklearn.ensemble"))
            await self.runtime.refresh_directory()
            telemetry = self._consumer(self.topics.telemetry, f"{s.app_id}-telemetry")
            telemetry.subscribe([self.topics.telemetry], listener=_ReadyOnAssign(ready, "telemetry"))
            await telemetry.start()
            consumers.append(telemetry)
            if helper is not None:
                await helper
            await sklearn

            async def begin_telemetry(messages: list) -> TelemetryBatch:
                records = [RawRecord(m.value, m.topic, m.partition, m.offset, m.key) for m in messages]
                return await self.runtime.begin_telemetry(records)

            async def on_telemetry(batch: TelemetryBatch) -> None:
                await self.runtime.finish_telemetry(batch, send_finding, send_dead, send_dead_many)

            async def refresh() -> None:
                while not self._stop.is_set():
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), 1.0)
                    try:
                        await self.runtime.refresh_directory(min_interval=0.9)
                    except Exception:  # the database may be briefly unavailable; keep the last snapshot
                        log.exception("directory refresh failed")

            tasks.extend(
                [
                    asyncio.create_task(self._loop(telemetry, on_telemetry, "telemetry", begin_telemetry)),
                    asyncio.create_task(refresh()),
                ]
            )

        # The two consumer groups are joined side by side: this broker completes a JoinGroup only after about half
        # the session timeout (STACK.md, quirk 1), so one after the other a worker took two of those to start.
        async with asyncio.TaskGroup() as starting:
            if respond:
                starting.create_task(start_responding())
            if detect:
                starting.create_task(start_detecting())
        settle_heap(self.settings.gc_young_threshold)
        watcher = self.trace.start()  # after that collection: the trace shows pauses in service, not start-up's
        if watcher is not None:
            tasks.append(watcher)
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
            await self.urgent.stop()
            self.runtime.pipeline.close()
            for path in (ready, responder_ready):
                path.unlink(missing_ok=True)
            self.trace.close()

    def _trace_step(self, run_id: str, step_id: str, phase: str) -> None:
        self.trace.write(kind="step", t=time.time(), run=run_id, step=step_id, phase=phase)


def settle_heap(young_threshold: int) -> None:
    """Once start-up is done: freeze its heap and space the collector's young passes ``young_threshold`` apart.

    What start-up loaded (detector models and rule packs, playbooks, the key directory, libraries) lives as long
    as the process. Frozen, it is out of the collector's sight: a full collection no longer walks its ~200k
    objects, which took 140-305 ms in the detect worker, a pause on every event in flight. A batch's events live
    while it is handled; at Python's threshold (700) the collector walked a batch of 2,048 about a hundred times
    and promoted it to the older generations, whose passes then walked it again: 2.0-2.7 s of a flood bench's
    ~36 CPU seconds. At 50,000 it was 0.2-0.35 s, in 2-4 passes of at most ~90 ms, where the older generation's
    19 full passes took up to 104 ms each (docs/performance.md, "The garbage collector's thresholds")."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, *gc.get_threshold()[1:])


def run_fast_worker(settings: Settings) -> None:
    """Blocking entry point (uses uvloop when installed)."""
    try:
        import uvloop

        uvloop.run(FastWorker(settings).run())
    except ImportError:
        asyncio.run(FastWorker(settings).run())
