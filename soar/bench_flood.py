"""``soar bench flood``: one real worker under a flood of hostile events mixed with good ones.

Two phases through the embedded broker and one ``soar worker`` process (SQLite, or PostgreSQL with ``--db``;
tier ``advanced`` so replays are rejected):

1. **clean**: ``G`` good signed events alone; the clock stops when a marker attack on every partition (sent
   last) has come back as a finding, so every event before it was processed;
2. **flood**: the same number of fresh good events, of the same mix, shuffled with hostile ones: invalid JSON,
   invalid UTF-8, raw control characters, 10 MB payloads, 10,000-deep nesting, wrong types, non-objects, bad
   signatures, unknown keys and replayed events.

A tenth of the good events in both phases carry hostile but valid text (escaped control codes, bidi overrides,
combining marks, 60 KB lines): they are processed like any good event.

It reports good events/s in each phase, the dead letters by reason against what each hostile kind must
produce (decoder and replay rejections are dead-lettered; a bad signature or an unknown key is a finding,
as ARCHITECTURE.md says, so those are counted on the findings topic), and the peak RSS of the worker and its
helper process.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import platform
import random
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field, field_validator
from rich.console import Console
from sqlalchemy import make_url

from soar.bench import (
    BenchAgent,
    Signed,
    _bench_database,
    _cpu_seconds,
    _process_tree,
    assign_topic,
    attack_event,
    broker_pid,
    mixed_events,
    pin_rig,
    register_agents,
    settle,
    wait_findings,
)
from soar.config import Settings, Tier, get_settings
from soar.demo.receiver import WebhookReceiver
from soar.demo.services import Services, local_settings
from soar.ingest.decoders import DEAD_LETTER_PREFIX
from soar.sdk.client import partition_for_key
from soar.store.session import dispose_all
from soar.topics import topic_map

BIG_BYTES = 10 << 20
#: hostile kind -> the dead-letter reason the worker must give it. Identity failures (bad signature, unknown
#: agent) are also findings, folded to one per (rule, agent) and window (``identity_fold_s``).
OUTCOME: dict[str, tuple[str, str]] = {
    "invalid_json": ("dead", "invalid_json"),
    "invalid_utf8": ("dead", "invalid_json"),
    "control_chars": ("dead", "invalid_json"),
    "too_large": ("dead", "too_large"),
    "too_deep": ("dead", "too_deep"),
    "wrong_types": ("dead", "schema"),
    "not_an_object": ("dead", "not_an_object"),
    "empty": ("dead", "empty"),
    "replayed": ("dead", "replayed"),
    "bad_signature": ("dead", "bad_signature"),
    "unknown_key": ("dead", "unknown_agent"),
}
KINDS = [k for k in OUTCOME if k != "too_large"]  # 10 MB records are few and placed on purpose (``big``)


class FloodOptions(BaseModel):
    """What one ``soar bench flood`` run does."""

    model_config = ConfigDict(frozen=True)

    events: int = Field(100_000, ge=2, description="events in the flood phase (good and hostile)")
    big: int = Field(5, ge=0, description="how many of the hostile events are 10 MB payloads")
    good_fraction: float = Field(0.5, gt=0.0, lt=1.0, description="share of good signed events in the flood")
    db: str = Field("sqlite", description="sqlite, postgres or a PostgreSQL URL")
    kinds: tuple[str, ...] = Field(tuple(KINDS), description="hostile kinds, in turn (the 10 MB ones: ``big``)")
    pin: bool = Field(False, description="the worker on a core of its own, the broker and the bench on the rest")
    rounds: int = Field(
        1, ge=1, le=50, description="clean and flood phases alternate this many times, each with its share of events"
    )

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [k for k in kinds if k not in KINDS]
        if unknown or not kinds:
            raise ValueError(f"hostile kinds are {', '.join(KINDS)} (got {', '.join(unknown) or 'none'})")
        return kinds


def _peak_rss_mb(pid: int) -> float:
    """Peak resident memory of the worker plus that of each of its descendants (its helper process): a bound."""
    total_kb = 0
    for p in _process_tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{p}/status") as f:
            total_kb += next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)
    return round(total_kb / 1024, 1)


def _locates_its_record(d: dict[str, Any], topic: str) -> bool:
    """A dead letter names the record's place in ``topic`` and identifies it: size, SHA-256, a prefix at most
    ``DEAD_LETTER_PREFIX`` bytes long (``truncated`` exactly when the record was longer)."""
    try:
        prefix = base64.b64decode(d["raw_b64"], validate=True)
        size = d["size"]
        return (
            d["topic"] == topic
            and d["partition"] >= 0
            and d["offset"] >= 0
            and len(d["sha256"]) == 64
            and len(prefix) == min(size, DEAD_LETTER_PREFIX)
            and d["truncated"] == (size > DEAD_LETTER_PREFIX)
        )
    except (KeyError, TypeError, ValueError):
        return False


def _markers(partitions: int) -> list[BenchAgent]:
    markers: list[BenchAgent] = []
    covered: set[int] = set()
    n = 0
    while len(covered) < partitions:
        m = BenchAgent(f"marker-{uuid.uuid4().hex[:8]}-{n}", Ed25519PrivateKey.generate())
        p = partition_for_key(m.agent_id.encode(), list(range(partitions)))
        n += 1
        if p not in covered:
            covered.add(p)
            markers.append(m)
    return markers


class Hostile:
    """Builds hostile records; keeps the event ids that must come back as identity findings."""

    def __init__(self, victims: list[BenchAgent], replayable: list[Signed], seed: int = 3) -> None:
        self.rng = random.Random(seed)
        self.victims = victims
        self.replayable = replayable
        self.forger = BenchAgent("forger-unenrolled", Ed25519PrivateKey.generate())
        self.expect_findings: set[tuple[str, str]] = set()  # (identity rule, agent or "*"): one finding each

    def records(self, n: int, big: int, kinds: Sequence[str]) -> tuple[list[tuple[str, bytes]], Counter[str]]:
        """``n`` hostile records: ``kinds`` in turn, then ``big`` 10 MB ones; and how many of each kind."""
        made: Counter[str] = Counter({k: 0 for k in OUTCOME})
        out: list[tuple[str, bytes]] = []
        for i in range(n):
            kind = kinds[i % len(kinds)] if i < n - big else "too_large"
            made[kind] += 1
            out.append(self.make(kind, i))
        return out, made

    def make(self, kind: str, i: int) -> tuple[str, bytes]:
        """(key, value) of one hostile record of ``kind``."""
        v = self.victims[i % len(self.victims)]
        good = v.sign("input", {"source": "web", "origin": "flood", "content": f"hello {i}"})
        raw = good.raw
        if kind == "invalid_json":
            return v.agent_id, self.rng.choice([b"{not json", raw[:-7], b'{"a": NaN}', b"\x00\x01\x02"])
        if kind == "invalid_utf8":
            return v.agent_id, raw.replace(b"hello", b"hel\xc3\x28lo \xed\xa0\x80")
        if kind == "control_chars":
            return v.agent_id, raw.replace(b"hello", b"he\x00l\x1b[31mlo\x07")
        if kind == "too_large":
            return v.agent_id, b'{"kind": "input", "payload": {"content": "' + b"A" * BIG_BYTES + b'"}}'
        if kind == "too_deep":
            return v.agent_id, b'{"payload":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
        if kind == "wrong_types":
            obj = orjson.loads(raw)
            obj.update(self.rng.choice([{"ts": "yesterday"}, {"kind": 7}, {"payload": "x"}, {"event_id": []}]))
            return v.agent_id, orjson.dumps(obj)
        if kind == "not_an_object":
            return v.agent_id, self.rng.choice([b"[]", b"42", b'"event"', b"null", b"[" + raw + b"]"])
        if kind == "empty":
            return v.agent_id, b""
        if kind == "replayed":
            first = self.replayable[i % len(self.replayable)]
            return first.agent_id, first.raw  # the same signed event again, at another offset
        if kind == "bad_signature":
            obj = orjson.loads(raw)
            obj["payload"]["content"] = "tampered in transit"
            self.expect_findings.add(("bad_signature", v.agent_id))
            return v.agent_id, orjson.dumps(obj)
        if kind == "unknown_key":
            forged = self.forger.sign("input", {"source": "web", "content": f"let me in {i}"})
            self.expect_findings.add(("unknown_agent", "*"))  # the sender picks the id: folded across agents
            return forged.agent_id, forged.raw
        raise ValueError(kind)


def hostile_content_events(agents: list[BenchAgent], n: int) -> list[Signed]:
    """Valid, signed events whose content is hostile text (escaped NUL/escape codes, bidi overrides, long
    lines): they must be processed like any good event."""
    texts = ["nul \u0000 esc \u001b[2J bell \u0007", "bidi \u202egnp.exe", "zalgo " + "\u0301" * 500, "x" * 60_000]
    return [
        agents[i % len(agents)].sign("input", {"source": "web", "origin": "flood", "content": texts[i % len(texts)]})
        for i in range(n)
    ]


async def dead_letter_counts(settings: Settings, made: Mapping[str, int], timeout: float) -> dict[str, Any]:
    """The dead-letter topic read from its start until every record of ``made`` (hostile kind -> count) that
    must be dead-lettered is there (or ``timeout``): by reason against the expected, and how many lack a reason
    or do not locate and identify their record."""
    expected: Counter[str] = Counter()
    for kind, n in made.items():
        what, reason = OUTCOME[kind]
        if what == "dead" and n:
            expected[reason] += n
    topics = topic_map(settings)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.broker, fetch_max_wait_ms=10)
    await consumer.start()
    try:
        await assign_topic(consumer, topics.deadletter, settings.partitions, from_start=True)
        total = sum(expected.values())
        letters = await _drain(consumer, lambda out: len(out) >= total, timeout=timeout)
    finally:
        await consumer.stop()
    plain = ("empty", "replayed")  # reasons that need no detail
    return {
        "dead_letters_by_reason": dict(sorted(Counter(d["reason"] for d in letters).items())),
        "dead_letters_expected": dict(sorted(expected.items())),
        "dead_letters_without_reason": sum(
            1 for d in letters if not d.get("reason") or (not d.get("detail") and d["reason"] not in plain)
        ),
        # each one says where its record is (telemetry partition/offset) and identifies it (size, SHA-256, prefix)
        "dead_letters_unlocated": sum(1 for d in letters if not _locates_its_record(d, topics.telemetry)),
    }


async def _drain(consumer: AIOKafkaConsumer, until: Any, timeout: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not until(out) and time.monotonic() < deadline:
        batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
        out += [orjson.loads(m.value) for msgs in batch.values() for m in msgs]
    return out


def _share(items: Sequence[Any], r: int, rounds: int) -> Sequence[Any]:
    """Round ``r``'s contiguous share of ``items`` (the shares of ``rounds`` rounds cover them all, once)."""
    n = len(items)
    return items[r * n // rounds : (r + 1) * n // rounds]


async def _phase(
    producer: AIOKafkaProducer,
    findings: AIOKafkaConsumer,
    topic: str,
    records: list[tuple[str, bytes]],
    markers: list,
    check: Callable[[], None],
) -> tuple[float, list[dict[str, Any]]]:
    marker_events = [attack_event(m) for m in markers]
    t0 = time.perf_counter()
    for key, value in records:
        await producer.send(topic, value, key=key.encode())
    for e in marker_events:
        await producer.send(topic, e.raw, key=e.agent_id.encode())
    await producer.flush()
    seen: list[dict[str, Any]] = []
    await wait_findings(findings, {e.event_id for e in marker_events}, timeout=900, check=check, seen=seen)
    return time.perf_counter() - t0, seen


async def _flood(opts: FloodOptions, console: Console | None) -> dict[str, Any]:
    say = console.print if console else (lambda *a, **k: None)
    events, big = opts.events, opts.big
    data_dir = Path(tempfile.mkdtemp(prefix="soar-flood-"))
    settings = local_settings(get_settings(), data_dir)
    url, drop = await _bench_database(opts.db, data_dir)
    settings = settings.model_copy(update={"database_url": url, "tier": Tier.ADVANCED})
    topics = topic_map(settings)
    receiver = await WebhookReceiver(settings.webhook_secret).start()
    services = Services(settings, log_dir=data_dir / "logs", extra_env={"SOAR_WEBHOOK_URL": f"{receiver.url}/oncall"})
    agents = [BenchAgent(f"agent-{i:02d}", Ed25519PrivateKey.generate()) for i in range(32)]
    victims = [BenchAgent(f"victim-{i:02d}", Ed25519PrivateKey.generate()) for i in range(8)]
    n_good = max(1, int(events * opts.good_fraction))
    n_bad = max(len(opts.kinds) + big, events - n_good)
    say(f"signing {2 * n_good} good events and building {n_bad} hostile ones ...")
    # both phases' good events are the same mix (a tenth with hostile but valid text, e.g. 60 KB lines), so the
    # ratio of their rates is what the hostile records cost the good ones
    clean = mixed_events(agents, n_good - n_good // 10, seed=7) + hostile_content_events(agents, n_good // 10)
    random.Random(4).shuffle(clean)
    good = mixed_events(agents, n_good - n_good // 10, seed=8) + hostile_content_events(agents, n_good // 10)
    replayable = [v.sign("lifecycle", {"state": "heartbeat"}) for v in victims for _ in range(4)]
    hostile = Hostile(victims, replayable)
    bad, kinds = hostile.records(n_bad, big, opts.kinds)
    mixed = [(e.agent_id, e.raw, True) for e in good] + [(k, v, False) for k, v in bad]
    random.Random(5).shuffle(mixed)
    rounds = min(opts.rounds, len(clean), len(mixed))
    result: dict[str, Any] = {
        "events": len(mixed),
        "good": len(good),
        "hostile": len(bad),
        "hostile_by_kind": dict(kinds),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "database": make_url(url).get_backend_name(),
        "rounds": rounds,
    }
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.broker,
        linger_ms=5,
        max_batch_size=512 * 1024,
        max_request_size=BIG_BYTES + (1 << 20),
    )
    findings = AIOKafkaConsumer(bootstrap_servers=settings.broker, fetch_max_wait_ms=10)
    try:
        say("starting broker and one worker ...")
        await services.start(api=False)
        markers = [_markers(settings.partitions) for _ in range(2 * rounds)]  # fresh ones for every phase
        await register_agents(settings.db_url, agents + victims + [m for ms in markers for m in ms])
        await producer.start()
        await findings.start()
        await assign_topic(findings, topics.findings, settings.partitions, from_start=True)
        pid = services.procs["worker"].pid
        broker = broker_pid(services)
        if opts.pin:
            result["pinned_cores"] = pin_rig(services, [pid])

        def cpu() -> list[float]:  # worker with its helper, its main thread, the embedded broker
            return [_cpu_seconds(pid), _cpu_seconds(pid, main_thread=True), _cpu_seconds(broker) if broker else 0.0]

        # the replayable events' first sightings, and a warm-up, before any clock starts
        for e in replayable:
            await producer.send(topics.telemetry, e.raw, key=e.agent_id.encode())
        await producer.flush()

        # With rounds > 1 the phases alternate (clean, flood, clean, flood, ...), each round with its share of the
        # events, and the rates are the sums over the rounds, so a drift of the machine's speed over a run slows both
        # sides alike instead of whichever phase ran second; each round's ratio is reported too.
        seen: list[dict[str, Any]] = []
        dt = {"clean": 0.0, "flood": 0.0}
        used = {"clean": [0.0, 0.0, 0.0], "flood": [0.0, 0.0, 0.0]}
        by_round: list[float] = []
        for r in range(rounds):
            flood = _share(mixed, r, rounds)
            part = {
                "clean": [(e.agent_id, e.raw) for e in _share(clean, r, rounds)],
                "flood": [(k, v) for k, v, _ in flood],
            }
            n_good = {"clean": len(part["clean"]), "flood": sum(1 for *_, ok in flood if ok)}
            rates: dict[str, float] = {}
            for i, phase in enumerate(("clean", "flood")):
                say(f"round {r + 1}/{rounds}, {phase}: {len(part[phase])} events ({n_good[phase]} good) ...")
                cpu0 = cpu()
                took, found = await _phase(
                    producer, findings, topics.telemetry, part[phase], markers[2 * r + i], services.check_alive
                )
                used[phase] = [u + b - a for u, a, b in zip(used[phase], cpu0, cpu(), strict=True)]
                dt[phase] += took
                seen.extend(found)
                rates[phase] = n_good[phase] / took
                # a phase ends when its last events' findings are out; their playbook runs may still be going,
                # and would otherwise be counted against the next phase
                result["settled_s"] = round(result.get("settled_s", 0.0) + await settle(_process_tree(pid)), 1)
            by_round.append(round(rates["flood"] / rates["clean"], 2))
        result["clean_good_events_per_s"] = round(len(clean) / dt["clean"])
        result["clean_worker_cpu_us_per_event"] = round(used["clean"][0] / len(clean) * 1e6, 1)
        result["flood_good_events_per_s"] = round(len(good) / dt["flood"])
        result["flood_all_events_per_s"] = round(len(mixed) / dt["flood"])
        result["flood_worker_cpu_us_per_event"] = round(used["flood"][0] / len(mixed) * 1e6, 1)
        # what a hostile record adds (both sides have as many good events of the same mix): the worker with its
        # helper, its main thread, and the embedded broker (which also takes in the dead letters)
        scale = len(good) / len(clean)
        for key, i in (("worker", 0), ("worker_main", 1), ("broker", 2)):
            extra = (used["flood"][i] - used["clean"][i] * scale) / len(bad)
            result[f"{key}_cpu_us_per_hostile"] = round(extra * 1e6, 1) if i < 2 or broker else None
        result["good_throughput_kept"] = round(result["flood_good_events_per_s"] / result["clean_good_events_per_s"], 2)
        result["kept_by_round"] = by_round
        say(
            f"  {result['flood_good_events_per_s']} good events/s in the flood, "
            f"{result['clean_good_events_per_s']} clean: kept {result['good_throughput_kept']} (by round {by_round})"
        )

        result.update(await dead_letter_counts(settings, kinds, timeout=120))
        rejected = ("bad_signature", "unknown_agent")
        identity = [f for f in seen if f.get("detector") == "identity" and f["rule"] in rejected]
        keys = {(f["rule"], "*" if f["rule"] == "unknown_agent" else f["agent_id"]) for f in identity}
        missing = hostile.expect_findings - keys
        result["identity_findings"] = len(identity)
        result["identity_findings_expected"] = len(hostile.expect_findings)
        result["identity_findings_missing"] = len(missing)
        result["worker_peak_rss_mb"] = _peak_rss_mb(pid)
        result["worker_alive"] = services.procs["worker"].poll() is None
        say(f"  dead letters: {result['dead_letters_by_reason']} (expected {result['dead_letters_expected']})")
        say(f"  identity findings: {len(hostile.expect_findings) - len(missing)}/{len(hostile.expect_findings)}")
        say(f"  worker peak RSS: {result['worker_peak_rss_mb']} MB")
        return result
    finally:
        await producer.stop()
        await findings.stop()
        services.stop()
        await receiver.stop()
        await dispose_all()
        if drop is not None:
            await drop()


def bench_flood(opts: FloodOptions, console: Console | None = None) -> dict[str, Any]:
    """Run the flood benchmark (blocking); returns the figures."""
    return asyncio.run(_flood(opts, console))


async def bench_flood_async(opts: FloodOptions) -> dict[str, Any]:
    """The same from a running event loop (tests)."""
    return await _flood(opts, None)
