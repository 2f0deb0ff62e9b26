"""Fuzz the playbook loader: random documents and mutations of the shipped playbooks load as specs or come back as
ContentErrors with file:line (and the field when there is one); never another exception, never a hang."""

from __future__ import annotations

import copy
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soar.decide.loader import load_file
from soar.errors import ContentError
from tests.test_yamldoc import HOSTILE

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "playbooks").rglob("*.yaml"))
DOCS = {p.name: yaml.safe_load(p.read_text()) for p in SHIPPED}
SOURCE = re.compile(r".+:\d+$")

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "{{ finding.__class__ }}",
            "{{ 1/0 }}",
            "{{",
            "}}{{",
            "{{ steps.later.x }}",
            "agent:quarantine",
            "nope:nope",
            "critical",
            "dry-run",
            "-1",
            "1e999",
            "\x00\x1b[31m",
            "\ud7ff\ue000",
        ]
    )
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _load_text(text: str) -> tuple[list, list[ContentError]]:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        specs, errors = load_file(path)
        for e in errors:
            assert isinstance(e, ContentError)
            assert SOURCE.match(e.source) and e.source.startswith(str(path)), e.source
            assert e.message
        return specs, errors


@st.composite
def mutated(draw: st.DrawFn) -> str:
    doc = copy.deepcopy(DOCS[draw(st.sampled_from(sorted(DOCS)))])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        op = draw(st.sampled_from(["replace", "delete", "duplicate"]))
        if op == "delete":
            del parent[path[-1]]
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
        else:
            parent[path[-1]] = draw(values)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_fuzz_mutated_shipped_playbooks_load_or_fail_with_location(text: str) -> None:
    specs, errors = _load_text(text)
    assert specs or errors or yaml.safe_load(text) == []  # an empty file list is valid and holds nothing


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_fuzz_random_documents_load_or_fail_with_location(doc: Any) -> None:
    _load_text(yaml.safe_dump(doc, allow_unicode=True))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("- :[]{}&*!|>'\"#%@`\n\tab01?,")), max_size=200))
def test_fuzz_yaml_syntax_soup(text: str) -> None:
    _load_text(text)


def test_shipped_playbooks_still_load() -> None:
    for p in SHIPPED:
        specs, errors = load_file(p)
        assert specs and not errors, errors


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        *HOSTILE.values(),  # what the YAML parser itself refuses (tests/test_yamldoc.py)
        ("- playbook: x\n  where: '" + 'finding.agent_id == "a" && ' * 400 + "true'", "longer than"),
    ],
    ids=[*HOSTILE, "huge-where"],
)
def test_hostile_playbook_files_are_refused_with_a_reason(text: str, reason: str) -> None:
    specs, errors = _load_text(text)
    assert not specs
    assert any(reason in str(e) for e in errors), [str(e) for e in errors]
