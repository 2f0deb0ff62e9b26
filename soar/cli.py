"""The ``soar`` command line (typer). Heavy imports stay inside commands so ``soar --help`` is quick."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from soar.api.cli import operators_cli
from soar.decide.cli import actions_cli, approve, deny, incidents_cli, playbooks_cli, runs_cli
from soar.eval.cli import detectors_cli, eval_cli
from soar.identity.cli import agents_cli
from soar.sim.cli import simulate_command

cli = typer.Typer(help="soar: verify, detect and contain autonomous AI agents.", no_args_is_help=True)
schema_cli = typer.Typer(help="Print JSON Schemas.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema (Alembic).", no_args_is_help=True)
content_cli = typer.Typer(help="Analyst content: playbooks and detection rules.", no_args_is_help=True)
bench_cli = typer.Typer(help="Benchmarks (figures for docs/performance.md).", no_args_is_help=True)
cli.add_typer(schema_cli, name="schema")
cli.add_typer(db_cli, name="db")
cli.add_typer(content_cli, name="content")
cli.add_typer(actions_cli, name="actions")
cli.add_typer(playbooks_cli, name="playbooks")
cli.add_typer(runs_cli, name="runs")
cli.add_typer(incidents_cli, name="incidents")
cli.add_typer(eval_cli)  # the `eval` command itself: soar eval DETECTOR --data FILE
cli.add_typer(detectors_cli, name="detectors")
cli.add_typer(agents_cli, name="agents")
cli.add_typer(operators_cli, name="operators")
cli.command("approve")(approve)
cli.command("deny")(deny)
cli.add_typer(bench_cli, name="bench")
cli.command("simulate")(simulate_command)
console = Console()


def main() -> None:
    """Entry point of the ``soar`` console script."""
    from soar.logs import configure_logging

    configure_logging("warning", cache=False)  # serving commands (api, worker) set their own level after
    cli()


@schema_cli.command("telemetry")
def schema_telemetry() -> None:
    """The JSON Schema of a telemetry event (the contract with agents)."""
    from soar.telemetry.events import telemetry_schema

    typer.echo(json.dumps(telemetry_schema(), indent=2))


@db_cli.command("upgrade")
def db_upgrade(url: str = typer.Option("", help="database URL (default: SOAR_DATABASE_URL or SQLite)")) -> None:
    """Apply migrations up to head."""
    from soar.store.migrate import upgrade_sync

    upgrade_sync(url or None)
    console.print("[green]database at head[/green]")


@cli.command()
def broker(port: int = typer.Option(0, help="port (default: SOAR_BROKER_PORT)")) -> None:
    """Run the embedded Kafka-compatible broker (Tansu) and create soar's topics; Ctrl-C stops it."""
    from soar.broker import EmbeddedBroker, ensure_topics
    from soar.config import get_settings
    from soar.topics import topic_map

    s = get_settings()
    with EmbeddedBroker(port or s.broker_port) as b:
        asyncio.run(ensure_topics(b.bootstrap, topic_map(s), s.partitions))
        console.print(f"broker on [bold]{b.bootstrap}[/bold] (memory storage; a restart empties it)")
        try:
            assert b.proc is not None
            b.proc.wait()
        except KeyboardInterrupt:
            pass


@cli.command()
def worker(
    loglevel: str = typer.Option("warning"),
    engine: str = typer.Option("", help="fast (aiokafka loops) or faust; default SOAR_ENGINE"),
    role: str = typer.Option(
        "", help="fast engine: all, detect (telemetry only) or respond (findings only); default SOAR_WORKER_ROLE"
    ),
) -> None:
    """Run a worker: ingest, verify, detect, decide, act. Run more for scale-out (same consumer group).

    With ``--role detect`` and ``--role respond`` in two processes, the responder's database round trips no
    longer queue behind telemetry batches in one event loop (lower time to contain).
    """
    from soar.config import get_settings
    from soar.worker import run_worker

    run_worker(loglevel, engine or get_settings().engine, role or get_settings().worker_role)


@cli.command()
def api() -> None:
    """Run the HTTP API (FastAPI/uvicorn) on SOAR_API_HOST:SOAR_API_PORT."""
    from soar.api.server import serve
    from soar.config import get_settings
    from soar.logs import configure_logging

    configure_logging("info")
    serve(get_settings())


