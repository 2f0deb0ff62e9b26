"""Scope globs and the tool allow-list check."""

from __future__ import annotations

import pytest

from soar.identity.scopes import Scope, scope_decision, tool_allowed


@pytest.mark.parametrize(
    ("requested", "allowed", "ok"),
    [
        ("search", ["search"], True),
        ("search", ["se*"], True),
        ("search", ["email"], False),
        ("*", ["search"], False),
        ("*", ["*"], True),
        ("search*", ["search*"], True),
        ("search.web*", ["search*"], True),
        ("s*", ["search*"], False),
        ("a*c", ["a?c"], False),  # a*c also matches abbc, which a?c does not
        ("db.read", [], False),
    ],
)
def test_tool_allowed_is_sound(requested: str, allowed: list[str], ok: bool) -> None:
    assert tool_allowed(requested, allowed) is ok


def test_scope_decision_names_the_first_mismatch() -> None:
    scopes = [Scope(tool="db.*", resources=["orders/*"], actions=["read"])]
    assert scope_decision(scopes, "db.sql", "orders/42", "read") == "ok"
    assert scope_decision(scopes, "shell", "orders/42", "read") == "tool_out_of_scope"
    assert scope_decision(scopes, "db.sql", "users/1", "read") == "resource_out_of_scope"
    assert scope_decision(scopes, "db.sql", "orders/42", "write") == "action_out_of_scope"
    assert scope_decision(scopes, "DB.sql", "orders/42", "read") == "tool_out_of_scope"  # case-sensitive


def test_scope_rejects_empty_lists_and_extra_keys() -> None:
    with pytest.raises(ValueError, match="at least 1 item"):
        Scope(tool="x", resources=[], actions=["read"])
    with pytest.raises(ValueError, match="Extra inputs"):
        Scope.model_validate({"tool": "x", "resources": ["*"], "actions": ["*"], "admin": True})
