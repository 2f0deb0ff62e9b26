"""``SoarAgentSync``: the SDK for agents that do not run asyncio.

The async :class:`~soar.sdk.client.SoarAgent` runs on a private event loop in a daemon thread; every
method submits a coroutine there and blocks for its result::

    with SoarAgentSync("scheduler", key, "127.0.0.1:19092", topic_map()) as agent:
        agent.tool_call("calendar.create", {"title": "standup"})

``on_command`` hooks run on the loop thread, not the caller's.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from soar.sdk.client import AppliedCommand, SoarAgent
from soar.sdk.memory import MemoryStore
from soar.sdk.tokens import AuthorizeDecision, ScopeLike
from soar.telemetry.control import Command
from soar.telemetry.events import Delegation, Source
from soar.topics import TopicMap

T = TypeVar("T")


class SoarAgentSync:
    """Blocking facade over :class:`SoarAgent` (same constructor arguments, same helpers)."""

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
        call_timeout: float = 30.0,
        **options: Any,
    ) -> None:
        self.agent = SoarAgent(
            agent_id,
            private_key,
            bootstrap,
            topics,
            memory=memory,
            api_url=api_url,
            task_id=task_id,
            session_id=session_id,
            **options,
        )
        self.call_timeout = call_timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"soar-sdk-{agent_id}", daemon=True)
        self._thread.start()

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        if self._loop.is_closed():
            coro.close()
            raise RuntimeError("SoarAgentSync is closed")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return fut.result(self.call_timeout if timeout is None else timeout)

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> SoarAgentSync:
        """Connect (see :meth:`SoarAgent.start`)."""
        self._run(self.agent.start())
        return self

    def stop(self) -> None:
        """Disconnect and stop the loop thread."""
        if self._loop.is_closed():
            return
        try:
            self._run(self.agent.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    def __enter__(self) -> SoarAgentSync:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every event produced so far is acknowledged (spooled ones included)."""
        self._run(self.agent.flush(timeout), timeout=None if timeout is None else timeout + 5.0)

    @contextlib.contextmanager
    def task(self, task_id: str) -> Iterator[str]:
        """Events emitted inside this block carry ``task_id`` (sets the agent's default task id)."""
        previous = self.agent.task_id
        self.agent.task_id = task_id
        try:
            yield task_id
        finally:
            self.agent.task_id = previous

    # ---- state -----------------------------------------------------------------------------------

    @property
    def agent_id(self) -> str:
        """The agent id."""
        return self.agent.agent_id

    @property
    def quarantined(self) -> bool:
        """True while soar has the agent quarantined."""
        return self.agent.quarantined

    @property
    def tokens(self) -> dict[str, str]:
        """Held tokens, credential_id -> token."""
        return self.agent.tokens

    @property
    def memory(self) -> MemoryStore | None:
        """The agent's memory store."""
        return self.agent.memory

    @property
    def applied_commands(self) -> list[AppliedCommand]:
        """Control commands applied so far."""
        return self.agent.applied_commands

    def wait_for_command(self, kind: Command, timeout: float = 10.0, *, since: float | None = None) -> AppliedCommand:
        """Block until a command of ``kind`` is applied; raises TimeoutError."""
        return self._run(self.agent.wait_for_command(kind, timeout, since=since), timeout=timeout + 5.0)

    # ---- telemetry -------------------------------------------------------------------------------

    def input(self, source: Source, content: str, origin: str = "") -> str:
        """See :meth:`SoarAgent.input`."""
        return self._run(self.agent.input(source, content, origin))

    def output(self, content: str, destination: str = "") -> str:
        """See :meth:`SoarAgent.output`."""
        return self._run(self.agent.output(content, destination))

    def tool_call(
        self,
        tool: str,
        args: dict[str, Any] | None = None,
        call_id: str | None = None,
        credential_id: str | None = None,
    ) -> str:
        """See :meth:`SoarAgent.tool_call`."""
        return self._run(self.agent.tool_call(tool, args, call_id, credential_id))

    def tool_result(self, tool: str, call_id: str, content: str, status: Literal["ok", "error"] = "ok") -> str:
        """See :meth:`SoarAgent.tool_result`."""
        return self._run(self.agent.tool_result(tool, call_id, content, status))

    def memory_write(
        self,
        store: str,
        key: str,
        value: str,
        provenance_source: Source,
        origin: str = "",
        cause_event_id: str | None = None,
    ) -> str:
        """See :meth:`SoarAgent.memory_write`."""
        return self._run(self.agent.memory_write(store, key, value, provenance_source, origin, cause_event_id))

    def memory_read(self, store: str, key: str) -> str:
        """See :meth:`SoarAgent.memory_read`."""
        return self._run(self.agent.memory_read(store, key))

    def recall(self, store: str, key: str) -> str | None:
        """See :meth:`SoarAgent.recall`."""
        return self._run(self.agent.recall(store, key))

    def message(
        self,
        to_agent: str,
        content: str,
        conversation_id: str = "",
        delegation: Delegation | dict[str, Any] | None = None,
    ) -> str:
        """See :meth:`SoarAgent.message`."""
        return self._run(self.agent.message(to_agent, content, conversation_id, delegation))

    def credential_use(self, credential_id: str, resource: str, action: str) -> str:
        """See :meth:`SoarAgent.credential_use`."""
        return self._run(self.agent.credential_use(credential_id, resource, action))

    def lifecycle(self, state: Literal["started", "heartbeat", "stopped"]) -> str:
        """See :meth:`SoarAgent.lifecycle`."""
        return self._run(self.agent.lifecycle(state))

    def heartbeat(self) -> str:
        """See :meth:`SoarAgent.heartbeat`."""
        return self._run(self.agent.heartbeat())

    # ---- credentials -----------------------------------------------------------------------------

    def request_token(self, scopes: Sequence[ScopeLike], task_id: str | None = None) -> str:
        """See :meth:`SoarAgent.request_token`."""
        return self._run(self.agent.request_token(scopes, task_id))

    def call_tool(
        self, server_url: str, tool: str, resource: str, action: str, args: dict[str, Any] | None = None
    ) -> Any:
        """See :meth:`SoarAgent.call_tool`."""
        return self._run(self.agent.call_tool(server_url, tool, resource, action, args))

    def emit_event(self, event: dict[str, Any]) -> str:
        """See :meth:`SoarAgent.emit_event`."""
        return self._run(self.agent.emit_event(event))

    def authorize(self, token: str, tool: str, resource: str, action: str) -> AuthorizeDecision:
        """See :meth:`SoarAgent.authorize`."""
        return self._run(self.agent.authorize(token, tool, resource, action))
