"""An OpenTelemetry span processor that turns an agent's GenAI spans into signed soar events.

Agents already traced with OpenTelemetry add one line and need no soar helper calls::

    provider = TracerProvider()
    provider.add_span_processor(SoarSpanProcessor(agent))   # agent: a started SoarAgent

Each ended span is mapped by :func:`soar.otel.mapping.span_to_events` and sent through the agent (signed, spooled
if the agent has a spool). Spans may end on any thread: events are handed to the agent's event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from typing import Any

import structlog

from soar.otel.mapping import SpanView, span_to_events
from soar.sdk.client import SoarAgent

log = structlog.get_logger(__name__)

try:  # subclass the SDK's base when it is installed; the processor only needs its duck type
    from opentelemetry.sdk.trace import SpanProcessor as _Base
except ImportError:  # pragma: no cover - opentelemetry-sdk is optional
    _Base = object  # type: ignore[assignment,misc]


def _attr_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def view_of(span: Any) -> SpanView:
    """A :class:`SpanView` of an SDK ``ReadableSpan``."""
    ctx = span.get_span_context()
    status = getattr(span, "status", None)
    error = status is not None and getattr(getattr(status, "status_code", None), "name", "") == "ERROR"
    resource = getattr(getattr(span, "resource", None), "attributes", {}) or {}
    return SpanView(
        name=span.name,
        trace_id=f"{ctx.trace_id:032x}",
        span_id=f"{ctx.span_id:016x}",
        start_ns=int(span.start_time or 0),
        end_ns=int(span.end_time or span.start_time or 0),
        attributes={k: _attr_value(v) for k, v in (span.attributes or {}).items()},
        error=error,
        resource=dict(resource),
    )


class SoarSpanProcessor(_Base):  # type: ignore[misc,valid-type]
    """Maps ended GenAI spans to soar events and sends them through ``agent`` (see module docstring)."""

    def __init__(self, agent: SoarAgent, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.agent = agent
        self.loop = loop or asyncio.get_event_loop()
        self.sent = 0
        self.errors = 0
        self._pending: set[concurrent.futures.Future[Any] | asyncio.Future[Any]] = set()
        self._lock = threading.Lock()

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        """Nothing to do at start."""

    def on_end(self, span: Any) -> None:
        """Map the span and hand its events to the agent's loop."""
        try:
            events = span_to_events(view_of(span), agent_id=self.agent.agent_id)
        except Exception as e:  # a strange span must never break the agent's tracing
            self.errors += 1
            log.warning("span not mapped", span=getattr(span, "name", "?"), error=str(e))
            return
        for event in events:
            coro = self.agent.emit_event(event)
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            fut: concurrent.futures.Future[Any] | asyncio.Future[Any]
            if running is self.loop:
                fut = asyncio.ensure_future(coro)
            else:
                fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
            with self._lock:
                self._pending.add(fut)
            fut.add_done_callback(self._done)

    def _done(self, fut: Any) -> None:
        with self._lock:
            self._pending.discard(fut)
        if fut.cancelled() or fut.exception() is not None:
            self.errors += 1
            log.warning("span event not sent", error=str(None if fut.cancelled() else fut.exception()))
        else:
            self.sent += 1

    async def drain(self) -> None:
        """Await every event handed over so far (call from the agent's loop)."""
        with self._lock:
            pending = list(self._pending)
        for fut in pending:
            with contextlib.suppress(Exception):
                await (asyncio.wrap_future(fut) if isinstance(fut, concurrent.futures.Future) else fut)

    def shutdown(self) -> None:
        """Nothing to release (the agent is the caller's)."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """True when nothing is pending (events are sent asynchronously on the agent's loop)."""
        with self._lock:
            return not self._pending
