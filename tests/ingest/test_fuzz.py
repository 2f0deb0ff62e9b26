"""Fuzz the telemetry decoder: whatever the bytes, it returns an event or raises IngestError with a reason."""

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soar.errors import IngestError
from soar.ingest.decoders import RawRecord, decode
from tests.helpers import TestAgent

A = TestAgent("fuzz-agent")
REASONS = {"empty", "too_large", "invalid_json", "not_an_object", "too_deep", "schema"}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=40,
)


def _check(raw: bytes) -> None:
    try:
        item = decode(RawRecord(raw), max_bytes=8192, max_depth=16)
    except IngestError as e:
        assert e.reason in REASONS
    else:
        assert item.event.agent_id


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_fuzz_decode_arbitrary_bytes(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_fuzz_decode_arbitrary_json(value: object) -> None:
    _check(orjson.dumps(value))


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["input", "tool_call", "message", "memory_write", "lifecycle"]), json_values)
def test_fuzz_decode_event_with_hostile_payload(kind: str, payload: object) -> None:
    obj = A.event(kind, {})
    obj["payload"] = payload
    _check(orjson.dumps(obj))


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["event_id", "ts", "agent_id", "kind", "kid", "sig", "task_id"]), json_values))
def test_fuzz_decode_envelope_fields_of_wrong_types(fields: dict) -> None:
    obj = A.event("input", {"source": "user", "content": "hi"})
    obj.update(fields)
    _check(orjson.dumps(obj))
