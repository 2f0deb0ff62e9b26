"""``soar bench pipeline`` and ``soar bench contain``: what one worker sustains, and how fast an attack is contained.

Three measurements, all on this machine, with the shipped detectors and playbooks:

1. **core**: the pure pipeline (ingest -> verify -> detect) in this process over pre-signed events, with
   CPU seconds per stage, so the next bottleneck is visible;
2. **throughput**: the same events through the embedded broker and one ``soar worker`` process, produced
   as fast as one aiokafka producer can; the clock stops when a marker event on every partition (sent
   after the load) has come back as a finding, so every event before it has been processed;
3. **containment**: attack events injected into steady background traffic; latency is from producing
   the attack event to the ``agent:quarantine`` step being recorded as succeeded in the store.

``soar bench contain`` runs the containment measurement alone (the same ``measure_containment``), by default
at 2,000 events/s of background traffic, on SQLite or PostgreSQL, after a warm-up attack, and adds the CPU
per event of each stage (in process) and the worker's CPU per event during the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from sqlalchemy import make_url, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from soar.config import Settings, Tier, get_settings
from soar.decide.loader import load_playbooks
from soar.decide.matcher import match
from soar.demo.receiver import WebhookReceiver
from soar.demo.services import Services, local_settings
from soar.detect import build_detectors
from soar.detect.base import DetectConfig, MemoryState
from soar.identity.agents import register_agent
from soar.ingest.decoders import RawRecord
from soar.pipeline import Pipeline
from soar.sdk.client import partition_for_key
from soar.sim import corpus
from soar.store.models import FindingRecord, PlaybookRunRecord, StepRunRecord
from soar.store.session import dispose_all, get_sessionmaker
from soar.telemetry.events import utcnow
from soar.telemetry.signing import key_id, public_key_b64, sign_object, value_hash
from soar.topics import topic_map
from soar.verify.checks import KeyDirectory

TOOLS = ["search", "crm.lookup", "calendar.create", "browser.fetch", "email.read"]


class Signed(NamedTuple):
    """A signed event ready to produce."""

    agent_id: str
    event_id: str
    raw: bytes


@dataclass
class BenchAgent:
    """A simulated agent identity."""

    agent_id: str
    key: Ed25519PrivateKey

    @property
    def kid(self) -> str:
        """Key id."""
        return key_id(self.key.public_key())

    @property
    def public_b64(self) -> str:
        """Public key, base64url."""
        return public_key_b64(self.key.public_key())

    def sign(self, kind: str, payload: dict[str, Any], ts: datetime | None = None) -> Signed:
        """A signed event (dated now unless ``ts``)."""
        event_id = str(uuid.uuid4())
        obj = {
            "event_id": event_id,
            "ts": (ts or utcnow()).isoformat(),
            "agent_id": self.agent_id,
            "task_id": "bench",
            "session_id": "bench",
            "kind": kind,
            "payload": payload,
        }
        return Signed(self.agent_id, event_id, orjson.dumps(sign_object(obj, self.key, self.kid)))


def _texts() -> list[str]:
    bodies = [b for _, _, b in corpus.MAILS] + [b for _, b in corpus.ARTICLES]
    rng = random.Random(1)
    out = []
    for _ in range(64):  # ~1 KB texts stitched from the simulator's ordinary business content
        text = ""
        while len(text) < 900:
            text += rng.choice(bodies) + "\n"
        out.append(text[:1100])
    return out


def mixed_events(agents: list[BenchAgent], n: int, seed: int = 7) -> list[Signed]:
    """``n`` signed events, a realistic mix of kinds with about a third carrying ~1 KB of text."""
    rng = random.Random(seed)
    texts = _texts()
    words = sorted({w for t in texts for w in t.split()})
    peers = {a.agent_id: [agents[(i + 1) % len(agents)].agent_id] for i, a in enumerate(agents)}
    kinds = ["tool_call"] * 25 + ["memory_read"] * 12 + ["credential_use"] * 12 + ["lifecycle"] * 10
    kinds += ["output"] * 8 + ["input"] * 12 + ["tool_result"] * 12 + ["message"] * 6 + ["memory_write"] * 3
    out = []
    written: dict[tuple[str, str], str] = {}  # (agent, key) -> value hash, so benign reads match the ledger
    for i in range(n):
        a = agents[i % len(agents)]
        kind = rng.choice(kinds)
        text = rng.choice(texts)
        payload: dict[str, Any]
        if kind == "tool_call":
            payload = {"tool": rng.choice(TOOLS), "call_id": f"c{i}", "args": {"q": f"account {i % 97}"}}
        elif kind == "memory_read":
            key = f"fact{i % 5}"
            if (a.agent_id, key) not in written:
                kind, payload = "lifecycle", {"state": "heartbeat"}
            else:
                payload = {"store": "long_term", "key": key, "value_hash": written[(a.agent_id, key)]}
        elif kind == "credential_use":
            payload = {"credential_id": f"cred-{a.agent_id}", "resource": f"crm://acct/{i % 97}", "action": "read"}
        elif kind == "lifecycle":
            payload = {"state": "heartbeat"}
        elif kind == "output":
            payload = {"content": text[:200], "destination": "user"}
        elif kind == "input":
            payload = {"source": rng.choice(["email", "web", "user"]), "origin": "bench", "content": text}
        elif kind == "tool_result":
            payload = {"tool": "browser.fetch", "call_id": f"c{i}", "content": text, "status": "ok"}
        elif kind == "message":
            # fresh wording per message: agents pass on work, not each other's text (a ring of agents forwarding
            # the same few texts is a relay chain, and the coordination detector rightly says so)
            content = " ".join(rng.choices(words, k=160))
            payload = {"to_agent": peers[a.agent_id][0], "conversation_id": "bench", "content": content}
        else:
            value = rng.choice(corpus.MEMORY_FACTS[next(iter(corpus.MEMORY_FACTS))])[1]
            written[(a.agent_id, f"fact{i % 5}")] = value_hash(value)
            payload = {"store": "long_term", "key": f"fact{i % 5}", "value": value, "provenance": {"source": "user"}}
        out.append(a.sign(kind, payload))
    return out


def marker_agents(partitions: int, prefix: str = "marker") -> list[BenchAgent]:
    """One agent per partition, so a marker from each observes every partition's tail."""
    markers: list[BenchAgent] = []
    covered: set[int] = set()
    for n in range(10_000):
        if len(covered) == partitions:
            break
        m = BenchAgent(f"{prefix}-{n}", Ed25519PrivateKey.generate())
        p = partition_for_key(m.agent_id.encode(), list(range(partitions)))
        if p not in covered:
            covered.add(p)
            markers.append(m)
    return markers


