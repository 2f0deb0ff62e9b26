"""``Services.check_alive``: a child that exited is named with the end of its log; running ones pass."""

import subprocess
import sys
from pathlib import Path

import pytest

from soar.config import Settings
from soar.demo.services import Services


def _child(services: Services, name: str, code: str) -> subprocess.Popen[bytes]:
    with open(services.log_dir / f"{name}.log", "ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT)
    services.procs[name] = proc
    return proc


def test_check_alive_names_the_child_that_exited_with_the_end_of_its_log(tmp_path: Path) -> None:
    services = Services(Settings(data_dir=tmp_path), log_dir=tmp_path)
    running = _child(services, "api", "import time; time.sleep(60)")
    ended = _child(services, "worker", "print('helper process did not start', flush=True); raise SystemExit(3)")
    try:
        ended.wait(30)
        services.check_alive("api")  # still running: nothing to say
        with pytest.raises(RuntimeError, match=r"(?s)worker exited with 3:.*helper process did not start"):
            services.check_alive()  # every child
    finally:
        running.kill()
        running.wait(10)
