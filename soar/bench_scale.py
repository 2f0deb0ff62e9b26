"""``soar bench scale``: throughput with 1, 2, 4, ... workers in one consumer group on N partitions.

Each worker count gets a fresh embedded broker, a fresh SQLite store and that many ``soar worker``
processes; the same pre-signed event mix (``soar.bench.mixed_events``) goes through each, and the clock
stops, as in ``soar bench pipeline``, when a marker event on every partition has come back as a finding.

Wall-clock events/s depend on what else the machine runs; the CPU microseconds per event (worker, broker
and load generator) do not much, so the report turns them into an extrapolation: events/s per worker core,
and what the measured cores allow when every process shares them. The workers' idle CPU (fetch polling,
heartbeats, directory refresh: a cost per second, not per event) is measured first and taken out of the
per-event figure used for the extrapolation.
"""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console

from soar.bench import (
    BenchAgent,
    Signed,
    assign_topic,
    idle_cpu_ms_per_s,
    marginal_us_per_event,
    marker_agents,
    measure_throughput,
    mixed_events,
    register_agents,
)
from soar.config import Settings, get_settings
from soar.demo.receiver import WebhookReceiver
from soar.demo.services import Services, local_settings
from soar.store.session import dispose_all
from soar.topics import topic_map


def _spawn_workers(services: Services, n: int) -> list[subprocess.Popen[bytes]]:
    """``n`` worker processes in one consumer group; each gets its own data dir, so its own ready file."""
    procs = []
    for i in range(n):
        data_dir = services.settings.data_dir / f"worker-{i}"
        data_dir.mkdir(parents=True, exist_ok=True)
        log = open(services.log_dir / f"worker-{i}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "soar", "worker"],
            env={**services.env(), "SOAR_DATA_DIR": str(data_dir)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        services.procs[f"worker-{i}"] = proc  # Services.stop() ends it
        procs.append(proc)
    return procs


async def _wait_ready(services: Services, procs: list[subprocess.Popen[bytes]], timeout: float = 120.0) -> None:
    """Until every worker has been assigned partitions (the last one to join took part in a full rebalance)."""
    deadline = time.monotonic() + timeout
    ready = [services.settings.data_dir / f"worker-{i}" / "worker.ready" for i in range(len(procs))]
    while not all(p.exists() for p in ready):
        services.check_alive(*(f"worker-{i}" for i in range(len(procs))))
        if time.monotonic() > deadline:
            raise TimeoutError(f"workers not ready after {timeout}s; see {services.log_dir}")
        await asyncio.sleep(0.2)


async def run_workers(
    base: Settings, workers: int, partitions: int, agents: list[BenchAgent], load: list[Signed]
) -> dict[str, Any]:
    """One row of the table: ``load`` through ``workers`` worker processes on ``partitions`` partitions."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"soar-scale-{workers}-"))
    settings = local_settings(base, data_dir).model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{data_dir / 'soar.db'}", "partitions": partitions}
    )
    topics = topic_map(settings)
    receiver = await WebhookReceiver(settings.webhook_secret).start()
    services = Services(settings, log_dir=data_dir / "logs", extra_env={"SOAR_WEBHOOK_URL": f"{receiver.url}/oncall"})
    warmup, markers = marker_agents(partitions, "warmup"), marker_agents(partitions)
    producer = AIOKafkaProducer(bootstrap_servers=settings.broker, linger_ms=5, max_batch_size=512 * 1024)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.broker, fetch_max_wait_ms=10)
    try:
        await services.start(worker=False, api=False)
        await register_agents(settings.db_url, agents + warmup + markers)
        procs = _spawn_workers(services, workers)
        await _wait_ready(services, procs)
        await producer.start()
        await consumer.start()
        await assign_topic(consumer, topics.findings, partitions)
        pids = [p.pid for p in procs]
        # every partition is being consumed before the clock starts
        await measure_throughput(
            producer, consumer, topics.telemetry, [], warmup, pids, timeout=120, check=services.check_alive
        )
        await asyncio.sleep(1.0)
        idle = await idle_cpu_ms_per_s(pids)
        assert services.broker is not None and services.broker.proc is not None
        row = await measure_throughput(
            producer,
            consumer,
            topics.telemetry,
            load,
            markers,
            pids,
            broker_pid=services.broker.proc.pid,
            check=services.check_alive,
        )
    finally:
        await producer.stop()
        await consumer.stop()
        services.stop()
        await receiver.stop()
        await dispose_all()
    row = {"workers": workers, **row, "worker_idle_cpu_ms_per_s": idle}
    row["worker_marginal_cpu_us_per_event"] = marginal_us_per_event(row, idle)
    row["events_per_s_per_worker_core"] = round(1e6 / max(row["worker_marginal_cpu_us_per_event"], 1.0))
    total_us = (
        row["worker_marginal_cpu_us_per_event"] + row["broker_cpu_us_per_event"] + row["loadgen_cpu_us_per_event"]
    )
    row["all_cpu_us_per_event"] = round(total_us, 1)
    return row


async def _bench(workers: list[int], partitions: int, events: int, console: Console | None) -> dict[str, Any]:
    say = console.print if console else (lambda *a, **k: None)
    agents = [BenchAgent(f"agent-{i:02d}", Ed25519PrivateKey.generate()) for i in range(64)]
    say(f"signing {events} events ...")
    load = mixed_events(agents, events)
    cores = os.cpu_count() or 1
    result: dict[str, Any] = {
        "events": events,
        "partitions": partitions,
        "machine": f"{platform.machine()}, {cores} cores",
        "runs": [],
    }
    base = get_settings()
    for n in workers:
        say(f"{n} worker(s) on {partitions} partitions ...")
        row = await run_workers(base, n, partitions, agents, load)
        result["runs"].append(row)
        say(
            f"  {row['events_per_s']} events/s; CPU us/event: worker {row['worker_cpu_us_per_event']} "
            f"({row['worker_marginal_cpu_us_per_event']} without its idle {row['worker_idle_cpu_ms_per_s']} ms/s), "
            f"broker {row['broker_cpu_us_per_event']}, load generator {row['loadgen_cpu_us_per_event']} "
            f"-> {row['events_per_s_per_worker_core']} events/s per worker core"
        )
    first = result["runs"][0]
    for row in result["runs"]:
        row["speedup"] = round(row["events_per_s"] / first["events_per_s"], 2)
    # what these cores allow when the broker and the load generator share them (the workers' cost as measured)
    best = min(result["runs"], key=lambda r: r["all_cpu_us_per_event"])
    result["cores_allow_events_per_s"] = round(cores * 1e6 / best["all_cpu_us_per_event"])
    say(
        f"{cores} cores, shared by broker, load generator and workers, allow about "
        f"{result['cores_allow_events_per_s']} events/s at the measured CPU cost"
    )
    return result


def bench_scale(
    *, workers: list[int] | None = None, partitions: int = 8, events: int = 20000, console: Console | None = None
) -> dict[str, Any]:
    """Run the scale-out benchmark; returns the figures (see module docstring)."""
    return asyncio.run(_bench(workers or [1, 2, 4], partitions, events, console))
