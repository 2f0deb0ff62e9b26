"""Load playbooks from YAML, resolving actions at load time and collecting every error with file:line and field."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from soar.act import ACTIONS, Action
from soar.decide.expressions import ExpressionError, check_templates, compile_expression, step_references
from soar.decide.spec import PlaybookSpec, StepSpec
from soar.errors import ContentError, ContentErrors
from soar.yamldoc import KeyPath, line_of, problem, read_yaml


def _field(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Collector:
    def __init__(self, path: Path, lines: dict[KeyPath, int]) -> None:
        self.path = path
        self.lines = lines
        self.errors: list[ContentError] = []

    def line(self, loc: KeyPath) -> int:
        return line_of(self.lines, loc)

    def add(self, message: str, loc: KeyPath) -> None:
        # loc[0] is the index in the file's list; the field path is inside the playbook item
        self.errors.append(ContentError(message, source=f"{self.path}:{self.line(loc)}", field=_field(loc[1:])))


def _templated(params: dict[str, Any], loc: tuple[Any, ...]) -> bool:
    value: Any = params
    for part in loc:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return False
        if isinstance(value, str) and "{{" in value:
            return True
    return False


def _check_action(step: StepSpec, loc: KeyPath, raw_with: Any, col: _Collector) -> None:
    try:
        action: type[Action] = ACTIONS.get(step.action)
    except KeyError as e:
        col.add(str(e.args[0]), (*loc, "action"))
        return
    try:
        action.check_params(step.with_)
    except ValidationError as e:
        for err in e.errors():
            if _templated(step.with_, err["loc"]):
                continue  # checked again after rendering, when the run knows the value
            where = (*loc, "with", *err["loc"])
            if err["type"] == "extra_forbidden":
                known = ", ".join(action.Params.model_fields) or "none"
                col.add(f"{step.action}: unknown parameter {err['loc'][-1]!r}; known: {known}", where)
            else:
                col.add(f"{step.action}: {err['msg']}", where)
    for msg in check_templates(raw_with):
        col.add(msg, (*loc, "with"))


def _check_parts(raw: dict[str, Any], index: int, col: _Collector) -> None:
    """Check steps and ``where`` on their own, so one bad field does not hide errors in the others."""
    where = raw.get("where")
    if isinstance(where, str):
        try:
            compile_expression(where)
        except ExpressionError as e:
            col.add(f"bad where expression: {e}", (index, "where"))
    seen: set[str] = set()
    for part in ("steps", "on_failure"):
        steps = raw.get(part)
        if not isinstance(steps, list):
            continue
        for i, raw_step in enumerate(steps):
            loc: KeyPath = (index, part, i)
            try:
                step = StepSpec.model_validate(raw_step)
            except ValidationError as e:
                for err in e.errors():
                    col.add(err["msg"], (*loc, *err["loc"]))
                continue
            if step.id in seen:
                col.add(f"duplicate step id {step.id!r}", (*loc, "id"))
            _check_action(step, loc, raw_step.get("with", {}), col)
            if step.if_ is not None:
                try:
                    compile_expression(step.if_)
                except ExpressionError as e:
                    col.add(f"bad if expression: {e}", (*loc, "if"))
            for ref in sorted(step_references([raw_step.get("with", {}), step.if_ or ""])):
                if ref not in seen:
                    col.add(f"steps.{ref} is not an earlier step of this playbook", (*loc, "with"))
            seen.add(step.id)


def _reported_by_parts(loc: tuple[Any, ...], msg: str) -> bool:
    # per-step and duplicate-step errors were already reported by _check_parts
    return (len(loc) >= 2 and loc[0] in ("steps", "on_failure")) or "duplicate step id" in msg


def load_file(path: Path | str) -> tuple[list[PlaybookSpec], list[ContentError]]:
    """Load one playbook file; returns the valid playbooks and every error found."""
    path = Path(path)
    try:
        return _load_file(path)
    except RecursionError:  # a last guard: parse_yaml bounds the nesting the validators then walk
        return [], [ContentError("nesting too deep", source=f"{path}:1")]


def _load_file(path: Path) -> tuple[list[PlaybookSpec], list[ContentError]]:
    col = _Collector(path, {})
    try:
        data, col.lines = read_yaml(path)
    except yaml.YAMLError as e:
        message, line = problem(e)
        return [], [ContentError(message, source=f"{path}:{line}")]
    except OSError as e:
        return [], [ContentError(f"cannot read: {e}", source=str(path))]
    if data is None:
        return [], []
    if not isinstance(data, list):
        return [], [ContentError("a playbook file is a YAML list of playbooks", source=f"{path}:1")]
    specs: list[PlaybookSpec] = []
    for index, raw in enumerate(data):
        before = len(col.errors)
        if not isinstance(raw, dict):
            col.add("each item must be a mapping starting with 'playbook:'", (index,))
            continue
        _check_parts(raw, index, col)
        try:
            spec = PlaybookSpec.model_validate(raw)
        except ValidationError as e:
            for err in e.errors():
                if not _reported_by_parts(err["loc"], err["msg"]):
                    col.add(err["msg"], (index, *err["loc"]))
            continue
        if len(col.errors) == before:
            specs.append(spec.with_source(f"{path}:{col.line((index,))}"))
    return specs, col.errors


def load_playbooks(directory: Path | str, *, strict: bool = True) -> list[PlaybookSpec]:
    """Load every ``*.yaml``/``*.yml`` under ``directory`` (or one file).

    Raises ContentErrors listing all problems (including duplicate ids) when ``strict``; otherwise the
    broken playbooks are skipped.
    """
    root = Path(directory)
    files = [root] if root.is_file() else sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")])
    specs: list[PlaybookSpec] = []
    errors: list[ContentError] = []
    seen: dict[str, str] = {}
    for f in files:
        got, errs = load_file(f)
        errors.extend(errs)
        for spec in got:
            key = str(spec.id)
            if key in seen:
                errors.append(
                    ContentError(f"duplicate playbook id {key} (first at {seen[key]})", source=spec.source, field="id")
                )
                continue
            seen[key] = spec.source
            specs.append(spec)
    if errors and strict:
        raise ContentErrors(errors)
    return specs
