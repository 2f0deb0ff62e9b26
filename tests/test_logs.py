"""Logs go to stderr, so a command's stdout carries only its own output (``--json``: one JSON object)."""

from __future__ import annotations

import json
import subprocess
import sys

LOGS = """
import logging, structlog
from soar.logs import configure_logging
configure_logging("info")
structlog.get_logger("soar.test").info("structlog line", kid="abc")
logging.getLogger("soar.test").warning("stdlib line")
"""


def test_structlog_and_stdlib_logs_go_to_stderr() -> None:
    res = subprocess.run([sys.executable, "-c", LOGS], capture_output=True, text=True, timeout=60, check=True)
    assert res.stdout == ""
    assert "structlog line" in res.stderr and "stdlib line" in res.stderr


def test_bench_json_stdout_is_exactly_one_object_though_the_command_logs() -> None:
    # bench authorize generates a token signing key, which it logs: stdout must stay one JSON object
    cmd = [sys.executable, "-m", "soar", "bench", "authorize", "--json", "--rate", "50", "--seconds", "0.5"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(res.stdout)["mode"] == "in_process"
