"""``soar bench core``: the in-process core of ``soar bench pipeline``, best of N runs."""

import json

from typer.testing import CliRunner

from soar.cli import cli


def test_bench_core_reports_cpu_per_stage_and_detector_best_of_runs() -> None:
    result = CliRunner().invoke(cli, ["bench", "core", "--events", "600", "--repeat", "2", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["events"] == 600 and out["core_runs"] == 2
    stages = out["core_us_per_event"]
    for key in ("ingest", "verify", "detect", "decide", "detect.coordination", "detect.zerotrust"):
        assert key in stages
    assert stages["ingest"] > 0 and stages["verify"] > 0 and stages["detect"] > 0
    # per run the detectors are inside the detect stage, so the sum of their best is at most its best (+ rounding)
    assert sum(v for k, v in stages.items() if k.startswith("detect.")) <= stages["detect"] + 0.5
    assert out["core_events_per_s"] > 0
