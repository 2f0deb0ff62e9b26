"""``soar bench authorize [--http] [--json]``: authorize latency and throughput at a steady load, revocation on.

A fresh SQLite database in a temporary directory holds one agent with ``tokens`` live credentials. Calls are
paced at ``rate`` per second for ``seconds`` (open loop: a slow call delays no other). Meanwhile a revoker,
writing through its own connection, revokes a spare credential every ``revoke_every_s`` and checks that the
very next authorize call denies it; the revoker is another process, and with ``--http`` the API is a
``soar api`` process too, so the check crosses processes.

``p50_ms``/``p99_ms`` count from each call's start; ``p99_from_schedule_ms`` counts from its scheduled start and
so also shows any delay of the load generator itself (on a CPU shared with other work it can be much larger).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from asyncio.subprocess import PIPE
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from soar.config import Settings

Call = Callable[[str], Awaitable[bool]]


def _pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def _setup(db_url: str, data_dir: Path, tokens: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Agent ``bench`` with ``tokens`` live tokens plus spare ones to revoke: (tokens, [(credential_id, token)])."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from soar.identity.agents import register_agent
    from soar.identity.credentials import issue_token
    from soar.identity.keys import signing_key
    from soar.identity.scopes import Scope
    from soar.store.migrate import upgrade
    from soar.store.session import get_sessionmaker
    from soar.telemetry.signing import public_key_b64

    await upgrade(db_url)
    key = signing_key(Settings(data_dir=data_dir))
    scope = Scope(tool="crm.*", resources=["accounts/*"], actions=["read", "write"])
    async with get_sessionmaker(db_url)() as s, s.begin():
        await register_agent(s, "bench", public_key_b64(Ed25519PrivateKey.generate().public_key()), tools=["crm.*"])
        live = [(await issue_token(s, "bench", "t", [scope], 3600, key=key)).token for _ in range(tokens)]
        spare = []
        for _ in range(200):
            issued = await issue_token(s, "bench", "t", [scope], 3600, key=key)
            spare.append((issued.credential_id, issued.token))
    return live, spare


async def _revoke_loop(db_url: str) -> None:
    """Child process: revoke each credential id read from stdin, answer ``ok`` once committed."""
    from soar.identity.credentials import revoke_credential
    from soar.store.session import dispose_all, get_sessionmaker

    sm = get_sessionmaker(db_url)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        async with sm() as s, s.begin():
            await revoke_credential(s, line.strip(), "bench", "bench")
        sys.stdout.write("ok\n")
        sys.stdout.flush()
    await dispose_all()


async def _spawn_revoker(db_url: str) -> asyncio.subprocess.Process:
    """Start the revoker process and wait until it is ready (imports take seconds on a busy machine)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "soar.identity.bench", "revoker", db_url, stdin=PIPE, stdout=PIPE
    )
    assert proc.stdout is not None
    if (await proc.stdout.readline()).strip() != b"ready":
        raise RuntimeError("revoker process failed to start")
    return proc


async def _revoker(
    proc: asyncio.subprocess.Process,
    spare: list[tuple[str, str]],
    call: Call,
    every_s: float,
    stop: asyncio.Event,
) -> dict[str, int]:
    """Another process revokes a spare credential; the very next call here must deny it (at least one check)."""
    assert proc.stdin is not None and proc.stdout is not None
    checked = missed = 0
    try:
        for cid, token in spare:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
            if stop.is_set() and checked:
                break
            if not await call(token):
                missed += 1  # must be allowed before the revocation
            proc.stdin.write(f"{cid}\n".encode())
            await proc.stdin.drain()
            if (await proc.stdout.readline()).strip() != b"ok":
                raise RuntimeError("revoker process failed")
            checked += 1
            if await call(token):
                missed += 1  # must be denied on the very next call
    finally:
        proc.stdin.close()
        await proc.wait()
    return {"revocations_checked": checked, "revocations_missed": missed}


async def _paced(
    call: Call, tokens: list[str], rate: float, seconds: float
) -> tuple[list[float], list[float], float, int]:
    """Launch calls at ``rate``/s for ``seconds``: latencies (s) from each call's start and from its scheduled
    start (adds any delay of the load generator itself, e.g. a starved CPU), elapsed time, denials."""
    n = max(1, int(rate * seconds))
    lat: list[float] = []
    sched: list[float] = []
    denied = 0
    rng = random.Random(1)
    pending: set[asyncio.Task[None]] = set()

    async def one(token: str, scheduled: float) -> None:
        nonlocal denied
        started = time.perf_counter()
        if not await call(token):
            denied += 1
        done = time.perf_counter()
        lat.append(done - started)
        sched.append(done - scheduled)

    t0 = time.perf_counter()
    for i in range(n):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(rng.choice(tokens), scheduled))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    return sorted(lat), sorted(sched), time.perf_counter() - t0, denied


