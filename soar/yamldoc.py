"""YAML that people write (playbooks, detection rules, operator roles), parsed safely and within limits.

``yaml.SafeLoader`` only (no Python tags). A document may not expand past ``MAX_NODES`` nodes once its aliases are
followed ("billion laughs": nine levels of nine aliases are 9**10 strings), nor nest deeper than ``MAX_DEPTH``
levels, nor hold a recursive alias: each is a ``yaml.YAMLError`` with a reason, never a hang, a
``RecursionError`` or a structure no validator can walk; a file that is not UTF-8 is one too, at the line of its
first bad byte. ``parse_yaml`` also maps every key path to its line, so a loader's errors can say where.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

KeyPath = tuple[str | int, ...]
#: a content file is small; aliases may not expand it past this many nodes
MAX_NODES = 100_000
#: levels of nesting (mappings and lists); real playbooks and rules use fewer than ten
MAX_DEPTH = 64


class DocumentError(yaml.YAMLError):
    """A document PyYAML would take but soar does not: over a limit (size once aliases are expanded, depth, a
    recursive alias), or a file that is not UTF-8. ``line`` is 1-based."""

    def __init__(self, problem: str, line: int = 1) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


def _check_size(node: yaml.Node) -> None:
    """Walk the node graph once (memoised per node): nodes once aliases are expanded, depth, recursive aliases."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}  # levels below a node, aliases followed
    on_path: set[int] = set()
    # an explicit stack instead of recursion: a document at the composer's own limit must not overflow this walk
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        key = id(current)
        children: list[yaml.Node] = []
        if isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        elif isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            depths[key] = 1 + max((depths[id(c)] for c in children), default=0)
            if sizes[key] > MAX_NODES:
                raise DocumentError(f"the document expands to more than {MAX_NODES} nodes (nested aliases?)")
            if depths[key] > MAX_DEPTH:
                raise DocumentError(f"nesting too deep (more than {MAX_DEPTH} levels)")
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise DocumentError("nesting too deep (a recursive alias)")
        on_path.add(key)
        stack.append((current, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)


def _lines(node: yaml.Node, out: dict[KeyPath, int]) -> None:
    """Key path -> 1-based line of every mapping key and list item (the tree is finite: ``_check_size`` ran)."""
    stack: list[tuple[yaml.Node, KeyPath]] = [(node, ())]
    while stack:
        current, path = stack.pop()
        out.setdefault(path, current.start_mark.line + 1)
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
                out[(*path, key)] = key_node.start_mark.line + 1
                stack.append((value_node, (*path, key)))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend((item, (*path, i)) for i, item in enumerate(current.value))


def parse_yaml(text: str) -> tuple[Any, dict[KeyPath, int]]:
    """``yaml.safe_load`` within the limits above, plus a map from key path to 1-based line.

    Raises ``yaml.YAMLError`` (a ``DocumentError`` for the limits) for anything that is not a loadable document.
    """
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:  # PyYAML's composer recurses per level: deeper than the interpreter allows
            raise DocumentError(f"nesting too deep (more than {MAX_DEPTH} levels)") from None
        if node is None:
            return None, {}
        _check_size(node)
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    lines: dict[KeyPath, int] = {}
    _lines(node, lines)
    return data, lines


def read_yaml(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """``parse_yaml`` of a file (``OSError`` if it cannot be read; ``DocumentError`` if it is not UTF-8)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise DocumentError(f"not UTF-8: byte 0x{data[e.start]:02x} at column {column}", line) from None
    return parse_yaml(text)


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int:
    """The line of ``path``, or of its nearest enclosing key that has one (1 if none does)."""
    for n in range(len(path), -1, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return 1


def problem(e: yaml.YAMLError) -> tuple[str, int]:
    """What went wrong with a document, for a content error: ("invalid YAML: ...", 1-based line)."""
    if isinstance(e, DocumentError):
        return f"invalid YAML: {e.problem}", e.line
    mark = getattr(e, "problem_mark", None)
    what = ", ".join(str(p) for p in (getattr(e, "context", None), getattr(e, "problem", None)) if p) or str(e)
    return f"invalid YAML: {what}", mark.line + 1 if mark is not None else 1
