"""A real responder process for the kill -9 tests: ``python -m tests.decide.crash_runner CONFIG.json``.

It builds the production ``Responder`` (real database, control commands produced to the real broker,
notifiers posting to real HTTP receivers), does what a worker does at start (``resume()``), then handles the
configured finding (a restarted worker is handed the finding again: its offset was never committed).

To be killed at a precise point it stops and writes ``<marker_dir>/<point>`` (then sleeps until SIGKILL):

* ``kill_at: "<step>:started"``: the step's attempt is committed, its action has not run (inside a step);
* ``kill_at: "<step>:committed"``: the step is committed, the next one has not started (between steps);
* ``kill_after_publish: "<command>"``: the command is on the broker, the step's transaction not committed
  (inside a step, after its side effect).

When nothing killed it, it writes ``<marker_dir>/idle`` with every run's status, and exits (or, with
``stay: true``, keeps running its timer like a live worker until it is killed).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from soar.decide.engine import Responder
from soar.decide.spec import PlaybookSpec
from soar.notify import Notifiers, PagerDutyNotifier, WebhookNotifier
from soar.store.models import PlaybookRunRecord
from soar.store.session import get_sessionmaker
from soar.telemetry.control import ControlCommand
from soar.telemetry.findings import Finding


async def _stop_here(marker_dir: Path, point: str) -> None:
    (marker_dir / point).write_text("")
    await asyncio.sleep(3600)  # the test kills the process with SIGKILL now


async def main(cfg: dict[str, Any]) -> None:
    """Run one responder life as ``cfg`` says."""
    marker_dir = Path(cfg["marker_dir"])
    sm = get_sessionmaker(cfg["db_url"])
    producer = AIOKafkaProducer(bootstrap_servers=cfg["bootstrap"], acks="all")
    await producer.start()

    async def publish(cmd: ControlCommand) -> None:
        await producer.send_and_wait(cfg["control_topic"], cmd.model_dump_json().encode(), key=cmd.agent_id.encode())
        if cfg.get("kill_after_publish") == cmd.command:
            await _stop_here(marker_dir, f"published:{cmd.command}")

    async def hook(run_id: str, step_id: str, phase: str) -> None:
        if cfg.get("kill_at") == f"{step_id}:{phase}":
            await _stop_here(marker_dir, f"{step_id}:{phase}")

    notifiers = Notifiers(
        {
            "pd": PagerDutyNotifier("R0UTING", url=cfg["pagerduty_url"], retries=0, timeout_s=30),
            "hook": WebhookNotifier(cfg["webhook_url"], cfg["webhook_secret"], retries=0, timeout_s=30),
        }
    )
    responder = Responder(
        sm,
        [PlaybookSpec.model_validate(p) for p in cfg["playbooks"]],
        publish,
        notifiers,
        step_hook=hook,
        timer_interval_s=0.2,
        escalate_after_s=None,
    )
    await responder.resume()
    if cfg.get("finding"):
        await responder.handle([Finding.model_validate(cfg["finding"])])
    async with sm() as s:
        runs = {r.run_id: r.status for r in (await s.execute(select(PlaybookRunRecord))).scalars()}
    (marker_dir / "idle").write_text(json.dumps(runs))
    if cfg.get("stay"):
        await asyncio.sleep(3600)
    await responder.close()
    await producer.stop()


if __name__ == "__main__":
    asyncio.run(main(json.loads(Path(sys.argv[1]).read_text())))
