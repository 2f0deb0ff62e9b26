"""``SoarAgent``: the async agent-side SDK — signed telemetry out, control commands in.

Every helper builds the event as a plain dict, signs the canonical JSON of exactly that object
(``sign_object``), validates it once with ``EVENT_ADAPTER`` (so a bug in the agent fails here, not in
the dead-letter topic) and produces it as orjson bytes keyed by ``agent_id``::

    async with SoarAgent("web-researcher", key, "127.0.0.1:19092", topic_map(), memory=store) as agent:
        with agent.task("task-42"):
            call = await agent.tool_call("browser.fetch", {"url": url})
            await agent.tool_result("browser.fetch", call, page_text)

A control listener follows the agent's own partition of the control topic (no consumer group,
starting at the end offset at ``start()``), ignores commands for other agents and repeats, and applies
``quarantine`` (every helper but ``lifecycle`` raises :class:`AgentQuarantined`), ``release``,
``revoke`` (drops held tokens) and ``restore_memory`` (writes the entries into the memory store).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx
import orjson
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from soar.errors import SoarError
from soar.sdk.memory import MemoryStore, apply_entries
from soar.sdk.restore import confirmation_task_id
from soar.sdk.spool import Spool
from soar.sdk.tokens import (
    AuthorizeDecision,
    ScopeLike,
    TokenGrant,
    post_authorize,
    post_token_request,
    token_request_body,
)
from soar.telemetry.control import Command, ControlCommand
from soar.telemetry.events import EVENT_ADAPTER, Delegation, Source
from soar.telemetry.signing import key_id, public_key_b64, sign_object, value_hash
from soar.topics import TopicMap

log = structlog.get_logger(__name__)

CommandHook = Callable[["AppliedCommand"], Awaitable[None] | None]
LifecycleState = Literal["started", "heartbeat", "stopped"]


class AgentQuarantined(SoarError):
    """The agent is quarantined by soar: it must stop acting until released."""


class SdkError(SoarError):
    """The SDK was used wrongly (not started, no memory store, no API URL)."""


@dataclass(frozen=True)
class AppliedCommand:
    """A control command this agent applied, with wall-clock receive/apply times (``time.time()``)."""

    command: ControlCommand
    received_at: float
    applied_at: float

    @property
    def kind(self) -> str:
        """The command kind (``quarantine``, ``release``, ``revoke``, ``restore_memory``)."""
        return self.command.command


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def partition_for_key(key: bytes, partitions: list[int]) -> int:
    """The partition aiokafka's default partitioner (murmur2, like the Java client) picks for ``key``."""
    ordered = sorted(partitions)
    return int(DefaultPartitioner()(key, ordered, ordered))


