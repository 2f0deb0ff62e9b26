"""Rule pack loading: the shipped pack is valid; broken files are rejected with file:line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from soar.detect.rules import RuleSet, check_rules, load_rule_pack, load_rules, raise_severity
from soar.errors import ContentErrors
from soar.telemetry.findings import Severity

from .conftest import FILES, ROOT

RULE = """
- rule: {title}
  id: {id}
  detector: injection
  kinds: [input]
  patterns: ['{pattern}']
  severity: high
  confidence: 0.5
  maturity: {maturity}
"""


def _write(path: Path, **kw: str) -> Path:
    kw.setdefault("maturity", "stable")
    path.write_text(RULE.format(**kw))
    return path


def test_rules_shipped_pack_is_valid_and_large_enough() -> None:
    rules, errors = check_rules(ROOT / "detectors" / "rules")
    assert errors == []
    injection = [r for r in rules if r.detector == "injection"]
    memory = [r for r in rules if r.detector == "memory"]
    assert len(injection) >= 25
    assert len(memory) >= 5
    assert len({r.id for r in rules}) == len(rules)
    assert all(r.tags for r in rules)


def test_rules_bad_files_report_every_error_with_location() -> None:
    with pytest.raises(ContentErrors) as info:
        load_rules(FILES / "rules_bad")
    errors = info.value.errors
    by_field = {(Path(e.source.rsplit(":", 1)[0]).name, e.field): e for e in errors}
    # bad_regex.yaml: both broken patterns, each at the line of the list item
    regex_errors = [e for e in errors if "bad_regex.yaml" in e.source]
    assert [(e.source.rsplit(":", 1)[1], e.field) for e in regex_errors] == [("7", "patterns.0"), ("15", "patterns.0")]
    assert "invalid RE2 pattern" in regex_errors[0].message and "(?<=" in regex_errors[0].message
    assert "upper-case" in regex_errors[1].message
    # unknown_key.yaml: the typo and the then-missing severity
    assert "unknown key 'severty'" in by_field[("unknown_key.yaml", "severty")].message
    assert by_field[("unknown_key.yaml", "severty")].source.endswith("unknown_key.yaml:6")
    assert ("unknown_key.yaml", "severity") in by_field
    # bad_values.yaml: every bad field in the one rule
    fields = {f for (name, f) in by_field if name == "bad_values.yaml"}
    assert {"id", "detector", "kinds.1", "severity", "confidence", "tags"} <= fields
    assert "unknown severity 'urgent'" in by_field[("bad_values.yaml", "severity")].message
    assert by_field[("bad_values.yaml", "severity")].source.endswith("bad_values.yaml:6")
    assert "UUID4" in by_field[("bad_values.yaml", "id")].message


def test_rules_invalid_yaml_and_non_list_are_errors(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("- rule: x\n  id: [unclosed\n")
    (tmp_path / "b.yaml").write_text("rule: not a list\n")
    _, errors = check_rules(tmp_path)
    assert len(errors) == 2
    assert "invalid YAML" in errors[0].message and errors[0].source.startswith(str(tmp_path / "a.yaml"))
    assert "must be a list" in errors[1].message


def test_rules_duplicate_id_is_reported(tmp_path: Path) -> None:
    uid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    _write(tmp_path / "a.yaml", title="One", id=uid, pattern="abc")
    _write(tmp_path / "b.yaml", title="Two", id=uid, pattern="def")
    _, errors = check_rules(tmp_path)
    assert len(errors) == 1 and errors[0].field == "id" and "duplicate" in errors[0].message


def test_rules_maturity_filter_defaults_to_stable_and_incubating(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", title="Stable", id="1b4e28ba-2fa1-41d2-883f-0016d3cca427", pattern="a")
    _write(
        tmp_path / "b.yaml", title="Sandbox", id="6fa459ea-ee8a-4ca4-894e-db77e160355e", pattern="b", maturity="sandbox"
    )
    assert [r.rule for r in load_rules(tmp_path)] == ["Stable"]
    assert len(load_rules(tmp_path, maturities={"stable", "sandbox"})) == 2
    assert len(load_rule_pack(tmp_path)) == 1


def test_rules_ruleset_maps_set_matches_back_to_rules(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", title="Alpha", id="1b4e28ba-2fa1-41d2-883f-0016d3cca427", pattern=r"\balpha\b")
    _write(tmp_path / "b.yaml", title="Beta", id="6fa459ea-ee8a-4ca4-894e-db77e160355e", pattern=r"beta\W+gamma")
    rs = RuleSet(load_rules(tmp_path))
    matches = rs.match("x beta  gamma then alpha")
    assert [m.rule.rule for m in matches] == ["Beta", "Alpha"]
    assert matches[0].snippet == "beta  gamma"
    assert rs.match("alpha", kind="tool_result") == []  # rules are for kind input only
    assert RuleSet([]).match("alpha") == []


def test_rules_trusted_severity_defaults_one_step_lower(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", title="Alpha", id="1b4e28ba-2fa1-41d2-883f-0016d3cca427", pattern="a")
    (rule,) = load_rules(tmp_path)
    assert rule.severity is Severity.HIGH and rule.trusted is Severity.MEDIUM
    assert raise_severity(Severity.CRITICAL) is Severity.CRITICAL
    assert raise_severity(Severity.INFO, -1) is Severity.INFO
