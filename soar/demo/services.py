"""Start and stop soar's processes on one machine: embedded broker, worker, API (``soar dev`` and the demo)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from soar.broker import EmbeddedBroker, ensure_topics, free_port
from soar.config import Settings
from soar.store.migrate import upgrade
from soar.topics import topic_map


@dataclass
class Services:
    """Child processes of one ``soar dev``; ``stop()`` ends every one it started."""

    settings: Settings
    log_dir: Path
    embedded_broker: bool = True
    broker: EmbeddedBroker | None = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    extra_env: dict[str, str] = field(default_factory=dict)
    #: run the responder as its own process (``soar worker --role respond``) beside ``--role detect``
    responder_process: bool = False

    @property
    def api_url(self) -> str:
        """Base URL of the API."""
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    def env(self) -> dict[str, str]:
        """Environment for the child processes: every setting as its ``SOAR_*`` variable."""
        env = dict(os.environ)
        for name, value in self.settings.model_dump(mode="json").items():
            if value is not None:
                env[f"SOAR_{name.upper()}"] = value if isinstance(value, str) else str(value)
        env.update(
            SOAR_DATA_DIR=str(self.settings.data_dir.resolve()),
            SOAR_DATABASE_URL=self.settings.db_url,
            SOAR_ADMIN_TOKEN=self.admin_token,
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "soar", *args],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    async def start(self, *, worker: bool = True, api: bool = True) -> None:
        """Broker (if embedded), topics, migrations, then worker and API; waits until each is ready.

        On any failure everything started so far is stopped before the error propagates.
        """
        try:
            await self._start(worker=worker, api=api)
        except BaseException:
            self.stop()
            raise

    async def _start(self, *, worker: bool, api: bool) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        if self.embedded_broker:
            self.broker = EmbeddedBroker(self.settings.broker_port, log_path=self.log_dir / "broker.log").start()
            self.settings.broker = self.broker.bootstrap
        await ensure_topics(self.settings.broker, topic_map(self.settings), self.settings.partitions)
        await upgrade(self.settings.db_url)
        ready = self.settings.data_dir / "worker.ready"
        responder_ready = self.settings.data_dir / "responder.ready"
        for path in (ready, responder_ready):
            path.unlink(missing_ok=True)
        if api:
            self._spawn("api", "api")
        if worker and self.responder_process:
            self._spawn("worker", "worker", "--role", "detect")
            self._spawn("responder", "worker", "--role", "respond")
        elif worker:
            self._spawn("worker", "worker")
        if api:
            await self._wait_http(f"{self.api_url}/healthz", "api")
        if worker:
            await self._wait_file(ready, "worker")
            if self.responder_process:
                await self._wait_file(responder_ready, "responder")

    async def _wait_http(self, url: str, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                self.check_alive(name)
                try:
                    if (await client.get(url, timeout=1.0)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not ready after {timeout}s; see {self.log_dir / name}.log")
                await asyncio.sleep(0.1)

    async def _wait_file(self, path: Path, name: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            self.check_alive(name)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready after {timeout}s; see {self.log_dir / name}.log")
            await asyncio.sleep(0.1)

    def check_alive(self, *names: str) -> None:
        """Raise RuntimeError, with the end of its log, for the first of ``names`` (default: every child) that
        has exited: a bench or a wait then fails at once instead of waiting out its timeout."""
        for name in names or tuple(self.procs):
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is not None:
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")

    def stop(self) -> None:
        """SIGTERM every child (then SIGKILL after 10 s), then the broker."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.procs.clear()
        if self.broker is not None:
            self.broker.stop()
            self.broker = None


def local_settings(base: Settings, data_dir: Path) -> Settings:
    """Settings for a self-contained run in ``data_dir``, on free ports."""
    port = free_port()
    return base.model_copy(
        update={"data_dir": data_dir, "broker_port": port, "broker": f"127.0.0.1:{port}", "api_port": free_port()}
    )
