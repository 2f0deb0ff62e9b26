"""``soar bench scale``: several workers in one group consume every partition; figures, not timings, are checked."""

import json

import pytest
from typer.testing import CliRunner

from soar.bench import marker_agents
from soar.cli import cli
from soar.sdk.client import partition_for_key


def test_marker_agents_cover_every_partition() -> None:
    markers = marker_agents(8, "m")
    assert sorted(partition_for_key(m.agent_id.encode(), list(range(8))) for m in markers) == list(range(8))
    assert all(m.agent_id.startswith("m-") for m in markers)


@pytest.mark.integration
def test_bench_scale_one_and_two_workers_report_per_worker_cost() -> None:
    args = ["bench", "scale", "--workers", "1,2", "--partitions", "4", "--events", "300", "--json"]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    result = json.loads(out.output.strip().splitlines()[-1])
    assert result["partitions"] == 4 and result["events"] == 300
    assert [r["workers"] for r in result["runs"]] == [1, 2]
    for row in result["runs"]:  # every marker came back, so every event before it on every partition was processed
        assert row["events_per_s"] > 0 and row["worker_cpu_us_per_event"] > 0
        # CPU time is read in 10 ms clock ticks: the broker's share of 300 events (~20 us each) can round to 0
        assert row["broker_cpu_us_per_event"] >= 0 and row["loadgen_cpu_us_per_event"] >= 0
        assert row["events_per_s_per_worker_core"] >= round(1e6 / row["worker_cpu_us_per_event"])
    assert result["runs"][0]["speedup"] == 1.0 and result["cores_allow_events_per_s"] > 0
