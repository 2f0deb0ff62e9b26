"""CLI sub-apps for the response engine: ``soar playbooks``, ``soar runs``, ``soar incidents``, ``soar approve|deny``.

``soar.cli`` mounts them; heavy imports stay inside commands so ``soar --help`` stays quick.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

playbooks_cli = typer.Typer(help="Playbooks: validate, list, test by replay, JSON Schema.", no_args_is_help=True)
runs_cli = typer.Typer(help="Playbook runs and their steps.", no_args_is_help=True)
incidents_cli = typer.Typer(help="Incidents: list, show, acknowledge, resolve.", no_args_is_help=True)
actions_cli = typer.Typer(help="Response actions.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    from soar.store.session import dispose_all

    async def main() -> T:
        try:
            return await fn()
        finally:
            await dispose_all()

    return asyncio.run(main())


def _sessionmaker() -> Any:
    from soar.config import get_settings
    from soar.store.session import get_sessionmaker

    return get_sessionmaker(get_settings().db_url)


def _view(
    fetch: Callable[[Any, str], Awaitable[dict[str, Any] | None]], ident: str, what: str, as_json: bool
) -> dict[str, Any] | None:
    """Load one view; exits 1 when it does not exist, prints it and returns None with ``--json``."""
    view = _run(lambda: fetch(_sessionmaker(), ident))
    if view is None:
        console.print(f"[red]no {what} {ident}[/red]")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(view, indent=2, default=str))
        return None
    return view


def _actor(by: str) -> str:
    return f"user:{by or getpass.getuser()}"


# ------------------------------------------------------------------ playbooks


@playbooks_cli.command("validate")
def playbooks_validate(directory: Path = typer.Argument(None, help="file or directory (default: settings)")) -> None:
    """Load every playbook; list every error with file, line and field; exit 1 on any."""
    from soar.config import get_settings
    from soar.decide.loader import load_playbooks
    from soar.errors import ContentErrors

    path = directory or get_settings().playbooks_dir
    try:
        specs = load_playbooks(path)
    except ContentErrors as e:
        for err in e.errors:
            console.print(
                f"[red]error[/red] {err.source}: {err.message}" + (f" [dim]({err.field})[/dim]" if err.field else "")
            )
        console.print(f"[red]{len(e.errors)} error(s)[/red]")
        raise typer.Exit(1) from None
    console.print(f"[green]ok[/green]: {len(specs)} playbooks in {path}")


@playbooks_cli.command("list")
def playbooks_list(directory: Path = typer.Argument(None, help="file or directory (default: settings)")) -> None:
    """The playbooks: id, title, mode, maturity, trigger and steps."""
    from soar.config import get_settings
    from soar.decide.loader import load_playbooks

    table = Table("id", "playbook", "mode", "maturity", "trigger", "steps", "source")
    for pb in load_playbooks(directory or get_settings().playbooks_dir, strict=False):
        t = pb.trigger
        trig = ", ".join([*t.detectors, *t.rules, *t.tags]) + f" >= {t.min_severity.label}"
        table.add_row(
            str(pb.id)[:8],
            pb.playbook + ("" if pb.enabled else " [dim](disabled)[/dim]"),
            pb.mode,
            pb.maturity,
            trig,
            " -> ".join(s.action for s in pb.steps),
            pb.source,
        )
    console.print(table)


@playbooks_cli.command("schema")
def playbooks_schema() -> None:
    """The JSON Schema of a playbook file (a list of PlaybookSpec)."""
    from soar.decide.spec import playbook_file_schema

    typer.echo(json.dumps(playbook_file_schema(), indent=2))


@playbooks_cli.command("test")
def playbooks_test(
    playbook: str = typer.Argument(..., help="playbook id (or prefix), title, or a playbook file"),
    events: Path = typer.Option(..., "--events", exists=True, dir_okay=False, help="JSONL file of telemetry events"),
    directory: Path = typer.Option(None, help="playbooks dir (default: settings)"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Replay events through detection and the playbook in dry run; print every decision and step."""
    from soar.decide.testing import run_playbook_test

    report = _run(lambda: run_playbook_test(playbook, events, directory))
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        console.print(f"{report['events']} events, {len(report['findings'])} findings; playbook {report['playbook']}")
        for f in report["findings"]:
            mark = "[green]fires[/green]" if f["fires"] else "[dim]no match[/dim]"
            console.print(f"  {f['detector']}/{f['rule']} {f['severity']} {mark}: {f['summary'][:100]}")
        for run in report["runs"]:
            console.print(f"run {run['run_id'][:8]} ({run['status']}, dry run)")
            for st in run["steps"]:
                console.print(
                    f"  - {st['step']} {st['action']}: {st['status']} {json.dumps(st.get('output', {}))[:160]}"
                )
    raise typer.Exit(0 if report["runs"] else 1)


