"""The pure core of a worker: ingest -> verify -> detect over a batch of raw records.

No Kafka and no database here: the Faust worker, ``soar replay``, the benchmarks and the tests all
drive this same function, and the transport around it only moves bytes and persists results.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import structlog

from soar.config import Settings, Tier
from soar.detect import run_detectors
from soar.detect.base import DetectContext, Detector, StateStore
from soar.errors import IngestError
from soar.helper import HelperProcess
from soar.identity.replay import replay_findings, replay_summary
from soar.ingest.decoders import DeadLetter, Ingested, RawRecord, agent_hint, decode
from soar.telemetry.events import AgentEvent, MemoryWriteEvent
from soar.telemetry.findings import Finding
from soar.telemetry.signing import SignatureJob, VerdictCache, verify_bytes, verify_many
from soar.verify.checks import IdentityFold, KeyDirectory, signature_job, verify

log = structlog.get_logger(__name__)
#: the dead-letter reason of a record soar failed on (a bug, logged with its traceback): set aside, not retried
INTERNAL_ERROR = "internal_error"


def describe(e: BaseException) -> str:
    """An exception as a dead letter's detail."""
    return f"{type(e).__name__}: {e}"[:500]


@dataclass
class StageTimes:
    """CPU seconds spent per stage (for ``soar bench`` and the metrics endpoint)."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    events: int = 0

    def add(self, stage: str, dt: float) -> None:
        """Account ``dt`` seconds to ``stage``."""
        self.seconds[stage] += dt


@dataclass
class BatchResult:
    """What one batch produced."""

    events: list[AgentEvent] = field(default_factory=list)  # verified events that reached detection
    findings: list[Finding] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    memory_writes: list[MemoryWriteEvent] = field(default_factory=list)


@dataclass
class PendingChecks:
    """A batch's signature checks: the positions of the events they are for, the jobs, what the verdict cache
    already knew of each (None: to check), and the helper's answer on those to check."""

    where: list[int]
    jobs: list[SignatureJob]
    known: list[bool | None]
    future: Future[list[bool]] | None = None

    def to_check(self) -> list[SignatureJob]:
        """The jobs the cache did not answer, in order."""
        return [job for job, k in zip(self.jobs, self.known, strict=True) if k is None]


