"""``soar eval coordination``: a small simulated fleet replayed through the real pipeline and detectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from soar.cli import cli
from soar.eval.coordination import evaluate_coordination
from soar.sim.scenarios import SCENARIOS, simulate, write_jsonl

runner = CliRunner()
DETERMINISTIC = [s for s in SCENARIOS if s != "sync_burst"]  # sync_burst needs the learned baseline


@pytest.fixture(scope="module")
def fleet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("coord") / "fleet.jsonl"
    write_jsonl(simulate(11, 16, 6000), path)
    return path


def test_eval_coordination_detects_every_scenario(fleet_file: Path) -> None:
    r = evaluate_coordination(fleet_file)
    assert set(r.scenarios) == set(SCENARIOS)
    for name in DETERMINISTIC:
        s = r.scenarios[name]
        assert s.detected and s.events_to_detect is not None and s.events_to_detect <= s.events, name
    assert r.scenarios["credential_sharing"].rules == ["zerotrust/credential_misuse"]
    assert "coordination/collusion_loop" in r.scenarios["collusion_loop"].rules
    assert r.benign_events >= 6000 and r.false_alarms_per_10k <= 5
    assert r.baseline_fits >= 1 and set(r.detect_us_per_event) == {"coordination", "zerotrust"}


def test_eval_coordination_cli_json(fleet_file: Path) -> None:
    res = runner.invoke(cli, ["eval", "coordination", "--data", str(fleet_file), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["detected"] >= len(DETERMINISTIC) and "false_alarms_per_10k" in out
    assert out["scenarios"]["relay_chain"]["rules"]


def test_eval_coordination_table(fleet_file: Path) -> None:
    res = runner.invoke(cli, ["eval", "coordination", "--data", str(fleet_file)])
    assert res.exit_code == 0 and "relay_chain" in res.output and "per 10k" in res.output


def test_eval_coordination_bad_rows(tmp_path: Path) -> None:
    unlabelled = tmp_path / "x.jsonl"
    row = {k: v for k, v in simulate(1, 8, 100, [])[1].items() if k != "scenario"}
    unlabelled.write_text(json.dumps(row) + "\n")
    res = runner.invoke(cli, ["eval", "coordination", "--data", str(unlabelled)])
    assert res.exit_code == 1 and "scenario label" in res.output
    broken = tmp_path / "y.jsonl"
    broken.write_text('{"event_id": "1", "scenario": "benign", "kind": "nope"}\n')
    res = runner.invoke(cli, ["eval", "coordination", "--data", str(broken)])
    assert res.exit_code == 1 and "not a valid event" in res.output
    notjson = tmp_path / "z.jsonl"
    notjson.write_text("{oops\n")
    res = runner.invoke(cli, ["eval", "coordination", "--data", str(notjson)])
    assert res.exit_code == 1 and "z.jsonl:1: not JSON" in res.output
