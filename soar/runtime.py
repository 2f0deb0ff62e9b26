"""What a worker process holds between batches: the pipeline, the key directory, the responder.

The Faust agents in ``soar.detect.agents`` and ``soar.decide.agents`` are thin: they hand batches to
the methods here, which call the pure stages and persist their results.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from soar.config import Settings
from soar.decide.engine import Responder
from soar.decide.executor import StepHook
from soar.decide.loader import load_playbooks
from soar.detect import build_detectors
from soar.detect.base import CredentialGrant, DetectConfig, StateStore
from soar.ingest.decoders import DeadLetter, Ingested, RawRecord
from soar.memory.ledger import record_writes
from soar.memory.reads import LedgerReads
from soar.memory.restoration import RestorationRecorder
from soar.notify import Notifiers
from soar.pipeline import INTERNAL_ERROR, BatchResult, PendingChecks, Pipeline, describe
from soar.store.models import PlaybookRunRecord
from soar.store.retry import StoreRetry, is_store_fault
from soar.store.session import get_sessionmaker
from soar.telemetry.control import ControlCommand
from soar.telemetry.events import AgentEvent, MemoryWriteEvent, is_restore_confirmation, utcnow
from soar.telemetry.findings import Finding
from soar.verify.checks import KeyDirectory
from soar.verify.directory import CREDENTIAL_GRACE_S, load_credentials, load_directory, load_for_kids

log = structlog.get_logger(__name__)

EVENTS = Counter("soar_events_total", "telemetry records read")
DEAD = Counter("soar_deadletters_total", "records dead-lettered", ["reason"])
FINDINGS = Counter("soar_findings_total", "findings made", ["detector", "rule"])
BATCH_SECONDS = Histogram("soar_batch_seconds", "time to process one telemetry batch")

NEGATIVE_TTL_S = 2.0
CREDENTIAL_SLACK_S = 5.0  # a refresh re-reads credentials issued this long before the newest it has seen
CREDENTIAL_PRUNE_S = 60.0  # how often expired credentials are dropped from the snapshot
# a credential id the store does not hold is not asked for again this long: one issued later reaches the snapshot
# through the next refresh anyway (the per-batch look-up only covers the second between issue and refresh)
CREDENTIAL_NEGATIVE_TTL_S = 60.0
Send = Callable[[bytes | None, bytes], Awaitable[None]]
SendMany = Callable[[Sequence[bytes]], Awaitable[None]]  # unkeyed values, produced together (dead letters)


def _touches_memory(event: AgentEvent) -> bool:
    """A memory write (recorded in the ledger) or a restore confirmation (recorded on its rollback step)."""
    return isinstance(event, MemoryWriteEvent) or is_restore_confirmation(event)


@dataclass
class TelemetryBatch:
    """A telemetry batch between ``begin_telemetry`` and ``finish_telemetry``."""

    records: Sequence[RawRecord]
    parsed: list[Ingested]
    dead_letters: list[DeadLetter]
    checks: PendingChecks | None
    started: float  # perf_counter at begin


class WorkerRuntime:
    """Pipeline + responder state for one worker process."""

    def __init__(self, settings: Settings, state: StateStore, *, detect: bool = True) -> None:
        """``detect=False`` (a ``--role respond`` process): no detectors are built (nor models loaded)."""
        self.settings = settings
        self.detect = detect
        self.sessionmaker = get_sessionmaker(settings.db_url)
        self.store_retry = StoreRetry(self.sessionmaker)  # a database outage delays work; it never drops it
        self.directory = KeyDirectory()
        detectors = build_detectors(DetectConfig(detectors_dir=settings.detectors_dir)) if detect else []
        self.pipeline = Pipeline(detectors, self.directory, state, settings)
        self.ledger_reads = LedgerReads(self.sessionmaker, state, settings.tier)
        self.restorations = RestorationRecorder(self.sessionmaker)
        self.playbooks = load_playbooks(settings.playbooks_dir)
        self.responder: Responder | None = None
        self._last_refresh = 0.0
        self._refresh_lock = asyncio.Lock()
        self._misses: dict[str, float] = {}  # kid -> monotonic time until which it counts as unknown
        self._cred_misses: dict[str, float] = {}  # credential id -> the same
        self._cred_since: datetime | None = None  # credentials issued from then on are read at the next refresh
        self._cred_pruned = 0.0

    def start_responder(
        self, publish: Callable[[ControlCommand], Awaitable[None]], step_hook: StepHook | None = None
    ) -> Responder:
        """Create the responder with the control-topic publisher (``step_hook``: see ``Executor``)."""
        self.responder = Responder(
            self.sessionmaker, self.playbooks, publish, Notifiers.from_settings(self.settings), step_hook=step_hook
        )
        return self.responder

    async def refresh_directory(self, min_interval: float = 0.0) -> None:
        """Reload agents, keys and quarantine state from the store (at most every ``min_interval`` s), and the
        task credentials soar issued: all live ones at the first refresh, then those issued since (a detecting
        process only: ``credential_misuse`` and ``scope_violation`` read them)."""
        async with self._refresh_lock:
            if time.monotonic() - self._last_refresh < min_interval:
                return
            async with self.sessionmaker() as session:
                fresh = await load_directory(session, credentials=False)
                creds = await self._fresh_credentials(session) if self.detect else {}
            self.directory.keys = fresh.keys
            self.directory.agents = fresh.agents
            self.directory.quarantined = fresh.quarantined
            self._add_credentials(creds)
            self._last_refresh = time.monotonic()

    async def _fresh_credentials(self, session: AsyncSession) -> dict[str, CredentialGrant]:
        if self._cred_since is None:
            return await load_credentials(session)
        return await load_credentials(session, since=self._cred_since)

    def _add_credentials(self, creds: dict[str, CredentialGrant]) -> None:
        known = self.directory.credentials
        known.update(creds)
        newest = max((c.issued_at for c in creds.values()), default=None)
        if newest is not None:
            since = datetime.fromtimestamp(newest - CREDENTIAL_SLACK_S, UTC)
            self._cred_since = max(since, self._cred_since) if self._cred_since is not None else since
        elif self._cred_since is None and self.detect:
            self._cred_since = utcnow() - timedelta(seconds=CREDENTIAL_SLACK_S)
        mono = time.monotonic()
        if mono - self._cred_pruned >= CREDENTIAL_PRUNE_S:
            self._cred_pruned = mono
            cutoff = time.time() - CREDENTIAL_GRACE_S
            for cid in [cid for cid, c in known.items() if c.expires_at < cutoff]:
                del known[cid]

    async def learn_unknown_credentials(self, ids: Iterable[str | None]) -> None:
        """Look up credential ids a batch names that the snapshot lacks (issued since the last refresh), so
        detectors compare with the issued owner; a miss is not asked for again for ``CREDENTIAL_NEGATIVE_TTL_S``."""
        now = time.monotonic()
        known = self.directory.credentials
        unknown = {c for c in ids if c and c not in known and self._cred_misses.get(c, 0.0) <= now}
        if not unknown:
            return
        async with self.sessionmaker() as session:
            found = await load_credentials(session, ids=unknown)
        known.update(found)
        if len(self._cred_misses) > 100_000:
            self._cred_misses.clear()
        for cid in unknown - found.keys():
            self._cred_misses[cid] = now + CREDENTIAL_NEGATIVE_TTL_S

    async def learn_unknown_keys(self, kids: Iterable[str | None]) -> None:
        """Look up kids the snapshot lacks (an agent enrolled since the last refresh) before calling them unknown.

        One indexed query per batch that has any; a kid that is still unknown is not asked for again for
        ``NEGATIVE_TTL_S``, so a flood of forged kids cannot hammer the database.
        """
        now = time.monotonic()
        unknown: set[str] = set()
        for kid in kids:
            if kid and kid not in self.directory.keys and self._misses.get(kid, 0.0) <= now:
                unknown.add(kid)
        if not unknown:
            return
        async with self.sessionmaker() as session:
            found = await load_for_kids(session, unknown)
        self.directory.keys.update(found.keys)
        self.directory.agents.update(found.agents)
        self.directory.quarantined |= found.quarantined
        if len(self._misses) > 100_000:
            self._misses.clear()
        for kid in unknown - found.keys.keys():
            self._misses[kid] = now + NEGATIVE_TTL_S

    async def handle_telemetry(
        self, records: Sequence[RawRecord], send_finding: Send, send_dead: Send, send_dead_many: SendMany | None = None
    ) -> BatchResult:
        """Run one batch through the pipeline; record memory writes, then emit findings and dead letters.

        ``send_dead_many`` (optional) produces a batch's dead letters together: one record batch per
        partition instead of one ``send`` each, which is most of what a hostile record costs the worker.
        """
        batch = await self.begin_telemetry(records)
        return await self.finish_telemetry(batch, send_finding, send_dead, send_dead_many)

    async def begin_telemetry(self, records: Sequence[RawRecord]) -> TelemetryBatch:
        """The part of a batch that may run ahead of the batch before it: decode, learn the signers' keys and
        start the signature checks on the verify threads (``finish_telemetry`` does the rest, in order)."""
        t0 = time.perf_counter()
        parsed, dead_letters = self.pipeline.ingest(records)
        kids = [item.event.kid for item in parsed]
        await self.store_retry.run(lambda: self.learn_unknown_keys(kids), "learn keys")
        checks = self.pipeline.begin(parsed, len(records)) if self.pipeline.check_identity else None
        return TelemetryBatch(records, parsed, dead_letters, checks, t0)

    async def finish_telemetry(
        self, batch: TelemetryBatch, send_finding: Send, send_dead: Send, send_dead_many: SendMany | None = None
    ) -> BatchResult:
        """Verify and detect a begun batch, record its memory writes, then emit its findings and dead letters."""
        parsed = batch.parsed
        if self.detect:
            # only payloads that have the field: a pydantic model answers getattr on a missing attribute by raising
            # inside its __getattr__ (~3 µs each), and most events name no credential
            creds = [p.credential_id for i in parsed if "credential_id" in type(p := i.event.payload).model_fields]
            await self.store_retry.run(lambda: self.learn_unknown_credentials(creds), "learn credentials")
        # Advanced/Optimized: reads are checked against the ledger (after the batch before recorded its writes)
        await self.store_retry.run(lambda: self.ledger_reads.prime(parsed), "ledger reads")
        result = self.pipeline.analyse(parsed, batch.dead_letters, batch.checks)
        # The ledger must hold a write before any finding about it reaches the responder (rollback reads it), and a
        # restore confirmation is recorded before its agent's findings. Findings of the other agents go out first:
        # they need neither, and the ledger's commit is a database round trip (an fsync) an attack need not wait for.
        held = {e.agent_id for e in result.events if _touches_memory(e)}
        later = [f for f in result.findings if f.agent_id in held]
        for f in result.findings:
            if f.agent_id not in held:
                await self._send_finding(f, send_finding)
        if result.memory_writes:
            await self._ledger(result, parsed)
        await self.restorations.record(result.events)  # restore confirmations -> the memory:rollback step
        for f in later:
            await self._send_finding(f, send_finding)
        if result.dead_letters:
            reasons: dict[str, int] = {}
            values = []
            for dl in result.dead_letters:
                reasons[dl.reason] = reasons.get(dl.reason, 0) + 1
                values.append(dl.model_dump_json().encode())
            for reason, n in reasons.items():
                DEAD.labels(reason).inc(n)
            if send_dead_many is not None:
                await send_dead_many(values)
            else:
                for value in values:
                    await send_dead(None, value)
        EVENTS.inc(len(batch.records))
        BATCH_SECONDS.observe(time.perf_counter() - batch.started)
        return result

    @staticmethod
    async def _send_finding(f: Finding, send_finding: Send) -> None:
        FINDINGS.labels(f.detector, f.rule).inc()
        await send_finding(f.agent_id.encode(), f.model_dump_json().encode())

    async def _record_writes(self, writes: Sequence) -> None:
        async with self.sessionmaker() as session, session.begin():
            await record_writes(session, writes)

    async def _ledger(self, result: BatchResult, parsed: Sequence[Ingested]) -> None:
        """Record the batch's memory writes (``StoreRetry`` waits out a database that is away).

        An error that is not a fault is the data's: the same writes would fail again, and a failed batch is
        retried from its last commit for ever (a NUL in a value did it on PostgreSQL). The writes are then
        recorded one by one, and one the database still refuses is dead-lettered as ``internal_error`` with the
        error, logged; its findings were made and go out, the ledger has no version for it.
        """
        try:
            await self.store_retry.run(lambda: self._record_writes(result.memory_writes), "memory ledger")
            return
        except Exception as e:
            if is_store_fault(e):
                raise
            log.exception("memory ledger refused the batch's writes; recording them one by one")
        records = {item.event.event_id: item.record for item in parsed}
        for write in result.memory_writes:
            try:
                await self.store_retry.run(lambda w=write: self._record_writes([w]), "memory ledger")
            except Exception as e:
                if is_store_fault(e):
                    raise
                log.exception("memory_write_not_recorded", event_id=str(write.event_id))
                dead = DeadLetter.of(records[write.event_id], INTERNAL_ERROR, describe(e), agent_id=write.agent_id)
                result.dead_letters.append(dead)

    async def handle_findings(self, raw: Sequence[bytes]) -> None:
        """Decode findings from the findings topic and run playbooks for them."""
        assert self.responder is not None, "start_responder() first"
        findings = []
        for value in raw:
            try:
                findings.append(Finding.model_validate_json(value))
            except ValueError as e:  # a finding we wrote ourselves should always parse; keep going if not
                log.error("bad finding on findings topic", error=str(e)[:200])
        if findings:
            await self.store_retry.run(lambda: self._respond(findings), "respond")

    async def _respond(self, findings: list[Finding]) -> None:
        """One attempt at a batch: store and respond, then finish this batch's runs an earlier attempt (or a
        killed worker, whose uncommitted batch this is) left ``running``. Safe to repeat: stored findings and
        started runs are skipped, finished steps are not run again."""
        assert self.responder is not None
        await self.responder.handle(findings)
        ids = [str(f.finding_id) for f in findings]
        async with self.sessionmaker() as session:
            q = select(PlaybookRunRecord.run_id).where(
                PlaybookRunRecord.finding_id.in_(ids), PlaybookRunRecord.status == "running"
            )
            unfinished = list((await session.execute(q.order_by(PlaybookRunRecord.started_at))).scalars())
        for run_id in unfinished:
            log.info("finishing a run left running", run_id=run_id)
            await self.responder.execute(run_id)
