"""Ingest: every kind of bad input becomes an IngestError with a reason code."""

import base64
import hashlib

import orjson
import pytest

from soar.errors import IngestError
from soar.ingest.decoders import DEAD_LETTER_PREFIX, DeadLetter, RawRecord, decode
from tests.helpers import TestAgent

A = TestAgent("agent-a")


def _decode(raw: bytes):
    return decode(RawRecord(raw), max_bytes=4096, max_depth=16)


def test_decode_valid_event_keeps_canonical_bytes() -> None:
    item = _decode(A.raw("input", {"source": "user", "content": "hello"}))
    assert item.event.kind == "input"
    assert b'"sig"' not in item.canonical and b'"kid"' in item.canonical


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        (b"[1,2,3]", "not_an_object"),
        (b"x" * 5000, "too_large"),
        (b'{"a":' + b"[" * 20 + b"1" + b"]" * 20 + b"}", "too_deep"),
        (b"[" * 1100 + b"]" * 1100, "too_deep"),
        (orjson.dumps({"kind": "input"}), "schema"),
        (orjson.dumps({**A.event("input", {"source": "user", "content": "x"}), "kind": "telepathy"}), "schema"),
        (orjson.dumps(A.event("tool_call", {"tool": 5, "call_id": "c"})), "schema"),
        (orjson.dumps({**A.event("input", {"source": "user", "content": "x"}), "extra_field": 1}), "schema"),
    ],
)
def test_decode_rejects_bad_input_with_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(IngestError) as exc:
        _decode(raw)
    assert exc.value.reason == reason


def test_decode_schema_error_names_the_field() -> None:
    with pytest.raises(IngestError, match=r"tool_call\.payload\.tool"):
        _decode(orjson.dumps(A.event("tool_call", {"tool": 5, "call_id": "c"})))


def test_dead_letter_keeps_raw_bytes_and_source() -> None:
    dl = DeadLetter.of(RawRecord(b"\x00junk", "soar.telemetry", 2, 41), "invalid_json", "bad")
    assert (dl.topic, dl.partition, dl.offset, dl.size) == ("soar.telemetry", 2, 41, 5)
    assert base64.b64decode(dl.raw_b64) == b"\x00junk" and not dl.truncated
    assert dl.sha256 == hashlib.sha256(b"\x00junk").hexdigest()


def test_dead_letter_of_a_large_record_keeps_a_prefix_its_size_and_hash() -> None:
    """The full record stays on the telemetry topic at partition/offset; the dead letter identifies it."""
    raw = b'{"payload":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    dl = DeadLetter.of(RawRecord(raw, "soar.telemetry", 5, 1234), "too_deep", "nesting deeper than 32")
    assert base64.b64decode(dl.raw_b64) == raw[:DEAD_LETTER_PREFIX] and dl.truncated
    assert dl.size == len(raw) and dl.sha256 == hashlib.sha256(raw).hexdigest()
    assert (dl.partition, dl.offset) == (5, 1234)
    wire = orjson.loads(dl.model_dump_json())  # what lands on soar.deadletter
    assert len(wire["raw_b64"]) <= 4 * DEAD_LETTER_PREFIX // 3 + 4
    assert {"reason", "detail", "topic", "partition", "offset", "size", "sha256", "truncated", "raw_b64"} <= set(wire)
