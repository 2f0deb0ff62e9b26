"""``soar demo``: a fleet of agents under three attacks, contained by soar, summarised in a table.

Everything is real: the embedded broker, a ``soar worker`` and a ``soar api`` process on a fresh SQLite
database, agents enrolled with one-time tokens (each generates its own key) and talking through the SDK,
task-scoped tokens checked by a tool server (the enforcement example), a local webhook receiver for on-call.
Time to containment is measured from the attack event's production to the quarantine step being recorded
in the store (both wall clock on this machine).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from soar.config import get_settings
from soar.demo.receiver import Delivery, WebhookReceiver
from soar.demo.services import Services, local_settings
from soar.enforce import ToolServer
from soar.enforce.server import EnforcedCall
from soar.logs import configure_logging
from soar.sim.fleet import FleetConfig, run_fleet
from soar.sim.reports import AttackReport, FleetReport
from soar.sim.tools import sim_tools
from soar.store.models import AgentRecord, FindingRecord, PlaybookRunRecord, StepRunRecord
from soar.store.session import dispose_all, get_sessionmaker
from soar.topics import topic_map

CONTAINMENT = {"agent:quarantine", "credentials:revoke"}
#: log lines a failed demo prints from each service's log (its last ones that look like trouble)
TROUBLE = ("error", "warning", "traceback", "exception", "timeout", "failed")


@dataclass
class ScenarioRow:
    """One line of the result table."""

    scenario: str
    victim: str
    detectors: list[str] = field(default_factory=list)
    playbooks: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    contain_ms: float | None = None
    contained: bool = False
    notes: list[str] = field(default_factory=list)


async def _scenario_row(services: Services, attack: AttackReport) -> ScenarioRow:
    row = ScenarioRow(attack.attack, attack.victim)
    ids = set(attack.event_ids())
    sm = get_sessionmaker(services.settings.db_url)
    async with sm() as s:
        findings = [
            f
            for f in (await s.execute(select(FindingRecord).where(FindingRecord.agent_id == attack.victim))).scalars()
            if ids & set(f.event_ids)
        ]
        runs = (
            (
                await s.execute(
                    select(PlaybookRunRecord).where(PlaybookRunRecord.finding_id.in_([f.finding_id for f in findings]))
                )
            )
            .scalars()
            .all()
        )
        steps = (
            (await s.execute(select(StepRunRecord).where(StepRunRecord.run_id.in_([r.run_id for r in runs]))))
            .scalars()
            .all()
        )
        agent = await s.get(AgentRecord, attack.victim)
    row.detectors = sorted({f"{f.detector}/{f.rule}" for f in findings})
    row.playbooks = sorted({r.playbook_name for r in runs})
    done = [st for st in steps if st.status == "succeeded"]
    row.actions = sorted({st.action for st in done})
    quarantines = [st.finished_at for st in done if st.action == "agent:quarantine" and st.finished_at]
    if quarantines and attack.produced_at:
        row.contain_ms = (min(quarantines).timestamp() - attack.produced_at) * 1000
    quarantined = agent is not None and agent.status == "quarantined"
    row.contained = quarantined and CONTAINMENT <= set(row.actions)
    if attack.attack == "memory":
        row.contained = row.contained and bool(attack.memory_restored) and "memory:rollback" in row.actions
        row.notes.append("memory restored" if attack.memory_restored else "memory NOT restored")
        confirmed = [st.output.get("matches") for st in done if st.action == "memory:rollback" and st.output]
        if confirmed and confirmed[0] is not None:  # the SDK's confirmation, recorded on the run by the worker
            row.notes.append("run: restore confirmed" if confirmed[0] else "run: restore MISMATCH")
    if attack.attack == "injection":
        row.contained = row.contained and bool(attack.exfil_blocked)
        row.notes.append(
            f"exfiltration blocked by {attack.blocked_by}" if attack.exfil_blocked else "exfil NOT blocked"
        )
    return row


async def _benign_touched(services: Services, report: FleetReport) -> list[str]:
    victims = {a.victim for a in report.attacks}
    touched = set(report.benign_touched)
    async with get_sessionmaker(services.settings.db_url)() as s:
        for a in (await s.execute(select(AgentRecord))).scalars():
            if a.agent_id not in victims and a.status != "active":
                touched.add(a.agent_id)
    return sorted(touched)


@dataclass
class CallCounts:
    """What the enforcement point decided during the run."""

    allowed: int
    denied: int
    denied_benign: list[str]  # agents not under attack that were refused (should be none)


def _enforcement_summary(console: Console, decisions: list[EnforcedCall], report: FleetReport) -> CallCounts:
    victims = {a.victim for a in report.attacks}
    allowed = sum(1 for d in decisions if d.allowed)
    refused = [d for d in decisions if not d.allowed]
    reasons = Counter(d.reason for d in refused)
    why = ", ".join(f"{r} {n}" for r, n in reasons.most_common()) or "none"
    console.print(
        f"enforcement point: {len(decisions)} tool calls checked with soar's authorize: "
        f"[green]{allowed} allowed[/green], [red]{len(refused)} denied[/red] ({why})"
    )
    benign = sorted({d.agent_id or "?" for d in refused if d.agent_id not in victims})
    return CallCounts(allowed, len(refused), benign)


def _print_table(console: Console, rows: list[ScenarioRow]) -> None:
    table = Table(title="soar demo: attacks and containment", show_lines=True)
    for col in ("scenario", "detector", "playbook", "actions taken", "time to contain (ms)", "status"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r.scenario,
            "\n".join(r.detectors) or "-",
            "\n".join(r.playbooks) or "-",
            "\n".join(r.actions + r.notes) or "-",
            f"{r.contain_ms:.0f}" if r.contain_ms is not None else "-",
            "[green]contained[/green]" if r.contained else "[red]not contained[/red]",
        )
    console.print(table)


def keep_failed(data_dir: Path, *, lines: int = 12) -> tuple[Path, dict[str, list[str]]]:
    """Copy a failed run's scratch directory (logs, database, fleet state) beside it, out of the next run's
    way, and return the copy and each service log's last ``lines`` lines that look like trouble."""
    kept = data_dir.with_name(f"{data_dir.name}-failed-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}")
    shutil.copytree(data_dir, kept, dirs_exist_ok=True)
    trouble: dict[str, list[str]] = {}
    for log in sorted((kept / "logs").glob("*.log")):
        text = log.read_text(encoding="utf-8", errors="replace").splitlines()
        hits = [line for line in text if any(word in line.lower() for word in TROUBLE)]
        if hits:
            trouble[log.name] = hits[-lines:]
    return kept, trouble