# ----------------------------------------------------------------------- runs


@runs_cli.command("list")
def runs_list(
    status: str = typer.Option("", help="running | waiting | completed | failed | denied"),
    limit: int = typer.Option(50),
) -> None:
    """Runs, newest first."""
    from sqlalchemy import select

    from soar.store.models import PlaybookRunRecord

    async def go() -> list[Any]:
        async with _sessionmaker()() as s:
            q = select(PlaybookRunRecord).order_by(PlaybookRunRecord.started_at.desc()).limit(limit)
            if status:
                q = q.where(PlaybookRunRecord.status == status)
            return list((await s.execute(q)).scalars())

    table = Table("run", "playbook", "agent", "status", "mode", "incident", "started")
    for r in _run(go):
        table.add_row(
            r.run_id,
            r.playbook_name,
            r.agent_id,
            r.status,
            r.mode,
            (r.incident_id or "-")[:8],
            r.started_at.isoformat(),
        )
    console.print(table)


@runs_cli.command("show")
def runs_show(run_id: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """One run with its steps (and what a waiting step asks approval for)."""
    from soar.decide.views import run_view

    view = _view(run_view, run_id, "run", as_json)
    if view is None:
        return
    console.print(
        f"run {view['run_id']}: [bold]{view['playbook_name']}[/bold] on {view['agent_id']} "
        f"status {view['status']} (incident {view['incident_id']})"
    )
    table = Table("step", "action", "status", "attempts", "decided", "output / error")
    for st in view["steps"]:
        decided = (
            f"{st['decision']} by {st['decided_by']}"
            if st["decision"]
            else (f"deadline {st['approval_deadline']}" if st["approval_deadline"] else "")
        )
        table.add_row(
            st["step_id"],
            st["action"],
            st["status"],
            str(st["attempts"]),
            decided,
            st["error"] or json.dumps(st["output"])[:200],
        )
    console.print(table)


def _decide(run_id: str, step_id: str, decision: str, by: str, comment: str) -> None:
    from soar.decide.approvals import ApprovalError, decide_step

    try:
        out = _run(lambda: decide_step(_sessionmaker(), run_id, step_id, decision, _actor(by), comment=comment))  # type: ignore[arg-type]
    except ApprovalError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None
    if out.decision == "pending":
        console.print(
            f"approval of step {step_id} of run {run_id} by {out.decided_by} recorded "
            f"({len(out.approved_by)} of {out.approvers_required}); it waits for another operator"
        )
        return
    console.print(f"step {step_id} of run {run_id} {out.decision} by {out.decided_by}; the responder resumes the run")


def approve(
    run_id: str = typer.Argument(..., help="run id"),
    step_id: str = typer.Argument(..., help="step id"),
    by: str = typer.Option("", help="who approves (default: the OS user)"),
    comment: str = typer.Option("", help="recorded in the timeline"),
) -> None:
    """Approve a waiting step; the responder runs it and continues the run."""
    _decide(run_id, step_id, "approved", by, comment)


def deny(
    run_id: str = typer.Argument(..., help="run id"),
    step_id: str = typer.Argument(..., help="step id"),
    by: str = typer.Option("", help="who denies (default: the OS user)"),
    comment: str = typer.Option("", help="recorded in the timeline"),
) -> None:
    """Deny a waiting step; the run stops there (or continues past it with continue_on_error)."""
    _decide(run_id, step_id, "denied", by, comment)


# ------------------------------------------------------------------ incidents


@incidents_cli.command("list")
def incidents_list(
    status: str = typer.Option("", help="open | contained | resolved"), limit: int = typer.Option(50)
) -> None:
    """Incidents, newest first, with time to detect and to contain."""
    from soar.decide.views import incident_rows

    table = Table("incident", "agent", "severity", "status", "ack", "title", "ttd (s)", "ttc (s)")
    for r in _run(lambda: incident_rows(_sessionmaker(), status, limit)):
        table.add_row(
            r["incident_id"],
            r["agent_id"],
            r["severity"],
            r["status"],
            r["acknowledged_by"] or "-",
            r["title"][:60],
            _secs(r["time_to_detect_s"]),
            _secs(r["time_to_contain_s"]),
        )
    console.print(table)


def _secs(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


@incidents_cli.command("show")
def incidents_show(incident_id: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """One incident: summary and timeline."""
    from soar.decide.views import incident_view

    view = _view(incident_view, incident_id, "incident", as_json)
    if view is None:
        return
    console.print(
        f"incident {view['incident_id']} [bold]{view['title']}[/bold]\n"
        f"agent {view['agent_id']} severity {view['severity']} status {view['status']} owner {view['owner'] or '-'} "
        f"ttd {_secs(view['time_to_detect_s'])}s ttc {_secs(view['time_to_contain_s'])}s"
    )
    table = Table("time", "kind", "summary")
    for e in view["timeline"]:
        table.add_row(e["ts"], e["kind"], e["summary"])
    console.print(table)


@incidents_cli.command("ack")
def incidents_ack(
    incident_id: str = typer.Argument(...), by: str = typer.Option("", help="default: the OS user")
) -> None:
    """Acknowledge an incident (stops its escalation) and take ownership if nobody owns it."""
    from soar.decide.incidents import IncidentError, acknowledge

    try:
        _run(lambda: acknowledge(_sessionmaker(), incident_id, _actor(by)))
    except IncidentError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None
    console.print(f"incident {incident_id} acknowledged by {_actor(by)}")


@incidents_cli.command("resolve")
def incidents_resolve(
    incident_id: str = typer.Argument(...),
    by: str = typer.Option("", help="default: the OS user"),
    reason: str = typer.Option("", help="recorded in the timeline"),
) -> None:
    """Resolve an incident and resolve its PagerDuty alerts (same dedup_key)."""
    from soar.decide.incidents import IncidentError, resolve
    from soar.notify import Notifiers

    try:
        _, deliveries = _run(
            lambda: resolve(_sessionmaker(), incident_id, _actor(by), Notifiers.from_settings(), reason)
        )
    except IncidentError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None
    console.print(f"incident {incident_id} resolved by {_actor(by)}")
    for d in deliveries:
        console.print(f"  alert on {d['channel']}: {d['status']}")


# -------------------------------------------------------------------- actions


def _type_name(annotation: Any) -> str:
    """``str``, ``list[str] | None``, ``Literal['a', 'b']``: how a parameter's type reads in the catalogue."""
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("datetime.datetime", "datetime")


@actions_cli.command("list")
def actions_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """The catalogue of response actions: description, parameters (type and default) and an example."""
    from soar.act import ACTIONS

    rows = []
    for name, action in ACTIONS.items():
        params = {
            field: {
                "type": _type_name(info.annotation),
                "required": info.is_required(),
                **({} if info.is_required() else {"default": info.get_default(call_default_factory=True)}),
            }
            for field, info in action.Params.model_fields.items()
        }
        rows.append(
            {
                "action": name,
                "containment": action.containment,
                "description": action.description,
                "parameters": params,
                "example": action.example,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        tag = " [red](containment)[/red]" if r["containment"] else ""
        console.print(f"[bold]{r['action']}[/bold]{tag}\n  {r['description']}")
        for field, p in r["parameters"].items():
            req = "required" if p["required"] else f"default {p['default']!r}"
            console.print(f"    {field}: {p['type']} ({req})", markup=False, highlight=False)
        console.print("  example:")
        for line in r["example"].splitlines():
            console.print(f"    {line}", markup=False, highlight=False)
        console.print()
