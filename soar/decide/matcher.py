"""Pure matching: which playbooks a finding fires (trigger + where), and the steps a run would take."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from soar.act import ACTIONS
from soar.decide.expressions import ExpressionError, condition, finding_context, render
from soar.decide.spec import PlaybookSpec, TriggerSpec
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
    error: str = ""


def triggers(trigger: TriggerSpec, finding: Finding) -> bool:
    """Does the finding pass the trigger (detector, rule, severity, confidence)?"""
    return (
        (not trigger.detectors or finding.detector in trigger.detectors)
        and (not trigger.rules or finding.rule in trigger.rules)
        and finding.severity >= trigger.min_severity
        and finding.confidence >= trigger.min_confidence
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
        if not pb.enabled or pb.maturity not in maturities or not triggers(pb.trigger, finding):
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
    """The steps a run of ``playbook`` for ``finding`` would take, params rendered (for ``soar replay``)."""
    ctx = finding_context(finding, agent)
    steps: list[PlannedStep] = []
    for step in playbook.steps:
        action = ACTIONS.get(step.action)
        error = ""
        try:
            params = render(step.with_, ctx)
            action.check_params(params)
        except (ExpressionError, ValueError) as e:
            params, error = dict(step.with_), str(e)
        steps.append(
            PlannedStep(
                step_id=step.id,
                action=step.action,
                params=params,
                continue_on_error=step.continue_on_error,
                containment=action.containment,
                waits_for_approval=playbook.mode == "approve" and action.containment,
                dry_run=dry_run or playbook.mode == "dry-run",
                error=error,
            )
        )
    return steps
