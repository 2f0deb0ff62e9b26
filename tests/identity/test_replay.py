"""Replay and timestamp checks: bounded per-agent windows in the StateStore, Kafka redelivery is not a replay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from soar.config import Tier
from soar.detect.base import MemoryState
from soar.identity.replay import NAMESPACE, check_timestamp, replay_findings, replay_summary, timestamp_findings
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


@pytest.mark.parametrize("tier", list(Tier))
def test_replay_flood_folds_rejected_findings_before_they_are_built(tier: Tier, monkeypatch) -> None:
    """With a fold, rejected replays make one finding per agent and window; the folded ones are never built.
    At Foundation replays are not rejected, so each one stays a finding."""
    from soar.telemetry.findings import Finding
    from soar.verify.checks import IdentityFold

    state, fold = MemoryState(), IdentityFold(60.0, clock=lambda: 0.0)
    first = A.raw("input", PAYLOAD)
    replay_findings([_item(first, 0)], state, tier=tier, fold=fold)
    built = []
    make = Finding.make
    monkeypatch.setattr(Finding, "make", lambda **kw: built.append(kw) or make(**kw))
    findings, rejected = replay_findings([_item(first, i) for i in range(1, 11)], state, tier=tier, fold=fold)
    if tier is Tier.FOUNDATION:
        assert len(findings) == len(built) == 10 and rejected == set()
    else:
        assert [f.rule for f in findings] == ["replayed_event"] and len(built) == 1 and rejected == set(range(10))
        assert findings[0].summary == replay_summary(_item(first, 0).event)  # what the dead letters say


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
