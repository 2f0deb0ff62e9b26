"""Ingest: every kind of bad input becomes an IngestError with a reason code."""

import orjson
import pytest

from soar.errors import IngestError
from soar.ingest.decoders import DeadLetter, RawRecord, decode
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
    assert dl.partition == 2 and dl.offset == 41 and dl.size == 5
    import base64

    assert base64.b64decode(dl.raw_b64) == b"\x00junk"
