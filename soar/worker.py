"""``soar worker``: run a worker (ingest, verify, detect, decide, act) in this process, on either engine."""

from __future__ import annotations

import structlog

from soar.logs import configure_logging


def run_worker(loglevel: str = "warning", engine: str = "fast", role: str = "all") -> None:
    """Start the worker (``engine``: ``fast`` aiokafka loops or ``faust``; ``role``: all, detect or respond);
    blocks until SIGTERM/SIGINT."""
    configure_logging(loglevel)
    if role not in ("all", "detect", "respond"):
        raise SystemExit(f"unknown --role {role!r}: all, detect or respond")
    if engine == "fast":
        from soar.config import get_settings
        from soar.fastpath import run_fast_worker

        run_fast_worker(get_settings().model_copy(update={"worker_role": role}))
        return
    if role != "all":
        raise SystemExit(f"--role {role} needs the fast engine (the faust engine runs both stages in one app)")
    _run_faust(loglevel)


def _run_faust(loglevel: str) -> None:
    try:
        import mode.loop

        mode.loop.use("uvloop")  # +20-30% on the faust path (shared STACK.md)
    except Exception:
        pass
    import sklearn.ensemble  # noqa: F401  (for the coordination baseline's fits: imported at start-up, not at the first)
    from faust.worker import Worker

    import soar.decide.agents
    import soar.detect.agents  # noqa: F401  (registers detect_threats)
    from soar.app import app, settings

    ready = settings.data_dir / "worker.ready"
    ready.unlink(missing_ok=True)

    @app.on_partitions_assigned.connect
    async def _mark_ready(sender, assigned, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if assigned:
            ready.write_text("ready\n")
            structlog.get_logger("soar.worker").info("partitions assigned", n=len(assigned))

    Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False).execute_from_commandline()
