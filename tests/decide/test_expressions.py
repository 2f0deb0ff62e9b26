"""Templates: one whole hole keeps a list or map; several holes interpolate as text."""

from __future__ import annotations

from soar.decide.expressions import render

CTX = {"finding": {"rule": "secret_leak", "summary": "key in email", "ids": ["a", "b"]}}


def test_whole_hole_keeps_a_list() -> None:
    assert render("{{ finding.ids }}", CTX) == ["a", "b"]


def test_two_holes_that_start_and_end_the_string_interpolate() -> None:
    assert render("{{ finding.rule }}: {{ finding.summary }}", CTX) == "secret_leak: key in email"
    assert render({"text": ["{{ finding.rule }}{{ finding.rule }}"]}, CTX) == {"text": ["secret_leaksecret_leak"]}
