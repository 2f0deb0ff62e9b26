"""``soar replay FILE``: the pipeline over a JSONL file of events, no broker; prints findings and the
actions matching playbooks would take (a dry run: nothing is stored, sent or paged)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from soar.config import get_settings
from soar.decide.loader import load_playbooks
from soar.decide.matcher import match, plan
from soar.detect import build_detectors
from soar.detect.base import DetectConfig, MemoryState
from soar.ingest.decoders import RawRecord
from soar.pipeline import BatchResult, Pipeline
from soar.verify.checks import KeyDirectory


def replay_records(lines: list[bytes], *, batch: int = 256) -> BatchResult:
    """Run raw event lines through ingest -> detect (identity checks off) with in-memory state."""
    s = get_settings()
    pipeline = Pipeline(
        build_detectors(DetectConfig(detectors_dir=s.detectors_dir)),
        KeyDirectory(),
        MemoryState(),
        s,
        check_identity=False,
    )
    total = BatchResult()
    for i in range(0, len(lines), batch):
        records = [RawRecord(v, "replay", 0, i + j) for j, v in enumerate(lines[i : i + batch])]
        r = pipeline.process(records)
        total.events += r.events
        total.findings += r.findings
        total.dead_letters += r.dead_letters
        total.memory_writes += r.memory_writes
    return total


def replay_file(path: Path, *, console: Console, as_json: bool = False) -> bool:
    """Replay ``path``; returns False when any line was rejected."""
    lines = [ln for ln in path.read_bytes().splitlines() if ln.strip()]
    result = replay_records(lines)
    playbooks = load_playbooks(get_settings().playbooks_dir)
    if as_json:
        for f in result.findings:
            steps = [
                {"playbook": pb.name, "steps": [p.model_dump() for p in plan(f, pb, dry_run=True)]}
                for pb in match(f, playbooks)
            ]
            console.print_json(json.dumps({"finding": f.model_dump(mode="json"), "playbooks": steps}))
        for dl in result.dead_letters:
            console.print_json(json.dumps({"dead_letter": dl.model_dump(mode="json", exclude={"raw_b64"})}))
        return not result.dead_letters
    console.print(
        f"{len(lines)} lines: {len(result.events)} events, {len(result.findings)} findings, "
        f"{len(result.dead_letters)} rejected (identity checks off: replayed agents need not be enrolled)"
    )
    table = Table("agent", "detector/rule", "severity", "summary", "playbook -> steps (dry run)")
    for f in result.findings:
        plans = []
        for pb in match(f, playbooks):
            steps = ", ".join(
                p.action + (" (approval)" if p.waits_for_approval else "") for p in plan(f, pb, dry_run=True)
            )
            plans.append(f"{pb.name} -> {steps}")
        table.add_row(f.agent_id, f"{f.detector}/{f.rule}", f.severity.label, f.summary[:80], "\n".join(plans) or "-")
    console.print(table)
    for dl in result.dead_letters:
        console.print(f"[red]rejected[/red] line {dl.offset + 1}: {dl.reason} {dl.detail}")
    return not result.dead_letters