class Pipeline:
    """ingest -> verify -> detect, batch at a time."""

    def __init__(
        self,
        detectors: Sequence[Detector],
        directory: KeyDirectory,
        state: StateStore,
        settings: Settings,
        times: StageTimes | None = None,
        *,
        check_identity: bool = True,
    ) -> None:
        self.detectors = list(detectors)
        self.directory = directory
        self.state = state
        self.settings = settings
        self.times = times or StageTimes()
        self.check_identity = check_identity  # False only for replaying recorded files whose agents are not enrolled
        self._pool: ThreadPoolExecutor | None = None  # signature checks on the other cores (libsodium frees the GIL)
        self.helper: HelperProcess | None = None  # or in a helper process, beside detection (fast engine)
        self.identity_fold = IdentityFold(settings.identity_fold_s)
        self.verdicts = VerdictCache(settings.signature_cache_size)

    def start_helper(self) -> None:
        """Start the helper process (``soar.helper``) with the injection classifier, for ``begin``; if it cannot
        start, the pipeline goes on without it (``HelperProcess.try_start``)."""
        model = next((getattr(d, "model", None) for d in self.detectors if hasattr(d, "begin")), None)
        helper = HelperProcess(model)
        if helper.try_start():
            self.helper = helper

    def begin(self, parsed: Sequence[Ingested], records: int | None = None) -> PendingChecks:
        """Start what a decoded batch needs before it can be detected: its signature checks and, with a helper
        process, the detectors' pure preparation (``begin`` of a detector that has one).

        The fast engine begins the next batch before it detects the current one, so the helper checks and scores
        it meanwhile; ``analyse`` collects the results. Without a helper, and for a batch of fewer than
        ``helper_min_batch`` records (``records``: what the batch was decoded from, hostile records included;
        default its events), the checks are only listed here: ``analyse`` runs them, and the detectors score, in
        this process. A small batch comes below saturation, when the round trip to the helper cost it more than
        the work it moved; under a flood of hostile records the batches grow, and go to the helper as before.
        """
        pending = PendingChecks([], [], [])
        # An event signed with an unknown key or another agent's, or unsigned above Foundation, is rejected
        # before any detector sees it: its text is not prepared or scored (a flood of forged events with long
        # texts would otherwise buy the classifier's work for nothing). Bad signatures are known only later.
        # Nor is an event whose exact check the verdict cache answers: those are records seen before (a replay,
        # rejected later, or a redelivery, which detection then prepares itself).
        size = len(parsed) if records is None else records
        helper = self.helper if size >= self.settings.helper_min_batch else None
        events: list[AgentEvent] = []  # what the helper prepares ahead
        foundation = self.settings.tier is Tier.FOUNDATION
        for i, item in enumerate(parsed):
            job = signature_job(item, self.directory)
            if job is not None:
                known = self.verdicts.get(job)
                pending.where.append(i)
                pending.jobs.append(job)
                pending.known.append(known)
                if known is None and helper is not None:
                    events.append(item.event)
            elif helper is not None and foundation and not (item.event.sig and item.event.kid):
                events.append(item.event)  # unsigned: accepted with a finding at Foundation
        if helper is None:
            return pending
        to_check = pending.to_check()
        pending.future = helper.verify(to_check) if to_check else None
        for detector in self.detectors:
            start = getattr(detector, "begin", None)
            batch = [e for e in events if e.kind in detector.kinds] if start is not None else []
            if batch:
                t0 = time.process_time()
                try:
                    start(batch, helper)
                except Exception:  # detect() then does it all itself
                    log.exception("detector_begin_failed", detector=detector.name, events=len(batch))
                self.times.add(f"detect.{detector.name}", time.process_time() - t0)
        return pending

    def _signatures(self, parsed: Sequence[Ingested], pending: PendingChecks | None) -> dict[int, bool]:
        """position -> valid for the batch's signatures: the helper's verdicts, or checked here on
        ``verify_threads`` threads (without a helper, or when it died under the batch).

        A verdict counts only if it was reached with the key the directory holds for the event now: a key that
        changed since the checks started (a directory refresh in between) is checked again here.
        """
        started_here = pending is None  # then the keys were looked up just now: nothing to check again
        pending = pending or self.begin(parsed)
        to_check = pending.to_check()
        verdicts: list[bool] | None = [] if not to_check else None
        if pending.future is not None:
            try:
                verdicts = pending.future.result()
            except Exception as e:  # BrokenProcessPool and the like: check here, restart the helper for the next
                log.warning("signature helper failed; checking in the worker", error=str(e)[:200])
                if self.helper is not None:
                    self.helper.restart()
        if verdicts is None:
            threads = self.settings.verify_threads
            if threads > 1 and self._pool is None and len(to_check) > 1:
                self._pool = ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix="soar-verify")
            verdicts = verify_many(to_check, self._pool, threads)
        checked = iter(verdicts)
        merged: list[bool] = []
        for known, job in zip(pending.known, pending.jobs, strict=True):
            if known is None:
                known = next(checked)
                self.verdicts.put(job, known)
            merged.append(known)
        if started_here:
            return dict(zip(pending.where, merged, strict=True))
        out: dict[int, bool] = {}
        for i, job, ok in zip(pending.where, pending.jobs, merged, strict=True):
            now = signature_job(parsed[i], self.directory)
            if now is not None:  # without a key now, verify() says why
                out[i] = ok if now[2] == job[2] else verify_bytes(*now)
        return out

    def close(self) -> None:
        """Stop the verification threads (they are also daemon-free to exit with the process)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
        if self.helper is not None:
            self.helper.close()

    def process(self, records: Sequence[RawRecord]) -> BatchResult:
        """Run one batch; never raises for bad input (it becomes dead letters and findings)."""
        parsed, dead_letters = self.ingest(records)
        return self.analyse(parsed, dead_letters)

    def ingest(self, records: Sequence[RawRecord]) -> tuple[list[Ingested], list[DeadLetter]]:
        """Decode a batch: the events, and dead letters for what is not an event."""
        t0 = time.process_time()
        parsed: list[Ingested] = []
        dead_letters: list[DeadLetter] = []
        limits = {"max_bytes": self.settings.max_event_bytes, "max_depth": self.settings.max_json_depth}
        for rec in records:
            try:
                parsed.append(decode(rec, **limits))
            except IngestError as e:
                dead_letters.append(DeadLetter.of(rec, e.reason, e.detail, agent_hint(rec)))
            except Exception as e:  # a bug in decoding: this record alone is set aside (see ``analyse``)
                log.exception("decode_failed", offset=rec.offset, partition=rec.partition)
                dead_letters.append(DeadLetter.of(rec, INTERNAL_ERROR, describe(e), agent_hint(rec)))
        self.times.add("ingest", time.process_time() - t0)
        self.times.events += len(records)
        return parsed, dead_letters

    def analyse(
        self,
        parsed: Sequence[Ingested],
        dead_letters: Sequence[DeadLetter] = (),
        checks: PendingChecks | None = None,
    ) -> BatchResult:
        """Verify and detect decoded events (``dead_letters`` from ``ingest`` are carried into the result;
        ``checks``: ``begin`` of the same events, started earlier).

        Never raises for what the events hold. This is CPU work on validated events, so an exception is a bug
        that the same batch would raise again: a worker retries a failed batch from its last commit, and one
        such event would stop its partitions for good (an event's timestamp without an offset did, found by
        fuzzing). The batch is then analysed event by event, and an event that raises alone is dead-lettered as
        ``internal_error`` with the exception, logged; the others go on as usual.
        """
        try:
            return self._analyse(parsed, dead_letters, checks)
        except Exception:
            log.exception("batch_analysis_failed; analysing its events one by one", events=len(parsed))
        out = BatchResult(dead_letters=list(dead_letters))
        for item in parsed:
            try:
                one = self._analyse([item])
            except Exception as e:
                log.exception("event_analysis_failed", event_id=str(item.event.event_id))
                out.dead_letters.append(
                    DeadLetter.of(item.record, INTERNAL_ERROR, describe(e), agent_id=item.event.agent_id)
                )
                continue
            out.events += one.events
            out.findings += one.findings
            out.dead_letters += one.dead_letters
            out.memory_writes += one.memory_writes
        return out

    def _analyse(
        self, parsed: Sequence[Ingested], dead_letters: Sequence[DeadLetter] = (), checks: PendingChecks | None = None
    ) -> BatchResult:
        out = BatchResult(dead_letters=list(dead_letters))
        t1 = time.process_time()
        s = self.settings
        passed: list[Ingested] = []
        checked = self._signatures(parsed, checks) if self.check_identity else {}
        for i, item in enumerate(parsed):
            if self.check_identity:
                # every rejected event is dead-lettered; its finding is folded per (agent, rule) and window
                verdict = verify(
                    item,
                    self.directory,
                    tier=s.tier,
                    max_skew_s=s.max_clock_skew_s,
                    signature_ok=checked.get(i),
                    fold=self.identity_fold,
                )
                if verdict.reject_reason:
                    out.dead_letters.append(
                        DeadLetter.of(item.record, verdict.reject_reason, verdict.detail, agent_id=item.event.agent_id)
                    )
                out.findings.extend(verdict.findings)
                if not verdict.passed:
                    continue
            passed.append(item)
        if self.check_identity and passed:
            # a reused event_id is a replay (the broker redelivering the same record is not)
            # each rejected replay is dead-lettered; its finding folds like a forgery's (and is built only if reported)
            replayed, rejected = replay_findings(passed, self.state, tier=self.settings.tier, fold=self.identity_fold)
            out.findings.extend(replayed)
            for i in sorted(rejected):
                ev = passed[i].event
                out.dead_letters.append(DeadLetter.of(passed[i].record, "replayed", replay_summary(ev), ev.agent_id))
            passed = [item for i, item in enumerate(passed) if i not in rejected]
        for item in passed:
            out.events.append(item.event)
            if isinstance(item.event, MemoryWriteEvent):
                out.memory_writes.append(item.event)
        t2 = time.process_time()
        self.times.add("verify", t2 - t1)
        if out.events:
            ctx = DetectContext(state=self.state, agents=self.directory)
            out.findings.extend(run_detectors(self.detectors, out.events, ctx, times=self.times.seconds))
        self.times.add("detect", time.process_time() - t2)
        return out
