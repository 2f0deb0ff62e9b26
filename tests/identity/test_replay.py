"""Replay and timestamp checks: bounded per-agent windows in the StateStore, Kafka redelivery is not a replay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from soar.config import Tier
from soar.detect.base import MemoryState
from soar.identity.replay import NAMESPACE, check_timestamp, replay_findings, timestamp_findings
from soar.ingest.decoders import Ingested, RawRecord, decode
from soar.telemetry.events import utcnow
from tests.helpers import TestAgent

A = TestAgent("agent-a")
B = TestAgent("agent-b")
PAYLOAD = {"source": "user", "content": "hello"}


def _item(raw: bytes, offset: int, partition: int = 0) -> Ingested:
    return decode(
        RawRecord(raw, topic="soar.telemetry", partition=partition, offset=offset), max_bytes=65536, max_depth=32
    )


@pytest.mark.parametrize("tier", list(Tier))
def test_replayed_event_is_a_finding_and_rejected_above_foundation(tier: Tier) -> None:
    state = MemoryState()
    first, other = A.raw("input", PAYLOAD), B.raw("input", PAYLOAD)
    findings, rejected = replay_findings([_item(first, 1), _item(other, 2)], state, tier=tier)
    assert findings == [] and rejected == set()
    # Redelivery of the same record (same offset) is not a replay; the same bytes at a new offset are.
    findings, rejected = replay_findings([_item(first, 1), _item(first, 9)], state, tier=tier)
    assert [f.rule for f in findings] == ["replayed_event"] and findings[0].agent_id == "agent-a"
    assert findings[0].evidence["first_position"] == "soar.telemetry:0:1"
    assert rejected == (set() if tier is Tier.FOUNDATION else {1})
    # Same finding id when the replay is seen again (deterministic finding ids).
    again, _ = replay_findings([_item(first, 10)], state, tier=tier)
    assert again[0].finding_id == findings[0].finding_id


def test_replay_window_is_bounded_per_agent() -> None:
    state = MemoryState()
    raws = [A.raw("input", PAYLOAD) for _ in range(5)]
    replay_findings([_item(r, i) for i, r in enumerate(raws)], state, tier=Tier.ADVANCED, window=3)
    assert len(state.get(NAMESPACE, "agent-a")) == 3
    findings, _ = replay_findings([_item(raws[0], 50)], state, tier=Tier.ADVANCED, window=3)
    assert findings == []  # fell out of the window
    findings, _ = replay_findings([_item(raws[4], 51)], state, tier=Tier.ADVANCED, window=3)
    assert len(findings) == 1


def test_replay_window_keeps_the_newest_ids_across_batches() -> None:
    """The window is updated in place batch after batch; past its size the oldest ids drop out, in order."""
    state = MemoryState()
    raws = [A.raw("input", PAYLOAD) for _ in range(9)]
    for start in range(0, 9, 3):
        batch = [_item(raws[i], i) for i in range(start, start + 3)]
        assert replay_findings(batch, state, tier=Tier.ADVANCED, window=4) == ([], set())
    window = state.get(NAMESPACE, "agent-a")
    assert list(window.values()) == [f"soar.telemetry:0:{i}" for i in range(5, 9)]
    findings, rejected = replay_findings([_item(r, 100 + i) for i, r in enumerate(raws)], state, tier=Tier.ADVANCED)
    assert rejected == {5, 6, 7, 8} and len(findings) == 4


def test_timestamp_checks() -> None:
    now = utcnow()
    assert check_timestamp(now + timedelta(seconds=400), max_skew_s=300, now=now) == "future"
    assert check_timestamp(now - timedelta(hours=2), max_skew_s=300, now=now) is None
    assert check_timestamp(now - timedelta(hours=2), max_skew_s=300, max_age_s=3600, now=now) == "stale"
    items = [
        _item(A.raw("input", PAYLOAD, ts=(now + timedelta(hours=1)).isoformat()), 1),
        _item(A.raw("input", PAYLOAD, ts=(now - timedelta(days=2)).isoformat()), 2),
        _item(A.raw("input", PAYLOAD), 3),
    ]
    rules = [f.rule for f in timestamp_findings(items, max_skew_s=300, max_age_s=86400, now=now)]
    assert rules == ["clock_skew", "stale_event"]
