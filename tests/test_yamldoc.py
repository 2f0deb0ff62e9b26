"""Human-written YAML (playbooks, detection rules, operator roles) is parsed within limits: hostile documents are
errors with a reason and a line, for every loader, never a hang or a RecursionError."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from soar.api.auth import load_operators
from soar.decide.loader import load_file
from soar.detect.rules import check_rules
from soar.yamldoc import MAX_DEPTH, MAX_NODES, DocumentError, line_of, parse_yaml, problem, read_yaml


def laughs(levels: int, indent: str = "  ") -> str:
    """A mapping whose last key expands to 9**(levels + 1) strings ("billion laughs")."""
    lines = [f'{indent}l0: &l0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, levels + 1):
        lines.append(f"{indent}l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


#: (document as a list item of a content file, the reason its error must give)
HOSTILE = {
    "billion-laughs": ("- rule: x\n" + laughs(9), f"more than {MAX_NODES} nodes"),
    "deep-flow-list": ("- rule: x\n  where: " + "[" * 5000 + "]" * 5000, "nesting too deep"),
    "deep-map": ("- " + "{a: " * 3000 + "1" + "}" * 3000, "nesting too deep"),
    "deep-block": ("- " + "".join(f"{'  ' * i}k{i}:\n" for i in range(1, 200)) + "  " * 200 + "x: 1\n", "too deep"),
    "just-over-the-limit": ("- " + "[" * MAX_DEPTH + "]" * MAX_DEPTH, f"more than {MAX_DEPTH} levels"),
    "recursive-alias": ("- &a [*a]", "recursive alias"),
    "python-tag": ("- !!python/object/apply:os.system ['id']", "could not determine a constructor"),
    "two-documents": ("- a\n---\n- b\n", "expected a single document"),
}


@pytest.mark.parametrize(("text", "reason"), list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_documents_are_errors_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(yaml.YAMLError) as info:
        parse_yaml(text)
    message, line = problem(info.value)
    assert reason in message and line >= 1, message


@pytest.mark.parametrize(("text", "reason"), list(HOSTILE.values()), ids=list(HOSTILE))
def test_every_loader_refuses_them_with_file_and_line(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    specs, errors = load_file(path)  # playbooks
    assert not specs and any(reason in e.message and e.source.startswith(f"{path}:") for e in errors), errors
    rules, errors = check_rules(tmp_path)  # detection rules
    assert not rules and any(reason in e.message and e.source.startswith(f"{path}:") for e in errors), errors
    with pytest.raises(ValueError, match="bad operators file") as info:  # operator roles
        load_operators(path)
    assert reason in str(info.value)


def test_limits_leave_real_documents_alone() -> None:
    nested = "a:\n" + "".join(f"{'  ' * i}k{i}:\n" for i in range(1, MAX_DEPTH - 2)) + "  " * (MAX_DEPTH - 2) + "x: 1\n"
    data, _ = parse_yaml(nested)
    assert data["a"]["k1"]["k2"]
    shared = "base: &b {severity: high, tags: [a, b]}\nuses: [" + ", ".join(["*b"] * 1000) + "]\n"
    data, _ = parse_yaml(shared)  # aliases are fine while the expanded document stays small
    assert len(data["uses"]) == 1000 and data["uses"][999] == {"severity": "high", "tags": ["a", "b"]}
    assert parse_yaml("") == (None, {}) and parse_yaml("# only a comment\n") == (None, {})


def test_lines_map_every_key_and_item() -> None:
    text = "- rule: first\n  patterns:\n    - one\n    - two\n- rule: second\n"
    data, lines = parse_yaml(text)
    assert data[1] == {"rule": "second"}
    assert lines[(0,)] == 1 and lines[(0, "patterns")] == 2 and lines[(0, "patterns", 1)] == 4 and lines[(1,)] == 5
    assert line_of(lines, (0, "patterns", 1, "deeper")) == 4 and line_of(lines, (7, "x")) == 1


def test_limit_errors_are_yaml_errors_with_the_reason() -> None:
    e = DocumentError("nesting too deep (a recursive alias)")
    assert isinstance(e, yaml.YAMLError) and problem(e) == ("invalid YAML: nesting too deep (a recursive alias)", 1)


def test_a_file_that_is_not_utf8_is_refused_at_the_line_of_its_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("- rule: x\n  summary: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(DocumentError) as info:
        read_yaml(path)
    assert problem(info.value) == ("invalid YAML: not UTF-8: byte 0xe9 at column 15", 2)
    specs, errors = load_file(path)
    assert not specs and [(e.message, e.source) for e in errors] == [(problem(info.value)[0], f"{path}:2")]
    _, errors = check_rules(tmp_path)
    assert [e.source for e in errors] == [f"{path}:2"]
