"""Decode one telemetry record. Never raises anything but ``IngestError``; the worker dead-letters those."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from soar.errors import IngestError, validation_detail
from soar.telemetry.events import EVENT_ADAPTER, AgentEvent, utcnow
from soar.telemetry.signing import canonical_bytes


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read from a topic (or a line of a replay file)."""

    value: bytes
    topic: str = ""
    partition: int = -1
    offset: int = -1
    key: bytes | None = None


@dataclass(frozen=True, slots=True)
class Ingested:
    """A parsed event and the canonical bytes its signature covers."""

    event: AgentEvent
    canonical: bytes
    record: RawRecord


#: raw bytes a dead letter keeps (base64) by default: enough to see what the record was. The full record stays on
#: the telemetry topic at ``partition``/``offset`` (until retention), and ``sha256`` identifies it.
DEAD_LETTER_PREFIX = 4096


class DeadLetter(BaseModel):
    """What lands on ``soar.deadletter``: the reason, where the record is (topic, partition, offset), its size and
    SHA-256, and the first ``DEAD_LETTER_PREFIX`` bytes of it (base64; ``truncated`` when that is not all)."""

    model_config = ConfigDict(frozen=True)

    reason: str
    detail: str = ""
    topic: str = ""
    partition: int = -1
    offset: int = -1
    size: int = 0
    sha256: str = ""
    truncated: bool = False
    raw_b64: str = ""
    agent_id: str | None = None
    ts: datetime

    @classmethod
    def of(
        cls,
        record: RawRecord,
        reason: str,
        detail: str = "",
        agent_id: str | None = None,
        keep: int = DEAD_LETTER_PREFIX,
    ) -> DeadLetter:
        """A dead letter for ``record``: the first ``keep`` raw bytes, the size and SHA-256 of all of them."""
        raw = record.value or b""
        return cls(
            reason=reason,
            detail=detail[:2000],
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            size=len(raw),
            sha256=hashlib.sha256(raw).hexdigest(),
            truncated=len(raw) > keep,
            raw_b64=base64.b64encode(raw[:keep]).decode(),
            agent_id=agent_id,
            ts=utcnow(),
        )


def _depth_exceeds(obj: Any, limit: int) -> bool:
    """True when ``obj`` nests deeper than ``limit`` (iterative: no recursion on hostile input)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))
    return False


def decode(record: RawRecord, *, max_bytes: int, max_depth: int) -> Ingested:
    """Bytes -> ``Ingested``; raises ``IngestError`` with a reason code: too_large, invalid_json,
    not_an_object, too_deep, schema."""
    raw = record.value
    if raw is None or len(raw) == 0:
        raise IngestError("empty", "no bytes")
    if len(raw) > max_bytes:
        raise IngestError("too_large", f"{len(raw)} bytes > limit {max_bytes}")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        if "depth limit" in str(e).lower():  # orjson stops at 1024 levels, before our own check
            raise IngestError("too_deep", f"nesting deeper than {max_depth}") from e
        raise IngestError("invalid_json", str(e)[:200]) from e
    if not isinstance(obj, dict):
        raise IngestError("not_an_object", f"top-level JSON is {type(obj).__name__}")
    # each level opens a bracket, so fewer brackets than the limit (in strings too) cannot be too deep
    if raw.count(b"{") + raw.count(b"[") > max_depth and _depth_exceeds(obj, max_depth):
        raise IngestError("too_deep", f"nesting deeper than {max_depth}")
    try:
        event = EVENT_ADAPTER.validate_python(obj)
    except ValidationError as e:
        raise IngestError("schema", validation_detail(e)) from e
    return Ingested(event=event, canonical=canonical_bytes(obj), record=record)


def agent_hint(record: RawRecord) -> str | None:
    """The record key as an agent id, when it is printable (for dead letters)."""
    if record.key:
        try:
            return record.key.decode()[:256]
        except UnicodeDecodeError:
            return None
    return None
