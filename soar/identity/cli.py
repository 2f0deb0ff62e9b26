"""``soar agents ...``: enroll, list, show, rotate-key, revoke-key (typer sub-app; works on the database directly).

Wired in ``soar/cli.py`` with ``cli.add_typer(agents_cli, name="agents")``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # soar --help stays quick: SQLAlchemy is imported by the commands that use it
    from sqlalchemy.ext.asyncio import AsyncSession

agents_cli = typer.Typer(help="Agent identities: enrollment tokens, keys, status.", no_args_is_help=True)
console = Console()
T = TypeVar("T")
ACTOR = "cli"


def _run(fn: Callable[[AsyncSession], Awaitable[T]], *, write: bool) -> T:
    """Run ``fn`` in one session on the configured database (in a transaction when ``write``)."""
    from soar.store.session import dispose_all, get_sessionmaker

    async def go() -> T:
        try:
            async with get_sessionmaker()() as session:
                if write:
                    async with session.begin():
                        return await fn(session)
                return await fn(session)
        finally:
            await dispose_all()

    return asyncio.run(go())


def parse_labels(labels: list[str]) -> dict[str, str]:
    """``["k=v", ...]`` -> dict; a bad item is a usage error."""
    out: dict[str, str] = {}
    for item in labels:
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise typer.BadParameter(f"label {item!r} is not k=v")
        out[k.strip()] = v.strip()
    return out


def parse_tools(tools: list[str]) -> list[str] | None:
    """Repeated and/or comma-separated tool globs; None when none were given."""
    out = [t.strip() for item in tools for t in item.split(",") if t.strip()]
    return out or None


def _print_token(issued: Any, as_json: bool, what: str) -> None:
    data = {
        "agent_id": issued.agent_id,
        "token": issued.token,
        "enrollment_id": issued.enrollment_id,
        "expires_at": issued.expires_at.isoformat(),
        "rotate_overlap_s": issued.rotate_overlap_s,
    }
    if as_json:
        typer.echo(json.dumps(data))
        return
    console.print(f"{what} token for [cyan]{issued.agent_id}[/cyan] (shown once, expires {data['expires_at']}):")
    typer.echo(issued.token)
    console.print("On the agent: [bold]soar.sdk.enroll(api_url, token, agent_id, key_path=...)[/bold]")


@agents_cli.command("enroll")
def enroll_cmd(
    agent_id: str = typer.Argument(..., help="the agent's id"),
    owner: str = typer.Option("", help="owning team or person"),
    labels: list[str] = typer.Option([], "--labels", "--label", help="k=v (repeatable)"),
    tools: list[str] = typer.Option([], "--tools", help="tool globs the agent may call (repeatable or a,b)"),
    ttl: int = typer.Option(3600, help="seconds the token stays valid"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Issue a one-time, expiring enrollment token (stored hashed) for AGENT."""
    from soar.identity.enrollment import create_enrollment

    issued = _run(
        lambda s: create_enrollment(
            s, agent_id, owner=owner, labels=parse_labels(labels), tools=parse_tools(tools), ttl_s=ttl, actor=ACTOR
        ),
        write=True,
    )
    _print_token(issued, as_json, "enrollment")


@agents_cli.command("rotate-key")
def rotate_key_cmd(
    agent_id: str = typer.Argument(...),
    overlap: int = typer.Option(3600, help="seconds the current keys stay valid after the new key enrolls"),
    ttl: int = typer.Option(3600, help="seconds the re-key token stays valid"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Issue a re-key token: the agent enrolls a new key; its other keys then expire after OVERLAP seconds."""
    from soar.identity.agents import get_agent
    from soar.identity.enrollment import create_enrollment

    async def go(s: AsyncSession) -> Any:
        if await get_agent(s, agent_id) is None:
            raise typer.BadParameter(f"unknown agent {agent_id}")
        return await create_enrollment(s, agent_id, ttl_s=ttl, rotate_overlap_s=overlap, actor=ACTOR)

    _print_token(_run(go, write=True), as_json, "re-key")


@agents_cli.command("revoke-key")
def revoke_key_cmd(
    agent_id: str = typer.Argument(...),
    kid: str = typer.Argument(...),
    reason: str = typer.Option("revoked by operator", help="recorded in the audit log"),
) -> None:
    """Revoke one key of AGENT at once (token requests and events signed with it stop verifying)."""
    from soar.identity.agents import revoke_key

    _run(lambda s: revoke_key(s, agent_id, kid, reason, ACTOR), write=True)
    console.print(f"key {kid} of {agent_id} revoked")


@agents_cli.command("list")
def list_cmd(
    status: str = typer.Option("", help="active | quarantined"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Enrolled agents."""
    from soar.identity.agents import list_agents

    rows = _run(lambda s: list_agents(s, status=status or None, limit=1000), write=False)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps([{"agent_id": a.agent_id, "owner": a.owner, "status": a.status} for a in rows]))
        return
    table = Table("agent", "owner", "labels", "tools", "status")
    for a in rows:
        labels = ",".join(f"{k}={v}" for k, v in (a.labels or {}).items())
        table.add_row(a.agent_id, a.owner, labels, ",".join(map(str, a.tools or [])), a.status)
    console.print(table)


@agents_cli.command("show")
def show_cmd(agent_id: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """One agent with its keys (status, expiry) and its enrollment tokens (never the token itself)."""
    from sqlalchemy import select

    from soar.identity.agents import agent_keys, get_agent
    from soar.store.models import EnrollmentRecord

    async def go(s: AsyncSession) -> dict[str, Any] | None:
        a = await get_agent(s, agent_id)
        if a is None:
            return None
        enrollments = (
            await s.execute(
                select(EnrollmentRecord)
                .where(EnrollmentRecord.agent_id == agent_id)
                .order_by(EnrollmentRecord.created_at)
            )
        ).scalars()

        def iso(v: Any) -> str | None:
            return v.isoformat() if v is not None else None

        return {
            "agent_id": a.agent_id,
            "owner": a.owner,
            "labels": a.labels,
            "tools": a.tools,
            "status": a.status,
            "status_reason": a.status_reason,
            "keys": [
                {"kid": k.kid, "status": k.status, "created_at": iso(k.created_at), "expires_at": iso(k.expires_at)}
                for k in await agent_keys(s, agent_id)
            ],
            "enrollments": [
                {
                    "enrollment_id": e.enrollment_id,
                    "expires_at": iso(e.expires_at),
                    "used_at": iso(e.used_at),
                    "used_kid": e.used_kid,
                    "rotate_overlap_s": e.rotate_overlap_s,
                }
                for e in enrollments
            ],
        }

    data = _run(go, write=False)
    if data is None:
        console.print(f"[red]unknown agent {agent_id}[/red]")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(data))
        return
    console.print(
        f"[bold]{data['agent_id']}[/bold] owner={data['owner']} status={data['status']} tools={data['tools']}"
    )
    table = Table("kid", "status", "created", "expires")
    for k in data["keys"]:
        table.add_row(k["kid"], k["status"], k["created_at"] or "", k["expires_at"] or "-")
    console.print(table)
