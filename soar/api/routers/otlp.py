"""OTLP/HTTP trace ingest: ``POST /v1/otlp/v1/traces`` for agents already instrumented with OpenTelemetry.

An agent's OTLP exporter (JSON encoding) posts ``ExportTraceServiceRequest`` documents here; GenAI spans are
mapped to telemetry events (:func:`soar.otel.ingest.agent_events`) and produced to ``soar.telemetry``, keyed
by agent, like the SDK's. Zero Trust choices (docs/sdk.md, "OpenTelemetry"):

* **Who**: the request carries an *ingest token* as ``Authorization: Bearer``: a task-scoped token soar issued
  to the agent (``POST /v1/tokens``, signed with its enrolled key) with the scope tool ``soar.otlp``,
  resource ``traces``, action ``export``. The PDP checks it like any tool call (revocation and quarantine
  never cached): a revoked token or a quarantined agent is refused on the next request. Every event is
  attributed to the token's agent and task; a span naming another agent id is refused.
* **Signatures**: soar does not sign for the agent (a gateway key that could speak for every agent is exactly
  what Zero Trust rules out, and the event schema has no field to say "attested by a gateway"). The events
  are unsigned and follow the tier policy: at Foundation the worker accepts them with an ``unsigned_event``
  finding; at Advanced/Optimized it would reject them, so this endpoint refuses (403 ``signed_events_required``)
  and agents use the relay that signs with their own key (``soar.otel.otlp_receiver_app``).
* **Nothing lost**: the answer comes after the broker acknowledged every event (503 when it cannot be reached,
  so the exporter retries); event ids derive from the spans, so a retried export makes the same events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import Counter

from soar.api.state import ApiState, api_state
from soar.config import Settings, Tier
from soar.identity.credentials import Decision, authorize
from soar.otel.ingest import MALFORMED, agent_events
from soar.telemetry.events import AgentEvent
from soar.topics import topic_map

log = structlog.get_logger(__name__)

#: the scope an ingest token must carry
INGEST_TOOL, INGEST_RESOURCE, INGEST_ACTION = "soar.otlp", "traces", "export"
MAX_BODY_BYTES = 8 * 1024 * 1024
_FORBIDDEN = frozenset({"agent_quarantined", "tool_not_allowed_for_agent"})
OTLP_EVENTS = Counter("soar_otlp_events_total", "telemetry events produced from OTLP spans")
OTLP_REFUSED = Counter("soar_otlp_refused_total", "OTLP export requests refused", ["reason"])

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AgentIngestToken",
    description="ingest token: a soar token with scope soar.otlp/traces/export",
)


class TelemetrySink:
    """A Kafka producer to the telemetry topic, started on first use, stopped with the app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = topic_map(settings).telemetry
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _get(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(bootstrap_servers=self.settings.broker, linger_ms=2, acks="all")
                await producer.start()
                self._producer = producer
            return self._producer

    async def send(self, events: list[AgentEvent]) -> None:
        """Produce ``events`` keyed by agent; returns once the broker acknowledged every one."""
        if not events:
            return
        producer = await self._get()
        futures = [
            await producer.send(self.topic, ev.model_dump_json().encode(), key=ev.agent_id.encode()) for ev in events
        ]
        await asyncio.gather(*futures)

    async def close(self) -> None:
        """Stop the producer (flushes what is in flight)."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        yield
    finally:
        sink = getattr(app.state, "otlp_sink", None)
        if sink is not None:
            await sink.close()


router = APIRouter(prefix="/v1/otlp", tags=["otlp"], lifespan=_lifespan)


def _sink(request: Request, state: ApiState) -> TelemetrySink:
    sink: TelemetrySink | None = getattr(request.app.state, "otlp_sink", None)
    if sink is None:  # no await between the check and the set: one sink per app
        sink = request.app.state.otlp_sink = TelemetrySink(state.settings)
    return sink


def _refuse(code: int, reason: str, message: str) -> JSONResponse:
    OTLP_REFUSED.labels(reason).inc()
    return JSONResponse({"code": code, "message": message, "reason": reason}, status_code=code)


async def _decide(state: ApiState, token: str) -> Decision:
    if state.authorizer is not None:
        return await state.authorizer.authorize(token, INGEST_TOOL, INGEST_RESOURCE, INGEST_ACTION)
    async with state.sessionmaker() as session:
        return await authorize(
            session, token, INGEST_TOOL, INGEST_RESOURCE, INGEST_ACTION, key=state.signing_key
        )  # fmt: skip


@router.post(
    "/v1/traces",
    responses={
        400: {"description": "not an OTLP/JSON ExportTraceServiceRequest"},
        401: {"description": "no or bad ingest token"},
        403: {"description": "agent quarantined, token without the ingest scope, or a tier that requires signatures"},
        413: {"description": "body too large"},
        415: {"description": "not JSON (the protobuf encoding is not accepted)"},
        503: {"description": "the broker did not acknowledge; retry"},
    },
)
async def export_traces(
    request: Request,
    state: ApiState = Depends(api_state),
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> Any:
    """Map an agent's OTLP/JSON spans to telemetry events and produce them (OTLP ``ExportTraceServiceResponse``)."""
    if state.settings.tier is not Tier.FOUNDATION:
        return _refuse(
            403,
            "signed_events_required",
            f"tier {state.settings.tier} accepts signed events only; relay OTLP through soar.otel.otlp_receiver_app",
        )
    if credentials is None:
        return _refuse(401, "token_required", "an ingest token is required (Authorization: Bearer)")
    decision = await _decide(state, credentials.credentials)
    if not decision.allow or not decision.agent_id:
        code = 403 if decision.reason in _FORBIDDEN or decision.reason.endswith("_out_of_scope") else 401
        return _refuse(code, decision.reason, f"ingest token refused: {decision.reason}")
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if ctype != "application/json":
        return _refuse(415, "unsupported_media_type", "only the OTLP/JSON encoding is accepted")
    if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
        return _refuse(413, "too_large", f"body over {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _refuse(413, "too_large", f"body over {MAX_BODY_BYTES} bytes")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        return _refuse(400, "invalid_json", f"not JSON: {e}")
    if not isinstance(doc, dict) or not isinstance(doc.get("resourceSpans", []), list):
        return _refuse(400, "not_otlp", "not an ExportTraceServiceRequest")
    try:
        mapped = agent_events(doc, decision.agent_id, decision.task_id or "")
    except MALFORMED as e:
        return _refuse(400, "not_otlp", f"malformed OTLP document: {e}")
    try:
        await _sink(request, state).send(mapped.events)
    except KafkaError as e:
        log.warning("otlp ingest: broker unavailable", agent_id=decision.agent_id, error=str(e)[:200])
        return _refuse(503, "broker_unavailable", "telemetry could not be stored; retry")
    OTLP_EVENTS.inc(len(mapped.events))
    log.info(
        "otlp ingested", agent_id=decision.agent_id, events=len(mapped.events), rejected_spans=mapped.rejected_spans
    )
    if mapped.rejected_spans:
        message = "; ".join(mapped.errors[:5])
        return {"partialSuccess": {"rejectedSpans": str(mapped.rejected_spans), "errorMessage": message}}
    return {}
