"""Loading playbooks: the shipped ones load; every error in bad files is collected with file:line and field."""

from __future__ import annotations

import pytest

from soar.config import ROOT
from soar.decide.loader import load_file, load_playbooks
from soar.errors import ContentErrors
from soar.yamldoc import parse_yaml
from tests.conftest import FILES

BAD = FILES / "playbooks_bad"


def _errors() -> list[tuple[str, str, str]]:
    with pytest.raises(ContentErrors) as info:
        load_playbooks(BAD)
    return [(e.source.rsplit("/", 1)[-1], e.field, e.message) for e in info.value.errors]


def test_load_playbooks_shipped_content_loads() -> None:
    specs = load_playbooks(ROOT / "playbooks")
    assert len(specs) >= 6
    assert all(s.source.startswith(str(ROOT / "playbooks")) for s in specs)
    assert len({s.id for s in specs}) == len(specs)


def test_load_playbooks_collects_every_error() -> None:
    errors = _errors()
    where = {(src, field) for src, field, _ in errors}
    assert {
        ("broken.yaml:6", "steps[0].action"),
        ("broken.yaml:15", "steps[0].with.grace_seconds"),
        ("broken.yaml:10", "thottle"),
        ("broken.yaml:19", "where"),
        ("broken.yaml:21", "steps[0].with"),
        ("broken.yaml:18", "trigger.min_severity"),
        ("broken.yaml:27", "steps[1].id"),
        ("broken.yaml:23", "id"),
        ("dup_b.yaml:1", "id"),
        ("not_a_list.yaml:1", ""),
    } <= where
    assert any(src.startswith("bad_yaml.yaml:") and "invalid YAML" in msg for src, _, msg in errors)


def test_load_playbooks_unknown_action_lists_known() -> None:
    [msg] = [m for _, f, m in _errors() if f == "steps[0].action"]
    assert "unknown action 'agent:suspend'" in msg and "agent:quarantine" in msg and "memory:rollback" in msg


def test_load_playbooks_unknown_param_lists_known() -> None:
    [msg] = [m for _, f, m in _errors() if f == "steps[0].with.grace_seconds"]
    assert "known: reason" in msg


def test_load_playbooks_not_strict_skips_broken() -> None:
    specs = load_playbooks(BAD, strict=False)
    assert [s.playbook for s in specs] == ["First"]


def test_load_file_reports_without_raising() -> None:
    specs, errors = load_file(BAD / "broken.yaml")
    assert specs == [] and len(errors) >= 8


def test_content_error_str_has_location() -> None:
    with pytest.raises(
        ContentErrors, match=r"broken\.yaml:6: unknown action 'agent:suspend'.*\(at steps\[0\]\.action\)"
    ):
        load_playbooks(BAD)


def test_parse_yaml_lines() -> None:
    data, lines = parse_yaml("- a: 1\n  b:\n    - c: 2\n")
    assert data == [{"a": 1, "b": [{"c": 2}]}]
    assert lines[(0, "a")] == 1 and lines[(0, "b", 0, "c")] == 3


def test_parse_yaml_is_safe() -> None:
    import yaml

    with pytest.raises(yaml.YAMLError):
        parse_yaml("- !!python/object/apply:os.system ['true']\n")
