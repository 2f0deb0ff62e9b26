"""Approvals: a human (CLI or API) approves or denies a waiting step; deadlines turn silence into a decision.

The decision is only *recorded* here, in the step's row, with the audit entry and a timeline line. The
responder owns execution: its timer (``Responder.tick``) picks up decided steps and continues their runs,
so a command is only ever published by the responder, and a decision taken while it is down is acted on
when it restarts.

Why a deadline column and not an APScheduler job: the deadline is written in the same transaction that
makes the step ``waiting``, so there is no moment where a step waits without a timer (or a timer fires for
a step that never waited), which two stores (run table + job store) cannot guarantee; it works the same on
SQLite and PostgreSQL through the async driver; and the conditional ``UPDATE ... WHERE status = 'waiting'``
lets any number of responders race on it with exactly one winner.

Two-person rule: at the Optimized tier a step of ``agent:release`` (``TWO_PERSON_ACTIONS``) waits for approval
even without an ``approval:`` block and needs approvals from ``approvers_required`` (2) distinct operators. The
first approval is recorded in the step's ``output.approval.approved_by`` (audit ``step.approval_recorded``) and
the step keeps waiting; the same operator approving again is refused; one deny by anyone denies; a deadline
denies (``on_timeout: approve`` would let silence stand in for the second person). The executor asks
``needs_approval`` (``soar.decide.matcher``), which asks ``approvers_required``; nothing else changes there.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.config import Tier, get_settings
from soar.decide.records import timeline
from soar.errors import SoarError
from soar.store.audit import audit
from soar.store.models import PlaybookRunRecord, StepRunRecord
from soar.telemetry.events import utcnow

Decision = Literal["approved", "denied"]
TIMEOUT_ACTOR = "system:approval-timeout"
#: actions that need two distinct approvers at the Optimized tier
TWO_PERSON_ACTIONS = frozenset({"agent:release"})


class ApprovalError(SoarError):
    """The step cannot be decided: unknown, not waiting, or the operator lacks the role."""

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason  # not_found | not_waiting | forbidden | already_approved
        super().__init__(message)


@dataclass(frozen=True)
class ApprovalOutcome:
    """What a decision did."""

    run_id: str
    step_id: str
    #: approved | denied | pending (an approval was recorded; more distinct approvers are needed)
    decision: str
    decided_by: str
    incident_id: str | None
    approved_by: tuple[str, ...] = ()
    approvers_required: int = 1


def approvers_required(action: str, tier: Tier | str | None = None) -> int:
    """How many distinct operators must approve a step of ``action``: 2 for agent:release at Optimized, else 1.

    ``tier`` defaults to the process settings (``SOAR_TIER``).
    """
    level = Tier(tier) if tier else get_settings().tier
    return 2 if action in TWO_PERSON_ACTIONS and level == Tier.OPTIMIZED else 1


def step_key(run_id: str, step_id: str) -> str:
    """A step's idempotency key (its primary key)."""
    return f"{run_id}:{step_id}"


def approval_request(params: dict[str, Any], roles: list[str], timeout_s: float, on_timeout: str) -> dict[str, Any]:
    """What a waiting step stores as output: the rendered parameters and the approval terms."""
    return {"approval": {"roles": roles, "timeout_s": timeout_s, "on_timeout": on_timeout}, "params": params}


def deadline_after(timeout_s: float) -> Any:
    """The durable deadline for a step that starts waiting now."""
    return utcnow() + timedelta(seconds=timeout_s)


async def decide_step(
    sessionmaker: async_sessionmaker[AsyncSession],
    run_id: str,
    step_id: str,
    decision: Decision,
    actor: str,
    roles: Collection[str] = frozenset({"admin"}),
    comment: str = "",
    tier: Tier | str | None = None,
) -> ApprovalOutcome:
    """Record ``actor``'s decision on a waiting step (audit log + incident timeline); the responder resumes the run.

    ``roles``: the deciding operator's roles; ``admin`` may decide anything, others need one of the step's roles.
    A step that needs more than one approver (``approvers_required`` at ``tier``) stays waiting until enough
    distinct operators approved; the outcome's decision is then ``pending``.
    """
    async with sessionmaker() as session, session.begin():
        step = await session.get(StepRunRecord, step_key(run_id, step_id), with_for_update=True)
        run = await session.get(PlaybookRunRecord, run_id)
        if step is None or run is None:
            raise ApprovalError(f"no step {step_id!r} in run {run_id}", reason="not_found")
        if step.status != "waiting" or step.decision:
            raise ApprovalError(
                f"step {step_id!r} of run {run_id} is {step.decision or step.status}, not waiting", reason="not_waiting"
            )
        wanted = list((step.output or {}).get("approval", {}).get("roles") or [])
        if wanted and "admin" not in roles and not set(wanted) & set(roles):
            raise ApprovalError(f"deciding {step_id!r} needs one of the roles {wanted}", reason="forbidden")
        needed = approvers_required(step.action, tier)
        if decision == "denied" or needed == 1:
            await _record(session, run, step, decision, actor, comment)
            done = (actor,) if decision == "approved" else ()
            return ApprovalOutcome(run_id, step_id, decision, actor, run.incident_id, done, needed)
        votes = (*_approvals(step), actor)
        if actor in votes[:-1]:
            raise ApprovalError(
                f"{actor} already approved {step_id!r}; it needs {needed} distinct approvers", reason="already_approved"
            )
        _set_approvals(step, votes, needed)
        if len(votes) < needed:
            await _vote(session, run, step, actor, comment, votes, needed)
            return ApprovalOutcome(run_id, step_id, "pending", actor, run.incident_id, votes, needed)
        await _record(session, run, step, "approved", actor, comment, votes)
    return ApprovalOutcome(run_id, step_id, "approved", ",".join(votes), run.incident_id, votes, needed)


