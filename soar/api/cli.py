"""``soar operators``: API operators, their roles and tokens (the operators file, see ``soar.api.auth``)."""

from __future__ import annotations

from pathlib import Path

import typer

operators_cli = typer.Typer(help="API operators: tokens and roles.", no_args_is_help=True)


@operators_cli.command("add")
def operators_add(
    name: str = typer.Argument(..., help="operator name (recorded as user:<name> in the audit log)"),
    role: list[str] = typer.Option(..., "--role", help="viewer | responder | oncall | admin | any approval role"),
    file: Path = typer.Option(None, help="operators file (default: settings.operators_file or data_dir)"),
) -> None:
    """Add an operator (or give one a new token); prints the token once, stores only its SHA-256."""
    from soar.api.auth import add_operator, operators_path
    from soar.config import get_settings

    path = file or operators_path(get_settings())
    token = add_operator(path, name, role)
    typer.echo(f"operator {name} ({', '.join(sorted(set(role)))}) written to {path}; restart the API to load it")
    typer.echo(token)


@operators_cli.command("list")
def operators_list(file: Path = typer.Option(None, help="operators file")) -> None:
    """List operators and their roles (never tokens)."""
    from soar.api.auth import load_operators, operators_path
    from soar.config import get_settings

    for op in sorted(load_operators(file or operators_path(get_settings())).values(), key=lambda o: o.name):
        typer.echo(f"{op.name}\t{','.join(sorted(op.roles))}")