async def _store_counts(services: Services) -> str:
    """What reached the store: findings, playbook runs and steps by status (a failed demo prints it)."""
    async with get_sessionmaker(services.settings.db_url)() as s:
        findings = len((await s.execute(select(FindingRecord.finding_id))).all())
        runs = len((await s.execute(select(PlaybookRunRecord.run_id))).all())
        steps = Counter((await s.execute(select(StepRunRecord.status))).scalars())
    by_status = ", ".join(f"{k} {n}" for k, n in sorted(steps.items())) or "none"
    return f"store: {findings} findings, {runs} playbook runs, steps: {by_status}"


async def _run(data_dir: Path, seconds: float, console: Console) -> bool:
    if data_dir.exists():
        shutil.rmtree(data_dir)
    settings = local_settings(get_settings(), data_dir.resolve())
    settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{(data_dir / 'soar.db').resolve()}"})

    def on_page(d: Delivery) -> None:
        inc = d.body.get("incident") or {}
        finding = d.body.get("finding") or {}
        sig = "signature ok" if d.signature_ok else "BAD SIGNATURE"
        console.print(
            f"[bold magenta]PAGE[/bold magenta] on-call webhook ({sig}): "
            f"{finding.get('agent_id', '?')} {finding.get('detector', '?')}/{finding.get('rule', '?')} "
            f"incident {str(inc.get('incident_id', '?'))[:8]} status {inc.get('status', '?')}"
        )

    receiver = await WebhookReceiver(settings.webhook_secret, on_delivery=on_page).start()
    services = Services(
        settings,
        log_dir=data_dir / "logs",
        extra_env={"SOAR_WEBHOOK_URL": f"{receiver.url}/oncall"},
        responder_process=True,
    )
    t0 = time.monotonic()
    ok = False
    try:
        console.print("[bold]starting[/bold] embedded broker, worker (detect), responder and API (SQLite) ...")
        await services.start()
        console.print(f"services up in {time.monotonic() - t0:.1f}s: broker {settings.broker}, API {services.api_url}")

        async with httpx.AsyncClient(
            base_url=services.api_url, headers={"Authorization": f"Bearer {services.admin_token}"}
        ) as api:

            async def enrollment_token(agent_id: str, tools: list[str]) -> str:
                r = await api.post(f"/v1/agents/{agent_id}/enrollments", json={"tools": tools, "ttl_s": 600})
                r.raise_for_status()
                return str(r.json()["token"])

            tool_server = ToolServer(services.api_url, sim_tools())
            async with tool_server.running():
                console.print(
                    f"enforcement point (tool server, authorize on every call) on {tool_server.url}: "
                    "every agent's tool calls go through it"
                )
                cfg = FleetConfig(
                    bootstrap=settings.broker,
                    topics=topic_map(settings),
                    api_url=services.api_url,
                    duration_s=seconds,
                    data_dir=data_dir / "fleet",
                    enrollment_token=enrollment_token,
                    tool_server_url=tool_server.url,
                    on_event=lambda line: console.print(line, highlight=False),
                )
                report = await run_fleet(cfg)
        await asyncio.sleep(1.0)  # let the last steps land
        rows = [await _scenario_row(services, a) for a in report.attacks]
        touched = await _benign_touched(services, report)
        calls = _enforcement_summary(console, tool_server.decisions, report)
        touched = sorted(set(touched) | set(calls.denied_benign))
        _print_table(console, rows)
        sent = sum(report.events_sent.values())
        console.print(
            f"{len(report.agents)} agents, {sent} signed events, {len(receiver.deliveries)} pages; "
            f"benign agents touched: {', '.join(touched) or 'none'}; total {time.monotonic() - t0:.0f}s"
        )
        ok = len(rows) == 3 and all(r.contained for r in rows) and not touched and calls.allowed > 0
        console.print("[bold green]all attacks contained[/bold green]" if ok else "[bold red]demo FAILED[/bold red]")
        if not ok:
            console.print(await _store_counts(services), highlight=False)
        return ok
    finally:
        services.stop()
        await receiver.stop()
        await dispose_all()
        if not ok and data_dir.exists():
            kept, trouble = keep_failed(data_dir)
            for name, hits in trouble.items():
                console.print(f"[bold]{name}[/bold] (last lines that look like trouble):")
                for line in hits:
                    console.print(f"  {line}", highlight=False, markup=False)
            console.print(f"logs, database and fleet state of the failed run kept in {kept}", highlight=False)


def run_demo(data_dir: Path, *, seconds: float, console: Console) -> bool:
    """Run the demo; True when all three attacks were contained and no benign agent was touched."""
    # The fleet prints each control command itself; the SDK's own info logs would say it twice.
    configure_logging("warning")
    if not console.is_terminal:
        console = Console(width=150)
    return asyncio.run(_run(data_dir, seconds, console))
