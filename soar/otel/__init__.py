"""OpenTelemetry integration: GenAI spans -> soar events (SDK span processor, OTLP/JSON ingest)."""

from soar.otel.ingest import otlp_receiver_app, otlp_spans, otlp_to_events, relay_otlp
from soar.otel.mapping import SpanView, span_to_events
from soar.otel.processor import SoarSpanProcessor

__all__ = [
    "SoarSpanProcessor",
    "SpanView",
    "otlp_receiver_app",
    "otlp_spans",
    "otlp_to_events",
    "relay_otlp",
    "span_to_events",
]
