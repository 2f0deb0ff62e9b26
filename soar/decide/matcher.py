"""Pure matching: which playbooks a finding fires (trigger + where), and the steps a run would take."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from soar.act import ACTIONS
from soar.decide.approvals import approvers_required
from soar.decide.expressions import ExpressionError, condition, finding_context, render, step_references
from soar.decide.spec import AgentSelectorSpec, PlaybookSpec, StepSpec, TriggerSpec
from soar.telemetry.findings import Finding

log = logging.getLogger(__name__)

#: only stable content runs by default (falcosecurity/rules convention)
DEFAULT_MATURITIES: frozenset[str] = frozenset({"stable"})


class PlannedStep(BaseModel):
    """One step as a run would execute it: rendered params and whether it waits for approval."""

    model_config = ConfigDict(frozen=True)

    step_id: str
    action: str
    params: dict[str, Any]
    continue_on_error: bool
    containment: bool
    waits_for_approval: bool
    dry_run: bool
    condition: str | None = None
    runs: bool | None = None
    on_failure: bool = False
    error: str = ""


def selects(selector: AgentSelectorSpec | None, finding: Finding, agent: dict[str, Any] | None) -> bool:
    """Does the agent selector hold for the finding's agent (labels and tier need a known agent)?"""
    if selector is None:
        return True
    if selector.ids and finding.agent_id not in selector.ids:
        return False
    labels: dict[str, Any] = (agent or {}).get("labels") or {}
    if any(str(labels.get(k)) != v for k, v in selector.labels.items()):
        return False
    return not selector.tier or str(labels.get("tier", "")) in selector.tier


def triggers(trigger: TriggerSpec, finding: Finding, agent: dict[str, Any] | None = None) -> bool:
    """Does the finding pass the trigger (detector, rule, severity, confidence, tags, agent selector)?"""
    return (
        (not trigger.detectors or finding.detector in trigger.detectors)
        and (not trigger.rules or finding.rule in trigger.rules)
        and finding.severity >= trigger.min_severity
        and finding.confidence >= trigger.min_confidence
        and (not trigger.tags or bool(set(trigger.tags) & set(finding.tags)))
        and selects(trigger.agents, finding, agent)
    )


def needs_approval(playbook: PlaybookSpec, step: StepSpec, containment: bool) -> bool:
    """A step waits for a human when it declares ``approval``, the playbook is in ``approve`` mode, or the tier
    wants several approvers for its action (agent:release at Optimized, see ``soar.decide.approvals``)."""
    return (
        step.approval is not None or (playbook.mode == "approve" and containment) or approvers_required(step.action) > 1
    )


def match(
    finding: Finding,
    playbooks: Sequence[PlaybookSpec],
    agent: dict[str, Any] | None = None,
    *,
    maturities: Collection[str] = DEFAULT_MATURITIES,
) -> list[PlaybookSpec]:
    """The enabled playbooks of an allowed maturity whose trigger and ``where`` hold for ``finding``.

    A ``where`` that fails to evaluate (a missing field, a type error) does not match; it is logged.
    """
    out: list[PlaybookSpec] = []
    ctx: dict[str, Any] | None = None
    for pb in playbooks:
        if not pb.enabled or pb.maturity not in maturities or not triggers(pb.trigger, finding, agent):
            continue
        if pb.where is not None:
            ctx = ctx or finding_context(finding, agent)
            try:
                if not condition(pb.where, ctx):
                    continue
            except ExpressionError as e:
                log.warning("playbook %s (%s): where failed: %s", pb.id, pb.source, e)
                continue
        out.append(pb)
    return out


def plan(
    finding: Finding, playbook: PlaybookSpec, agent: dict[str, Any] | None = None, *, dry_run: bool = False
) -> list[PlannedStep]:
    """The steps a run of ``playbook`` for ``finding`` would take, params rendered (for ``soar replay``).

    References to earlier step outputs (``steps.<id>``) cannot be known before a run: such parameters are
    shown unrendered, and an ``if`` over them is reported as undecided (``runs`` is None).
    """
    ctx = finding_context(finding, agent)
    steps: list[PlannedStep] = []
    for on_failure, step in [(False, s) for s in playbook.steps] + [(True, s) for s in playbook.on_failure]:
        action = ACTIONS.get(step.action)
        error = ""
        runs: bool | None = True
        if step.if_ is not None:
            try:
                runs = condition(step.if_, ctx)
            except ExpressionError:
                runs = None
        try:
            params = render(step.with_, ctx)
            action.check_params(params)
        except (ExpressionError, ValueError) as e:
            params = dict(step.with_)
            if not isinstance(e, ExpressionError) or not _refers_to_steps(step.with_):
                error = str(e)
        steps.append(
            PlannedStep(
                step_id=step.id,
                action=step.action,
                params=params,
                continue_on_error=step.continue_on_error,
                containment=action.containment,
                waits_for_approval=needs_approval(playbook, step, action.containment),
                dry_run=dry_run or playbook.mode == "dry-run",
                condition=step.if_,
                runs=runs,
                on_failure=on_failure,
                error=error,
            )
        )
    return steps


def _refers_to_steps(value: Any) -> bool:
    return bool(step_references(value))