def marker_event(agent: BenchAgent) -> Signed:
    """A heartbeat dated a day ahead: verify reports it as ``clock_skew``, a finding no playbook acts on,
    so the end-of-load marker costs the responder nothing."""
    return agent.sign("lifecycle", {"state": "heartbeat"}, ts=utcnow() + timedelta(days=1))


def attack_event(agent: BenchAgent) -> Signed:
    """The demo's indirect injection: a fetched page hiding instructions."""
    return agent.sign(
        "tool_result", {"tool": "browser.fetch", "call_id": "atk", "content": corpus.INJECTION_PAGE, "status": "ok"}
    )


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _cpu_seconds(pid: int, main_thread: bool = False) -> float:
    """User + system CPU seconds of a process with all its threads and descendants (a worker's helper process and
    the forkserver it came from), from Linux /proc; or of its main thread only."""
    if main_thread:
        return _stat_cpu(f"/proc/{pid}/task/{pid}/stat")
    total = 0.0
    for p in _process_tree(pid):
        with contextlib.suppress(OSError):  # a process may exit between listing and reading
            total += _stat_cpu(f"/proc/{p}/stat")
    return total


def _stat_cpu(path: str) -> float:
    with open(path) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (``/proc/<pid>/task/<tid>/children``)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
    return out


