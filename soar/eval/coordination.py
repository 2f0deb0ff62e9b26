"""``soar eval coordination --data FILE.jsonl``: replay labelled fleet telemetry through the real detectors.

The file is what ``soar simulate`` writes (see ``soar/sim/scenarios.py``): a ``fleet`` row (the roster and
its tools), ``credential`` rows (task tokens as issued) and events carrying a ``scenario`` label. Events go
through :class:`soar.pipeline.Pipeline` in batches of 256, as in the worker, with identity checks off (the
file is unsigned) and a directory that knows the roster and the credentials issued so far.

A scenario is **detected** when a finding names one of its events; time to detect counts the scenario's
events up to and including the first one a finding names. A finding that names no attack event is a
**false alarm**; the rate is per 10,000 benign events.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from soar.config import get_settings
from soar.detect import build_detectors
from soar.detect.base import AgentProfile, CredentialGrant, DetectConfig, MemoryState
from soar.identity.scopes import Scope
from soar.ingest.decoders import RawRecord
from soar.pipeline import Pipeline
from soar.sim.scenarios import iter_jsonl
from soar.verify.checks import KeyDirectory

DEFAULT_DETECTORS: tuple[str, ...] = ("coordination", "zerotrust")
BENIGN = "benign"


class ScenarioResult(BaseModel):
    """How one scenario fared."""

    events: int
    agents: list[str]
    detected: bool
    events_to_detect: int | None = None
    rules: list[str] = []


class CoordinationReport(BaseModel):
    """The outcome of one ``soar eval coordination`` run."""

    data: str
    events: int
    benign_events: int
    scenarios: dict[str, ScenarioResult]
    detected: int
    false_alarms: int
    false_alarms_per_10k: float
    false_alarms_by_rule: dict[str, int]
    findings_by_rule: dict[str, int]
    detect_us_per_event: dict[str, float]
    baseline_fits: int
    baseline_fit_seconds: float


def evaluate_coordination(
    data: Path,
    config: DetectConfig | None = None,
    detectors: tuple[str, ...] | list[str] = DEFAULT_DETECTORS,
    *,
    batch: int = 256,
) -> CoordinationReport:
    """Replay ``data`` and score detection per scenario and false alarms (raises ValueError on bad input)."""
    settings = get_settings()
    if config is None:
        config = DetectConfig(detectors_dir=settings.detectors_dir)
    options = dict(config.options)
    coord = dict(options.get("coordination", {}))
    coord["baseline"] = {"background": False, **coord.get("baseline", {})}  # inline fits: reproducible
    options["coordination"] = coord
    built = build_detectors(DetectConfig(config.detectors_dir, options), list(detectors))
    directory = KeyDirectory()  # the roster and the credentials issued so far, as the worker loads them
    pipeline = Pipeline(built, directory, MemoryState(), settings, check_identity=False)
    labels: dict[str, str] = {}
    order: dict[str, int] = {}  # event id -> position within its scenario
    counts: Counter[str] = Counter()
    agents: dict[str, set[str]] = defaultdict(set)
    findings = []
    records: list[RawRecord] = []

    def flush() -> None:
        result = pipeline.process(records)
        if result.dead_letters:
            dl = result.dead_letters[0]
            raise ValueError(f"{data}:{dl.offset}: not a valid event ({dl.reason}: {dl.detail})")
        findings.extend(result.findings)
        records.clear()

    for n, row in iter_jsonl(data):
        if "fleet" in row:
            for a in row["fleet"].get("agents", []):
                directory.agents[a["agent_id"]] = AgentProfile(a["agent_id"], frozenset(a.get("tools", [])))
            continue
        if "credential" in row:
            c = row["credential"]
            directory.credentials[c["credential_id"]] = CredentialGrant(
                c["credential_id"], c["agent_id"], c.get("task_id", ""), tuple(Scope(**s) for s in c.get("scopes", []))
            )
            continue
        scenario = row.pop("scenario", None)
        if not isinstance(scenario, str) or "event_id" not in row:
            raise ValueError(f"{data}:{n}: an event row needs event_id and a scenario label")
        eid = str(row["event_id"])
        labels[eid] = scenario
        counts[scenario] += 1
        order[eid] = counts[scenario]
        agents[scenario].add(str(row.get("agent_id", "")))
        records.append(RawRecord(json.dumps(row).encode(), "eval", 0, n))
        if len(records) >= batch:
            flush()
    if records:
        flush()
    return _report(data, pipeline, findings, labels, order, counts, agents, built)


def _report(
    data: Path,
    pipeline: Pipeline,
    findings: list[Any],
    labels: dict[str, str],
    order: dict[str, int],
    counts: Counter[str],
    agents: dict[str, set[str]],
    built: list[Any],
) -> CoordinationReport:
    hits: dict[str, list[tuple[int, str]]] = defaultdict(list)
    false_alarms: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    for f in findings:
        rule = f"{f.detector}/{f.rule}"
        by_rule[rule] += 1
        attacked = [(labels[str(e)], order[str(e)]) for e in f.event_ids if labels.get(str(e), BENIGN) != BENIGN]
        if not attacked:
            false_alarms[rule] += 1
            continue
        for scenario, pos in attacked:
            hits[scenario].append((pos, rule))
    scenarios: dict[str, ScenarioResult] = {}
    for name in sorted(s for s in counts if s != BENIGN):
        found = hits.get(name, [])
        scenarios[name] = ScenarioResult(
            events=counts[name],
            agents=sorted(agents[name]),
            detected=bool(found),
            events_to_detect=min(p for p, _ in found) if found else None,
            rules=sorted({r for _, r in found}),
        )
    benign = counts[BENIGN]
    total = sum(counts.values())
    fa = sum(false_alarms.values())
    secs = pipeline.times.seconds
    coord = next((d for d in built if d.name == "coordination"), None)
    fit_s = coord.baseline.fit_seconds if coord is not None else 0.0
    # the worker fits in a background thread: the hot path's cost is the detector's time without the fits
    us = {
        d.name: round((secs.get(f"detect.{d.name}", 0.0) - (fit_s if d is coord else 0.0)) / max(total, 1) * 1e6, 1)
        for d in built
    }
    return CoordinationReport(
        data=str(data),
        events=total,
        benign_events=benign,
        scenarios=scenarios,
        detected=sum(1 for s in scenarios.values() if s.detected),
        false_alarms=fa,
        false_alarms_per_10k=round(fa / max(benign, 1) * 10_000, 3),
        false_alarms_by_rule=dict(sorted(false_alarms.items())),
        findings_by_rule=dict(sorted(by_rule.items())),
        detect_us_per_event=us,
        baseline_fits=coord.baseline.fits if coord is not None else 0,
        baseline_fit_seconds=round(fit_s, 2),
    )


def print_report(report: CoordinationReport) -> None:
    """The report as tables (rich)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"soar eval coordination --data {report.data}")
    for col in ("scenario", "events", "agents", "detected", "events to detect", "rules"):
        table.add_column(col)
    for name, s in report.scenarios.items():
        table.add_row(
            name,
            str(s.events),
            str(len(s.agents)),
            "yes" if s.detected else "NO",
            str(s.events_to_detect) if s.events_to_detect is not None else "-",
            ", ".join(s.rules) or "-",
        )
    console = Console(width=max(Console().width, 140))
    console.print(table)
    by_rule = ", ".join(f"{k} {v}" for k, v in report.false_alarms_by_rule.items())
    console.print(
        f"detected {report.detected}/{len(report.scenarios)} scenarios; "
        f"{report.false_alarms} false alarms in {report.benign_events:,} benign events "
        f"= {report.false_alarms_per_10k} per 10k ({by_rule or 'none'}); "
        f"detect CPU {', '.join(f'{k} {v} µs' for k, v in report.detect_us_per_event.items())} per event; "
        f"baseline fits {report.baseline_fits} ({report.baseline_fit_seconds} s CPU, off the hot path in the worker)"
    )


def eval_command(data: Path, as_json: bool, config: DetectConfig) -> None:
    """``soar eval coordination``: print the report (a table, or one JSON object)."""
    import typer

    from soar.logs import configure_logging

    configure_logging("warning")  # stdout carries the report
    try:
        report = evaluate_coordination(data, config)
    except (ValueError, KeyError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e
    if as_json:
        typer.echo(report.model_dump_json())
        return
    print_report(report)