@cli.command()
def dev(
    data_dir: Path = typer.Option(Path(".soar"), help="state directory (SQLite db, logs)"),
) -> None:
    """Everything on one machine for your own agents: embedded broker, worker, responder, API, SQLite."""
    import secrets

    from soar.config import get_settings
    from soar.demo.services import Services
    from soar.identity.keys import ensure_secret_file

    s = get_settings().model_copy(update={"data_dir": data_dir})
    # the operator token: SOAR_ADMIN_TOKEN, else a 0600 file in the data dir (kept across restarts)
    token_file = data_dir / "admin_token"
    token = s.admin_token or ensure_secret_file(token_file, lambda: secrets.token_urlsafe(32).encode()).decode().strip()
    # the faust engine runs both stages in one app; the fast engine runs the responder as its own process
    services = Services(s, log_dir=data_dir / "logs", admin_token=token, responder_process=s.engine == "fast")

    async def _run() -> None:
        await services.start()
        console.print(f"[green]soar dev is up[/green]: broker {s.broker}, API {services.api_url}")
        where = "SOAR_ADMIN_TOKEN" if s.admin_token else str(token_file)
        console.print(f"operator token: {where}; logs in {data_dir / 'logs'}")
        console.print("Ctrl-C stops everything.")
        while all(p.poll() is None for p in services.procs.values()):
            await asyncio.sleep(0.5)
        console.print("[red]a service exited; see the logs[/red]")

    try:
        asyncio.run(_run())
    except KeyboardInterrupt:
        pass
    finally:
        services.stop()


@cli.command()
def demo(
    data_dir: Path = typer.Option(Path(".demo"), help="scratch directory (wiped first)"),
    seconds: float = typer.Option(20.0, help="seconds of benign traffic around the attacks"),
) -> None:
    """The full demo: services, a simulated fleet under three attacks, containment, a result table."""
    from soar.demo.run import run_demo

    raise typer.Exit(0 if run_demo(data_dir, seconds=seconds, console=console) else 1)


@cli.command()
def replay(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL file of telemetry events"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per finding"),
) -> None:
    """Run the pipeline over recorded events without a broker; print findings and the playbook plan (dry run)."""
    from soar.replay import replay_file

    ok = replay_file(file, console=console, as_json=as_json)
    raise typer.Exit(0 if ok else 1)


@content_cli.command("check")
def content_check(
    playbooks: Path = typer.Option(None, help="playbooks dir (default: settings)"),
    detectors: Path = typer.Option(None, help="detectors dir (default: settings)"),
) -> None:
    """Load every playbook and rule file; list every error with file, line and field."""
    from soar.config import get_settings
    from soar.decide.loader import load_playbooks
    from soar.detect.rules import load_rules
    from soar.errors import ContentErrors

    s = get_settings()
    errors = []
    counts = {}
    for label, fn, path in (
        ("playbooks", load_playbooks, playbooks or s.playbooks_dir),
        ("rules", load_rules, (detectors or s.detectors_dir) / "rules"),
    ):
        try:
            counts[label] = len(fn(path))
        except ContentErrors as e:
            errors.extend(e.errors)
    for err in errors:
        console.print(f"[red]error[/red] {err}")
    if errors:
        raise typer.Exit(1)
    console.print(f"[green]ok[/green]: {counts.get('playbooks', 0)} playbooks, {counts.get('rules', 0)} rules")


