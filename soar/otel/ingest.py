"""Ingest OTLP/JSON traces (``ExportTraceServiceRequest`` as JSON) from agents already instrumented with OTel.

Run next to the agent (it signs with the agent's key): point the agent's OTLP/HTTP exporter at
``otlp_receiver_app(agent)`` (``POST /v1/traces``, JSON encoding), or call :func:`relay_otlp` with a decoded
document. :func:`otlp_to_events` is the pure mapping (unsigned events) for tests and replay.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from soar.otel.mapping import SpanView, span_to_events
from soar.sdk.client import AgentQuarantined, SoarAgent

STATUS_ERROR = 2


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
