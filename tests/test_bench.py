"""``soar bench contain``: it runs end to end and reports its figures (no timing asserts)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from soar.cli import cli

KEYS = {
    "p50_ms",
    "p99_ms",
    "detect_p50_ms",
    "attacks",
    "contained",
    "background_events_per_s",
    "database",
    "core_us_per_event",
    "decide_us_per_finding",
}


@pytest.mark.integration
@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_bench_contain_reports_figures(db: str) -> None:
    if db == "postgres":
        from tests.conftest import _pg_reachable

        if not _pg_reachable():
            pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    args = ["bench", "contain", "--json", "--rate", "200", "--seconds", "2", "--attack-every", "1", "--db", db]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    printed = json.loads(res.stdout.strip().splitlines()[-1])
    assert KEYS <= set(printed)
    assert printed["database"] == ("sqlite" if db == "sqlite" else "postgresql")
    assert printed["attacks"] == 2 and printed["contained"] == 2
    assert set(printed["core_us_per_event"]) >= {"ingest", "verify", "detect"}


@pytest.mark.integration
def test_bench_contain_breakdown_says_where_each_attack_went() -> None:
    args = ["bench", "contain", "--json", "--breakdown", "--rate", "200", "--seconds", "2", "--attack-every", "1"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    printed = json.loads(res.stdout.strip().splitlines()[-1])
    rows = printed["breakdown"]
    assert len(rows) == printed["attacks"] == 2
    for row in rows:  # each stage is reached after the one before it (causal order, not a timing bound)
        # revoke and quarantine normally commit with the runs (no commit2 of their own)
        order = ("det_fetch", "finding", "resp_fetch", "commit1", "commit2", "commit3")
        stages = [row[k] for k in order if k != "commit2" or row[k] is not None]
        assert None not in stages and stages == sorted(stages), row
        assert row["det_fetch"] <= row["det_done"] and row["recorded"] <= row["commit3"]
        assert row["det_batch"] >= 1 and row["resp_batch"] >= 1
    assert set(printed["pauses"]) <= {"detect", "respond"}
