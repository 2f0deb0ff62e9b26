"""The CLI's offline commands: replay, schema, content check, actions list."""

import json

from typer.testing import CliRunner

from soar.cli import cli
from tests.conftest import FILES

runner = CliRunner()


def test_cli_replay_prints_findings_and_dry_run_plan() -> None:
    result = runner.invoke(cli, ["replay", str(FILES / "replay" / "injection.jsonl")], env={"COLUMNS": "250"})
    out = result.output
    assert "indirect_prompt_injection" in out
    assert "Contain indirect prompt injection" in out and "agent:quarantine" in out
    assert "rejected" in out and "schema" in out  # the malformed last line, with its reason
    assert result.exit_code == 1  # a rejected line makes replay exit non-zero


def test_cli_replay_json_lists_every_finding() -> None:
    result = runner.invoke(cli, ["replay", "--json", str(FILES / "replay" / "injection.jsonl")])
    objs = [json.loads(block) for block in result.output.replace("}\n{", "}\x00{").split("\x00") if block.strip()]
    findings = [o["finding"] for o in objs if "finding" in o]
    assert any(f["rule"] == "indirect_prompt_injection" and f["severity"] in ("high", "critical") for f in findings)
    assert any("dead_letter" in o for o in objs)


def test_cli_schema_telemetry_is_json_schema() -> None:
    result = runner.invoke(cli, ["schema", "telemetry"])
    assert result.exit_code == 0
    assert "memory_write" in json.loads(result.output)["discriminator"]["mapping"]


def test_cli_content_check_passes_on_shipped_content() -> None:
    result = runner.invoke(cli, ["content", "check"])
    assert result.exit_code == 0, result.output
    assert "playbooks" in result.output and "rules" in result.output


def test_cli_content_check_reports_file_and_line(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- playbook: Broken\n  id: not-a-uuid\n  trigger: {detectors: [injection]}\n  steps: []\n")
    result = runner.invoke(cli, ["content", "check", "--playbooks", str(tmp_path)])
    assert result.exit_code == 1
    assert "bad.yaml:" in result.output


def test_cli_actions_list_names_containment_actions() -> None:
    result = runner.invoke(cli, ["actions", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("agent:quarantine", "credentials:revoke", "memory:rollback"):
        assert name in result.output


def test_cli_bench_flood_refuses_unknown_hostile_kinds_before_starting_anything() -> None:
    result = runner.invoke(cli, ["bench", "flood", "--kinds", "too_deep,sql_injection"], env={"COLUMNS": "250"})
    assert result.exit_code == 2
    assert "sql_injection" in result.output and "too_deep" in result.output  # what is wrong, and what is known
    result = runner.invoke(cli, ["bench", "flood", "--good-fraction", "1.5"], env={"COLUMNS": "250"})
    assert result.exit_code == 2 and "good_fraction" in result.output
