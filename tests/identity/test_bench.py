"""``soar bench authorize``: the figures are reported and revocation holds on the next call (no timing asserts)."""

from __future__ import annotations

import json

import pytest

from soar.identity.bench import bench_authorize

KEYS = {"p50_ms", "p99_ms", "requests_per_s", "revocations_checked", "revocations_missed", "unexpected_denials"}


@pytest.mark.parametrize("http", [False, pytest.param(True, marks=pytest.mark.integration)])
def test_bench_authorize_reports_figures_with_revocation_checks(http: bool, capsys: pytest.CaptureFixture[str]) -> None:
    result = bench_authorize(http, True, rate=100.0, seconds=1.0, tokens=5, revoke_every_s=0.05)
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert KEYS <= set(printed) and printed["mode"] == ("http" if http else "in_process")
    assert result["requests"] == 100 and result["unexpected_denials"] == 0
    assert result["revocations_checked"] >= 1 and result["revocations_missed"] == 0
