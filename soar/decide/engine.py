"""The responder: store findings, group them into incidents, start durable runs and execute their steps.

Durability: a run is unique per (playbook, finding) and its id is derived from both, so a replayed finding
starts nothing. Each step's state is committed as ``running`` before its action and as ``succeeded`` or
``failed`` (with the action's own changes, in one transaction) after it; ``resume()`` re-enters runs left
``running`` and skips the steps that already succeeded. Every state change is audited in its transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.act import ACTIONS
from soar.act.base import ActionContext
from soar.decide.expressions import finding_context, render
from soar.decide.matcher import DEFAULT_MATURITIES, match
from soar.decide.spec import PlaybookSpec
from soar.notify import Notifiers
from soar.store.audit import audit
from soar.store.models import (
    AgentRecord,
    FindingRecord,
    IncidentEventRecord,
    IncidentRecord,
    PlaybookRunRecord,
    StepRunRecord,
)
from soar.telemetry.control import ControlCommand
from soar.telemetry.events import utcnow
from soar.telemetry.findings import Finding, Severity

log = structlog.get_logger(__name__)

_RUN_NS = uuid.UUID("9d1f6c2e-7b3a-4f5d-8e0c-1a2b3c4d5e6f")
#: findings of one agent this close to an open incident's first event join it (when no throttle says otherwise)
DEFAULT_INCIDENT_WINDOW_S = 300.0
SYSTEM = "system:responder"


def run_id_for(playbook_id: uuid.UUID | str, finding_id: uuid.UUID | str) -> str:
    """Deterministic run id: one run per (playbook, finding), even across racing workers."""
    return str(uuid.uuid5(_RUN_NS, f"{playbook_id}|{finding_id}"))


def finding_time(finding: Finding) -> datetime:
    """When the finding's triggering event happened (its own ts when unknown)."""
    return finding.observed_at or finding.ts


def throttle_key(playbook: PlaybookSpec, finding: Finding) -> str:
    """The key findings are throttled on (empty: no throttle)."""
    if playbook.throttle is None:
        return ""
    key = playbook.throttle.key
    if key == "agent":
        return finding.agent_id
    if key == "task":
        return f"{finding.agent_id}|{finding.task_id}"
    if key == "rule":
        return f"{finding.agent_id}|{finding.detector}/{finding.rule}"
    if key == "detector":
        return f"{finding.agent_id}|{finding.detector}"
    return str(finding.finding_id)


@dataclass(frozen=True)
class RunOutcome:
    """What one run did: ``status`` is completed | failed | waiting | throttled (joined an open run)."""

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


def _finding_record(f: Finding) -> FindingRecord:
    return FindingRecord(
        finding_id=str(f.finding_id),
        detector=f.detector,
        rule=f.rule,
        agent_id=f.agent_id,
        task_id=f.task_id,
        severity=f.severity.label,
        confidence=f.confidence,
        summary=f.summary,
        evidence=f.model_dump(mode="json")["evidence"],
        tags=list(f.tags),
        event_ids=[str(e) for e in f.event_ids],
        ts=f.ts,
        observed_at=f.observed_at,
    )


def finding_from_record(rec: FindingRecord) -> Finding:
    """Rebuild the ``Finding`` a record was stored from."""
    return Finding(
        finding_id=uuid.UUID(rec.finding_id),
        detector=rec.detector,
        rule=rec.rule,
        agent_id=rec.agent_id,
        task_id=rec.task_id,
        event_ids=[uuid.UUID(e) for e in rec.event_ids],
        severity=Severity.parse(rec.severity),
        confidence=rec.confidence,
        summary=rec.summary,
        evidence=rec.evidence,
        tags=rec.tags,
        ts=rec.ts,
        observed_at=rec.observed_at,
    )


def agent_dict(rec: AgentRecord | None) -> dict[str, Any] | None:
    """The agent as conditions and notifications see it."""
    if rec is None:
        return None
    return {
        "agent_id": rec.agent_id,
        "owner": rec.owner,
        "labels": rec.labels,
        "tools": rec.tools,
        "status": rec.status,
        "status_reason": rec.status_reason,
    }


