"""``soar bench injection``: the 1 KB texts and the per-stage report."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from soar.bench_injection import bench_injection, one_kb_texts
from soar.cli import cli

DETECTORS = Path(__file__).resolve().parents[1] / "detectors"


def test_one_kb_texts_are_exact_slices() -> None:
    texts = one_kb_texts(DETECTORS, n=8, chars=1024)
    assert len(texts) == 8 and all(len(t) == 1024 for t in texts)


def test_bench_injection_reports_every_stage() -> None:
    r = bench_injection(DETECTORS, texts=64, batch=32, repeat=1)
    assert r["texts"] == 64 and r["model"]
    assert set(r["stages_us"]) == {"normalize", "prescan", "rules", "classifier", "links", "hashing"}
    assert r["texts_per_s"] > 0 and r["us_per_text"] > 0


def test_bench_injection_cli_json_rules_only() -> None:
    out = CliRunner().invoke(cli, ["bench", "injection", "--json", "--texts", "32", "--repeat", "1", "--rules-only"])
    assert out.exit_code == 0, out.output
    r = json.loads(out.output)
    assert r["model"] is None and set(r["stages_us"]) == {"normalize", "rules"}
