"""``soar simulate``: write a seeded fleet run with labelled attack scenarios as JSONL (see ``scenarios.py``)."""

from __future__ import annotations

from pathlib import Path

import typer


def simulate_command(
    seed: int = typer.Option(1, "--seed", help="random seed (the same seed writes the same file)"),
    agents: int = typer.Option(24, "--agents", min=8, help="fleet size (at least one agent per role: 8)"),
    events: int = typer.Option(20_000, "--events", min=100, help="benign events to generate (attacks come on top)"),
    scenarios: list[str] = typer.Option(None, "--scenarios", help="attack scenarios (repeatable; default: all)"),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="JSONL file to write"),
) -> None:
    """Generate benign fleet telemetry plus labelled attack scenarios, for `soar eval coordination`."""
    from soar.sim.scenarios import SCENARIOS, simulate, write_jsonl

    chosen = [x for s in scenarios or [] for x in s.split(",") if x] or list(SCENARIOS)
    try:
        rows = simulate(seed, agents, events, chosen)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    n = write_jsonl(rows, out)
    attack = sum(1 for r in rows if r.get("scenario") not in (None, "benign"))
    typer.echo(
        f"{out}: {n} rows ({sum(1 for r in rows if 'kind' in r)} events, {attack} attack events; "
        f"scenarios: {', '.join(chosen)})"
    )
