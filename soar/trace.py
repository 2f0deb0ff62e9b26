"""Optional timing trace of a worker process, for ``soar bench contain --breakdown`` (off unless ``SOAR_TRACE_DIR``).

When the setting ``trace_dir`` names a directory, each fast-engine worker process appends JSON lines to
``<trace_dir>/<role>-<pid>.jsonl``: one per consumer batch (when it was fetched, which records it held, when it
was handled, flushed and committed), one per responder step phase (its transaction committed), garbage
collections over 5 ms and event-loop stalls over 10 ms. The bench joins them with the attacks it produced to
say where each attack's time went. Wall-clock ``time.time()`` throughout, comparable across processes on one
machine. Writing a line is one small write; nothing is traced unless the setting is given.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from pathlib import Path
from typing import IO, Any

import orjson

GC_MIN_MS = 5.0
STALL_MIN_MS = 10.0
STALL_TICK_S = 0.005


class Trace:
    """Append-only JSON-lines trace; every method is a no-op when disabled."""

    def __init__(self, directory: Path | None, role: str) -> None:
        self._file: IO[bytes] | None = None
        self._gc_start = 0.0
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            self._file = open(directory / f"{role}-{os.getpid()}.jsonl", "ab")  # closed in close()

    @property
    def enabled(self) -> bool:
        """Whether lines are written."""
        return self._file is not None

    def write(self, **fields: Any) -> None:
        """One line."""
        if self._file is not None:
            self._file.write(orjson.dumps(fields, option=orjson.OPT_NON_STR_KEYS) + b"\n")
            self._file.flush()  # the bench reads the lines while the process runs

    def start(self) -> asyncio.Task[None] | None:
        """Trace GC pauses and event-loop stalls from now on (returns the stall watcher's task)."""
        if self._file is None:
            return None
        gc.callbacks.append(self._on_gc)
        return asyncio.get_running_loop().create_task(self._watch_stalls())

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
            return
        ms = (time.perf_counter() - self._gc_start) * 1000
        if ms >= GC_MIN_MS:
            self.write(kind="gc", t=time.time(), ms=round(ms, 2), gen=info.get("generation"))

    async def _watch_stalls(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(STALL_TICK_S)
            late = (time.perf_counter() - t0 - STALL_TICK_S) * 1000
            if late >= STALL_MIN_MS:
                self.write(kind="stall", t=time.time(), ms=round(late, 2))

    def close(self) -> None:
        """Flush and close."""
        if self._file is not None:
            if self._on_gc in gc.callbacks:
                gc.callbacks.remove(self._on_gc)
            self._file.close()
            self._file = None
