"""OpenTelemetry GenAI semantic-convention spans -> soar telemetry events (pure; no OpenTelemetry import).

Mapping (``gen_ai.operation.name``, or the span name's first word):

=================  ===========================================================================================
``execute_tool``   ``tool_call`` (``gen_ai.tool.name``, ``gen_ai.tool.call.id``, ``gen_ai.tool.call.arguments``)
                   and ``tool_result`` (``gen_ai.tool.call.result``; status ``error`` if the span failed)
``invoke_agent``   ``input`` per user/tool message in ``gen_ai.input.messages`` and ``output`` per
                   assistant message in ``gen_ai.output.messages``
``chat`` & co.     (inference) ``input`` for tool-role messages (content entering the context), ``output``
                   for the completion
``create_agent``   ``lifecycle`` ``started`` with ``gen_ai.request.model``
=================  ===========================================================================================

Other spans map to nothing. Event ids are uuid5 of ``(trace_id, span_id, role, n)``, so re-ingesting the same
span makes the same events (the pipeline's idempotency key). ``trace_id``/``span_id`` are kept for correlation,
``gen_ai.conversation.id`` becomes the session id and ``gen_ai.agent.id`` (or ``name``) the agent id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

_NS = uuid.UUID("5d3c1a8e-0b7f-4c2e-9a61-3f0e2d4b6c8a")
INFERENCE = frozenset({"chat", "text_completion", "generate_content"})


@dataclass(frozen=True)
class SpanView:
    """The parts of a span the mapping reads (built from an SDK ``ReadableSpan`` or an OTLP/JSON span)."""

    name: str
    trace_id: str  # 32 hex chars
    span_id: str  # 16 hex chars
    start_ns: int
    end_ns: int
    attributes: Mapping[str, Any] = field(default_factory=dict)
    error: bool = False
    resource: Mapping[str, Any] = field(default_factory=dict)

    @property
    def operation(self) -> str:
        """``gen_ai.operation.name``, else the span name's first word."""
        op = self.attributes.get("gen_ai.operation.name")
        return str(op) if op else (self.name.split(" ", 1)[0] if self.name else "")


def _ts(ns: int) -> str:
    try:
        return datetime.fromtimestamp(ns / 1e9, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError) as e:  # past year 9999, or before what the platform's time_t holds
        raise ValueError(f"span time {ns} ns is out of range") from e


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _text(message: Any) -> str:
    """The text of one GenAI message (``parts`` of type text/tool_call_response, or ``content``)."""
    if isinstance(message, str):
        return message
    if not isinstance(message, Mapping):
        return ""
    if isinstance(message.get("content"), str):
        return str(message["content"])
    chunks: list[str] = []
    for part in message.get("parts") or []:
        if not isinstance(part, Mapping):
            continue
        if part.get("type") == "text" and isinstance(part.get("content"), str):
            chunks.append(str(part["content"]))
        elif part.get("type") == "tool_call_response":
            resp = part.get("response")
            chunks.append(resp if isinstance(resp, str) else orjson.dumps(resp).decode())
    return "\n".join(chunks)


def _messages(value: Any) -> list[Mapping[str, Any]]:
    value = _json(value)
    if isinstance(value, Mapping):
        value = [value]
    return [m for m in value if isinstance(m, Mapping)] if isinstance(value, list) else []


def agent_id_of(span: SpanView, default: str = "") -> str:
    """The agent a span belongs to: ``gen_ai.agent.id``, ``gen_ai.agent.name``, the resource's, else ``default``."""
    for source in (span.attributes, span.resource):
        for key in ("gen_ai.agent.id", "gen_ai.agent.name"):
            if source.get(key):
                return str(source[key])
    return default or str(span.resource.get("service.name", ""))


def span_to_events(span: SpanView, *, agent_id: str = "", task_id: str = "") -> list[dict[str, Any]]:
    """Unsigned soar events (envelope + payload, no ``kid``/``sig``) for one span; [] when it maps to nothing."""
    attrs = span.attributes
    op = span.operation
    aid = agent_id or agent_id_of(span)
    if not aid:
        return []
    session = str(attrs.get("gen_ai.conversation.id", ""))
    task = task_id or str(attrs.get("soar.task_id", "")) or session or span.trace_id
    out: list[dict[str, Any]] = []

    def add(kind: str, payload: dict[str, Any], role: str, ns: int) -> None:
        eid = uuid.uuid5(_NS, f"{span.trace_id}:{span.span_id}:{role}:{len(out)}")
        out.append(
            {
                "event_id": str(eid),
                "ts": _ts(ns),
                "agent_id": aid,
                "task_id": task[:256],
                "session_id": session[:256],
                "trace_id": span.trace_id or None,
                "span_id": span.span_id or None,
                "kind": kind,
                "payload": payload,
            }
        )

    if op == "execute_tool":
        tool = str(attrs.get("gen_ai.tool.name") or span.name.removeprefix("execute_tool ").strip() or "unknown")
        call_id = str(attrs.get("gen_ai.tool.call.id") or span.span_id)
        args = _json(attrs.get("gen_ai.tool.call.arguments", {}))
        add(
            "tool_call",
            {"tool": tool, "call_id": call_id, "args": args if isinstance(args, dict) else {"arguments": args}},
            "call",
            span.start_ns,
        )
        result = attrs.get("gen_ai.tool.call.result")
        if result is not None or span.error:
            content = result if isinstance(result, str) else orjson.dumps(result).decode() if result is not None else ""
            status = "error" if span.error else "ok"
            add(
                "tool_result",
                {"tool": tool, "call_id": call_id, "content": content, "status": status},
                "result",
                span.end_ns,
            )
    elif op == "invoke_agent" or op in INFERENCE:
        inference = op in INFERENCE
        for m in _messages(attrs.get("gen_ai.input.messages")):
            role = str(m.get("role", "user"))
            if inference and role != "tool":
                continue  # an inference span repeats the conversation; only new tool content is news
            if role in ("user", "tool"):
                text = _text(m)
                if text:
                    source = "tool" if role == "tool" else "user"
                    add(
                        "input",
                        {"source": source, "origin": str(attrs.get("gen_ai.agent.name", "")), "content": text},
                        "in",
                        span.start_ns,
                    )
        for m in _messages(attrs.get("gen_ai.output.messages")):
            text = _text(m)
            if text:
                add("output", {"content": text, "destination": ""}, "out", span.end_ns)
    elif op == "create_agent":
        model = str(attrs.get("gen_ai.request.model", ""))
        add(
            "lifecycle",
            {"state": "started", "model": model, "version": str(attrs.get("gen_ai.agent.version", ""))},
            "life",
            span.start_ns,
        )
    return out
