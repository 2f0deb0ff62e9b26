"""The responder: store findings, group them into incidents, start durable runs and hand them to the executor.

Durability: a run is unique per (playbook, finding) and its id is derived from both, so a replayed finding
starts nothing. Step state lives in the database (see ``soar.decide.executor``); ``resume()`` re-enters runs
left ``running`` and ``tick()`` (a timer started by ``resume()``) continues runs whose approval was decided
by a human or by its deadline, and escalates unacknowledged incidents. Every state change is audited in
its transaction.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.decide.approvals import expire_overdue
from soar.decide.executor import Executor, InlineStepFailed, RunOutcome, RunState, StepHook
from soar.decide.incidents import escalation_findings
from soar.decide.matcher import DEFAULT_MATURITIES, match
from soar.decide.records import (
    SYSTEM,
    agent_dict,
    finding_record,
    finding_time,
    incident_dict,
    run_id_for,
    throttle_key,
    timeline,
)
from soar.decide.spec import PlaybookSpec
from soar.notify import Notifiers
from soar.store.audit import audit
from soar.store.models import (
    AgentRecord,
    FindingRecord,
    IncidentRecord,
    PlaybookRunRecord,
    StepRunRecord,
)
from soar.telemetry.control import ControlCommand
from soar.telemetry.events import utcnow
from soar.telemetry.findings import Finding, Severity

log = structlog.get_logger(__name__)

#: findings of one agent this close to an open incident's first event join it (when no throttle says otherwise)
DEFAULT_INCIDENT_WINDOW_S = 300.0
#: how often the responder's timer looks for decided approvals, deadlines and escalations
DEFAULT_TIMER_INTERVAL_S = 2.0
#: agents whose findings the responder handles at the same time (one agent's are always in order). SQLite has
#: one writer at a time: more agents there overlap only their reads and waits, and add lock waits.
DEFAULT_CONCURRENCY = 8
SQLITE_CONCURRENCY = 4
#: an open incident nobody acknowledged for this long makes an ``soar/incident_unacknowledged`` finding
DEFAULT_ESCALATE_AFTER_S = 900.0

#: errors that mean the database is unreachable rather than that a finding is bad
_UNAVAILABLE = (OperationalError, InterfaceError, OSError)
#: what starting runs yields per finding: a throttled outcome, a prepared run, or the id of a run to execute
_Started = RunOutcome | RunState | str

__all__ = ["Responder", "RunOutcome", "finding_time", "run_id_for", "throttle_key"]


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
        timer_interval_s: float | None = DEFAULT_TIMER_INTERVAL_S,
        escalate_after_s: float | None = DEFAULT_ESCALATE_AFTER_S,
        step_hook: StepHook | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.playbooks = list(playbooks)
        self.by_id = {str(p.id): p for p in self.playbooks}
        self.publish = publish
        self.notifiers = notifiers or Notifiers()
        self.dry_run = dry_run
        self.maturities = frozenset(maturities)
        self.incident_window_s = incident_window_s
        self.timer_interval_s = timer_interval_s
        self.escalate_after_s = escalate_after_s
        self.executor = Executor(sessionmaker, self.by_id, publish, self.notifiers, dry_run=dry_run, hook=step_hook)
        self._lock = asyncio.Lock()  # one resume / tick at a time
        if concurrency is None:
            bind = sessionmaker.kw.get("bind")
            sqlite = bind is not None and bind.dialect.name == "sqlite"
            concurrency = SQLITE_CONCURRENCY if sqlite else DEFAULT_CONCURRENCY
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._agent_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._timer: asyncio.Task[None] | None = None

    # ----------------------------------------------------------------- decide

    async def handle(self, findings: Sequence[Finding]) -> list[RunOutcome]:
        """Store findings, start runs for the playbooks they match and execute them; one failure is not fatal.

        Findings of different agents are handled concurrently (at most ``concurrency`` agents at a time);
        one agent's findings are handled in order, and never at the same time as another batch's findings
        or a resumed run of the same agent. Outcomes come back in the order of ``findings``.
        """
        if not findings:
            return []
        groups: dict[str, list[Finding]] = {}
        for f in findings:
            groups.setdefault(f.agent_id, []).append(f)
        if len(groups) == 1:
            results = [await self._handle_agent(findings)]
        else:
            gathered = await asyncio.gather(*(self._handle_agent(g) for g in groups.values()), return_exceptions=True)
            for r in gathered:  # every agent finished; now let the caller retry the batch if the store was down
                if isinstance(r, BaseException):
                    raise r
            results = [r for r in gathered if not isinstance(r, BaseException)]
        order = {str(f.finding_id): i for i, f in reversed(list(enumerate(findings)))}
        return sorted((o for r in results for o in r), key=lambda o: order.get(o.finding_id, len(order)))

    def _agent_lock(self, agent_id: str) -> asyncio.Lock:
        lock = self._agent_locks.get(agent_id)
        if lock is None:
            lock = self._agent_locks[agent_id] = asyncio.Lock()
        return lock

    async def _handle_agent(self, findings: Sequence[Finding]) -> list[RunOutcome]:
        """One agent's findings: one transaction stores them and starts their runs, then the runs execute."""
        async with self._agent_lock(findings[0].agent_id), self._slots:
            try:
                started = await self._start(findings)
            except _UNAVAILABLE:
                raise  # the store is down: nothing was recorded, the caller retries the batch
            except Exception:  # isolate the bad finding: one transaction each (st2 RulesEngine)
                log.warning("starting runs for a batch failed; retrying one finding at a time", exc_info=True)
                started = []
                for f in findings:
                    try:
                        started.extend(await self._start([f]))
                    except _UNAVAILABLE:
                        raise
                    except Exception:
                        log.exception("responding to finding failed", finding_id=str(f.finding_id))
            outcomes: list[RunOutcome] = []
            for item in started:
                if isinstance(item, RunOutcome):
                    outcomes.append(item)
                    continue
                try:
                    outcomes.append(
                        await (self.executor.run(item) if isinstance(item, RunState) else self.execute(item))
                    )
                except Exception:  # one bad run must not stop the others
                    log.exception("executing run failed", run_id=item if isinstance(item, str) else item.rec.run_id)
            return outcomes

    async def execute(self, run_id: str) -> RunOutcome:
        """Execute (or continue) one run."""
        return await self.executor.execute(run_id)

    async def _execute_locked(self, run_id: str, agent_id: str) -> RunOutcome:
        async with self._agent_lock(agent_id):
            return await self.execute(run_id)

    async def resume(self) -> list[RunOutcome]:
        """Re-enter every run left ``running`` (a crashed process), act on decided approvals, start the timer."""
        async with self._lock:
            async with self.sessionmaker() as session:
                q = select(PlaybookRunRecord.run_id, PlaybookRunRecord.agent_id).where(
                    PlaybookRunRecord.status == "running"
                )
                runs = list((await session.execute(q.order_by(PlaybookRunRecord.started_at))).tuples())
            outcomes = []
            for run_id, agent_id in runs:
                try:
                    outcomes.append(await self._execute_locked(run_id, agent_id))
                except Exception:
                    log.exception("resuming run failed", run_id=run_id)
            outcomes.extend(await self._tick())
        self.start_timer()
        return outcomes

    def start_timer(self) -> None:
        """Start the periodic ``tick`` in the running loop (once; no-op when ``timer_interval_s`` is None).

        The loop holds the responder weakly: it ends when the responder is dropped or ``close()`` is called.
        """
        if self.timer_interval_s is None or (self._timer is not None and not self._timer.done()):
            return
        self._timer = asyncio.get_running_loop().create_task(_timer_loop(weakref.ref(self), self.timer_interval_s))

    async def close(self) -> None:
        """Stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
            try:
                await self._timer
            except asyncio.CancelledError:
                pass
            self._timer = None

    async def tick(self) -> list[RunOutcome]:
        """Decide overdue approvals, continue runs whose approval was decided, escalate unacknowledged incidents."""
        async with self._lock:
            return await self._tick()

    async def _tick(self) -> list[RunOutcome]:
        await expire_overdue(self.sessionmaker)
        outcomes: list[RunOutcome] = []
        for run_id, agent_id in await self._claim_decided_runs():
            try:
                outcomes.append(await self._execute_locked(run_id, agent_id))
            except Exception:
                log.exception("continuing run failed", run_id=run_id)
        if self.escalate_after_s is not None and self._escalation_wanted():
            async with self.sessionmaker() as session:
                found = await escalation_findings(session, timedelta(seconds=self.escalate_after_s))
            if found:
                outcomes.extend(await self.handle(found))
        return outcomes

    def _escalation_wanted(self) -> bool:
        return any("soar" in pb.trigger.detectors for pb in self.playbooks if pb.enabled)

    async def _claim_decided_runs(self) -> list[tuple[str, str]]:
        async with self.sessionmaker() as session:
            q = (
                select(PlaybookRunRecord.run_id, PlaybookRunRecord.agent_id)
                .join(StepRunRecord, StepRunRecord.run_id == PlaybookRunRecord.run_id)
                .where(PlaybookRunRecord.status == "waiting", StepRunRecord.status.in_(("approved", "denied")))
                .distinct()
            )
            candidates = list((await session.execute(q)).tuples())
        claimed: list[tuple[str, str]] = []
        for run_id, agent_id in candidates:
            async with self.sessionmaker() as session, session.begin():
                res = await session.execute(
                    update(PlaybookRunRecord)
                    .where(PlaybookRunRecord.run_id == run_id, PlaybookRunRecord.status == "waiting")
                    .values(status="running")
                    .execution_options(synchronize_session=False)
                )
                if res.rowcount:  # type: ignore[attr-defined]
                    await audit(session, SYSTEM, "run.resumed", f"run:{run_id}", {"after": "approval decision"})
                    claimed.append((run_id, agent_id))
        return claimed

    async def _start(self, findings: Sequence[Finding]) -> list[_Started]:
        try:
            return await self._start_inline(findings)
        except IntegrityError:  # another worker stored a finding or started a run first: the re-check sees it
            return await self._start_inline(findings)

    async def _start_inline(self, findings: Sequence[Finding]) -> list[_Started]:
        try:
            return await self._start_once(findings, inline=True)
        except InlineStepFailed as e:  # rolled back: start again and let the step run in its own transaction
            log.warning("inline step failed; it runs again in its own transaction", **vars(e))
            return await self._start_once(findings, inline=False)

    async def _start_once(self, findings: Sequence[Finding], *, inline: bool = True) -> list[_Started]:
        """Store findings, open or join incidents and create runs, all in one transaction.

        Returns, per finding in order, throttled outcomes and started runs: the first started run comes
        back prepared (with its first step already committed ``running``, and with ``inline`` its leading
        revoke / quarantine steps done in this transaction, ``Executor.run_inline``), the others by id.

        Autoflush is off: each finding's rows (its record, with the incident it joined already set, the
        incident, timeline lines, runs, the first step) go in one flush, before the next finding's reads (which
        must see them) or at commit, instead of a write per read that follows.
        """
        ids = list(dict.fromkeys(str(f.finding_id) for f in findings))
        agent_ids = list({f.agent_id for f in findings})
        started: list[_Started] = []
        first: tuple[PlaybookRunRecord, PlaybookSpec, Finding] | None = None
        async with self.sessionmaker() as session, session.begin():
            session.autoflush = False
            q = select(FindingRecord).where(FindingRecord.finding_id.in_(ids))
            frecs = {r.finding_id: r for r in (await session.execute(q)).scalars()}
            stored_before = bool(frecs)
            new = []
            for f in findings:
                if str(f.finding_id) not in frecs:
                    frecs[str(f.finding_id)] = rec = finding_record(f)
                    new.append(rec)
            if new:
                session.add_all(new)
                await audit(
                    session, SYSTEM, "findings.recorded", "findings", {"finding_ids": [r.finding_id for r in new]}
                )
            rows = await session.execute(select(AgentRecord).where(AgentRecord.agent_id.in_(agent_ids)))
            agents: dict[str, dict[str, Any] | None] = {r.agent_id: agent_dict(r) for r in rows.scalars()}
            matches = [
                (f, match(f, self.playbooks, agents.get(f.agent_id), maturities=self.maturities)) for f in findings
            ]
            wanted = [run_id_for(pb.id, f.finding_id) for f, matched in matches for pb in matched]
            existing: set[str] = set()
            if wanted and stored_before:  # a run is created with its finding: new findings have none yet
                q2 = select(PlaybookRunRecord.run_id).where(PlaybookRunRecord.run_id.in_(wanted))
                existing = set((await session.execute(q2)).scalars())
            for i, (f, matched) in enumerate(matches):
                if i:
                    await session.flush()  # the reads below must see what the findings before this one wrote
                todo = [pb for pb in matched if run_id_for(pb.id, f.finding_id) not in existing]
                open_runs = await self._open_runs(session, todo, f)
                for pb in todo:
                    run_id = run_id_for(pb.id, f.finding_id)
                    if run_id in existing:
                        continue  # a replayed finding: its run exists (resume() finishes it if unfinished)
                    existing.add(run_id)
                    frec = frecs[str(f.finding_id)]
                    out = await self._start_run(session, frec, f, pb, run_id, open_runs.get(str(pb.id)))
                    if isinstance(out, PlaybookRunRecord):
                        first = first or (out, pb, f)
                        started.append(run_id)
                    else:
                        started.append(out)
            if first is not None:
                rec, pb, f = first
                inc = await self._incident(session, rec.incident_id) if rec.incident_id else None
                prepared = self.executor.prepare(rec, pb, f, agents.get(f.agent_id), incident_dict(inc))
                marked = await self.executor.premark(session, prepared, 0)
                if inline:  # its leading revoke / quarantine commit with it
                    marked = await self.executor.run_inline(session, prepared, marked)
        if first is not None:
            if marked is not None:
                prepared.premarked.add(marked)
            started[started.index(first[0].run_id)] = prepared
        return started

    async def _start_run(
        self,
        session: AsyncSession,
        frec: FindingRecord,
        finding: Finding,
        pb: PlaybookSpec,
        run_id: str,
        open_run: PlaybookRunRecord | None,
    ) -> PlaybookRunRecord | RunOutcome:
        """Create the run of ``pb`` for ``finding``, or join ``open_run``, the run that throttles it (its outcome)."""
        fid = str(finding.finding_id)
        t = finding_time(finding)
        tkey = throttle_key(pb, finding)
        if open_run is not None:
            await self._join(session, frec, finding, open_run.incident_id, f"throttled by run {open_run.run_id}")
            await audit(
                session,
                f"playbook:{pb.id}",
                "run.throttled",
                f"run:{open_run.run_id}",
                {"finding_id": fid, "throttle_key": tkey},
            )
            return RunOutcome(pb.playbook, str(pb.id), fid, open_run.run_id, open_run.incident_id, "throttled")
        incident_id = await self._incident_for(session, frec, finding, pb)
        dry = self.dry_run or pb.mode == "dry-run"
        rec = PlaybookRunRecord(
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
            started_at=utcnow(),
        )
        session.add(rec)
        await timeline(session, incident_id, "status", f"playbook '{pb.playbook}' started", {"run_id": run_id})
        await audit(
            session,
            f"playbook:{pb.id}",
            "run.started",
            f"run:{run_id}",
            {"finding_id": fid, "incident_id": incident_id, "mode": pb.mode, "dry_run": dry},
        )
        return rec

    async def _open_runs(
        self, session: AsyncSession, playbooks: Sequence[PlaybookSpec], finding: Finding
    ) -> dict[str, PlaybookRunRecord]:
        """Per playbook id, the open run that throttles ``finding`` (one read for all of its playbooks).

        A run throttles it when it has the same playbook and throttle key and its finding's time is within the
        throttle window of this one's; of each playbook's last 5 runs on that key, the latest such one.
        """
        keys = {str(pb.id): (pb, tkey) for pb in playbooks if pb.throttle and (tkey := throttle_key(pb, finding))}
        if not keys:
            return {}
        run = PlaybookRunRecord
        latest = (
            select(
                run.run_id,
                func.row_number()
                .over(partition_by=(run.playbook_id, run.throttle_key), order_by=run.started_at.desc())
                .label("n"),
            )
            .where(or_(*(and_(run.playbook_id == pid, run.throttle_key == k) for pid, (_, k) in keys.items())))
            .subquery()
        )
        q = select(run).join(latest, latest.c.run_id == run.run_id).where(latest.c.n <= 5)
        t = finding_time(finding)
        found: dict[str, PlaybookRunRecord] = {}
        for rec in (await session.execute(q.order_by(run.started_at.desc()))).scalars():
            pb = keys[rec.playbook_id][0]
            if rec.playbook_id in found:
                continue
            assert pb.throttle is not None
            try:
                run_t = datetime.fromisoformat(rec.context.get("finding_time", ""))
            except (TypeError, ValueError):
                run_t = rec.started_at
            if abs(t - run_t) <= timedelta(seconds=pb.throttle.window_s):
                found[rec.playbook_id] = rec
        return found

    async def _incident_for(
        self, session: AsyncSession, frec: FindingRecord, finding: Finding, pb: PlaybookSpec
    ) -> str:
        if frec.incident_id:
            return frec.incident_id
        named = finding.evidence.get("incident_id") if finding.detector == "soar" else None
        if isinstance(named, str) and await self._incident(session, named) is not None:
            await self._join(session, frec, finding, named, "")
            return named
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
            _incidents(session)[incident.incident_id] = incident
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
        incident = await self._incident(session, incident_id)
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
        await audit(
            session,
            SYSTEM,
            "incident.finding_added",
            f"incident:{incident_id}",
            {"finding_id": str(finding.finding_id)},
        )

    async def _incident(self, session: AsyncSession, incident_id: str) -> IncidentRecord | None:
        """The incident, from this transaction's own (including one opened and not flushed yet) or the store."""
        incidents = _incidents(session)
        incident = incidents.get(incident_id)
        if incident is None:
            incident = await session.get(IncidentRecord, incident_id)
            if incident is not None:
                incidents[incident_id] = incident
        return incident


def _incidents(session: AsyncSession) -> dict[str, IncidentRecord]:
    """Incidents this transaction opened or read (the identity map is weak and does not hold pending rows)."""
    found: dict[str, IncidentRecord] = session.info.setdefault("soar.incidents", {})
    return found


async def _timer_loop(ref: weakref.ReferenceType[Responder], interval: float) -> None:
    failures = 0
    while True:
        await asyncio.sleep(interval * min(2**failures, 30))
        responder = ref()
        if responder is None:
            return
        try:
            await responder.tick()
            failures = 0
        except Exception as e:  # keep ticking: the database may come back
            failures += 1
            log.warning("responder timer tick failed", error=f"{type(e).__name__}: {e}"[:300], failures=failures)
        del responder
