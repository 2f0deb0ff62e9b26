"""Executing a run: steps in order, each persisted before and after, with ``if``, retries, timeouts and approvals.

Each step has an idempotency key (``<run_id>:<step_id>``) and a row in ``act_step_run``. Its state is
committed as ``running`` before the action (counting the attempt) and as ``succeeded`` with the action's own
changes in one transaction after it; a crash in between rolls the action's database changes back and the
resumed run runs the step again (actions are idempotent on the key: the same command ids, the same
delivery key). To save round trips the ``running`` mark rides on the transaction before it when the next
step is known there: the run's creation marks its first step, and a step's success marks the next one
(unless that one is skipped by its ``if`` or waits for approval). A step that needs approval is committed
``waiting`` with its rendered parameters and a durable deadline; the run stops there until
``soar.decide.approvals`` records a decision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.act import ACTIONS, Action
from soar.act.base import ActionContext
from soar.decide.approvals import approval_request, deadline_after
from soar.decide.expressions import ExpressionError, condition, finding_context, render
from soar.decide.matcher import needs_approval
from soar.decide.records import agent_dict, finding_from_record, incident_dict, timeline
from soar.decide.spec import ApprovalSpec, PlaybookSpec, StepSpec
from soar.errors import ActionTimeout
from soar.notify import Notifiers
from soar.store.audit import audit
from soar.store.models import AgentRecord, FindingRecord, IncidentRecord, PlaybookRunRecord, StepRunRecord
from soar.store.retry import is_store_fault
from soar.telemetry.control import ControlCommand
from soar.telemetry.events import utcnow
from soar.telemetry.findings import Finding

log = structlog.get_logger(__name__)

#: ``hook(run_id, step_id, phase)``, phase ``started`` (attempt committed, action not run) or ``committed``
StepHook = Callable[[str, str, str], Awaitable[None] | None]
MAX_BACKOFF_S = 60.0
#: positions of on_failure steps start here so they sort after the main steps
ON_FAILURE_POSITION = 1000


@dataclass(frozen=True)
class RunOutcome:
    """What one run did: ``status`` is completed | failed | denied | waiting | throttled (joined an open run)."""

    playbook: str
    playbook_id: str
    finding_id: str
    run_id: str
    incident_id: str | None
    status: str
    actions: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    contained_at: datetime | None = None
    dry_run: bool = False


class InlineStepFailed(Exception):
    """An inline step failed in the transaction creating its run (``Executor.run_inline``)."""

    def __init__(self, run_id: str, step_id: str, error: str) -> None:
        super().__init__(f"run {run_id}: inline step {step_id} failed: {error}")
        self.run_id, self.step_id, self.error = run_id, step_id, error


@dataclass
class RunState:
    """One run's working state while it executes."""

    rec: PlaybookRunRecord
    pb: PlaybookSpec
    finding: Finding
    agent: dict[str, Any] | None
    incident: dict[str, Any] | None
    dry: bool
    done: dict[str, StepRunRecord]
    taken: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    #: step ids that have a row (so marking them running is an UPDATE, not an INSERT)
    rows: set[str] = field(default_factory=set)
    #: step ids whose next attempt was already committed ``running`` by an earlier transaction
    premarked: set[str] = field(default_factory=set)
    #: step ids that succeeded in the transaction that created the run (``Executor.run_inline``)
    inline_done: set[str] = field(default_factory=set)

    def context(self) -> dict[str, Any]:
        return finding_context(
            self.finding,
            self.agent,
            incident=self.incident,
            steps=self.outputs,
            run={"run_id": self.rec.run_id, "playbook_id": self.rec.playbook_id, "mode": self.rec.mode},
        )

    def record(self, step: StepSpec, status: str, output: dict[str, Any] | None = None, error: str = "") -> None:
        entry: dict[str, Any] = {"step": step.id, "action": step.action, "status": status, "output": output or {}}
        if error:
            entry["error"] = error
        self.taken.append(entry)
        self.outputs[step.id] = {**(output or {}), "status": status}


