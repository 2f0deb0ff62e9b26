"""``soar worker``: run the Faust worker (ingest, verify, detect, decide, act) in this process."""

from __future__ import annotations

import logging

import structlog


def run_worker(loglevel: str = "warning") -> None:
    """Start the worker; blocks until SIGTERM/SIGINT."""
    try:
        import mode.loop

        mode.loop.use("uvloop")  # +20-30% on the faust path (shared STACK.md)
    except Exception:
        pass
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

    level = logging.getLevelName(loglevel.upper())
    logging.basicConfig(level=level)
    # aiokafka and faust log at debug for every message they move; keep their records from being built at all
    for name in ("aiokafka", "faust", "mode", "aiosqlite", "sqlalchemy"):
        logging.getLogger(name).setLevel(max(level, logging.INFO))
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))
    Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False).execute_from_commandline()
