"""The response-engine CLI sub-apps: schema, validate, list, test by replay, actions catalogue."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from soar.config import ROOT
from soar.decide.cli import actions_cli, playbooks_cli

runner = CliRunner()
root = typer.Typer()
root.add_typer(actions_cli, name="actions")
root.add_typer(playbooks_cli, name="playbooks")


def _json(out: str) -> object:
    """The JSON document in ``out`` (detectors log a line or two before it)."""
    start = min(i for i in (out.find("\n{"), out.find("\n[")) if i >= 0) if not out.startswith(("{", "[")) else -1
    return json.loads(out[start + 1 :])


def test_cli_playbooks_schema_validate_list() -> None:
    schema = json.loads(runner.invoke(playbooks_cli, ["schema"]).stdout)
    step = schema["$defs"]["StepSpec"]["properties"]
    assert {"if", "with", "retries", "timeout_s", "approval"} <= set(step)
    assert runner.invoke(playbooks_cli, ["validate", str(ROOT / "playbooks")]).exit_code == 0
    bad = runner.invoke(playbooks_cli, ["validate", str(ROOT / "tests" / "files" / "playbooks_bad")])
    assert bad.exit_code == 1 and "error" in bad.stdout
    listed = runner.invoke(playbooks_cli, ["list"], env={"COLUMNS": "400"})
    assert listed.exit_code == 0 and "Contain exfiltration attempt" in listed.stdout


def test_cli_playbooks_test_replays_events() -> None:
    res = runner.invoke(
        playbooks_cli,
        ["test", "Contain memory poisoning and roll memory back", "--json",
         "--events", str(ROOT / "tests" / "files" / "events" / "memory-poisoning.jsonl")],
    )  # fmt: skip
    assert res.exit_code == 0, res.stdout
    report = _json(res.stdout)
    assert isinstance(report, dict)
    assert report["runs"] and report["commands_sent"] == 0
    assert [s["step"] for s in report["runs"][0]["steps"]] == ["revoke", "quarantine", "rollback", "note", "page"]


def test_cli_actions_list_has_examples() -> None:
    rows = _json(runner.invoke(root, ["actions", "list", "--json"]).stdout)
    assert isinstance(rows, list)
    names = {r["action"] for r in rows}
    assert {"credentials:rotate", "memory:snapshot", "control:publish", "incident:open", "http:request"} <= names
    assert all(r["example"] and r["description"] for r in rows)
