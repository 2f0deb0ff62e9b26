"""Scopes: what a task-scoped token allows, as fnmatch globs (case-sensitive) over tool, resource and action."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict, Field

_GLOB_CHARS = frozenset("*?[")


class Scope(BaseModel):
    """One permission: a tool glob, resource globs and action globs (fnmatch, case-sensitive)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: str = Field(min_length=1, max_length=256)
    resources: list[str] = Field(min_length=1, max_length=64)
    actions: list[str] = Field(min_length=1, max_length=32)

    def matches_tool(self, tool: str) -> bool:
        """True when ``tool`` falls under this scope's tool glob."""
        return fnmatchcase(tool, self.tool)

    def matches_resource(self, resource: str) -> bool:
        """True when ``resource`` matches one of the resource globs."""
        return any(fnmatchcase(resource, r) for r in self.resources)

    def matches_action(self, action: str) -> bool:
        """True when ``action`` matches one of the action globs."""
        return any(fnmatchcase(action, a) for a in self.actions)


def tool_allowed(requested: str, allowed: Sequence[str]) -> bool:
    """True when every tool matching the glob ``requested`` is allowed by one of the ``allowed`` globs.

    Sound, not complete: a literal name must match an allowed glob; a glob must equal an allowed entry, or
    start with the literal prefix ``P`` of an allowed ``P*`` (``*`` allows everything).
    """
    if not _GLOB_CHARS.intersection(requested):
        return any(fnmatchcase(requested, a) for a in allowed)
    for a in allowed:
        if a == "*" or a == requested:
            return True
        prefix = a[:-1]
        if a.endswith("*") and not _GLOB_CHARS.intersection(prefix) and requested.startswith(prefix):
            return True
    return False


def scope_decision(scopes: Sequence[Scope], tool: str, resource: str, action: str) -> str:
    """``ok`` or the most specific ``*_out_of_scope`` reason."""
    by_tool = [s for s in scopes if s.matches_tool(tool)]
    if not by_tool:
        return "tool_out_of_scope"
    by_resource = [s for s in by_tool if s.matches_resource(resource)]
    if not by_resource:
        return "resource_out_of_scope"
    if not any(s.matches_action(action) for s in by_resource):
        return "action_out_of_scope"
    return "ok"