def pin_cores(workers: Sequence[int], rest: Sequence[int]) -> dict[str, list[int]]:
    """Every thread of the ``workers`` process trees on the last core this process may use, and every thread
    of the ``rest`` processes (the broker, the load generator) on the others: the worker's CPU is then its own
    and the same in every phase, whatever the rig around it costs. Threads and processes started later inherit
    their creator's cores. Raises ValueError with fewer than two cores."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise ValueError(f"pinning needs at least two cores, this process may use {len(cores)}")
    placement = {"worker": cores[-1:], "rig": cores[:-1]}
    for pid in [p for root in workers for p in _process_tree(root)]:
        _pin_threads(pid, placement["worker"])
    for pid in rest:
        _pin_threads(pid, placement["rig"])
    return placement


def _pin_threads(pid: int, cpus: list[int]) -> None:
    with contextlib.suppress(OSError):  # a thread or process that ended meanwhile
        for tid in os.listdir(f"/proc/{pid}/task"):
            os.sched_setaffinity(int(tid), cpus)


def bench_core(agents: list[BenchAgent], events: list[Signed], repeat: int = 1) -> dict[str, Any]:
    """The pure pipeline in this process: events/s and CPU microseconds per event per stage.

    Stage and detector figures are process CPU time (verify includes its threads; the detectors run in the
    calling thread). With ``repeat`` > 1 the same events go through a fresh pipeline (fresh detector state)
    that many times, and each figure is the best of the runs: on a shared machine the least disturbed run is
    the closest to the code's own cost.
    """
    s = get_settings()
    playbooks = load_playbooks(s.playbooks_dir)
    records = [RawRecord(e.raw, "bench", 0, i) for i, e in enumerate(events)]
    n = len(records)
    best: dict[str, float] = {}
    best_rate, best_main, best_verify, n_findings = 0.0, float("inf"), float("inf"), 0
    for _ in range(max(1, repeat)):
        directory = KeyDirectory()
        for a in agents:
            directory.add_key(a.kid, a.agent_id, a.public_b64)
        detectors = build_detectors(DetectConfig(detectors_dir=s.detectors_dir))
        pipeline = Pipeline(detectors, directory, MemoryState(), s)
        pipeline.process(records[:512])  # warm caches (RE2 automata) before timing
        pipeline.times.seconds.clear()
        findings = []
        t0, main0, all0 = time.perf_counter(), time.thread_time(), time.process_time()
        for i in range(0, len(records), 512):
            findings.extend(pipeline.process(records[i : i + 512]).findings)
        dt = time.perf_counter() - t0
        main, total = time.thread_time() - main0, time.process_time() - all0
        pipeline.close()
        c0 = time.process_time()
        for f in findings:  # decide: the playbook matcher (the responder's runs are measured by containment)
            match(f, playbooks)
        pipeline.times.add("decide", time.process_time() - c0)
        for k, v in pipeline.times.seconds.items():
            best[k] = min(best.get(k, float("inf")), v / n * 1e6)
        best_rate = max(best_rate, n / dt)
        best_main, best_verify = min(best_main, main / n * 1e6), min(best_verify, (total - main) / n * 1e6)
        n_findings = len(findings)
    return {
        "core_events_per_s": round(best_rate),
        "core_us_per_event": {k: round(v, 1) for k, v in sorted(best.items())},
        # the calling thread's share, and the verify threads': one worker's ceiling on free cores is
        # 10^6 / the larger of the two once their work overlaps
        "core_thread_us_per_event": {"main": round(best_main, 1), "verify": round(best_verify, 1)},
        "core_findings": n_findings,
        "core_runs": max(1, repeat),
    }


def bench_core_only(events: int = 8000, repeat: int = 5, seed: int = 7) -> dict[str, Any]:
    """``soar bench core``: only the in-process core of ``soar bench pipeline`` (no broker, no worker), best of
    ``repeat`` runs over the same ``events`` (the pipeline bench's event mix and 32 agents)."""
    agents = [BenchAgent(f"agent-{i:02d}", Ed25519PrivateKey.generate()) for i in range(32)]
    load = mixed_events(agents, events, seed=seed)
    return {
        "events": events,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        **bench_core(agents, load, repeat),
    }


async def register_agents(url: str, agents: list[BenchAgent]) -> None:
    """Enrol the bench agents (their keys) in the store the workers read."""
    async with get_sessionmaker(url)() as session, session.begin():
        for a in agents:
            await register_agent(session, a.agent_id, a.public_b64, tools=TOOLS)


async def wait_findings(
    consumer: AIOKafkaConsumer,
    wanted: set[str],
    timeout: float,
    check: Callable[[], None] | None = None,
    seen: list[dict[str, Any]] | None = None,
) -> float:
    """Wait until a finding names each event id in ``wanted``; returns when the last one arrived. ``check`` runs
    between polls (``Services.check_alive``: a worker that died ends the wait with its log); every finding read
    is appended to ``seen`` when it is given."""
    wanted = set(wanted)
    deadline = time.monotonic() + timeout
    last = time.perf_counter()
    while wanted and time.monotonic() < deadline:
        if check is not None:
            check()
        batch = await consumer.getmany(timeout_ms=200, max_records=10_000)
        for msgs in batch.values():
            for m in msgs:
                finding = orjson.loads(m.value)
                if seen is not None:
                    seen.append(finding)
                ids = finding.get("event_ids", [])
                if wanted.intersection(ids):
                    wanted.difference_update(ids)
                    last = time.perf_counter()
    if wanted:
        raise TimeoutError(f"{len(wanted)} marker findings never arrived")
    return last


async def idle_cpu_ms_per_s(pids: list[int], seconds: float = 2.0) -> float:
    """CPU milliseconds per second that ``pids`` spend with no load (polling, heartbeats, directory refresh)."""
    cpu0, t0 = sum(_cpu_seconds(p) for p in pids), time.perf_counter()
    await asyncio.sleep(seconds)
    return round((sum(_cpu_seconds(p) for p in pids) - cpu0) / (time.perf_counter() - t0) * 1000, 1)


async def settle(pids: list[int], below_ms_per_s: float = 150.0, timeout: float = 60.0) -> float:
    """Wait until ``pids`` spend less than ``below_ms_per_s`` CPU ms per second over half a second (what a batch
    left them, such as a responder's runs still going, is done); returns the seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout and await idle_cpu_ms_per_s(pids, 0.5) >= below_ms_per_s:
        pass
    return round(time.perf_counter() - t0, 1)


def marginal_us_per_event(row: dict[str, Any], idle_ms_per_s: float, workers: int = 1) -> float:
    """Worker CPU per event with the idle cost over the run's duration taken out: the per-event cost that
    extrapolates to higher rates (at 10k events/s the idle cost is a few microseconds per event)."""
    idle_us = idle_ms_per_s * 1000 / row["events_per_s"]
    return round(max(0.0, row["worker_cpu_us_per_event"] - idle_us), 1)


async def assign_topic(consumer: AIOKafkaConsumer, topic: str, partitions: int, *, from_start: bool = False) -> None:
    """Point ``consumer`` at the end (``from_start``: the beginning) of every partition of ``topic``."""
    parts = consumer.partitions_for_topic(topic) or range(partitions)
    tps = [TopicPartition(topic, p) for p in parts]
    consumer.assign(tps)
    await (consumer.seek_to_beginning(*tps) if from_start else consumer.seek_to_end(*tps))


def broker_pid(services: Services) -> int | None:
    """The embedded broker's process id (None with an external broker)."""
    return services.broker.proc.pid if services.broker and services.broker.proc else None


def pin_rig(services: Services, workers: Sequence[int]) -> dict[str, list[int]]:
    """``pin_cores``: the ``workers`` on a core of their own, the broker and this process (the load generator) on
    the others."""
    broker = broker_pid(services)
    return pin_cores(workers, [os.getpid(), *([broker] if broker else [])])


async def measure_throughput(
    producer: AIOKafkaProducer,
    consumer: AIOKafkaConsumer,
    topic: str,
    load: list[Signed],
    markers: list[BenchAgent],
    worker_pids: list[int],
    *,
    broker_pid: int | None = None,
    timeout: float = 300.0,
    check: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Produce ``load`` then a marker per partition; the clock stops when every marker's finding is back.

    ``consumer`` tails the findings topic (``assign_topic``). Worker CPU is summed over ``worker_pids``;
    the broker's and this process's (the load generator's) CPU are reported beside it. ``check`` runs while
    the findings are awaited (``wait_findings``).
    """
    pids = {"worker": worker_pids, "broker": [broker_pid] if broker_pid else []}
    cpu0 = {name: sum(_cpu_seconds(p) for p in ps) for name, ps in pids.items()}
    main0 = sum(_cpu_seconds(p, main_thread=True) for p in worker_pids)
    own0 = time.process_time()
    t0 = time.perf_counter()
    marker_events = [marker_event(m) for m in markers]
    for e in [*load, *marker_events]:
        await producer.send(topic, e.raw, key=e.agent_id.encode())
    await producer.flush()
    produced = time.perf_counter() - t0
    t_end = await wait_findings(consumer, {e.event_id for e in marker_events}, timeout=timeout, check=check)
    total = len(load) + len(marker_events)
    out: dict[str, Any] = {
        "events_per_s": round(total / (t_end - t0)),
        "produce_events_per_s": round(total / produced),
        "loadgen_cpu_us_per_event": round((time.process_time() - own0) / total * 1e6, 1),
    }
    for name, ps in pids.items():
        if ps:
            cpu = sum(_cpu_seconds(p) for p in ps) - cpu0[name]
            out[f"{name}_cpu_us_per_event"] = round(cpu / total * 1e6, 1)
    # the event loop's thread: with the signature checks on other threads, this bounds one worker on free cores
    main = sum(_cpu_seconds(p, main_thread=True) for p in worker_pids) - main0
    out["worker_main_thread_cpu_us_per_event"] = round(main / total * 1e6, 1)
    return out


async def _first_findings(s: AsyncSession, attacks: dict[str, float]) -> dict[str, FindingRecord]:
    """The earliest finding made about each attack event (attack agents are named ``attacker-*``)."""
    findings = (await s.execute(select(FindingRecord).where(FindingRecord.agent_id.like("attacker-%")))).scalars()
    by_event: dict[str, FindingRecord] = {}
    for f in findings:
        for e in f.event_ids:
            if e in attacks and (e not in by_event or f.ts < by_event[e].ts):
                by_event[e] = f
    return by_event


async def _containment_times(url: str, attacks: dict[str, float]) -> tuple[list[float], list[float], list[float]]:
    """(detect ms, contain ms, respond ms) per attack; contain and respond for those with a recorded quarantine.

    respond is from the finding being made to the quarantine being recorded: the responder's share (the
    findings topic hop included), without the detection time that moves with the background load.
    """
    async with get_sessionmaker(url)() as s:
        by_event = await _first_findings(s, attacks)
        fids = [f.finding_id for f in by_event.values()]
        runs = (
            (await s.execute(select(PlaybookRunRecord).where(PlaybookRunRecord.finding_id.in_(fids)))).scalars().all()
        )
        steps = (
            await s.execute(
                select(StepRunRecord).where(
                    StepRunRecord.run_id.in_([r.run_id for r in runs]),
                    StepRunRecord.action == "agent:quarantine",
                    StepRunRecord.status == "succeeded",
                )
            )
        ).scalars()
    run_finding = {r.run_id: r.finding_id for r in runs}
    done: dict[str, float] = {}
    for st in steps:
        fid = run_finding[st.run_id]
        if st.finished_at is not None:
            done[fid] = min(done.get(fid, float("inf")), st.finished_at.timestamp())
    detect, contain, respond = [], [], []
    for event_id, produced in attacks.items():
        f = by_event.get(event_id)
        if f is None:
            continue
        detect.append((f.ts.timestamp() - produced) * 1000)
        if f.finding_id in done:
            contain.append((done[f.finding_id] - produced) * 1000)
            respond.append((done[f.finding_id] - f.ts.timestamp()) * 1000)
    return detect, contain, respond


def _trace_lines(trace_dir: Path) -> list[dict[str, Any]]:
    lines = []
    for path in sorted(trace_dir.glob("*.jsonl")):
        role = path.name.split("-", 1)[0]
        for raw in path.read_bytes().splitlines():
            if raw.strip():
                lines.append({**orjson.loads(raw), "role": role})
    return lines


def pause_summary(trace_dir: Path, since: float = 0.0) -> dict[str, dict[str, list[float]]]:
    """Per process role and kind (``gc`` over 5 ms, loop ``stall`` over 10 ms) from ``since`` (wall clock) on:
    [count, total ms, max ms]."""
    out: dict[str, dict[str, list[float]]] = {}
    for x in _trace_lines(trace_dir):
        if x.get("kind") in ("gc", "stall") and x["t"] >= since:
            n, total, top = out.setdefault(x["role"], {}).get(x["kind"], [0, 0.0, 0.0])
            out[x["role"]][x["kind"]] = [n + 1, round(total + x["ms"], 1), max(top, x["ms"])]
    return out


async def attack_breakdown(
    url: str, attacks: dict[str, float], where: dict[str, tuple[int, int]], trace_dir: Path
) -> list[dict[str, Any]]:
    """Per attack, when each stage was reached, in ms after the attack was produced (``soar.trace`` lines + store).

    ``det_fetch`` / ``det_done``: the detect worker fetched the batch holding the attack / finished it (its
    findings sent), ``det_batch`` records in that batch; ``finding``: the finding was made; ``resp_fetch``: the
    responder fetched it; ``commit1``-``commit3``: its transactions committed (runs started, revoke,
    quarantine; revoke and quarantine normally commit with the runs, ``Executor.run_inline``: then ``commit2``
    is absent);
    ``recorded``: the quarantine's ``finished_at``; ``stalls``: event-loop stalls and GC pauses (process:ms)
    between production and containment.
    """
    lines = _trace_lines(trace_dir)
    batches = [x for x in lines if x.get("kind") == "batch"]
    pauses = [x for x in lines if x.get("kind") in ("gc", "stall")]
    steps: dict[tuple[str, str, str], float] = {}
    for x in lines:
        if x.get("kind") == "step":
            steps.setdefault((x["run"], x["step"], x["phase"]), x["t"])
    async with get_sessionmaker(url)() as s:
        by_event = await _first_findings(s, attacks)
        fids = [f.finding_id for f in by_event.values()]
        q = (
            select(StepRunRecord, PlaybookRunRecord.finding_id)
            .join(PlaybookRunRecord, PlaybookRunRecord.run_id == StepRunRecord.run_id)
            .where(PlaybookRunRecord.finding_id.in_(fids), StepRunRecord.action == "agent:quarantine")
        )
        quarantines = [(st, fid) for st, fid in (await s.execute(q)).tuples() if st.status == "succeeded"]
    first: dict[str, StepRunRecord] = {}
    for st, fid in quarantines:
        if st.finished_at is not None and (fid not in first or st.finished_at < first[fid].finished_at):  # type: ignore[operator]
            first[fid] = st
    out = []
    for event_id, produced in attacks.items():
        row: dict[str, Any] = {}

        def ms(t: float | None, produced: float = produced) -> float | None:
            return None if t is None else round((t - produced) * 1000, 1)

        part, offset = where[event_id]
        for b in batches:
            rng = b["loop"] == "telemetry" and b["parts"].get(str(part))
            if rng and rng[0] <= offset <= rng[1]:
                row.update(det_fetch=ms(b["fetched"]), det_done=ms(b["handled"]), det_batch=b["n"])
                break
        f = by_event.get(event_id)
        if f is not None:
            row["finding"] = ms(f.ts.timestamp())
            for b in batches:
                if b["loop"] == "findings" and f.agent_id in b.get("keys", ()):
                    row.update(resp_fetch=ms(b["fetched"]), resp_batch=b["n"])
                    break
            st = first.get(f.finding_id)
            if st is not None and st.finished_at is not None:
                # revoke and quarantine run inline (committed with the runs' creation) unless one failed there
                created = steps.get((st.run_id, "revoke", "started")) or steps.get((st.run_id, "revoke", "committed"))
                row["commit1"] = ms(created)
                row["commit2"] = ms(steps.get((st.run_id, st.step_id, "started")))
                row["commit3"] = ms(steps.get((st.run_id, st.step_id, "committed")))
                row["recorded"] = ms(st.finished_at.timestamp())
                end = st.finished_at.timestamp() + 0.05
                row["stalls"] = [f"{p['role']}:{p['kind']}:{p['ms']}" for p in pauses if produced <= p["t"] <= end]
        out.append(row)
    return out


def attacker_agents(seconds: float, attack_every: float) -> list[BenchAgent]:
    """One fresh agent per attack, so no attack is throttled into another's incident."""
    n = max(1, int(seconds / attack_every))
    return [BenchAgent(f"attacker-{i:03d}", Ed25519PrivateKey.generate()) for i in range(n)]


async def measure_containment(
    producer: AIOKafkaProducer,
    settings: Settings,
    agents: list[BenchAgent],
    attackers: list[BenchAgent],
    *,
    rate: float,
    seconds: float,
    attack_every: float,
    say: Callable[..., Any],
    wait_s: float = 20.0,
    trace_dir: Path | None = None,
    hostile: Sequence[tuple[str, bytes]] = (),
) -> dict[str, Any]:
    """Inject one attack per attacker every ``attack_every`` s into ``rate`` events/s of background traffic.

    Latency runs from producing each attack event to its ``agent:quarantine`` step being recorded as
    succeeded (wall clock, same machine); ``detect_*`` is attack to finding made. With ``trace_dir`` (where
    the workers write ``soar.trace`` lines) the result has a ``breakdown`` per attack (``attack_breakdown``).
    ``hostile``: (key, value) records sent evenly over the ``seconds`` beside the background (a flood).
    """
    topic = topic_map(settings).telemetry
    n_attacks = len(attackers)
    flood = f" and {len(hostile) / seconds:.0f} hostile records/s" if hostile else ""
    say(
        f"containment: {n_attacks} attacks into {rate:.0f} events/s of background traffic{flood} for {seconds:.0f}s ..."
    )
    attacks: dict[str, float] = {}
    landed: dict[str, Any] = {}  # event id -> the send's future (its partition and offset)
    background = mixed_events(agents, int(rate * seconds) + 1, seed=11)
    tick = 0.01
    per_tick = rate * tick
    start = time.perf_counter()
    sent = 0.0
    next_attack = start + attack_every / 2
    i = j = 0
    while time.perf_counter() - start < seconds:
        sent += per_tick
        while i < int(sent) and i < len(background):
            await producer.send(topic, background[i].raw, key=background[i].agent_id.encode())
            i += 1
        while j < len(hostile) and j < int(sent * len(hostile) / (rate * seconds)):
            await producer.send(topic, hostile[j][1], key=hostile[j][0].encode())
            j += 1
        if time.perf_counter() >= next_attack and len(attacks) < n_attacks:
            atk = attack_event(attackers[len(attacks)])
            attacks[atk.event_id] = time.time()
            landed[atk.event_id] = await producer.send(topic, atk.raw, key=atk.agent_id.encode())
            next_attack += attack_every
        await asyncio.sleep(max(0.0, start + (sent / rate) - time.perf_counter()))
    for key, value in hostile[j:]:  # the last tick may end the loop short of them: each must be sent, and dead-lettered
        await producer.send(topic, value, key=key.encode())
    j = len(hostile)
    await producer.flush()
    elapsed = time.perf_counter() - start
    achieved = i / elapsed
    deadline = time.monotonic() + wait_s
    detect: list[float] = []
    contain: list[float] = []
    respond: list[float] = []
    while time.monotonic() < deadline:
        detect, contain, respond = await _containment_times(settings.db_url, attacks)
        if len(contain) == len(attacks):
            break
        await asyncio.sleep(0.5)
    result: dict[str, Any] = {
        "background_rate": rate,
        "background_events_per_s": round(achieved),
        **({"hostile_records_per_s": round(j / elapsed)} if hostile else {}),
        "attacks": len(attacks),
        "contained": len(contain),
        "detect_p50_ms": round(_pct(detect, 0.5), 1),
        "detect_p99_ms": round(_pct(detect, 0.99), 1),
        "p50_ms": round(_pct(contain, 0.5), 1),
        "p99_ms": round(_pct(contain, 0.99), 1),
        "max_ms": round(max(contain), 1) if contain else None,
        "mean_ms": round(statistics.fmean(contain), 1) if contain else None,
        "respond_p50_ms": round(_pct(respond, 0.5), 1),
        "respond_p99_ms": round(_pct(respond, 0.99), 1),
    }
    if trace_dir is not None:
        await asyncio.sleep(1.0)  # a findings batch's trace line is written once it is handled to the end and committed
        where = {e: (md.partition, md.offset) for e, md in [(e, await f) for e, f in landed.items()]}
        result["breakdown"] = await attack_breakdown(settings.db_url, attacks, where, trace_dir)
        result["pauses"] = pause_summary(trace_dir, since=min(attacks.values(), default=0.0))
    say(
        f"attack -> containment recorded: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms "
        f"({len(contain)}/{len(attacks)} contained); attack -> finding p50 {result['detect_p50_ms']} ms; "
        f"background {result['background_events_per_s']} events/s"
    )
    return result


async def _bench(
    events: int, rate: float, seconds: float, attack_every: float, console: Console | None
) -> dict[str, Any]:
    say = console.print if console else (lambda *a, **k: None)
    data_dir = Path(tempfile.mkdtemp(prefix="soar-bench-"))
    settings = local_settings(get_settings(), data_dir)
    settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{data_dir / 'soar.db'}"})
    topics = topic_map(settings)
    receiver = await WebhookReceiver(settings.webhook_secret).start()
    services = Services(settings, log_dir=data_dir / "logs", extra_env={"SOAR_WEBHOOK_URL": f"{receiver.url}/oncall"})
    agents = [BenchAgent(f"agent-{i:02d}", Ed25519PrivateKey.generate()) for i in range(32)]
    markers = marker_agents(settings.partitions)
    attackers = attacker_agents(seconds, attack_every)
    say(f"signing {events} events ...")
    load = mixed_events(agents, events)
    result: dict[str, Any] = {"events": events, "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    result.update(bench_core(agents, load))
    say(f"core pipeline in-process: {result['core_events_per_s']} events/s; us/event: {result['core_us_per_event']}")
    producer = AIOKafkaProducer(bootstrap_servers=settings.broker, linger_ms=5, max_batch_size=512 * 1024)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.broker, fetch_max_wait_ms=10)
    try:
        say("starting broker and one worker ...")
        await services.start(api=False)
        await register_agents(settings.db_url, agents + markers + attackers)
        await producer.start()
        await consumer.start()
        await assign_topic(consumer, topics.findings, settings.partitions)
        worker_pids = [services.procs["worker"].pid]
        idle = await idle_cpu_ms_per_s(worker_pids)
        broker = broker_pid(services)
        result.update(
            await measure_throughput(
                producer,
                consumer,
                topics.telemetry,
                load,
                markers,
                worker_pids,
                broker_pid=broker,
                check=services.check_alive,
            )
        )
        result["worker_idle_cpu_ms_per_s"] = idle
        result["worker_marginal_cpu_us_per_event"] = marginal_us_per_event(result, idle)
        cpu_us = result["worker_cpu_us_per_event"]
        say(
            f"through one worker: {result['events_per_s']} events/s (worker CPU {cpu_us} us/event; "
            f"{result['worker_marginal_cpu_us_per_event']} without its idle {idle} ms/s)"
        )

        await asyncio.sleep(2.0)  # let the marker playbooks finish
        result.update(
            await measure_containment(
                producer, settings, agents, attackers, rate=rate, seconds=seconds, attack_every=attack_every, say=say
            )
        )
        return result
    finally:
        await producer.stop()
        await consumer.stop()
        services.stop()
        await receiver.stop()
        await dispose_all()


def bench_pipeline(
    *,
    events: int = 20000,
    rate: float = 500.0,
    seconds: float = 10.0,
    attack_every: float = 0.5,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run the pipeline benchmark; returns the figures (see module docstring)."""
    return asyncio.run(_bench(events, rate, seconds, attack_every, console))


# ------------------------------------------------------------------ soar bench contain


async def _bench_database(db: str, data_dir: Path) -> tuple[str, Callable[[], Awaitable[None]] | None]:
    """The database URL for a bench run and how to drop it: ``sqlite`` (a file in ``data_dir``), or a fresh
    database created on the PostgreSQL server of ``db`` (``postgres``: the local server)."""
    if db == "sqlite":
        return f"sqlite+aiosqlite:///{data_dir / 'soar.db'}", None
    if db == "postgres":
        db = os.environ.get("SOAR_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    url = make_url(db)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"--db takes sqlite, postgres or a PostgreSQL URL, not {url.get_backend_name()!r}")
    url = url.set(drivername="postgresql+asyncpg")
    name = f"soar_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))

    async def drop() -> None:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def bench_decide(settings: Settings, n: int = 64, repeat: int = 50) -> dict[str, Any]:
    """CPU microseconds per finding to match it against the shipped playbooks (the responder's pure part)."""
    agents = [BenchAgent(f"decide-{i:03d}", Ed25519PrivateKey.generate()) for i in range(n)]
    directory = KeyDirectory()
    for a in agents:
        directory.add_key(a.kid, a.agent_id, a.public_b64)
    detectors = build_detectors(DetectConfig(detectors_dir=settings.detectors_dir))
    pipeline = Pipeline(detectors, directory, MemoryState(), settings)
    records = [RawRecord(attack_event(a).raw, "bench", 0, i) for i, a in enumerate(agents)]
    findings = pipeline.process(records).findings
    playbooks = load_playbooks(settings.playbooks_dir)
    t0 = time.process_time()
    for _ in range(repeat):
        for f in findings:
            match(f, playbooks)
    dt = time.process_time() - t0
    return {"decide_us_per_finding": round(dt / max(1, repeat * len(findings)) * 1e6, 1)}


async def _warm_up(producer: AIOKafkaProducer, settings: Settings, agent: BenchAgent, timeout: float = 90.0) -> None:
    """One attack, waited for until contained: both consumer groups have joined and the responder is warm."""
    atk = attack_event(agent)
    attacks = {atk.event_id: time.time()}
    await producer.send_and_wait(topic_map(settings).telemetry, atk.raw, key=atk.agent_id.encode())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await _containment_times(settings.db_url, attacks))[1]:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the warm-up attack was not contained within {timeout:.0f}s")


async def _contain(
    rate: float,
    seconds: float,
    attack_every: float,
    db: str,
    split: bool,
    console: Console | None,
    breakdown: bool = False,
    flood: float = 0.0,
    pin: bool = False,
) -> dict[str, Any]:
    say = console.print if console else (lambda *a, **k: None)
    data_dir = Path(tempfile.mkdtemp(prefix="soar-bench-"))
    settings = local_settings(get_settings(), data_dir)
    if flood:
        settings = settings.model_copy(update={"tier": Tier.ADVANCED})  # as the flood bench: replays are rejected
    trace_dir = data_dir / "trace" if breakdown else None
    if trace_dir is not None:
        settings = settings.model_copy(update={"trace_dir": trace_dir})
    url, drop = await _bench_database(db, data_dir)
    settings = settings.model_copy(update={"database_url": url})
    agents = [BenchAgent(f"agent-{i:02d}", Ed25519PrivateKey.generate()) for i in range(32)]
    warm = BenchAgent("attacker-warmup", Ed25519PrivateKey.generate())
    attackers = attacker_agents(seconds, attack_every)
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "database": make_url(url).get_backend_name(),
        "responder": "own process" if split else "in the worker",
    }
    flooding = Flooding.build(int(flood * seconds)) if flood else None
    result.update(bench_core(agents, mixed_events(agents, 4000, seed=3)))
    result.update(bench_decide(settings))
    say(f"CPU per event (us): {result['core_us_per_event']}; decide {result['decide_us_per_finding']} us/finding")
    receiver = await WebhookReceiver(settings.webhook_secret).start()
    services = Services(
        settings,
        log_dir=data_dir / "logs",
        extra_env={"SOAR_WEBHOOK_URL": f"{receiver.url}/oncall"},
        responder_process=split,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.broker,
        linger_ms=5,
        max_batch_size=512 * 1024,
        max_request_size=(11 << 20) if flood else 1 << 20,  # the flood's 10 MB records
    )
    try:
        say(f"starting broker and one worker ({result['database']}, responder {result['responder']}) ...")
        await services.start(api=False)
        await register_agents(settings.db_url, [*agents, warm, *attackers, *(flooding.victims if flooding else [])])
        await producer.start()
        if flooding is not None:  # the replayed events' first sightings, before the clock starts
            await flooding.first_sightings(producer, topic_map(settings).telemetry)
        await _warm_up(producer, settings, warm)
        pids = [p.pid for p in services.procs.values()]  # the worker, and the responder when split
        if pin:
            result["pinned_cores"] = pin_rig(services, pids)
        cpu0 = sum(_cpu_seconds(pid) for pid in pids)
        figures = await measure_containment(
            producer,
            settings,
            agents,
            attackers,
            rate=rate,
            seconds=seconds,
            attack_every=attack_every,
            say=say,
            trace_dir=trace_dir,
            hostile=flooding.records if flooding else (),
        )
        events = figures["background_events_per_s"] * seconds + figures["attacks"]
        cpu = sum(_cpu_seconds(pid) for pid in pids) - cpu0
        result["worker_cpu_us_per_event"] = round(cpu / max(1, events) * 1e6, 1)
        result.update(figures)
        if flooding is not None:
            result.update(await flooding.dead_letters(settings))
            say(f"dead letters: {result['dead_letters_by_reason']} (expected {result['dead_letters_expected']})")
        return result
    finally:
        await producer.stop()
        services.stop()
        await receiver.stop()
        await dispose_all()
        if drop is not None:
            await drop()


def bench_contain(
    *,
    rate: float = 2000.0,
    seconds: float = 10.0,
    attack_every: float = 0.5,
    db: str = "sqlite",
    split: bool = True,
    console: Console | None = None,
    breakdown: bool = False,
    flood: float = 0.0,
    pin: bool = False,
) -> dict[str, Any]:
    """Attack -> containment latency under ``rate`` events/s of background traffic (one worker, fresh database).

    ``split``: the responder runs as its own process (``soar worker --role respond``) beside ``--role detect``.
    ``breakdown``: the workers trace their timings and the result says where each attack's time went.
    ``flood``: hostile records/s sent beside the background, ``soar bench flood``'s kinds in turn and five of
    them 10 MB (tier ``advanced``, so replays are rejected); the result adds their dead letters by reason.
    ``pin``: the worker processes on one core, the broker and the load generator on the others (``pin_cores``).
    """
    return asyncio.run(_contain(rate, seconds, attack_every, db, split, console, breakdown, flood, pin))


@dataclass(frozen=True)
class Flooding:
    """The hostile records of ``soar bench contain --flood`` and what must come of them."""

    victims: list[BenchAgent]
    replayable: list[Signed]  # sent once before the flood, so that their copies in it are replays
    records: list[tuple[str, bytes]]  # (key, value), shuffled
    made: dict[str, int]  # hostile kind -> records

    @classmethod
    def build(cls, n: int, big: int = 5) -> Flooding:
        """``n`` hostile records of every kind in turn (``big`` of them 10 MB), against 8 enrolled victims."""
        from soar.bench_flood import KINDS, Hostile  # the flood bench imports this module

        victims = [BenchAgent(f"victim-{i:02d}", Ed25519PrivateKey.generate()) for i in range(8)]
        replayable = [v.sign("lifecycle", {"state": "heartbeat"}) for v in victims for _ in range(4)]
        records, made = Hostile(victims, replayable).records(max(n, len(KINDS) + big), big, KINDS)
        random.Random(5).shuffle(records)  # the 10 MB ones come last from ``records``
        return cls(victims, replayable, records, dict(made))

    async def first_sightings(self, producer: AIOKafkaProducer, topic: str) -> None:
        """Send the events the flood replays, once, so their copies are replays."""
        for e in self.replayable:
            await producer.send(topic, e.raw, key=e.agent_id.encode())
        await producer.flush()

    async def dead_letters(self, settings: Settings, timeout: float = 60.0) -> dict[str, Any]:
        """The dead letters by reason, read from the topic's start, against what the records must produce."""
        from soar.bench_flood import dead_letter_counts

        return await dead_letter_counts(settings, self.made, timeout)
