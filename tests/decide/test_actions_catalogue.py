"""``soar actions list``: every action with its description, parameters and an example that loads as content."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import yaml
from typer.testing import CliRunner

from soar.act import ACTIONS
from soar.cli import cli
from soar.decide.loader import load_file

runner = CliRunner()


def test_text_catalogue_lists_every_action_with_parameters_and_example() -> None:
    res = runner.invoke(cli, ["actions", "list"], env={"COLUMNS": "400"})
    assert res.exit_code == 0, res.output
    blocks = {b.split("\n", 1)[0].split(" ")[0]: b for b in res.output.strip().split("\n\n")}
    assert set(blocks) == set(dict(ACTIONS.items()))
    for name, action in ACTIONS.items():
        block = blocks[name]
        assert action.description[:40] in block and "example:" in block
        for field in action.Params.model_fields:
            assert f"    {field}: " in block, (name, field)
    assert "strategy: Literal['taint', 'version', 'time'] (default 'taint')" in blocks["memory:rollback"]
    assert "url: str (required)" in blocks["http:request"]


def test_json_catalogue_and_examples_are_valid_content(tmp_path: Path) -> None:
    rows = json.loads(runner.invoke(cli, ["actions", "list", "--json"]).stdout)
    for row in rows:
        assert row["description"] and row["example"] and isinstance(row["parameters"], dict)
        steps = yaml.safe_load(row["example"])
        assert isinstance(steps, list) and steps[-1]["action"] == row["action"]
        if "steps.snapshot" in row["example"] and steps[0]["action"] != "memory:snapshot":
            steps.insert(0, {"id": "snapshot", "action": "memory:snapshot"})  # the example builds on a snapshot
        doc = [{"playbook": f"example {row['action']}", "id": str(uuid.uuid4()), "trigger": {}, "steps": steps}]
        path = tmp_path / f"{row['action'].replace(':', '_')}.yaml"
        path.write_text(yaml.safe_dump(doc))
        loaded, errors = load_file(path)
        assert errors == [] and len(loaded) == 1, (row["action"], errors)
