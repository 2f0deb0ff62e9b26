"""Each coverage-guided fuzz target runs under libFuzzer for a bounded number of inputs, from its seeds.

A run is a subprocess (libFuzzer owns the process it runs in); a failing input fails the test with the
exception and the input's bytes. ``make fuzz`` runs the same targets for longer, keeping their corpora.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
import structlog.testing

from tests.fuzz.seeds import SEEDS

pytest.importorskip("atheris", reason="atheris ships libFuzzer wheels for Linux x86_64 only")
ROOT = Path(__file__).resolve().parents[2]
#: inputs per target in the test suite: a few seconds each; ``make fuzz FUZZ_SECONDS=...`` goes further
RUNS = {"decode": 3000, "detectors": 1000, "playbook": 1500, "rule": 1000}
RUNS |= {"expression": 3000, "otlp": 3000, "identity": 3000}
#: inputs the fuzzer found, one file each (``tests/files/fuzz/<target>/<what it found>``), run in process
FOUND = sorted((ROOT / "tests" / "files" / "fuzz").glob("*/*"))


@pytest.mark.slow
@pytest.mark.parametrize("target", list(SEEDS))
def test_fuzz_target_finds_nothing(target: str, tmp_path: Path) -> None:
    corpus, artifacts = tmp_path / "corpus", tmp_path / "artifacts"
    artifacts.mkdir()
    cmd = [
        sys.executable, "-m", "tests.fuzz.run", target, "--seed-corpus",
        f"-runs={RUNS[target]}", "-seed=1", "-timeout=60", "-rss_limit_mb=3072", "-max_len=8192",
        f"-artifact_prefix={artifacts}/", str(corpus),
    ]  # fmt: skip
    done = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONHASHSEED": "0"}
    )
    found = sorted(artifacts.iterdir())
    assert done.returncode == 0 and not found, (
        f"fuzz target {target!r} failed (exit {done.returncode}); inputs: "
        + ", ".join(f"{p.name}={p.read_bytes()[:300]!r}" for p in found)
        + "\n"
        + done.stderr[-4000:]
    )
    assert "Done" in done.stderr, done.stderr[-2000:]


@pytest.mark.parametrize("path", FOUND, ids=[f"{p.parent.name}/{p.name}" for p in FOUND])
def test_inputs_the_fuzzer_found_stay_fixed(path: Path) -> None:
    from tests.fuzz.targets import TARGETS

    with structlog.testing.capture_logs() as logs:
        TARGETS[path.parent.name](path.read_bytes())
    assert not [e for e in logs if e["log_level"] in ("error", "exception", "critical")], logs