async def timeline(
    session: AsyncSession, incident_id: str | None, kind: str, summary: str, data: dict[str, Any] | None = None
) -> None:
    """Append one line to an incident's timeline."""
    if incident_id:
        session.add(IncidentEventRecord(incident_id=incident_id, kind=kind, summary=summary, data=data or {}))


class Responder:
    """Turns findings into containment: decide (match, throttle), record (incidents, runs), act (steps)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        playbooks: Sequence[PlaybookSpec],
        publish: Callable[[ControlCommand], Awaitable[None]],
        notifiers: Notifiers | None = None,
        *,
        dry_run: bool = False,
        maturities: Collection[str] = DEFAULT_MATURITIES,
        incident_window_s: float = DEFAULT_INCIDENT_WINDOW_S,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.playbooks = list(playbooks)
        self.by_id = {str(p.id): p for p in self.playbooks}
        self.publish = publish
        self.notifiers = notifiers or Notifiers()
        self.dry_run = dry_run
        self.maturities = frozenset(maturities)
        self.incident_window_s = incident_window_s
        self._lock = asyncio.Lock()

    # ----------------------------------------------------------------- decide

    async def handle(self, findings: Sequence[Finding]) -> list[RunOutcome]:
        """Store findings, start runs for the playbooks they match and execute them; one failure is not fatal."""
        if not findings:
            return []
        async with self._lock:
            agents = await self._store_findings(findings)
            outcomes: list[RunOutcome] = []
            for f in findings:
                try:
                    outcomes.extend(await self._respond(f, agents.get(f.agent_id)))
                except Exception:  # one bad finding must not stop the others (st2 RulesEngine)
                    log.exception("responding to finding failed", finding_id=str(f.finding_id))
            return outcomes

    async def resume(self) -> list[RunOutcome]:
        """Re-enter every run left ``running`` (a crashed process); succeeded steps are skipped."""
        async with self._lock:
            async with self.sessionmaker() as session:
                q = select(PlaybookRunRecord.run_id).where(PlaybookRunRecord.status == "running")
                run_ids = list((await session.execute(q.order_by(PlaybookRunRecord.started_at))).scalars())
            outcomes = []
            for run_id in run_ids:
                try:
                    outcomes.append(await self.execute(run_id))
                except Exception:
                    log.exception("resuming run failed", run_id=run_id)
            return outcomes

    async def _store_findings(self, findings: Sequence[Finding]) -> dict[str, dict[str, Any] | None]:
        try:
            return await self._store_findings_once(findings)
        except IntegrityError:  # another worker stored one of them first: the re-check now sees it
            return await self._store_findings_once(findings)

    async def _store_findings_once(self, findings: Sequence[Finding]) -> dict[str, dict[str, Any] | None]:
        ids = list(dict.fromkeys(str(f.finding_id) for f in findings))
        agent_ids = list({f.agent_id for f in findings})
        async with self.sessionmaker() as session, session.begin():
            q = select(FindingRecord.finding_id).where(FindingRecord.finding_id.in_(ids))
            seen = set((await session.execute(q)).scalars())
            new = []
            for f in findings:
                if str(f.finding_id) not in seen:
                    seen.add(str(f.finding_id))
                    new.append(_finding_record(f))
            if new:
                session.add_all(new)
                await session.flush()
                await audit(
                    session, SYSTEM, "findings.recorded", "findings", {"finding_ids": [r.finding_id for r in new]}
                )
            rows = await session.execute(select(AgentRecord).where(AgentRecord.agent_id.in_(agent_ids)))
            agents: dict[str, dict[str, Any] | None] = {r.agent_id: agent_dict(r) for r in rows.scalars()}
        return agents

    async def _respond(self, finding: Finding, agent: dict[str, Any] | None) -> list[RunOutcome]:
        matched = match(finding, self.playbooks, agent, maturities=self.maturities)
        if not matched:
            return []
        try:
            started, throttled = await self._start_runs(finding, matched)
        except IntegrityError:  # another worker started the same run first: it owns it
            log.info("run already started elsewhere", finding_id=str(finding.finding_id))
            return []
        outcomes = list(throttled)
        for run_id in started:
            outcomes.append(await self.execute(run_id))
        return outcomes

    async def _start_runs(self, finding: Finding, matched: list[PlaybookSpec]) -> tuple[list[str], list[RunOutcome]]:
        fid = str(finding.finding_id)
        t = finding_time(finding)
        started: list[str] = []
        throttled: list[RunOutcome] = []
        async with self.sessionmaker() as session, session.begin():
            frec = await session.get(FindingRecord, fid)
            assert frec is not None
            for pb in matched:
                run_id = run_id_for(pb.id, fid)
                existing = await session.get(PlaybookRunRecord, run_id)
                if existing is not None:
                    continue  # a replayed finding: its run exists (resume() finishes it if unfinished)
                tkey = throttle_key(pb, finding)
                open_run = await self._open_run(session, pb, tkey, t) if tkey else None
                if open_run is not None:
                    await self._join(
                        session, frec, finding, open_run.incident_id, f"throttled by run {open_run.run_id}"
                    )
                    await audit(
                        session,
                        f"playbook:{pb.id}",
                        "run.throttled",
                        f"run:{open_run.run_id}",
                        {"finding_id": fid, "throttle_key": tkey},
                    )
                    throttled.append(
                        RunOutcome(pb.playbook, str(pb.id), fid, open_run.run_id, open_run.incident_id, "throttled")
                    )
                    continue
                incident_id = await self._incident_for(session, frec, finding, pb)
                dry = self.dry_run or pb.mode == "dry-run"
                session.add(
                    PlaybookRunRecord(
                        run_id=run_id,
                        playbook_id=str(pb.id),
                        playbook_name=pb.playbook,
                        finding_id=fid,
                        agent_id=finding.agent_id,
                        incident_id=incident_id,
                        throttle_key=tkey,
                        mode=pb.mode,
                        status="running",
                        context={"finding_time": t.isoformat(), "dry_run": dry, "version": pb.version},
                    )
                )
                await session.flush()
                await timeline(session, incident_id, "status", f"playbook '{pb.playbook}' started", {"run_id": run_id})
                await audit(
                    session,
                    f"playbook:{pb.id}",
                    "run.started",
                    f"run:{run_id}",
                    {"finding_id": fid, "incident_id": incident_id, "mode": pb.mode, "dry_run": dry},
                )
                started.append(run_id)
        return started, throttled

    async def _open_run(
        self, session: AsyncSession, pb: PlaybookSpec, tkey: str, t: datetime
    ) -> PlaybookRunRecord | None:
        assert pb.throttle is not None
        q = (
            select(PlaybookRunRecord)
            .where(PlaybookRunRecord.playbook_id == str(pb.id), PlaybookRunRecord.throttle_key == tkey)
            .order_by(PlaybookRunRecord.started_at.desc())
            .limit(5)
        )
        window = timedelta(seconds=pb.throttle.window_s)
        for run in (await session.execute(q)).scalars():
            try:
                run_t = datetime.fromisoformat(run.context.get("finding_time", ""))
            except (TypeError, ValueError):
                run_t = run.started_at
            if abs(t - run_t) <= window:
                return run
        return None

    async def _incident_for(
        self, session: AsyncSession, frec: FindingRecord, finding: Finding, pb: PlaybookSpec
    ) -> str:
        if frec.incident_id:
            return frec.incident_id
        t = finding_time(finding)
        window = timedelta(seconds=pb.throttle.window_s if pb.throttle else self.incident_window_s)
        q = (
            select(IncidentRecord)
            .where(
                IncidentRecord.agent_id == finding.agent_id,
                IncidentRecord.status != "resolved",
                IncidentRecord.first_event_at >= t - window,
                IncidentRecord.first_event_at <= t + window,
            )
            .order_by(IncidentRecord.opened_at.desc())
            .limit(1)
        )
        incident = (await session.execute(q)).scalars().first()
        if incident is None:
            incident = IncidentRecord(
                incident_id=str(uuid.uuid4()),
                agent_id=finding.agent_id,
                task_id=finding.task_id,
                title=finding.summary[:500],
                severity=finding.severity.label,
                status="open",
                first_event_at=t,
                opened_at=utcnow(),
            )
            session.add(incident)
            await session.flush()
            await audit(
                session,
                f"playbook:{pb.id}",
                "incident.opened",
                f"incident:{incident.incident_id}",
                {"agent_id": finding.agent_id, "finding_id": str(finding.finding_id), "severity": incident.severity},
            )
        await self._join(session, frec, finding, incident.incident_id, "")
        return incident.incident_id

    async def _join(
        self, session: AsyncSession, frec: FindingRecord, finding: Finding, incident_id: str | None, note: str
    ) -> None:
        if frec.incident_id or not incident_id:
            return
        frec.incident_id = incident_id
        incident = await session.get(IncidentRecord, incident_id)
        if incident is not None:
            if finding.severity > Severity.parse(incident.severity):
                incident.severity = finding.severity.label
            t = finding_time(finding)
            if incident.first_event_at is None or t < incident.first_event_at:
                incident.first_event_at = t
        await timeline(
            session,
            incident_id,
            "finding",
            finding.summary + (f" ({note})" if note else ""),
            {"finding_id": str(finding.finding_id), "detector": finding.detector, "rule": finding.rule},
        )
        await session.flush()
        await audit(
            session,
            SYSTEM,
            "incident.finding_added",
            f"incident:{incident_id}",
            {"finding_id": str(finding.finding_id)},
        )

    # -------------------------------------------------------------------- act

    async def execute(self, run_id: str) -> RunOutcome:
        """Execute (or continue) one run: steps in order, each persisted before and after."""
        async with self.sessionmaker() as session:
            run = await session.get(PlaybookRunRecord, run_id)
            if run is None:
                raise KeyError(f"no run {run_id}")
            frec = await session.get(FindingRecord, run.finding_id)
            agent = agent_dict(await session.get(AgentRecord, run.agent_id))
            q = select(StepRunRecord).where(StepRunRecord.run_id == run_id)
            done = {s.step_id: s for s in (await session.execute(q)).scalars()}
        pb = self.by_id.get(run.playbook_id)
        if pb is None or frec is None:
            return await self._finish(run, "failed", [], [], error="playbook no longer loaded or finding missing")
        finding = finding_from_record(frec)
        dry = bool(run.context.get("dry_run", self.dry_run))
        data = finding_context(finding, agent)
        taken: list[dict[str, Any]] = []
        status = "completed"
        for position, step in enumerate(pb.steps):
            action = ACTIONS.get(step.action)()
            key = f"{run_id}:{step.id}"
            prior = done.get(step.id)
            if prior is not None and prior.status in ("succeeded", "skipped"):
                taken.append({"step": step.id, "action": step.action, "status": prior.status, "output": prior.output})
                continue
            if pb.mode == "approve" and action.containment and not dry:
                await self._step_state(run, step.id, step.action, position, key, "waiting", prior)
                status = "waiting"
                break
            await self._step_state(run, step.id, step.action, position, key, "running", prior)
            ok, entry = await self._run_step(
                run, pb, finding, agent, step.id, step.with_, action, key, data, dry, taken
            )
            taken.append(entry)
            if not ok and not step.continue_on_error:
                status = "failed"
                break
        return await self._finish(run, status, taken, pb.steps, dry=dry)

    async def _step_state(
        self,
        run: PlaybookRunRecord,
        step_id: str,
        action: str,
        position: int,
        key: str,
        status: str,
        prior: StepRunRecord | None,
    ) -> None:
        async with self.sessionmaker() as session, session.begin():
            rec = await session.get(StepRunRecord, key)
            if rec is None:
                rec = StepRunRecord(
                    idempotency_key=key,
                    run_id=run.run_id,
                    step_id=step_id,
                    position=position,
                    action=action,
                    attempts=0,
                )
                session.add(rec)
            rec.status = status
            if status == "running":
                rec.attempts = (rec.attempts or 0) + 1
                rec.started_at = utcnow()
            if status == "waiting":
                run_rec = await session.get(PlaybookRunRecord, run.run_id)
                if run_rec is not None:
                    run_rec.status = "waiting"
                await timeline(
                    session, run.incident_id, "step", f"{step_id} ({action}) waits for approval", {"run_id": run.run_id}
                )
            await session.flush()
            await audit(
                session,
                f"playbook:{run.playbook_id}",
                f"step.{status}",
                f"step:{key}",
                {"action": action, "attempt": rec.attempts},
            )

    async def _run_step(
        self,
        run: PlaybookRunRecord,
        pb: PlaybookSpec,
        finding: Finding,
        agent: dict[str, Any] | None,
        step_id: str,
        raw: dict[str, Any],
        action: Any,
        key: str,
        data: dict[str, Any],
        dry: bool,
        taken: list[dict[str, Any]],
    ) -> tuple[bool, dict[str, Any]]:
        actor = f"playbook:{pb.id}"
        try:
            async with self.sessionmaker() as session, session.begin():
                ctx = ActionContext(
                    session=session,
                    finding=finding,
                    agent_id=finding.agent_id,
                    incident_id=run.incident_id,
                    run_id=run.run_id,
                    playbook_id=str(pb.id),
                    step_id=step_id,
                    idempotency_key=key,
                    publish=self.publish,
                    notifiers=self.notifiers,
                    dry_run=dry,
                    agent=agent,
                    actions_taken=list(taken),
                )
                output = await action.execute(ctx, render(raw, data))
                rec = await session.get(StepRunRecord, key)
                assert rec is not None
                rec.status, rec.output, rec.error, rec.finished_at = "succeeded", output, "", utcnow()
                kind = "notification" if action.category == "notify" else "step"
                verb = "would run" if dry else "succeeded"
                await timeline(
                    session,
                    run.incident_id,
                    kind,
                    f"{step_id} ({action.name}) {verb}",
                    {"run_id": run.run_id, **output},
                )
                await session.flush()
                await audit(session, actor, "step.succeeded", f"step:{key}", {"action": action.name, "output": output})
            return True, {"step": step_id, "action": action.name, "status": "succeeded", "output": output}
        except Exception as e:  # the action's changes rolled back; record the failure on its own
            error = f"{type(e).__name__}: {e}"[:2000]
            log.warning("step failed", run_id=run.run_id, step=step_id, action=action.name, error=error)
            async with self.sessionmaker() as session, session.begin():
                rec = await session.get(StepRunRecord, key)
                assert rec is not None
                rec.status, rec.error, rec.finished_at = "failed", error, utcnow()
                await timeline(
                    session,
                    run.incident_id,
                    "step",
                    f"{step_id} ({action.name}) failed: {error}",
                    {"run_id": run.run_id},
                )
                await session.flush()
                await audit(session, actor, "step.failed", f"step:{key}", {"action": action.name, "error": error})
            return False, {"step": step_id, "action": action.name, "status": "failed", "error": error}

    async def _finish(
        self,
        run: PlaybookRunRecord,
        status: str,
        taken: list[dict[str, Any]],
        steps: Sequence[Any],
        *,
        dry: bool = False,
        error: str = "",
    ) -> RunOutcome:
        contained_at: datetime | None = None
        async with self.sessionmaker() as session, session.begin():
            rec = await session.get(PlaybookRunRecord, run.run_id)
            assert rec is not None
            rec.status = status
            if status != "waiting":
                rec.finished_at = utcnow()
            if error:
                rec.context = {**rec.context, "error": error}
            succeeded = {t["step"] for t in taken if t["status"] == "succeeded"}
            containment = [s.id for s in steps if ACTIONS.get(s.action).containment]
            incident = await session.get(IncidentRecord, run.incident_id) if run.incident_id else None
            if incident is not None and not dry and containment and all(s in succeeded for s in containment):
                if incident.status == "open":
                    incident.status = "contained"
                    incident.contained_at = utcnow()
                    await timeline(session, incident.incident_id, "status", "contained", {"run_id": run.run_id})
                    await session.flush()
                    await audit(
                        session,
                        f"playbook:{run.playbook_id}",
                        "incident.contained",
                        f"incident:{incident.incident_id}",
                        {"run_id": run.run_id, "steps": containment},
                    )
                contained_at = incident.contained_at
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
