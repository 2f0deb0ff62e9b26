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
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.decide.records import timeline
from soar.errors import SoarError
from soar.store.audit import audit
from soar.store.models import PlaybookRunRecord, StepRunRecord
from soar.telemetry.events import utcnow

Decision = Literal["approved", "denied"]
TIMEOUT_ACTOR = "system:approval-timeout"


class ApprovalError(SoarError):
    """The step cannot be decided: unknown, not waiting, or the operator lacks the role."""

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason  # not_found | not_waiting | forbidden
        super().__init__(message)


@dataclass(frozen=True)
class ApprovalOutcome:
    """What a decision did."""

    run_id: str
    step_id: str
    decision: str
    decided_by: str
    incident_id: str | None


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
) -> ApprovalOutcome:
    """Record ``actor``'s decision on a waiting step (audit log + incident timeline); the responder resumes the run.

    ``roles``: the deciding operator's roles; ``admin`` may decide anything, others need one of the step's roles.
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
        await _record(session, run, step, decision, actor, comment)
    return ApprovalOutcome(run_id, step_id, decision, actor, run.incident_id)


async def _record(
    session: AsyncSession, run: PlaybookRunRecord, step: StepRunRecord, decision: str, actor: str, comment: str
) -> None:
    step.decision, step.decided_by, step.decided_at = decision, actor, utcnow()
    step.status = decision
    verb = "approved" if decision == "approved" else "denied"
    await timeline(
        session,
        run.incident_id,
        "approval",
        f"{step.step_id} ({step.action}) {verb} by {actor}" + (f": {comment}" if comment else ""),
        {"run_id": run.run_id, "step_id": step.step_id, "decision": decision, "by": actor, "comment": comment},
    )
    await session.flush()
    await audit(
        session,
        actor,
        f"step.{decision}",
        f"step:{step.idempotency_key}",
        {"run_id": run.run_id, "action": step.action, "incident_id": run.incident_id, "comment": comment},
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
            await _record(session, run, step, decision, TIMEOUT_ACTOR, "approval timed out")
        runs.append(run_id)
    return runs
