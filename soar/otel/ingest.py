"""Ingest OTLP/JSON traces (``ExportTraceServiceRequest`` as JSON) from agents already instrumented with OTel.

Two ways in:

* next to the agent (it signs with the agent's key, every tier): point the agent's OTLP/HTTP exporter at
  ``otlp_receiver_app(agent)`` (``POST /v1/traces``, JSON encoding), or call :func:`relay_otlp` with a decoded
  document;
* soar's API, ``POST /v1/otlp/v1/traces`` (``soar.api.routers.otlp``), authenticated with an agent's ingest
  token; its events are unsigned, so it is open at the Foundation tier only. :func:`agent_events` is its mapping.

:func:`otlp_to_events` is the pure mapping (unsigned events) for tests and replay.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from soar.otel.mapping import SpanView, span_to_events
from soar.sdk.client import AgentQuarantined, SoarAgent
from soar.telemetry.events import EVENT_ADAPTER, AgentEvent

STATUS_ERROR = 2


#: what ``agent_events`` raises for a malformed document (the API answers 400); anything else would be a 500
MALFORMED: tuple[type[Exception], ...] = (ValueError, TypeError, KeyError, AttributeError)


def any_value(v: Mapping[str, Any]) -> Any:
    """Decode an OTLP/JSON ``AnyValue``."""
    if "stringValue" in v:
        return v["stringValue"]
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "intValue" in v:
        return int(v["intValue"])  # int64 is a JSON string in OTLP/JSON
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "arrayValue" in v:
        return [any_value(x) for x in (v["arrayValue"].get("values") or [])]
    if "kvlistValue" in v:
        return attributes(v["kvlistValue"].get("values") or [])
    if "bytesValue" in v:
        return base64.b64decode(v["bytesValue"]).hex()
    return None


def attributes(kvs: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Decode an OTLP/JSON attribute list."""
    return {str(kv["key"]): any_value(kv.get("value") or {}) for kv in kvs if "key" in kv}


def _hex_id(value: str, size: int) -> str:
    """OTLP/JSON ids are hex; some exporters send base64 (the protobuf JSON default): accept both."""
    if len(value) == size * 2:
        return value.lower()
    try:
        return base64.b64decode(value).hex()
    except ValueError:
        return value


def otlp_spans(doc: Mapping[str, Any]) -> list[SpanView]:
    """Every span of an OTLP/JSON traces document, with its resource attributes."""
    out: list[SpanView] = []
    for rs in doc.get("resourceSpans") or []:
        resource = attributes((rs.get("resource") or {}).get("attributes") or [])
        for ss in rs.get("scopeSpans") or []:
            for sp in ss.get("spans") or []:
                out.append(
                    SpanView(
                        name=str(sp.get("name", "")),
                        trace_id=_hex_id(str(sp.get("traceId", "")), 16),
                        span_id=_hex_id(str(sp.get("spanId", "")), 8),
                        start_ns=int(sp.get("startTimeUnixNano") or 0),
                        end_ns=int(sp.get("endTimeUnixNano") or sp.get("startTimeUnixNano") or 0),
                        attributes=attributes(sp.get("attributes") or []),
                        error=int((sp.get("status") or {}).get("code") or 0) == STATUS_ERROR,
                        resource=resource,
                    )
                )
    return out


def otlp_to_events(doc: Mapping[str, Any], *, agent_id: str = "") -> list[dict[str, Any]]:
    """Unsigned soar events for an OTLP/JSON document, in span order (see :mod:`soar.otel.mapping`)."""
    events: list[dict[str, Any]] = []
    for span in sorted(otlp_spans(doc), key=lambda s: (s.start_ns, s.end_ns)):
        events.extend(span_to_events(span, agent_id=agent_id))
    return events


@dataclass
class AgentSpans:
    """The events of one agent's OTLP document, and the spans refused (OTLP ``partialSuccess``)."""

    events: list[AgentEvent] = field(default_factory=list)
    rejected_spans: int = 0
    errors: list[str] = field(default_factory=list)


def agent_events(doc: Mapping[str, Any], agent_id: str, task_id: str = "") -> AgentSpans:
    """Validated, unsigned events for ``agent_id`` from an OTLP/JSON document.

    Every event is attributed to ``agent_id`` (the authenticated agent); a span naming another agent
    (``gen_ai.agent.id``/``name``) is refused, as is a span whose events do not validate. ``task_id`` (the
    token's task), when given, is the task of every event.
    """
    out = AgentSpans()
    for span in sorted(otlp_spans(doc), key=lambda s: (s.start_ns, s.end_ns)):
        named = {str(src.get("gen_ai.agent.id") or "") for src in (span.attributes, span.resource)} - {""}
        if named - {agent_id}:
            out.rejected_spans += 1
            out.errors.append(f"span {span.span_id} is for agent {sorted(named)[0]!r}, not {agent_id!r}")
            continue
        try:
            out.events.extend(
                EVENT_ADAPTER.validate_python(e) for e in span_to_events(span, agent_id=agent_id, task_id=task_id)
            )
        except ValidationError as e:
            out.rejected_spans += 1
            out.errors.append(f"span {span.span_id}: {e.errors()[0]['msg'] if e.errors() else e}")
        except ValueError as e:  # a span soar cannot map (a time out of range): refused alone, as OTLP allows
            out.rejected_spans += 1
            out.errors.append(f"span {span.span_id}: {e}")
    return out


async def relay_otlp(agent: SoarAgent, doc: Mapping[str, Any]) -> list[str]:
    """Sign and send the events of an OTLP/JSON document as ``agent``; returns their event ids."""
    ids = []
    for event in otlp_to_events(doc, agent_id=agent.agent_id):
        ids.append(await agent.emit_event(event))
    return ids


def otlp_receiver_app(agent: SoarAgent) -> Starlette:
    """An OTLP/HTTP (JSON) trace receiver, ``POST /v1/traces``, relaying through ``agent``."""

    async def traces(request: Request) -> JSONResponse:
        try:
            doc = await request.json()
        except ValueError:
            return JSONResponse({"error": "not JSON (only the OTLP/JSON encoding is accepted)"}, status_code=400)
        if not isinstance(doc, dict):
            return JSONResponse({"error": "not an ExportTraceServiceRequest"}, status_code=400)
        try:
            await relay_otlp(agent, doc)
        except AgentQuarantined:
            return JSONResponse({"partialSuccess": {"errorMessage": "agent is quarantined"}}, status_code=403)
        return JSONResponse({})

    return Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])