@bench_cli.command("pipeline")
def bench_pipeline(
    events: int = typer.Option(20000, help="events to push through the worker for the throughput figure"),
    rate: float = typer.Option(500.0, help="background events/s while attacks are injected"),
    seconds: float = typer.Option(10.0, help="how long to inject attacks"),
    attack_every: float = typer.Option(0.5, help="seconds between attacks"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Events/s through one worker, and p50/p99 from attack event produced to containment recorded."""
    from soar.bench import bench_pipeline as run

    result = run(
        events=events, rate=rate, seconds=seconds, attack_every=attack_every, console=None if as_json else console
    )
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")


@bench_cli.command("core")
def bench_core_cmd(
    events: int = typer.Option(8000, help="pre-signed events per run"),
    repeat: int = typer.Option(5, min=1, help="runs over the same events; each figure is the best of them"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """CPU per event of each stage and detector, in process (no broker, no worker): best of N runs."""
    from soar.bench import bench_core_only

    result = bench_core_only(events=events, repeat=repeat)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        console.print(
            f"core pipeline in-process: {result['core_events_per_s']} events/s (best of {result['core_runs']}); "
            f"CPU us/event: {result['core_us_per_event']}; threads: {result['core_thread_us_per_event']}"
        )


@bench_cli.command("scale")
def bench_scale_cmd(
    workers: str = typer.Option("1,2,4", help="worker counts to measure, comma separated"),
    partitions: int = typer.Option(8, help="partitions of the telemetry and findings topics"),
    events: int = typer.Option(20000, help="events per worker count"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Events/s and CPU per event with 1, 2, 4 ... workers in one group, and what the cores allow."""
    from soar.bench_scale import bench_scale

    counts = [int(w) for w in workers.split(",") if w.strip()]
    result = bench_scale(workers=counts, partitions=partitions, events=events, console=None if as_json else console)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")


#: the benchmarks that start a worker: which database it uses
DB_HELP = "sqlite, postgres (fresh database on the local server) or a PostgreSQL URL"


@bench_cli.command("contain")
def bench_contain_cmd(
    rate: float = typer.Option(2000.0, help="background events/s while attacks are injected"),
    seconds: float = typer.Option(10.0, help="how long to inject attacks"),
    attack_every: float = typer.Option(0.5, help="seconds between attacks (each from a fresh agent)"),
    db: str = typer.Option("sqlite", help=DB_HELP),
    split: bool = typer.Option(True, "--split/--no-split", help="responder in its own process, or in the worker"),
    breakdown: bool = typer.Option(False, "--breakdown", help="trace the workers; where each attack's time went"),
    flood: float = typer.Option(
        0.0, min=0.0, help="hostile records/s beside the background (soar bench flood's kinds; tier advanced)"
    ),
    pin: bool = typer.Option(
        False, "--pin", help="the workers on a core of their own; the broker and bench on the rest"
    ),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """p50/p99 from attack event produced to containment recorded, under steady background traffic."""
    from soar.bench import bench_contain

    result = bench_contain(
        rate=rate,
        seconds=seconds,
        attack_every=attack_every,
        db=db,
        split=split,
        console=None if as_json else console,
        breakdown=breakdown,
        flood=flood,
        pin=pin,
    )
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")


@bench_cli.command("authorize")
def bench_authorize_cmd(
    http: bool = typer.Option(False, "--http", help="over HTTP against a separate `soar api` process"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    rate: float = typer.Option(0.0, help="calls/s (default 1000 in process, 200 over HTTP)"),
    seconds: float = typer.Option(5.0, help="measured seconds"),
) -> None:
    """Authorize p50/p99 latency and requests/s at a steady load, with revocation checks on."""
    from soar.identity.bench import bench_authorize

    bench_authorize(http, as_json, rate=rate or None, seconds=seconds)


@bench_cli.command("flood")
def bench_flood_cmd(
    events: int = typer.Option(100_000, help="events in the flood phase (good and hostile)"),
    big: int = typer.Option(5, help="how many of the hostile events are 10 MB payloads"),
    good_fraction: float = typer.Option(0.5, help="share of good signed events in the flood"),
    db: str = typer.Option("sqlite", help=DB_HELP),
    kinds: str = typer.Option("", help="hostile kinds to send, comma-separated (default: all of them)"),
    pin: bool = typer.Option(False, "--pin", help="the worker on a core of its own; the broker and bench on the rest"),
    rounds: int = typer.Option(1, help="clean and flood phases alternate this many times (the rates sum the rounds)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Good events/s with and without a flood of hostile events, dead letters by reason, worker peak RSS."""
    from pydantic import ValidationError

    from soar.bench_flood import FloodOptions, bench_flood
    from soar.errors import validation_detail

    chosen = {"kinds": tuple(k.strip() for k in kinds.split(",") if k.strip())} if kinds else {}
    try:
        opts = FloodOptions(
            events=events, big=big, good_fraction=good_fraction, db=db, pin=pin, rounds=rounds, **chosen
        )
    except ValidationError as e:
        raise typer.BadParameter(validation_detail(e)) from e
    result = bench_flood(opts, console=None if as_json else console)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")


@bench_cli.command("injection")
def bench_injection_cmd(
    texts: int = typer.Option(1024, help="texts, each a slice of the benign training documents"),
    chars: int = typer.Option(1024, help="characters per text"),
    batch: int = typer.Option(256, help="texts per score() call"),
    repeat: int = typer.Option(5, help="timed passes per figure (the best counts), after one warm-up pass"),
    model: str = typer.Option("", help="pin a classifier version (default: the newest)"),
    rules_only: bool = typer.Option(False, "--rules-only", help="without the classifier (use_model: false)"),
    detectors: Path = typer.Option(None, help="detectors dir: rules/, models/, corpora/ (default: settings)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """CPU µs per 1 KB text through injection scoring (normalise, rules, classifier), per stage, and texts/s."""
    from soar.bench_injection import bench_injection
    from soar.config import get_settings

    result = bench_injection(
        Path(detectors or get_settings().detectors_dir),
        texts=texts,
        chars=chars,
        batch=batch,
        repeat=repeat,
        model=model or None,
        use_model=not rules_only,
    )
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    console.print(
        f"injection scoring, {result['texts']} texts of {result['chars']} characters, batches of {result['batch']}, "
        f"model {result['model']}: [bold]{result['texts_per_s']:,.0f} texts/s[/bold] "
        f"({result['us_per_text']} µs CPU per text, best of {result['repeat']})"
    )
    for stage, us in result["stages_us"].items():
        console.print(f"  {stage:<11} {us:8.2f} µs per text")
