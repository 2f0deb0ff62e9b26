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
