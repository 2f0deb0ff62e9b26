"""Hostile conditions and templates: they evaluate or fail with ExpressionError, never anything else, and they
cannot reach Python attributes, files, the network or unbounded work."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soar.decide.expressions import (
    MAX_COMPREHENSIONS,
    ExpressionError,
    compile_expression,
    condition,
    evaluate,
    finding_context,
    render,
)
from tests.decide.samples import make_finding

CTX = finding_context(make_finding(evidence={"urls": ["https://a.example"], "n": 3}), {"agent_id": "agent-1"})

# What a Jinja-style escape would try (SSTI payloads), and Python names that must mean nothing in CEL.
ESCAPES = [
    "finding.__class__",
    "finding.__class__.__mro__",
    "finding['__class__']",
    "finding.__globals__",
    "finding.summary.__class__.__base__.__subclasses__()",
    "__class__",
    "__import__('os')",
    "import('os')",
    "self",
    "self._TemplateReference__context",
    "cycler.__init__.__globals__.os",
    "lipsum.__globals__['os'].popen('id')",
    "joiner.__init__.__globals__",
    "namespace.__init__.__globals__",
    "config.items()",
    "request.application",
    "open('/etc/passwd')",
    "getattr(finding, 'x')",
    "dyn(finding).__dict__",
    "range(1000000000)",
    "finding.agent_id * 1000000000",
    "[1].exists(x, x.__class__ == 1)",
    "env.PATH",
    "os.environ",
    "http.get('http://evil.example')",
    "1/0",
    "1 % 0",
    "9223372036854775807 + 1",
    "-9223372036854775807 - 2",
    "int('x')",
    "timestamp('not a time')",
    "finding.evidence.missing.deeper",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_expression_escape_attempts_are_clear_errors(source: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(source, CTX)
    with pytest.raises(ExpressionError):
        render({"x": f"pre {{{{ {source} }}}} post"}, CTX)
    assert condition("true", CTX) is True  # the evaluator is still fine afterwards


def test_expression_sees_only_plain_json() -> None:
    assert evaluate("type(finding)", CTX) == "map"  # a map of JSON values, not a Python object
    assert evaluate("has(finding.__class__)", CTX) is False
    assert evaluate("finding.agent_id", CTX) == "agent-1"


def test_nested_comprehensions_are_refused_at_compile() -> None:
    """Six nested ``map`` over a 10-item literal take ~9 s, seven ~150 s: refused before they run."""
    lit = "[0,0,0,0,0,0,0,0,0,0]"
    src = "0"
    for i in range(MAX_COMPREHENSIONS + 1):
        src = f"{lit}.map(v{i}, {src})"
    with pytest.raises(ExpressionError, match="comprehensions"):
        compile_expression(f"size({src})")
    with pytest.raises(ExpressionError, match="longer than"):
        compile_expression("1" + " + 1" * 2000)
    ok = f"{lit}.map(a, {lit}.map(b, 0))"
    assert evaluate(f"size({ok})", {}) == 10


def test_regex_in_expressions_is_linear() -> None:
    """CEL ``matches`` uses a linear-time engine: catastrophic-backtracking patterns finish on 100 KB."""
    ctx = {"s": "a" * 100_000 + "!"}
    for pattern in ["(a+)+$", "(a|aa)+$", "(a*)*b", "^(a|a?)+$"]:
        assert evaluate(f"s.matches('{pattern}')", ctx) is False


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    for src in ["(" * 2000 + "1" + ")" * 2000, "[" * 2000 + "]" * 2000, '{"a":' * 800 + "1" + "}" * 800]:
        with pytest.raises(ExpressionError):
            evaluate(src, {})


cel_tokens = st.sampled_from(
    [
        "finding", "agent", "steps", "run", "incident", ".", "agent_id", "severity_level", "evidence", "__class__",
        "(", ")", "[", "]", "{", "}", ",", ":", "?", "+", "-", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||",
        "!", "in", "size", "has", "matches", "map", "filter", "all", "exists", "x", "1", "0", "-1", "2.5", "'a'",
        '"b"', "true", "false", "null", "9223372036854775807", "b'\\xff'", "1u", "duration('1s')", "int", "dyn",
        "\\", "'", '"', "\n", " ",
    ]
)  # fmt: skip


def _check(source: str) -> None:
    try:
        evaluate(source, CTX)
    except ExpressionError as e:
        assert str(e)  # a reason, not an empty message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cel_tokens, max_size=30).map(" ".join))
def test_fuzz_token_soup_evaluates_or_fails_clearly(source: str) -> None:
    _check(source)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_fuzz_arbitrary_text_evaluates_or_fails_clearly(source: str) -> None:
    _check(source)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=120))
def test_fuzz_templates_render_or_fail_clearly(text: str) -> None:
    value = {"a": f"x {{{{ {text} }}}} y", "b": [text, f"{{{{{text}}}}}"]}
    try:
        out = render(value, CTX)
    except ExpressionError as e:
        assert str(e)
    else:
        assert isinstance(out, dict)
