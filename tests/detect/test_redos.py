"""Analyst-written patterns cannot hang a worker: RE2 is linear, so catastrophic-backtracking patterns finish on
100 KB adversarial text, and what RE2 cannot do (backreferences, lookarounds) is refused at rule load with
file, line and field."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml

from soar.detect.rules import RuleSet, RuleSpec, load_rules
from soar.errors import ContentErrors

CATASTROPHIC = [
    r"(a+)+$",
    r"(a|aa)+$",
    r"(a|a?)+$",
    r"(x+x+)+y",
    r"(a*)*b",
    r"((a+)+)+b",
    r"(\w+\s?)+$",
    r"(.*a){20}",
    r"^(([a-z])+.)+[a-z]([a-z])+$",
]
ADVERSARIAL = ["a" * 100_000 + "!", "x" * 100_000, "aaaa " * 20_000 + "!", "a" * 50_000 + "\n" + "a" * 50_000 + "1"]


def _rule(patterns: list[str], title: str = "Analyst pattern") -> RuleSpec:
    return RuleSpec.model_validate(
        {
            "rule": title,
            "id": str(uuid.uuid4()),
            "detector": "injection",
            "kinds": ["input"],
            "patterns": patterns,
            "severity": "high",
            "confidence": 0.5,
            "maturity": "stable",
        }
    )


def test_catastrophic_patterns_finish_on_100kb_inputs() -> None:
    rules = RuleSet([_rule([p], f"redos {i}") for i, p in enumerate(CATASTROPHIC)])
    for text in ADVERSARIAL:
        hits = rules.match(text)  # a backtracking engine would not return from the first of these
        titles = {h.rule.rule for h in hits}
        assert "redos 0" not in titles or text.endswith("a")  # `(a+)+$` needs the text to end in a
    assert {h.rule.rule for h in rules.match("x" * 100_000 + "y")} >= {"redos 3"}
    assert {h.rule.rule for h in rules.match("a" * 100_000)} >= {"redos 0", "redos 1", "redos 2"}


def test_catastrophic_patterns_load_from_a_rule_file(tmp_path: Path) -> None:
    doc = [
        {
            "rule": "Nested quantifiers",
            "id": str(uuid.uuid4()),
            "detector": "injection",
            "kinds": ["input"],
            "patterns": CATASTROPHIC,
            "severity": "high",
            "confidence": 0.5,
            "maturity": "stable",
        }
    ]
    (tmp_path / "nested.yaml").write_text(yaml.safe_dump(doc))
    [rule] = load_rules(tmp_path)
    [hit] = RuleSet([rule]).match("a" * 100_000 + "!")  # one entry per rule: `(a|a?)+$` matches empty at the end
    assert hit.pattern == CATASTROPHIC.index(r"(a|a?)+$")


REFUSED = {
    "backreference": r"(a+)\1",
    "named backreference": r"(?i)(?P<x>a)(?P=x)",  # (?i): upper-case letters are refused for another reason
    "lookahead": r"ignore(?= previous)",
    "negative lookahead": r"ignore(?! this)",
    "lookbehind": r"(?<=ignore )previous",
    "negative lookbehind": r"(?<!not )ignore",
    "atomic group": r"(?>a+)b",
    "possessive": r"a++b",
    "conditional": r"(a)?(?(1)b|c)",
    "recursion": r"(?i)a(?R)?b",
}


def test_patterns_re2_refuses_are_content_errors_with_location(tmp_path: Path) -> None:
    lines = ["# every pattern below needs a backtracking engine"]
    expected: dict[str, int] = {}
    for name, pattern in REFUSED.items():
        lines += [
            f"- rule: Refused {name}",
            f"  id: {uuid.uuid4()}",
            "  detector: injection",
            "  kinds: [input]",
            "  patterns:",
            "    - 'fine literal'",
        ]
        expected[name] = len(lines) + 1
        lines += [f"    - '{pattern}'", "  severity: high", "  confidence: 0.5"]
    (tmp_path / "refused.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(ContentErrors) as info:
        load_rules(tmp_path)
    errors = info.value.errors
    assert len(errors) == len(REFUSED)
    for err, (name, line) in zip(errors, expected.items(), strict=True):
        assert err.source == f"{tmp_path / 'refused.yaml'}:{line}", (name, err)
        assert err.field == "patterns.1", (name, err)
        assert "invalid RE2 pattern" in err.message and name in err.message
