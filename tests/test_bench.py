"""``soar bench contain``: it runs end to end and reports its figures (no timing asserts), also under a flood."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from soar.bench import pin_cores
from soar.cli import cli

KEYS = {
    "p50_ms",
    "p99_ms",
    "detect_p50_ms",
    "attacks",
    "contained",
    "background_events_per_s",
    "database",
    "core_us_per_event",
    "decide_us_per_finding",
}


@pytest.mark.integration
@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_bench_contain_reports_figures(db: str) -> None:
    if db == "postgres":
        from tests.conftest import _pg_reachable

        if not _pg_reachable():
            pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    args = ["bench", "contain", "--json", "--rate", "200", "--seconds", "2", "--attack-every", "1", "--db", db]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    printed = json.loads(res.stdout.strip().splitlines()[-1])
    assert KEYS <= set(printed)
    assert printed["database"] == ("sqlite" if db == "sqlite" else "postgresql")
    assert printed["attacks"] == 2 and printed["contained"] == 2
    assert set(printed["core_us_per_event"]) >= {"ingest", "verify", "detect"}


@pytest.mark.integration
def test_bench_contain_breakdown_says_where_each_attack_went() -> None:
    args = ["bench", "contain", "--json", "--breakdown", "--rate", "200", "--seconds", "2", "--attack-every", "1"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    printed = json.loads(res.stdout.strip().splitlines()[-1])
    rows = printed["breakdown"]
    assert len(rows) == printed["attacks"] == 2
    for row in rows:  # each stage is reached after the one before it (causal order, not a timing bound)
        # revoke and quarantine normally commit with the runs (no commit2 of their own)
        order = ("det_fetch", "finding", "resp_fetch", "commit1", "commit2", "commit3")
        stages = [row[k] for k in order if k != "commit2" or row[k] is not None]
        assert None not in stages and stages == sorted(stages), row
        assert row["det_fetch"] <= row["det_done"] and row["recorded"] <= row["commit3"]
        assert row["det_batch"] >= 1 and row["resp_batch"] >= 1
    assert set(printed["pauses"]) <= {"detect", "respond"}


@pytest.mark.integration
@pytest.mark.slow
def test_bench_contain_under_a_flood_contains_every_attack_and_dead_letters_every_hostile_record() -> None:
    args = ["bench", "contain", "--json", "--rate", "200", "--seconds", "2", "--attack-every", "1", "--flood", "100"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    printed = json.loads(res.stdout.strip().splitlines()[-1])
    assert KEYS <= set(printed) and printed["hostile_records_per_s"] > 0
    assert printed["attacks"] == 2 and printed["contained"] == 2
    # 200 hostile records of every kind, five of them 10 MB: each dead-lettered once, with its reason and place
    assert sum(printed["dead_letters_expected"].values()) >= 150 and printed["dead_letters_expected"]["too_large"] == 5
    assert printed["dead_letters_by_reason"] == printed["dead_letters_expected"]
    assert printed["dead_letters_without_reason"] == 0 and printed["dead_letters_unlocated"] == 0


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="pinning needs two cores")
def test_pin_cores_puts_every_thread_of_the_worker_tree_on_its_own_core() -> None:
    code = "import threading, time, subprocess, sys; threading.Thread(target=time.sleep, args=(60,)).start(); "
    code += "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    worker = subprocess.Popen([sys.executable, "-c", code])
    rig = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    children: list[str] = []
    try:
        deadline = time.monotonic() + 20  # until the worker's thread and child are up
        while time.monotonic() < deadline:
            tasks = os.listdir(f"/proc/{worker.pid}/task")
            children = [c for t in tasks for c in Path(f"/proc/{worker.pid}/task/{t}/children").read_text().split()]
            if len(tasks) >= 2 and children:
                break
            time.sleep(0.05)
        placed = pin_cores([worker.pid], [rig.pid])
        cores = sorted(os.sched_getaffinity(0))
        assert placed == {"worker": cores[-1:], "rig": cores[:-1]}
        for pid in [worker.pid, *map(int, children)]:
            for tid in os.listdir(f"/proc/{pid}/task"):
                assert os.sched_getaffinity(int(tid)) == {cores[-1]}
        assert os.sched_getaffinity(rig.pid) == set(cores[:-1])
    finally:
        for proc in (worker, rig):
            proc.kill()
            proc.wait()
        for c in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(c), signal.SIGKILL)