class Executor:
    """Runs the steps of stored runs; shared by the responder's decide path, ``resume`` and the timer."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        playbooks: Mapping[str, PlaybookSpec],
        publish: Callable[[ControlCommand], Awaitable[None]],
        notifiers: Notifiers,
        *,
        dry_run: bool = False,
        hook: StepHook | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.playbooks = playbooks
        self.publish = publish
        self.notifiers = notifiers
        self.dry_run = dry_run
        self.hook = hook
        self.sleep = sleep

    async def execute(self, run_id: str) -> RunOutcome:
        """Execute (or continue) one run: steps in order; ``on_failure`` steps when it fails."""
        async with self.sessionmaker() as session:
            rec = await session.get(PlaybookRunRecord, run_id)
            if rec is None:
                raise KeyError(f"no run {run_id}")
            frec = await session.get(FindingRecord, rec.finding_id)
            agent = agent_dict(await session.get(AgentRecord, rec.agent_id))
            inc = await session.get(IncidentRecord, rec.incident_id) if rec.incident_id else None
            q = select(StepRunRecord).where(StepRunRecord.run_id == run_id)
            done = {s.step_id: s for s in (await session.execute(q)).scalars()}
        pb = self.playbooks.get(rec.playbook_id)
        if pb is None or frec is None:
            return await self._finish(rec, None, "failed", [], error="playbook no longer loaded or finding missing")
        run = RunState(
            rec, pb, finding_from_record(frec), agent, incident_dict(inc), bool(rec.context.get("dry_run")), done
        )
        run.rows.update(done)
        return await self.run(run)

    def prepare(
        self,
        rec: PlaybookRunRecord,
        pb: PlaybookSpec,
        finding: Finding,
        agent: dict[str, Any] | None,
        incident: dict[str, Any] | None,
    ) -> RunState:
        """A run just created in the caller's transaction, ready for ``premark`` and ``run`` (no reads needed)."""
        return RunState(rec, pb, finding, agent, incident, bool(rec.context.get("dry_run")), {})

    async def premark(self, session: AsyncSession, run: RunState, index: int) -> str | None:
        """In the caller's transaction, commit main step ``index`` as ``running`` if it will be attempted next.

        Returns its step id (add it to ``run.premarked`` once that transaction committed), or None when the
        step does not exist, is already final, is skipped by its ``if`` or needs approval.
        """
        if index >= len(run.pb.steps):
            return None
        step = run.pb.steps[index]
        prior = run.done.get(step.id)
        if prior is not None and prior.status != "running":
            return None
        if step.if_ is not None:
            try:
                if not condition(step.if_, run.context()):
                    return None
            except ExpressionError:
                return None
        if needs_approval(run.pb, step, ACTIONS.get(step.action).containment) and not run.dry:
            return None
        await self._mark_running_in(session, run, step, f"{run.rec.run_id}:{step.id}", index)
        return step.id

    async def run_inline(self, session: AsyncSession, run: RunState, premarked: str | None) -> str | None:
        """In the transaction creating ``run`` (its first step ``premarked`` there), attempt its leading *inline*
        steps (actions whose effects are rows of this database and control commands: revoke, quarantine), so
        that containment commits with the finding and its run: one commit instead of one per step on the way
        to it. Same guarantees as a step's own transaction: the steps' rows, their actions' changes and their
        commands' delivery commit together or not at all, and a replay re-sends the same command ids. A step
        that fails raises ``InlineStepFailed``: the caller rolls the whole transaction back and creates the
        runs again without inline steps, so the step is attempted in its own transaction, where retries and
        failure handling apply (no savepoints: they would cost two statements per step on every run).

        Returns the id of the step left premarked (add it to ``run.premarked`` once the transaction commits;
        ``run`` then reports the inline steps as succeeded, in order).
        """
        autoflush = session.autoflush
        session.autoflush = True  # actions read what they write, as in a step's own session
        try:
            for index, step in enumerate(run.pb.steps):
                action = ACTIONS.get(step.action)()
                if premarked != step.id or not action.inline:
                    break
                try:
                    output, premarked = await self._attempt_in(
                        session, run, step, action, f"{run.rec.run_id}:{step.id}", index
                    )
                except Exception as e:
                    if is_store_fault(e):
                        raise
                    raise InlineStepFailed(run.rec.run_id, step.id, f"{type(e).__name__}: {e}"[:500]) from e
                run.record(step, "succeeded", output)
                run.inline_done.add(step.id)
        finally:
            session.autoflush = autoflush
        return premarked

    async def run(self, run: RunState) -> RunOutcome:
        """Execute ``run``'s steps from where it stands."""
        pb = run.pb
        rec = run.rec
        status = "completed"
        for position, step in enumerate(pb.steps):
            result = await self._step(run, step, position)
            if result == "waiting":
                status = "waiting"
                break
            if result in ("failed", "denied") and not step.continue_on_error:
                status = result
                break
        if status == "failed":
            for i, step in enumerate(pb.on_failure):
                await self._step(run, step, ON_FAILURE_POSITION + i)
        return await self._finish(rec, pb, status, run.taken, dry=run.dry)

    # ------------------------------------------------------------------ steps

    async def _step(self, run: RunState, step: StepSpec, position: int) -> str:
        """Run one step; returns succeeded | skipped | failed | denied | waiting."""
        if step.id in run.inline_done:  # committed with the run's creation (``run_inline``)
            await self._call_hook(run.rec.run_id, step.id, "committed")
            return "succeeded"
        action = ACTIONS.get(step.action)()
        key = f"{run.rec.run_id}:{step.id}"
        prior = run.done.get(step.id)
        if prior is not None and prior.status in ("succeeded", "skipped", "failed", "denied"):
            run.record(step, prior.status, prior.output, prior.error)
            return prior.status
        ctx = run.context()
        if step.if_ is not None:
            try:
                go = condition(step.if_, ctx)
            except ExpressionError as e:
                await self._final(run, step, action, key, position, "failed", {}, f"if: {e}")
                return "failed"
            if not go:
                await self._final(run, step, action, key, position, "skipped", {"skipped": f"if {step.if_}"})
                return "skipped"
        if needs_approval(run.pb, step, action.containment) and not run.dry:
            decision = prior.decision if prior is not None else ""
            if decision == "denied":
                run.record(step, "denied", prior.output if prior else {})
                return "denied"
            if decision != "approved":
                if prior is None or prior.status != "waiting":
                    await self._wait(run, step, action, key, position, ctx)
                run.record(step, "waiting")
                return "waiting"
        return await self._attempts(run, step, action, key, position, prior)

    async def _attempts(
        self, run: RunState, step: StepSpec, action: Action, key: str, position: int, prior: StepRunRecord | None
    ) -> str:
        attempts = prior.attempts if prior is not None else 0
        first = attempts + 1
        last_error = ""
        for attempt in range(first, first + step.retries + 1):
            if attempt > first:
                await self.sleep(min(step.backoff_s * 2 ** (attempt - first - 1), MAX_BACKOFF_S))
            if step.id in run.premarked:
                run.premarked.discard(step.id)
            else:
                await self._mark_running(run, step, key, position)
            await self._call_hook(run.rec.run_id, step.id, "started")
            try:
                output = await self._attempt(run, step, action, key, position)
            except Exception as e:  # the action's changes rolled back; record the failure on its own
                if is_store_fault(e):
                    raise  # the database is down, not the action: the caller retries the batch; not an attempt
                last_error = f"{type(e).__name__}: {e}"[:2000]
                log.warning("step failed", run_id=run.rec.run_id, step=step.id, attempt=attempt, error=last_error)
                if attempt < first + step.retries:
                    await self._retrying(run, step, key, attempt, last_error)
                    continue
                await self._final(run, step, action, key, position, "failed", {}, last_error)
                return "failed"
            run.record(step, "succeeded", output)
            await self._call_hook(run.rec.run_id, step.id, "committed")
            return "succeeded"
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, run: RunState, step: StepSpec, action: Action, key: str, position: int) -> dict[str, Any]:
        async with self.sessionmaker() as session, session.begin():
            output, premarked = await self._attempt_in(session, run, step, action, key, position)
        if premarked is not None:
            run.premarked.add(premarked)
        return output

    async def _attempt_in(
        self, session: AsyncSession, run: RunState, step: StepSpec, action: Action, key: str, position: int
    ) -> tuple[dict[str, Any], str | None]:
        """One attempt in ``session``'s transaction: the action, its timeline and audit lines, the step recorded
        as succeeded and the next step marked ``running``; returns (output, the id of the step premarked)."""
        premarked: str | None = None
        async with _Sends(self.publish) as sends:
            ctx = ActionContext(
                session=session,
                finding=run.finding,
                agent_id=run.finding.agent_id,
                incident_id=run.rec.incident_id,
                run_id=run.rec.run_id,
                playbook_id=str(run.pb.id),
                step_id=step.id,
                idempotency_key=key,
                publish=sends.start,
                notifiers=self.notifiers,
                dry_run=run.dry,
                agent=run.agent,
                actions_taken=list(run.taken),
            )
            try:
                params = render(step.with_, run.context())
            except ExpressionError:
                if not run.dry:
                    raise
                params = dict(step.with_)  # a dry run has no real outputs of earlier steps to fill in
            try:
                output = await asyncio.wait_for(action.execute(ctx, params), step.timeout_s)
            except TimeoutError as e:
                raise ActionTimeout(f"{step.action} did not finish within {step.timeout_s}s") from e
            kind = "notification" if action.category == "notify" else "step"
            verb = "would run" if run.dry else ("did nothing: already done" if output.get("already") else "succeeded")
            summary = f"{step.id} ({action.name}) {verb}"
            await timeline(session, run.rec.incident_id, kind, summary, {"run_id": run.rec.run_id, **output})
            await audit(
                session,
                f"playbook:{run.pb.id}",
                "step.succeeded",
                f"step:{key}",
                {"action": action.name, "output": output},
            )
            if position < ON_FAILURE_POSITION:
                run.outputs[step.id] = {**output, "status": "succeeded"}  # what the next step's ``if`` sees
                premarked = await self.premark(session, run, position + 1)
            if sends:  # write what does not depend on delivery while the commands travel, then wait for them
                await session.flush()
                await sends.delivered(step.timeout_s, step.action)
            # the step is recorded as succeeded only once its commands are delivered (and commits with them)
            await session.execute(
                update(StepRunRecord)
                .where(StepRunRecord.idempotency_key == key)
                .values(status="succeeded", output=output, error="", finished_at=utcnow(), params=params)
                .execution_options(synchronize_session=False)
            )
        return output, premarked

    async def _row(
        self, session: AsyncSession, run: RunState, step: StepSpec, key: str, position: int
    ) -> StepRunRecord:
        rec = await session.get(StepRunRecord, key)
        if rec is None:
            rec = StepRunRecord(
                idempotency_key=key,
                run_id=run.rec.run_id,
                step_id=step.id,
                position=position,
                action=step.action,
                attempts=0,
            )
            session.add(rec)
        run.rows.add(step.id)
        return rec

    async def _mark_running(self, run: RunState, step: StepSpec, key: str, position: int) -> None:
        async with self.sessionmaker() as session, session.begin():
            await self._mark_running_in(session, run, step, key, position)

    async def _mark_running_in(
        self, session: AsyncSession, run: RunState, step: StepSpec, key: str, position: int
    ) -> None:
        """Count an attempt and mark the step ``running`` in ``session``'s transaction (one statement)."""
        now = utcnow()
        attempt: int | None = None
        if step.id in run.rows:
            res = await session.execute(
                update(StepRunRecord)
                .where(StepRunRecord.idempotency_key == key)
                .values(status="running", attempts=StepRunRecord.attempts + 1, started_at=now)
                .returning(StepRunRecord.attempts)
                .execution_options(synchronize_session=False)
            )
            attempt = res.scalar()
        if attempt is None:  # no row yet (or one whose transaction rolled back)
            attempt = 1
            session.add(
                StepRunRecord(
                    idempotency_key=key,
                    run_id=run.rec.run_id,
                    step_id=step.id,
                    position=position,
                    action=step.action,
                    status="running",
                    attempts=attempt,
                    started_at=now,
                )
            )
            run.rows.add(step.id)
        await audit(
            session, f"playbook:{run.pb.id}", "step.running", f"step:{key}", {"action": step.action, "attempt": attempt}
        )

    async def _retrying(self, run: RunState, step: StepSpec, key: str, attempt: int, error: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            rec = await session.get(StepRunRecord, key)
            assert rec is not None
            rec.error = error
            await timeline(
                session,
                run.rec.incident_id,
                "step",
                f"{step.id} ({step.action}) attempt {attempt} failed, retrying: {error}",
                {"run_id": run.rec.run_id},
            )
            await session.flush()
            await audit(
                session,
                f"playbook:{run.pb.id}",
                "step.retrying",
                f"step:{key}",
                {"action": step.action, "attempt": attempt, "error": error},
            )

    async def _final(
        self,
        run: RunState,
        step: StepSpec,
        action: Action,
        key: str,
        position: int,
        status: str,
        output: dict[str, Any],
        error: str = "",
    ) -> None:
        async with self.sessionmaker() as session, session.begin():
            rec = await self._row(session, run, step, key, position)
            rec.status, rec.output, rec.error, rec.finished_at = status, output, error, utcnow()
            text = f"{step.id} ({action.name}) {status}" + (f": {error}" if error else "")
            await timeline(session, run.rec.incident_id, "step", text, {"run_id": run.rec.run_id})
            await session.flush()
            data: dict[str, Any] = {"action": action.name}
            if error:
                data["error"] = error
            await audit(session, f"playbook:{run.pb.id}", f"step.{status}", f"step:{key}", data)
        run.record(step, status, output, error)

    async def _wait(
        self, run: RunState, step: StepSpec, action: Action, key: str, position: int, ctx: dict[str, Any]
    ) -> None:
        spec = step.approval or ApprovalSpec()
        try:
            params: dict[str, Any] = render(step.with_, ctx)
        except ExpressionError:
            params = dict(step.with_)
        async with self.sessionmaker() as session, session.begin():
            rec = await self._row(session, run, step, key, position)
            rec.status = "waiting"
            rec.params = params
            rec.output = approval_request(params, spec.roles, spec.timeout_s, spec.on_timeout)
            rec.approval_deadline = deadline_after(spec.timeout_s)
            run_rec = await session.get(PlaybookRunRecord, run.rec.run_id)
            assert run_rec is not None
            run_rec.status = "waiting"
            await timeline(
                session,
                run.rec.incident_id,
                "approval",
                f"{step.id} ({action.name}) waits for approval"
                + (f" by {', '.join(spec.roles)}" if spec.roles else "")
                + f" until {rec.approval_deadline.isoformat()} (then {spec.on_timeout})",
                {"run_id": run.rec.run_id, "step_id": step.id, "params": params},
            )
            await session.flush()
            await audit(
                session,
                f"playbook:{run.pb.id}",
                "step.waiting",
                f"step:{key}",
                {"action": action.name, "params": params, "deadline": rec.approval_deadline.isoformat()},
            )

    async def _call_hook(self, run_id: str, step_id: str, phase: str) -> None:
        if self.hook is not None:
            res = self.hook(run_id, step_id, phase)
            if res is not None:
                await res

    # -------------------------------------------------------------------- end

    async def _finish(
        self,
        run: PlaybookRunRecord,
        pb: PlaybookSpec | None,
        status: str,
        taken: list[dict[str, Any]],
        *,
        dry: bool = False,
        error: str = "",
    ) -> RunOutcome:
        contained_at: datetime | None = None
        async with self.sessionmaker() as session, session.begin():
            values: dict[str, Any] = {"status": status}
            if status != "waiting":
                values["finished_at"] = utcnow()
            if error:
                rec = await session.get(PlaybookRunRecord, run.run_id)
                values["context"] = {**(rec.context if rec is not None else run.context), "error": error}
            await session.execute(
                update(PlaybookRunRecord)
                .where(PlaybookRunRecord.run_id == run.run_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if run.incident_id and pb is not None and not dry and _contained(pb.steps, taken):
                now = utcnow()
                res = await session.execute(
                    update(IncidentRecord)
                    .where(IncidentRecord.incident_id == run.incident_id, IncidentRecord.status == "open")
                    .values(status="contained", contained_at=now)
                    .execution_options(synchronize_session=False)
                )
                if res.rowcount:  # type: ignore[attr-defined]
                    contained_at = now
                    await timeline(session, run.incident_id, "status", "contained", {"run_id": run.run_id})
                    await audit(
                        session,
                        f"playbook:{run.playbook_id}",
                        "incident.contained",
                        f"incident:{run.incident_id}",
                        {"run_id": run.run_id},
                    )
                else:  # contained before (another run) or no longer open: report when it was contained
                    q = select(IncidentRecord.contained_at).where(IncidentRecord.incident_id == run.incident_id)
                    contained_at = (await session.execute(q)).scalar()
            await timeline(
                session, run.incident_id, "status", f"playbook '{run.playbook_name}' {status}", {"run_id": run.run_id}
            )
            await session.flush()
            await audit(
                session,
                f"playbook:{run.playbook_id}",
                f"run.{status}",
                f"run:{run.run_id}",
                {"error": error} if error else {},
            )
        return RunOutcome(
            playbook=run.playbook_name,
            playbook_id=run.playbook_id,
            finding_id=run.finding_id,
            run_id=run.run_id,
            incident_id=run.incident_id,
            status=status,
            actions=[t["action"] for t in taken if t["status"] == "succeeded"],
            steps=taken,
            contained_at=contained_at,
            dry_run=dry,
        )


class _Sends:
    """The control commands one step attempt publishes: started at once, in order; waited for before it commits.

    An action's ``ctx.publish`` returns as soon as the send has started, so the broker's acknowledgement
    overlaps the step's remaining statements. ``delivered()`` waits for every send before the step is
    recorded as succeeded, so a command is still never committed as sent without having been delivered: a
    failed send fails the attempt and rolls its transaction back, as an awaited publish did. Leaving the
    block early (the action failed) cancels sends still in flight; the retried step re-sends the same ids.
    """

    def __init__(self, publish: Callable[[ControlCommand], Awaitable[None]]) -> None:
        self._publish = publish
        self._tasks: list[asyncio.Task[None]] = []

    def __bool__(self) -> bool:
        return bool(self._tasks)

    async def start(self, cmd: ControlCommand) -> None:
        """Start publishing ``cmd`` after the sends before it (an agent gets one step's commands in order)."""
        prev = self._tasks[-1] if self._tasks else None
        self._tasks.append(asyncio.ensure_future(self._send(prev, cmd)))

    async def _send(self, prev: asyncio.Task[None] | None, cmd: ControlCommand) -> None:
        if prev is not None:
            await prev
        await self._publish(cmd)

    async def delivered(self, timeout_s: float, action: str) -> None:
        """Wait for every send (raises the first failure, or ActionTimeout after ``timeout_s``)."""
        try:
            await asyncio.wait_for(asyncio.gather(*self._tasks), timeout_s)
        except TimeoutError as e:
            raise ActionTimeout(f"{action}: its commands were not delivered within {timeout_s}s") from e

    async def __aenter__(self) -> _Sends:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            if not task.done():
                task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _contained(steps: Sequence[StepSpec], taken: list[dict[str, Any]]) -> bool:
    """Every containment step that was not skipped by its ``if`` succeeded, and at least one did."""
    status = {t["step"]: t["status"] for t in taken}
    wanted = [s.id for s in steps if ACTIONS.get(s.action).containment and status.get(s.id) != "skipped"]
    return bool(wanted) and all(status.get(s) == "succeeded" for s in wanted)