async def _in_process(db_url: str, data_dir: Path, tokens: list[str]) -> tuple[Call, Callable[[], Awaitable[None]]]:
    from soar.identity.keys import signing_key
    from soar.identity.pdp import Authorizer, state_reader
    from soar.store.session import get_engine

    az = Authorizer(signing_key(Settings(data_dir=data_dir)), state_reader(db_url, get_engine(db_url)))

    async def call(token: str) -> bool:
        return (await az.authorize(token, "crm.read", "accounts/42", "read")).allow

    return call, az.close


class _LoopbackClient:
    """A minimal keep-alive HTTP/1.1 client (asyncio streams): the load generator must cost far less than httpx."""

    def __init__(self, host: str, port: int, connections: int) -> None:
        self.host, self.port, self.size = host, port, connections
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        self._all: list[asyncio.StreamWriter] = []

    async def open(self) -> None:
        """Open every connection."""
        for _ in range(self.size):
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self._all.append(writer)
            self._idle.put_nowait((reader, writer))

    async def post(self, path: str, body: bytes) -> bytes:
        """POST ``body``; returns the response body (raises on a non-200 status)."""
        reader, writer = await self._idle.get()
        try:
            writer.write(
                f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ", 2)[1]
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            data = await reader.readexactly(length)
            if status != b"200":
                raise RuntimeError(f"HTTP {status.decode()}: {data[:200]!r}")
            return data
        finally:
            self._idle.put_nowait((reader, writer))

    async def close(self) -> None:
        """Close every connection."""
        for w in self._all:
            w.close()


def _start_api(db_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    from soar.broker import free_port

    port = free_port()
    env = dict(
        os.environ,
        SOAR_DATA_DIR=str(data_dir),
        SOAR_DATABASE_URL=db_url,
        SOAR_API_HOST="127.0.0.1",
        SOAR_API_PORT=str(port),
        SOAR_ADMIN_TOKEN="bench",
        SOAR_API_ACCESS_LOG="0",
    )
    log = open(data_dir / "api.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "soar", "api"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    return proc, f"http://127.0.0.1:{port}"


async def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as c:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"soar api exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await c.get(f"{url}/healthz", timeout=1.0)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError("soar api did not start")


async def _run(http: bool, rate: float, seconds: float, tokens: int, revoke_every_s: float) -> dict[str, Any]:
    from soar.store.session import dispose_all

    with tempfile.TemporaryDirectory(prefix="soar-bench-authorize-") as tmp:
        data_dir = Path(tmp)
        db_url = f"sqlite+aiosqlite:///{data_dir / 'soar.db'}"
        live, spare = await _setup(db_url, data_dir, tokens)
        proc: subprocess.Popen[bytes] | None = None
        client: _LoopbackClient | None = None
        close: Callable[[], Awaitable[None]] | None = None
        try:
            if http:
                proc, url = _start_api(db_url, data_dir)
                await _wait_http(url, proc)
                host, port = url.removeprefix("http://").split(":")
                client = _LoopbackClient(host, int(port), connections=32)
                await client.open()
                http_client = client

                async def call(token: str) -> bool:
                    body = {"token": token, "tool": "crm.read", "resource": "accounts/42", "action": "read"}
                    return bool(orjson.loads(await http_client.post("/v1/authorize", orjson.dumps(body)))["allow"])

            else:
                call, close = await _in_process(db_url, data_dir, live)
            revoker_proc = await _spawn_revoker(db_url)
            await _paced(call, live, rate, min(1.0, seconds))  # warm-up: connections, caches
            stop = asyncio.Event()
            revoker = asyncio.create_task(_revoker(revoker_proc, spare, call, revoke_every_s, stop))
            lat, sched, elapsed, denied = await _paced(call, live, rate, seconds)
            stop.set()
            revocations = await revoker
        finally:
            if client is not None:
                await client.close()
            if close is not None:
                await close()
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
            await dispose_all()
    return {
        "mode": "http" if http else "in_process",
        "db": "sqlite",
        "requests": len(lat),
        "rate_target": rate,
        "requests_per_s": round(len(lat) / elapsed, 1),
        "p50_ms": round(_pct(lat, 0.50) * 1000, 3),
        "p99_ms": round(_pct(lat, 0.99) * 1000, 3),
        "max_ms": round(lat[-1] * 1000, 3) if lat else None,
        "p99_from_schedule_ms": round(_pct(sched, 0.99) * 1000, 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "unexpected_denials": denied,
        **revocations,
        "target_p99_ms": 10.0 if http else 2.0,
    }


def bench_authorize(
    http: bool,
    as_json: bool,
    *,
    rate: float | None = None,
    seconds: float = 5.0,
    tokens: int = 50,
    revoke_every_s: float = 0.05,
) -> dict[str, Any]:
    """Run the benchmark, print a table (or, with ``as_json``, one JSON object) and return the figures."""
    import json

    from rich.console import Console
    from rich.table import Table

    result = asyncio.run(_run(http, rate or (200.0 if http else 1000.0), seconds, tokens, revoke_every_s))
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        table = Table(title=f"soar bench authorize ({result['mode']}, revocation checks on)")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for k, v in result.items():
            table.add_row(k, str(v))
        Console().print(table)
    return result


if __name__ == "__main__" and sys.argv[1:2] == ["revoker"]:
    asyncio.run(_revoke_loop(sys.argv[2]))