def _approvals(step: StepRunRecord) -> list[str]:
    return list(((step.output or {}).get("approval") or {}).get("approved_by") or [])


def _set_approvals(step: StepRunRecord, votes: tuple[str, ...], needed: int) -> None:
    output = dict(step.output or {})
    output["approval"] = {**(output.get("approval") or {}), "approved_by": list(votes), "approvers_required": needed}
    step.output = output  # a new dict: the JSON column sees the change


async def _vote(
    session: AsyncSession,
    run: PlaybookRunRecord,
    step: StepRunRecord,
    actor: str,
    comment: str,
    votes: tuple[str, ...],
    needed: int,
) -> None:
    """Record one approval of a step that needs more; the step keeps waiting."""
    await timeline(
        session,
        run.incident_id,
        "approval",
        f"{step.step_id} ({step.action}) approved by {actor} ({len(votes)} of {needed}; waiting for another operator)"
        + (f": {comment}" if comment else ""),
        {"run_id": run.run_id, "step_id": step.step_id, "by": actor, "approved_by": list(votes), "comment": comment},
    )
    await session.flush()
    await audit(
        session,
        actor,
        "step.approval_recorded",
        f"step:{step.idempotency_key}",
        {"run_id": run.run_id, "action": step.action, "approved_by": list(votes), "needed": needed, "comment": comment},
    )


async def _record(
    session: AsyncSession,
    run: PlaybookRunRecord,
    step: StepRunRecord,
    decision: str,
    actor: str,
    comment: str,
    approved_by: tuple[str, ...] = (),
) -> None:
    """Decide the step; ``approved_by`` lists every approver when more than one was needed (``actor`` is the last)."""
    by = " and ".join(approved_by) if approved_by else actor
    step.decision, step.decided_by, step.decided_at = decision, ",".join(approved_by) or actor, utcnow()
    step.status = decision
    verb = "approved" if decision == "approved" else "denied"
    extra: dict[str, Any] = {"approved_by": list(approved_by)} if approved_by else {}
    await timeline(
        session,
        run.incident_id,
        "approval",
        f"{step.step_id} ({step.action}) {verb} by {by}" + (f": {comment}" if comment else ""),
        {"run_id": run.run_id, "step_id": step.step_id, "decision": decision, "by": actor, "comment": comment, **extra},
    )
    await session.flush()
    await audit(
        session,
        actor,
        f"step.{decision}",
        f"step:{step.idempotency_key}",
        {"run_id": run.run_id, "action": step.action, "incident_id": run.incident_id, "comment": comment, **extra},
    )


async def expire_overdue(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    """Decide every waiting step past its deadline as its ``approval.on_timeout`` says (stored with the step).

    Returns the run ids that got a decision. Safe to call from several responders at once.
    """
    now = utcnow()
    async with sessionmaker() as session:
        q = select(StepRunRecord.idempotency_key, StepRunRecord.run_id).where(
            StepRunRecord.status == "waiting", StepRunRecord.approval_deadline <= now
        )
        overdue = list((await session.execute(q)).all())
    runs: list[str] = []
    for key, run_id in overdue:
        async with sessionmaker() as session, session.begin():
            claimed = await session.execute(
                update(StepRunRecord)
                .where(StepRunRecord.idempotency_key == key, StepRunRecord.status == "waiting")
                .values(status="timing_out")
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                continue  # decided meanwhile (by a human or another responder)
            step = await session.get(StepRunRecord, key)
            run = await session.get(PlaybookRunRecord, run_id)
            assert step is not None and run is not None
            terms = (step.output or {}).get("approval") or {}
            decision = "approved" if terms.get("on_timeout") == "approve" else "denied"
            if approvers_required(step.action) > 1:
                decision = "denied"  # silence never stands in for the second approver
            await _record(session, run, step, decision, TIMEOUT_ACTOR, "approval timed out")
        runs.append(run_id)
    return runs
