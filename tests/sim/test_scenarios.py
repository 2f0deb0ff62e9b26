"""``soar simulate``: seeded, schema-valid fleet telemetry with labelled attack scenarios."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from soar.cli import cli
from soar.identity.scopes import Scope
from soar.sim.scenarios import PIPELINE_HANDOVERS, SCENARIOS, iter_jsonl, simulate
from soar.telemetry.events import EVENT_ADAPTER

runner = CliRunner()


def test_scenarios_same_seed_same_rows_other_seed_other_rows() -> None:
    a = simulate(7, 8, 1500)
    assert a == simulate(7, 8, 1500)
    assert a != simulate(8, 8, 1500)


def test_scenarios_rows_are_valid_events_with_labels() -> None:
    rows = simulate(3, 16, 3000)
    assert "fleet" in rows[0] and len(rows[0]["fleet"]["agents"]) == 16
    events = [r for r in rows if "kind" in r]
    labels = Counter(r["scenario"] for r in events)
    assert set(labels) == {"benign", *SCENARIOS}
    assert labels["benign"] >= 3000
    kinds = Counter(r["kind"] for r in events)
    assert {"message", "tool_call", "tool_result", "input", "output", "credential_use"} <= set(kinds)
    for r in events:
        EVENT_ADAPTER.validate_python({k: v for k, v in r.items() if k != "scenario"})
    for r in rows:
        if "credential" in r:
            [Scope(**s) for s in r["credential"]["scopes"]]
    ts = [r["ts"] for r in events]
    assert ts == sorted(ts)
    # attacks sit in the second half (after the baseline's warm-up)
    first_attack = next(i for i, r in enumerate(events) if r["scenario"] != "benign")
    assert first_attack > len(events) // 3


def _relayed(content: str) -> bool:
    return " for review: " in content or any(content.startswith(h + ": ") for h in PIPELINE_HANDOVERS)


def test_scenarios_benign_work_is_varied() -> None:
    events = [r for r in simulate(5, 24, 6000) if r.get("scenario") == "benign"]
    # pipelines relay the same item on purpose (see the next test)
    messages = [r for r in events if r["kind"] == "message" and not _relayed(r["payload"]["content"])]
    assert len({r["payload"]["content"] for r in messages}) > len(messages) * 0.8
    assert any("delegation" in r["payload"] for r in messages)
    tools = Counter(r["payload"]["tool"] for r in events if r["kind"] == "tool_call")
    assert len(tools) >= 12 and tools["email.send"] and tools["http.post"]


def test_scenarios_benign_pipelines_relay_untrusted_content_down_usual_peers() -> None:
    rows = simulate(5, 24, 6000)
    peers = {a["agent_id"]: set(a["peers"]) for a in rows[0]["fleet"]["agents"]}
    runs: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("kind") == "message" and _relayed(r["payload"]["content"]):
            assert r["scenario"] == "benign"
            runs.setdefault(r["payload"]["conversation_id"], []).append(r)
    assert len(runs) >= 20
    inputs = {r["payload"]["content"] for r in rows if r.get("kind") in ("input", "tool_result")}
    for hops in runs.values():
        assert len(hops) in (2, 3)  # intake -> reviewer -> sink (-> a third stage)
        item = hops[0]["payload"]["content"].split(": ", 1)[1]
        assert any(item in i for i in inputs)  # the intake passes on what it took in, verbatim
        for a, b in itertools.pairwise(hops):
            assert b["agent_id"] == a["payload"]["to_agent"] and b["payload"]["content"].endswith(item)
        for h in hops:
            assert h["payload"]["to_agent"] in peers[h["agent_id"]]


def test_scenarios_subset_and_unknown() -> None:
    rows = simulate(1, 8, 500, ["toxic_flow"])
    assert {r["scenario"] for r in rows if "kind" in r} == {"benign", "toxic_flow"}
    with pytest.raises(ValueError, match="unknown scenario"):
        simulate(1, 8, 500, ["nope"])
    with pytest.raises(ValueError, match="at least 8 agents"):
        simulate(1, 4, 500)


def test_scenarios_cli_writes_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "fleet.jsonl"
    r = runner.invoke(cli, ["simulate", "--seed", "2", "--agents", "8", "--events", "400", "--out", str(out),
                            "--scenarios", "relay_chain,secret_leak"])  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = [row for _, row in iter_jsonl(out)]
    assert {row["scenario"] for row in rows if "kind" in row} == {"benign", "relay_chain", "secret_leak"}
    bad = runner.invoke(cli, ["simulate", "--scenarios", "nope", "--out", str(out)])
    assert bad.exit_code == 2 and "unknown scenario" in bad.output
