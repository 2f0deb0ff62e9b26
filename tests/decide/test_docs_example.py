"""docs/playbooks.md: the end-to-end example shows the shipped playbook and event as they are."""

from __future__ import annotations

import re

from soar.config import ROOT


def test_docs_end_to_end_example_matches_shipped_files() -> None:
    text = (ROOT / "docs" / "playbooks.md").read_text()
    section = text.split("## A complete example, end to end", 1)[1].split("\n## ", 1)[0]
    yaml_block = re.search(r"```yaml\n(.*?)```", section, re.S)
    json_block = re.search(r"```json\n(.*?)```", section, re.S)
    assert yaml_block is not None and json_block is not None
    shipped = (ROOT / "playbooks" / "exfiltration" / "exfiltration-attempt.yaml").read_text()
    event = (ROOT / "tests" / "files" / "events" / "exfiltration-attempt.jsonl").read_text()
    assert yaml_block.group(1).strip() == shipped.strip()
    assert json_block.group(1).strip() == event.strip()
    assert "run 9cb1007b (completed, dry run)" in section
