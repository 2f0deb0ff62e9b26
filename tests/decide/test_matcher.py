"""match() and plan() are pure functions of the finding, the playbooks and the agent."""

from __future__ import annotations

import uuid
from typing import Any

from soar.decide.matcher import match, plan
from soar.decide.spec import PlaybookSpec
from tests.decide.samples import make_finding


def pb(**kw: Any) -> PlaybookSpec:
    """A playbook with defaults."""
    data: dict[str, Any] = {
        "playbook": "t",
        "id": str(uuid.uuid4()),
        "trigger": {"detectors": ["injection"], "min_severity": "high"},
        "steps": [{"id": "q", "action": "agent:quarantine", "with": {"reason": "{{ finding.summary }}!"}}],
    }
    data.update(kw)
    return PlaybookSpec.model_validate(data)


def test_match_trigger_fields() -> None:
    p = pb(
        trigger={
            "detectors": ["injection"],
            "rules": ["indirect_prompt_injection"],
            "min_severity": "high",
            "min_confidence": 0.5,
        }
    )
    assert match(make_finding(), [p]) == [p]
    assert match(make_finding(severity="medium"), [p]) == []
    assert match(make_finding(severity="critical"), [p]) == [p]
    assert match(make_finding(confidence=0.4), [p]) == []
    assert match(make_finding("memory"), [p]) == []
    assert match(make_finding(rule="other"), [p]) == []


def test_match_empty_trigger_matches_any() -> None:
    p = pb(trigger={})
    assert match(make_finding("anything", "rule", severity="info", confidence=0.0), [p]) == [p]


def test_match_where_over_finding_and_agent() -> None:
    p = pb(where="finding.confidence >= 0.6 && agent != null && agent.labels.env == 'prod'")
    prod = {"agent_id": "agent-1", "labels": {"env": "prod"}}
    assert match(make_finding(confidence=0.7), [p], prod) == [p]
    assert match(make_finding(confidence=0.5), [p], prod) == []
    assert match(make_finding(confidence=0.7), [p], None) == []
    assert match(make_finding(confidence=0.7), [p], {"labels": {"env": "dev"}}) == []


def test_match_where_error_does_not_match() -> None:
    p = pb(where="finding.evidence.missing == 1")
    assert match(make_finding(), [p]) == []


def test_match_severity_level_in_where() -> None:
    p = pb(trigger={}, where="finding.severity_level >= 3 && finding.severity == 'high'")
    assert match(make_finding(severity="high"), [p]) == [p]


def test_match_disabled_and_maturity() -> None:
    off, sandbox = pb(enabled=False), pb(maturity="sandbox")
    assert match(make_finding(), [off, sandbox]) == []
    assert match(make_finding(), [off, sandbox], maturities={"stable", "sandbox"}) == [sandbox]


def test_plan_renders_params() -> None:
    p = pb(
        mode="approve",
        steps=[
            {
                "id": "q",
                "action": "agent:quarantine",
                "with": {"reason": "{{ finding.summary }} ({{ finding.confidence }})"},
            },
            {"id": "page", "action": "notify:webhook", "continue_on_error": True},
        ],
    )
    f = make_finding(summary="bad thing", confidence=0.75)
    steps = plan(f, p)
    assert [s.step_id for s in steps] == ["q", "page"]
    assert steps[0].params == {"reason": "bad thing (0.75)"}
    assert steps[0].waits_for_approval and steps[0].containment
    assert not steps[1].waits_for_approval and steps[1].continue_on_error
    assert not steps[0].error


def test_plan_reports_render_error() -> None:
    p = pb(steps=[{"id": "q", "action": "agent:quarantine", "with": {"reason": "{{ finding.nope }}"}}])
    [step] = plan(make_finding(), p)
    assert "nope" in step.error


def test_templates_cannot_reach_python() -> None:
    p = pb(steps=[{"id": "q", "action": "agent:quarantine", "with": {"reason": "{{ finding.__class__ }}"}}])
    [step] = plan(make_finding(), p)
    assert step.error  # plain JSON data only: no attributes, no code