class SoarAgent:
    """An agent's connection to soar: signed telemetry helpers, control listener, token client."""

    def __init__(
        self,
        agent_id: str,
        private_key: Ed25519PrivateKey,
        bootstrap: str,
        topics: TopicMap,
        *,
        memory: MemoryStore | None = None,
        api_url: str | None = None,
        task_id: str = "",
        session_id: str | None = None,
        model: str = "",
        version: str = "",
        on_command: CommandHook | None = None,
        linger_ms: int = 5,
        acks: int | str = 1,
        control_fetch_wait_ms: int = 50,
        control_partitions: Literal["hash", "all"] = "hash",
        announce: bool = True,
        http_client: httpx.AsyncClient | None = None,
        spool: Spool | str | Path | None = None,
        confirm_restores: bool = True,
        request_timeout_ms: int = 40_000,
        stop_drain_s: float = 10.0,
    ) -> None:
        self.agent_id = agent_id
        self.private_key = private_key
        self.public_key = private_key.public_key()
        self.kid = key_id(self.public_key)
        self.bootstrap = bootstrap
        self.topics = topics
        self.memory = memory
        self.api_url = api_url.rstrip("/") if api_url else None
        self.task_id = task_id
        self.session_id = session_id if session_id is not None else uuid.uuid4().hex
        self.model = model
        self.version = version
        self.announce = announce
        self.quarantined = False
        self.tokens: dict[str, str] = {}  # credential_id -> token
        self.revoked: set[str] = set()
        self.applied_commands: list[AppliedCommand] = []
        self.dropped_commands = 0  # addressed to another agent, or unparseable
        self.duplicate_commands = 0
        self.sent: Counter[str] = Counter()
        self.control_partitions: list[int] = []
        self._hooks: list[CommandHook] = [on_command] if on_command else []
        self._linger_ms = linger_ms
        self._acks = acks
        self._fetch_wait_ms = control_fetch_wait_ms
        self._partition_mode = control_partitions
        self._key = agent_id.encode()
        self._task_var: ContextVar[str | None] = ContextVar(f"soar_task_{agent_id}", default=None)
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._listener: asyncio.Task[None] | None = None
        self._seen: set[uuid.UUID] = set()
        self._waiters: list[tuple[str, asyncio.Future[AppliedCommand]]] = []
        self._http = http_client
        self._own_http = http_client is None
        self._own_spool = isinstance(spool, (str, Path))
        self.spool: Spool | None = Spool(spool) if isinstance(spool, (str, Path)) else spool
        self.spool_retries = 0  # failed attempts to drain the spool (broker unreachable)
        self._request_timeout_ms = request_timeout_ms
        self._stop_drain_s = stop_drain_s
        self.confirm_restores = confirm_restores
        self._running = False
        self._wake: asyncio.Event | None = None
        self._sender: asyncio.Task[None] | None = None

    # ---- lifecycle -------------------------------------------------------------------------------

    @classmethod
    async def enroll(
        cls,
        api_url: str,
        token: str,
        agent_id: str,
        bootstrap: str,
        topics: TopicMap,
        *,
        key_path: Path | None = None,
        **options: Any,
    ) -> SoarAgent:
        """Enroll with a one-time token (key made here, saved to ``key_path``); returns the agent, not started."""
        from soar.sdk.enroll import enroll

        enrolled = await enroll(api_url, token, agent_id, key_path=key_path)
        return cls(agent_id, enrolled.private_key, bootstrap, topics, api_url=api_url, **options)

    @property
    def public_key_b64(self) -> str:
        """The agent's raw public key, base64url (what soar's agent registry stores)."""
        return public_key_b64(self.public_key)

    @property
    def current_task_id(self) -> str:
        """The task id events get now (set by :meth:`task`, else ``task_id``)."""
        override = self._task_var.get()
        return self.task_id if override is None else override

    @property
    def started(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._running

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            linger_ms=self._linger_ms,
            acks=self._acks,
            request_timeout_ms=self._request_timeout_ms,
            client_id=f"soar-sdk-{self.agent_id}",
        )

    async def start(self) -> SoarAgent:
        """Connect the producer and the control listener (positioned at the end of the control topic).

        With a spool, a sender task drains it in order (events left by a previous run go first).
        """
        if self._running:
            return self
        producer = self._new_producer()
        await producer.start()
        self._producer = producer
        try:
            await self._start_listener()
        except BaseException:
            await producer.stop()
            self._producer = None
            raise
        self._running = True
        if self.spool is not None:
            self._wake = asyncio.Event()
            self._wake.set()
            self._sender = asyncio.create_task(self._drain_spool(), name=f"soar-spool-{self.agent_id}")
        if self.announce:
            await self.lifecycle("started")
        return self

    async def _start_listener(self) -> None:
        assert self._producer is not None
        topic = self.topics.control
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=self._fetch_wait_ms,
            client_id=f"soar-sdk-ctl-{self.agent_id}",
        )
        await consumer.start()
        try:
            parts: set[int] = set()
            with contextlib.suppress(Exception):
                parts = set(await self._producer.partitions_for(topic))
            if not parts:
                parts = set(consumer.partitions_for_topic(topic) or ())
            if not parts:
                raise SdkError(f"control topic {topic!r} has no partitions (does it exist?)")
            if self._partition_mode == "hash":
                chosen = [partition_for_key(self._key, list(parts))]
            else:
                chosen = sorted(parts)
            tps = [TopicPartition(topic, p) for p in chosen]
            consumer.assign(tps)
            # Resolve the end offsets now (seek_to_end is lazy): a command sent right after start() returns
            # must not be skipped.
            ends = await consumer.end_offsets(tps)
            for tp in tps:
                consumer.seek(tp, ends[tp])
        except BaseException:
            await consumer.stop()
            raise
        self.control_partitions = chosen
        self._consumer = consumer
        self._listener = asyncio.create_task(self._listen(), name=f"soar-control-{self.agent_id}")

    async def stop(self) -> None:
        """Announce ``stopped``, flush telemetry (a spool: up to ``stop_drain_s``; the rest waits on disk)."""
        if not self._running:
            return
        if self.announce:
            with contextlib.suppress(Exception):
                await self.lifecycle("stopped")
        if self._sender is not None:
            with contextlib.suppress(TimeoutError):
                await self.flush(timeout=self._stop_drain_s)
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sender
            self._sender = None
        self._running = False
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._producer is not None:
            try:
                await asyncio.wait_for(self._producer.flush(), self._request_timeout_ms / 1000)
            except Exception as e:
                log.warning("telemetry flush failed at stop", agent_id=self.agent_id, error=str(e))
            finally:
                with contextlib.suppress(Exception):
                    await self._producer.stop()
                self._producer = None
        if self.spool is not None and self._own_spool:
            self.spool.close()
        for _, fut in self._waiters:
            if not fut.done():
                fut.cancel()
        self._waiters.clear()
        if self._http is not None and self._own_http:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> SoarAgent:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every event produced so far is acknowledged by the broker (raises TimeoutError)."""
        if self.spool is not None and self._sender is not None:
            deadline = None if timeout is None else time.monotonic() + timeout
            while len(self.spool):
                if self._wake is not None:
                    self._wake.set()
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"{len(self.spool)} events still spooled")
                await asyncio.sleep(0.01)
            return
        if self._producer is not None:
            await asyncio.wait_for(self._producer.flush(), timeout)

    async def _drain_spool(self) -> None:
        """Send spooled events in order, a batch at a time; delete a batch once the broker acknowledged it."""
        assert self.spool is not None and self._wake is not None
        backoff = 0.1
        while True:
            self._wake.clear()  # before peeking: an append after the peek sets it again
            batch = self.spool.peek(500)
            if not batch:
                await self._wake.wait()
                continue
            try:
                if self._producer is None:
                    producer = self._new_producer()
                    await producer.start()
                    self._producer = producer
                timeout = self._request_timeout_ms / 1000
                futures = [
                    await asyncio.wait_for(self._producer.send(e.topic, e.value, key=e.key), timeout) for e in batch
                ]
                await asyncio.wait_for(asyncio.gather(*futures), timeout)
                self.spool.ack(batch[-1].seq)
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as e:  # broker unreachable: keep everything, reconnect, retry the same batch
                self.spool_retries += 1
                log.warning("broker unreachable; events stay spooled", agent_id=self.agent_id, error=str(e)[:200])
                if self._producer is not None:
                    old, self._producer = self._producer, None
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(old.stop(), 2.0)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    @contextlib.contextmanager
    def task(self, task_id: str) -> Iterator[str]:
        """Events emitted inside this block (in this asyncio task) carry ``task_id``."""
        token = self._task_var.set(task_id)
        try:
            yield task_id
        finally:
            self._task_var.reset(token)

    # ---- telemetry -------------------------------------------------------------------------------

    def _check_active(self) -> None:
        if self.quarantined:
            raise AgentQuarantined(f"agent {self.agent_id!r} is quarantined")

    async def _emit(self, kind: str, payload: dict[str, Any], *, event_id: str | None = None) -> str:
        if not self._running:
            raise SdkError("SoarAgent is not started")
        eid = event_id or str(uuid.uuid4())
        obj: dict[str, Any] = {
            "event_id": eid,
            "ts": _now_iso(),
            "agent_id": self.agent_id,
            "task_id": self.current_task_id,
            "session_id": self.session_id,
            "kind": kind,
            "payload": payload,
        }
        return await self._send(obj)

    async def emit_event(self, event: dict[str, Any]) -> str:
        """Sign and send a pre-built event (e.g. mapped from an OpenTelemetry span); ``agent_id`` is forced to ours.

        Missing envelope fields get defaults (fresh ``event_id``, now, current task, this session). Refused while
        quarantined, except ``lifecycle``.
        """
        if not self._running:
            raise SdkError("SoarAgent is not started")
        if event.get("kind") != "lifecycle":
            self._check_active()
        obj = {k: v for k, v in event.items() if k not in ("kid", "sig") and v is not None}
        obj["agent_id"] = self.agent_id
        obj.setdefault("event_id", str(uuid.uuid4()))
        obj.setdefault("ts", _now_iso())
        obj.setdefault("task_id", self.current_task_id)
        obj.setdefault("session_id", self.session_id)
        return await self._send(obj)

    async def _send(self, obj: dict[str, Any]) -> str:
        kind = str(obj["kind"])
        signed = sign_object(obj, self.private_key, self.kid)
        EVENT_ADAPTER.validate_python(signed)  # the agent's own safety net; raises pydantic.ValidationError
        if self.spool is not None:
            self.spool.append(self.topics.telemetry, self._key, orjson.dumps(signed))  # raises SpoolFull
            assert self._wake is not None
            self._wake.set()
        else:
            assert self._producer is not None
            await self._producer.send(self.topics.telemetry, orjson.dumps(signed), key=self._key)
        self.sent[kind] += 1
        return str(obj["event_id"])

    async def input(self, source: Source, content: str, origin: str = "") -> str:
        """Content entered the agent's context (``kind=input``); returns the event id."""
        self._check_active()
        return await self._emit("input", {"source": source, "origin": origin, "content": content})

    async def output(self, content: str, destination: str = "") -> str:
        """The agent emitted content (``kind=output``); returns the event id."""
        self._check_active()
        return await self._emit("output", {"content": content, "destination": destination})

    async def tool_call(
        self,
        tool: str,
        args: dict[str, Any] | None = None,
        call_id: str | None = None,
        credential_id: str | None = None,
    ) -> str:
        """The agent calls ``tool``; returns the event id, which is also the ``call_id`` when none is given."""
        self._check_active()
        eid = str(uuid.uuid4())
        payload = {"tool": tool, "call_id": call_id or eid, "args": args or {}, "credential_id": credential_id}
        return await self._emit("tool_call", payload, event_id=eid)

    async def tool_result(self, tool: str, call_id: str, content: str, status: Literal["ok", "error"] = "ok") -> str:
        """A tool answered (``kind=tool_result``); returns the event id."""
        self._check_active()
        return await self._emit("tool_result", {"tool": tool, "call_id": call_id, "content": content, "status": status})

    async def memory_write(
        self,
        store: str,
        key: str,
        value: str,
        provenance_source: Source,
        origin: str = "",
        cause_event_id: str | uuid.UUID | None = None,
    ) -> str:
        """Write ``key`` to the local memory store, then emit ``memory_write``; returns the event id."""
        self._check_active()
        if self.memory is not None:
            self.memory.put(store, key, value)
        provenance = {
            "source": provenance_source,
            "origin": origin,
            "event_id": str(cause_event_id) if cause_event_id is not None else None,
        }
        return await self._emit("memory_write", {"store": store, "key": key, "value": value, "provenance": provenance})

    async def memory_read(self, store: str, key: str) -> str:
        """Read ``key`` from the local store and emit ``memory_read`` with its hash ('' when absent)."""
        self._check_active()
        value = self.memory.get(store, key) if self.memory is not None else None
        digest = "" if value is None else value_hash(value)
        return await self._emit("memory_read", {"store": store, "key": key, "value_hash": digest})

    async def recall(self, store: str, key: str) -> str | None:
        """Like :meth:`memory_read` but returns the value read (None when absent)."""
        await self.memory_read(store, key)
        return self.memory.get(store, key) if self.memory is not None else None

    async def message(
        self,
        to_agent: str,
        content: str,
        conversation_id: str = "",
        delegation: Delegation | dict[str, Any] | None = None,
    ) -> str:
        """A message to another agent, optionally asking it to run a tool/task; returns the event id."""
        self._check_active()
        deleg: dict[str, Any] | None = None
        if isinstance(delegation, Delegation):
            deleg = delegation.model_dump(mode="json")
        elif delegation is not None:
            deleg = {"tool": delegation.get("tool"), "task": delegation.get("task"), "args": delegation.get("args", {})}
        payload = {"to_agent": to_agent, "conversation_id": conversation_id, "content": content, "delegation": deleg}
        return await self._emit("message", payload)

    async def credential_use(self, credential_id: str, resource: str, action: str) -> str:
        """The agent used a credential on a resource; returns the event id."""
        self._check_active()
        return await self._emit(
            "credential_use", {"credential_id": credential_id, "resource": resource, "action": action}
        )

    async def lifecycle(self, state: LifecycleState) -> str:
        """Started / heartbeat / stopped; allowed even while quarantined. Returns the event id."""
        return await self._emit("lifecycle", {"state": state, "model": self.model, "version": self.version})

    async def heartbeat(self) -> str:
        """Shortcut for ``lifecycle("heartbeat")``."""
        return await self.lifecycle("heartbeat")

    # ---- control ---------------------------------------------------------------------------------

    def add_command_hook(self, hook: CommandHook) -> None:
        """Call ``hook(applied)`` (sync or async) after each command is applied."""
        self._hooks.append(hook)

    async def _listen(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        while True:
            try:
                batch = await consumer.getmany(timeout_ms=1000)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a broker hiccup must not kill the listener
                log.warning("control fetch failed", agent_id=self.agent_id, error=str(e))
                await asyncio.sleep(0.5)
                continue
            for msgs in batch.values():
                for msg in msgs:
                    try:
                        await self.handle_command_bytes(msg.value or b"")
                    except asyncio.CancelledError:
                        raise
                    except Exception as e:
                        log.warning("control command failed", agent_id=self.agent_id, error=str(e))

    async def handle_command_bytes(self, raw: bytes) -> AppliedCommand | None:
        """Parse and apply one control message; None when it was not for us, a repeat, or unparseable."""
        received = time.time()
        try:
            cmd = ControlCommand.model_validate_json(raw)
        except ValidationError as e:
            self.dropped_commands += 1
            log.warning("unparseable control command", agent_id=self.agent_id, error=str(e)[:200])
            return None
        return await self.apply_command(cmd, received_at=received)

    async def apply_command(self, cmd: ControlCommand, *, received_at: float | None = None) -> AppliedCommand | None:
        """Apply ``cmd`` if it is addressed to this agent and not seen before."""
        received = received_at if received_at is not None else time.time()
        if cmd.agent_id != self.agent_id:
            self.dropped_commands += 1
            return None
        if cmd.command_id in self._seen:
            self.duplicate_commands += 1
            return None
        self._seen.add(cmd.command_id)
        if cmd.command == "quarantine":
            self.quarantined = True
        elif cmd.command == "release":
            self.quarantined = False
        elif cmd.command == "revoke":
            ids = [str(c) for c in cmd.params.get("credential_ids") or []]
            if ids:
                for cid in ids:
                    self.tokens.pop(cid, None)
                    self.revoked.add(cid)
            else:
                self.revoked.update(self.tokens)
                self.tokens.clear()
        elif cmd.command == "restore_memory":
            store = str(cmd.params.get("store", ""))
            entries = cmd.params.get("entries") or {}
            if self.memory is None:
                log.warning("restore_memory without a memory store", agent_id=self.agent_id)
            elif store and isinstance(entries, dict):
                restored = {str(k): None if v is None else str(v) for k, v in entries.items()}
                apply_entries(self.memory, store, restored)
                if self.confirm_restores and self._running:
                    await self._confirm_restore(cmd, store, list(restored))
        applied = AppliedCommand(cmd, received, time.time())
        self.applied_commands.append(applied)
        log.info("control command applied", agent_id=self.agent_id, command=cmd.command, reason=cmd.reason)
        for kind, fut in list(self._waiters):
            if kind == cmd.command and not fut.done():
                fut.set_result(applied)
        self._waiters = [(k, f) for k, f in self._waiters if not f.done()]
        for hook in self._hooks:
            try:
                res = hook(applied)
                if inspect.isawaitable(res):
                    await res
            except Exception as e:
                log.warning("on_command hook failed", agent_id=self.agent_id, error=str(e))
        return applied

    async def _confirm_restore(self, cmd: ControlCommand, store: str, keys: list[str]) -> None:
        """Report the hashes memory now holds: one ``memory_read`` per key, ``task_id="restore:<command_id>"``.

        Sent even while quarantined (a restore usually comes with a quarantine), like ``lifecycle``.
        """
        assert self.memory is not None
        with self.task(confirmation_task_id(cmd.command_id)):
            for key in keys:
                digest = self.memory.value_hash(store, key) or ""
                try:
                    await self._emit("memory_read", {"store": store, "key": key, "value_hash": digest})
                except Exception as e:
                    log.warning("restore confirmation not sent", agent_id=self.agent_id, key=key, error=str(e))

    async def wait_for_command(
        self,
        kind: Command,
        timeout: float = 10.0,
        *,
        since: float | None = None,
    ) -> AppliedCommand:
        """The first applied command of ``kind`` (received at or after ``since``); raises TimeoutError."""
        for applied in self.applied_commands:
            if applied.kind == kind and (since is None or applied.received_at >= since):
                return applied
        fut: asyncio.Future[AppliedCommand] = asyncio.get_running_loop().create_future()
        self._waiters.append((kind, fut))
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._waiters = [(k, f) for k, f in self._waiters if f is not fut]

    def commands(self, kind: Command | None = None) -> list[AppliedCommand]:
        """Applied commands, optionally of one kind."""
        return [a for a in self.applied_commands if kind is None or a.kind == kind]

    # ---- credentials -----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _client(self, *, need_api: bool = True) -> AsyncIterator[httpx.AsyncClient]:
        if need_api and self.api_url is None:
            raise SdkError("SoarAgent has no api_url")
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=10.0)
            self._own_http = True
        yield self._http

    def token_request(self, scopes: Sequence[ScopeLike], task_id: str | None = None) -> dict[str, Any]:
        """The signed body of ``POST /v1/tokens`` for ``scopes`` (tool globs or scope dicts)."""
        task = self.current_task_id if task_id is None else task_id
        return token_request_body(self.private_key, self.kid, self.agent_id, task, scopes)

    async def request_grant(self, scopes: Sequence[ScopeLike], task_id: str | None = None) -> TokenGrant:
        """Ask soar for a short-lived, task-scoped token; keeps it in ``tokens`` and returns the grant."""
        self._check_active()
        body = self.token_request(scopes, task_id)
        async with self._client() as http:
            grant = await post_token_request(http, self.api_url or "", body)
        self.tokens[grant.credential_id] = grant.token
        return grant

    async def request_token(self, scopes: Sequence[ScopeLike], task_id: str | None = None) -> str:
        """Ask soar for a short-lived, task-scoped token and return it (see :meth:`request_grant`)."""
        return (await self.request_grant(scopes, task_id)).token

    async def call_tool(
        self,
        server_url: str,
        tool: str,
        resource: str,
        action: str,
        args: dict[str, Any] | None = None,
        *,
        credential_id: str | None = None,
    ) -> Any:
        """Call ``tool`` on a soar-enforced tool server with a held token; emits ``tool_call`` and ``tool_result``.

        Uses the token of ``credential_id`` (default: the newest held). Raises ``soar.enforce.ToolDenied`` when
        the enforcement point refuses (the ``tool_result`` then records the error), :class:`SdkError` without a token.
        """
        from soar.enforce.client import ToolDenied, call_tool

        cid = credential_id or next(reversed(self.tokens), None)
        if cid is None or cid not in self.tokens:
            raise SdkError(f"no token held for {tool!r} (request one with request_grant)")
        call_id = await self.tool_call(
            tool, {"resource": resource, "action": action, **(args or {})}, credential_id=cid
        )
        async with self._client(need_api=False) as http:
            try:
                response = await call_tool(http, server_url, self.tokens[cid], tool, resource, action, args)
            except ToolDenied as e:
                await self.tool_result(tool, call_id, f"denied: {e.reason}", "error")
                raise
        await self.tool_result(tool, call_id, str(response.result)[:4096])
        return response.result

    async def authorize(self, token: str, tool: str, resource: str, action: str) -> AuthorizeDecision:
        """Ask soar whether ``token`` may do ``action`` on ``resource`` with ``tool`` (for enforcement points)."""
        async with self._client() as http:
            return await post_authorize(http, self.api_url or "", token, tool, resource, action)
