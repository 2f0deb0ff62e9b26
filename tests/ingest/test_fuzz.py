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


# --- the hostile kinds of the flood (soar bench flood), one by one, with the reason each must get ----------------

GOOD = A.raw("input", {"source": "user", "content": "hello"})
HOSTILE = {
    "invalid_json": [b"{not json", b'{"a": 1,}', b"\xff\xfe\x00", GOOD[:-1], b'{"a": NaN}', b"\x00" * 10],
    "invalid_utf8": [GOOD.replace(b"hello", b"hel\xc3\x28lo"), GOOD.replace(b"hello", b"\xed\xa0\x80")],
    "control_chars": [GOOD.replace(b"hello", b"he\x00l\x1blo"), GOOD.replace(b"hello", b"line\nbreak")],
    "too_large": [b"x" * (10 << 20), b'{"kind": "input", "payload": "' + b"a" * (1 << 20) + b'"}'],
    "too_deep": [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b'{"a":' + b"[" * 40 + b"]" * 40 + b"}",
    ],
    "not_an_object": [b"[]", b"1", b'"event"', b"null"],
    "schema": [
        b"{}",
        orjson.dumps({**A.event("input", {"source": "user", "content": "x"}), "ts": "yesterday"}),
        orjson.dumps({**A.event("input", {"source": "user", "content": "x"}), "kind": "nope"}),
        orjson.dumps({**A.event("tool_call", {"tool": ["x"], "args": "x"})}),
        orjson.dumps({**A.event("input", {"source": "user", "content": "x"}), "event_id": "not-a-uuid"}),
        orjson.dumps({**A.event("input", {"source": "user", "content": "x"}), "agent_id": ""}),
        # a time with no offset: ambiguous, and it crashed the identity check's clock-skew test (found by atheris)
        A.raw("input", {"source": "user", "content": "x"}, ts="2026-12-08T00:02:31.674800"),
    ],
    "empty": [b""],
}
# orjson refuses invalid UTF-8 and raw control characters inside strings as invalid JSON
EXPECTED_REASON = {"invalid_utf8": "invalid_json", "control_chars": "invalid_json"}


def test_hostile_kinds_get_their_reason() -> None:
    for kind, samples in HOSTILE.items():
        for raw in samples:
            try:
                decode(RawRecord(raw), max_bytes=256 * 1024, max_depth=32)
            except IngestError as e:
                assert e.reason == EXPECTED_REASON.get(kind, kind), (kind, raw[:60], e.reason, e.detail)
                assert e.detail or e.reason == "empty"
            else:
                raise AssertionError(f"{kind}: {raw[:60]!r} was accepted")


def test_escaped_control_characters_and_unicode_are_valid_content() -> None:
    """JSON escapes (``\\u0000``, lone surrogates) are legal; they reach the detectors as text, not crashes."""
    for content in ["nul \u0000 esc \u001b", "bidi \u202e override", "emoji \U0001f600", "a" * 10_000]:
        item = decode(
            RawRecord(A.raw("input", {"source": "user", "content": content})), max_bytes=1 << 20, max_depth=32
        )
        assert item.event.payload.content == content
    raw = A.raw("input", {"source": "user", "content": "x"}).replace(b'"x"', b'"\\ud800"')
    try:
        decode(RawRecord(raw), max_bytes=1 << 20, max_depth=32)
    except IngestError as e:
        assert e.reason in REASONS


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["severity", "confidence", "event_ids", "agent_id", "finding_id"]), json_values))
def test_fuzz_findings_topic_values_parse_or_raise_value_error(fields: dict) -> None:
    """The responder drops a finding it cannot parse (ValueError); any other exception would fail its batch forever."""
    from soar.telemetry.findings import Finding
    from tests.decide.samples import make_finding

    obj = orjson.loads(make_finding().model_dump_json())
    obj.update(fields)
    try:
        Finding.model_validate_json(orjson.dumps(obj))
    except ValueError:
        pass
