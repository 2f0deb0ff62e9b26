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

    logging.basicConfig(level=loglevel.upper())
    Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False).execute_from_commandline()
