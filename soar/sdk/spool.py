"""A bounded, durable, in-order local queue for telemetry: the SDK loses nothing while the broker is unreachable.

With a spool, every event is appended here first (one SQLite row; WAL, ~tens of microseconds) and a sender task
drains the spool in order: it produces a batch, waits for the broker's acknowledgement, then deletes the batch.
If the broker is down the rows stay and the sender retries with back-off; a crashed or restarted agent sends
what is left on its next start. Delivery is at least once: a batch that was partly acknowledged before a
failure is produced again, and consumers deduplicate by ``event_id`` (the pipeline's idempotency key).

The spool is bounded by ``max_events`` and ``max_bytes``; when full, :meth:`Spool.append` raises
:class:`SpoolFull` rather than dropping anything silently.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from soar.errors import SoarError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    key BLOB,
    value BLOB NOT NULL
)
"""


class SpoolFull(SoarError):
    """The local spool reached its bound; the event was not accepted."""


@dataclass(frozen=True)
class SpooledEvent:
    """One queued record."""

    seq: int
    topic: str
    key: bytes | None
    value: bytes


class Spool:
    """An append-only SQLite queue file (thread-safe), bounded by count and bytes."""

    def __init__(self, path: str | Path, *, max_events: int = 100_000, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        count, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(value)), 0) FROM spool").fetchone()
        self._count, self._bytes = int(count), int(size)

    def __len__(self) -> int:
        return self._count

    @property
    def size_bytes(self) -> int:
        """Bytes of queued values."""
        return self._bytes

    def append(self, topic: str, key: bytes | None, value: bytes) -> int:
        """Queue one record at the end; returns its sequence number. Raises :class:`SpoolFull` at the bound."""
        with self._lock:
            if self._count >= self.max_events or self._bytes + len(value) > self.max_bytes:
                raise SpoolFull(f"spool {self.path} is full ({self._count} events, {self._bytes} bytes)")
            cur = self._db.execute("INSERT INTO spool (topic, key, value) VALUES (?, ?, ?)", (topic, key, value))
            self._count += 1
            self._bytes += len(value)
            return int(cur.lastrowid or 0)

    def peek(self, limit: int = 500) -> list[SpooledEvent]:
        """The oldest ``limit`` records, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, topic, key, value FROM spool ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [SpooledEvent(int(s), str(t), k, bytes(v)) for s, t, k, v in rows]

    def ack(self, upto_seq: int) -> int:
        """Remove every record up to and including ``upto_seq``; returns how many."""
        with self._lock:
            count, size = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(value)), 0) FROM spool WHERE seq <= ?", (upto_seq,)
            ).fetchone()
            self._db.execute("DELETE FROM spool WHERE seq <= ?", (upto_seq,))
            self._count -= int(count)
            self._bytes -= int(size)
            return int(count)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()
