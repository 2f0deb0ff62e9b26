"""A scaled-down ``soar bench flood``: 2,000 events, half of them hostile (three 10 MB payloads, 10,000-deep
nesting, invalid JSON and UTF-8, control characters, wrong types, bad and replayed signatures, unknown keys)
through the real broker to one real worker, on SQLite and on PostgreSQL. Every bad event is dead-lettered with
its reason or, for identity failures, becomes its finding; every good one is processed; the worker survives
with bounded memory."""

from __future__ import annotations

import pytest

from soar.bench_flood import OUTCOME, FloodOptions, bench_flood_async

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
async def test_flood_of_hostile_events_is_dead_lettered_and_good_events_flow(db: str) -> None:
    r = await bench_flood_async(FloodOptions(events=2000, big=3, db=db, rounds=2))  # clean, flood, clean, flood
    assert r["database"] == ("sqlite" if db == "sqlite" else "postgresql")
    assert r["worker_alive"]
    assert set(r["hostile_by_kind"]) == set(OUTCOME) and r["hostile_by_kind"]["too_large"] == 3
    assert r["dead_letters_by_reason"] == r["dead_letters_expected"]  # none lost, none extra (no good one)
    assert r["dead_letters_without_reason"] == 0
    assert r["dead_letters_unlocated"] == 0  # partition/offset, size, sha256 and a <= 4 KB prefix, every one
    assert r["identity_findings_expected"] > 0 and r["identity_findings_missing"] == 0
    assert r["clean_good_events_per_s"] > 0 and r["flood_good_events_per_s"] > 0  # markers after all good events
    assert r["rounds"] == 2 and len(r["kept_by_round"]) == 2 and all(k > 0 for k in r["kept_by_round"])
    assert isinstance(r["worker_cpu_us_per_hostile"], float) and isinstance(r["broker_cpu_us_per_hostile"], float)
    # generous bound: three 10 MB records pass through; a dead letter keeps a 4 KB prefix of each
    assert r["worker_peak_rss_mb"] < 1024, r["worker_peak_rss_mb"]
