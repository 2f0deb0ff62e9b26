"""Conditions and templates in CEL (Common Expression Language): side-effect free, no code, no file access.

A ``where`` condition is one CEL expression over ``finding`` and ``agent``. A template is a string with
``{{ expr }}`` holes, each a CEL expression over the same names; the result is interpolated as text.
CEL was chosen over Jinja2 because it has no attribute access into Python objects at all: the context is
plain JSON data, so a playbook cannot reach code, files or the environment.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import cel
import orjson

from soar.telemetry.findings import Finding

TEMPLATE_RE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
#: CEL has no loops, but nested comprehension macros multiply: six nested ``map`` over a 10-item literal take
#: seconds, seven minutes (tests/decide/test_fuzz_expressions.py). Content needs none today; allow two.
COMPREHENSION_RE = re.compile(r"\.\s*(?:map|filter|all|exists|exists_one)\s*\(")
MAX_COMPREHENSIONS = 2
MAX_EXPRESSION_CHARS = 4096


class ExpressionError(ValueError):
    """A CEL expression does not compile or cannot be evaluated."""


@lru_cache(maxsize=1024)
def compile_expression(source: str) -> Any:
    """Compile a CEL expression (cached); raises ExpressionError on a syntax error."""
    if not source.strip():
        raise ExpressionError("empty expression")
    if len(source) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    if len(COMPREHENSION_RE.findall(source)) > MAX_COMPREHENSIONS:
        raise ExpressionError(f"more than {MAX_COMPREHENSIONS} comprehensions (map/filter/all/exists/exists_one)")
    try:
        return cel.compile(source)
    except Exception as e:  # the binding raises several types; callers only ever see ExpressionError
        raise ExpressionError((str(e).splitlines() or [type(e).__name__])[0]) from e


def evaluate(source: str, context: dict[str, Any]) -> Any:
    """Evaluate a CEL expression over plain JSON data."""
    program = compile_expression(source)
    try:
        return program.execute(context)
    except Exception as e:  # KeyError, TypeError, ZeroDivisionError, OverflowError...: all mean "cannot evaluate"
        raise ExpressionError(f"{source!r}: {type(e).__name__}: {e}") from e


def condition(source: str, context: dict[str, Any]) -> bool:
    """Evaluate a condition; anything but a boolean ``true`` is false."""
    return evaluate(source, context) is True


def template_holes(text: str) -> list[str]:
    """The CEL expressions inside ``{{ }}`` in ``text``."""
    return [m.group(1).strip() for m in TEMPLATE_RE.finditer(text)]


def check_templates(value: Any) -> list[str]:
    """Compile every template hole in a (nested) value; returns the error messages."""
    errors: list[str] = []
    if isinstance(value, str):
        for hole in template_holes(value):
            try:
                compile_expression(hole)
            except ExpressionError as e:
                errors.append(f"bad template expression {hole!r}: {e}")
    elif isinstance(value, dict):
        for v in value.values():
            errors.extend(check_templates(v))
    elif isinstance(value, list):
        for v in value:
            errors.extend(check_templates(v))
    return errors


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value, default=str).decode()


def render(value: Any, context: dict[str, Any]) -> Any:
    """Render templates in every string of a (nested) value; non-strings pass through.

    A string that is exactly one ``{{ expr }}`` whose value is a list or a map keeps that value (so
    ``credential_ids: "{{ steps.find.ids }}"`` passes a list); everything else is interpolated as text.
    """
    if isinstance(value, str):
        if "{{" not in value:
            return value
        whole = TEMPLATE_RE.fullmatch(value.strip())
        if whole is not None and "}}" not in whole.group(1):  # "{{ a }}: {{ b }}" is two holes, not one
            result = evaluate(whole.group(1).strip(), context)
            if isinstance(result, list | dict):
                return orjson.loads(orjson.dumps(result, default=str))
            return _as_text(result)
        return TEMPLATE_RE.sub(lambda m: _as_text(evaluate(m.group(1).strip(), context)), value)
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value


STEP_REF_RE = re.compile(r"\bsteps\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)|\bsteps\s*\[\s*[\"']([^\"']+)[\"']\s*\]")


def step_references(value: Any) -> set[str]:
    """Step ids referenced as ``steps.<id>`` in the templates and conditions of a (nested) value."""
    out: set[str] = set()
    if isinstance(value, str):
        for m in STEP_REF_RE.finditer(value):
            out.add(m.group(1) or m.group(2))
    elif isinstance(value, dict):
        for v in value.values():
            out |= step_references(v)
    elif isinstance(value, list):
        for v in value:
            out |= step_references(v)
    return out


def finding_context(
    finding: Finding,
    agent: dict[str, Any] | None = None,
    *,
    incident: dict[str, Any] | None = None,
    steps: dict[str, Any] | None = None,
    run: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What conditions and templates see: ``finding`` (JSON, plus ``severity_level``), ``agent``, ``incident``,
    ``steps`` (earlier step outputs by id) and ``run``."""
    data = finding.model_dump(mode="json")
    data["severity_level"] = int(finding.severity)
    return {"finding": data, "agent": agent, "incident": incident, "steps": steps or {}, "run": run or {}}
