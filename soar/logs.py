"""One logging setup for every soar process (worker, API, CLI).

Tracebacks are rendered as plain text without local variables: structlog's development renderer prints
every local of every frame, which costs about a second per exception (a detector error an attacker can
trigger must not stall the worker) and would copy event content, tokens and keys into the logs.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the moment of writing, not when logging was configured.

    A command run in process (a test's CliRunner, an embedding application) swaps ``sys.stderr`` for a stream it
    closes afterwards; a logger holding that stream would fail on every later line.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_STDERR = _CurrentStderr()

_NOISY = ("aiokafka", "faust", "mode", "aiosqlite", "sqlalchemy", "uvicorn.access", "httpx")


def configure_logging(level: str | int = "warning", *, json: bool | None = None, cache: bool = True) -> None:
    """Configure stdlib logging and structlog for this process (``SOAR_LOG_JSON=1`` for JSON lines).

    Logs go to stderr: stdout carries the commands' own output (``--json`` prints one JSON object there).
    ``cache=False`` leaves loggers unbound to this configuration, so a later call (a command that serves at
    level info) takes over every logger.
    """
    lvl = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if json is None:
        json = os.environ.get("SOAR_LOG_JSON", "") not in ("", "0", "false")
    logging.basicConfig(level=lvl, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(lvl)
    # these libraries log at debug for every message they move: keep those records from being built at all
    for name in _NOISY:
        logging.getLogger(name).setLevel(max(lvl, logging.INFO))
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.processors.KeyValueRenderer(key_order=["event"])
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(_STDERR),
        cache_logger_on_first_use=cache,
    )
