"""Agent memory stores: the adapter interface the SDK writes through and applies ``restore_memory`` to.

An agent platform plugs its own store in by implementing :class:`MemoryStore` (five small methods);
:class:`SQLiteMemoryStore` is the reference implementation and :class:`DictMemoryStore` an in-process one.
Values are strings, as in ``memory_write`` telemetry; ``value_hash`` is the same sha256 the ledger keeps.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from soar.telemetry.signing import value_hash

__all__ = ["DictMemoryStore", "MemoryStore", "SQLiteMemoryStore", "value_hash"]


@runtime_checkable
class MemoryStore(Protocol):
    """Key/value memory, partitioned into named stores (``long_term``, ``scratch``, ...)."""

    def get(self, store: str, key: str) -> str | None:
        """The value under ``key`` in ``store``, or None."""
        ...

    def put(self, store: str, key: str, value: str) -> None:
        """Insert or replace ``key`` in ``store``."""
        ...

    def delete(self, store: str, key: str) -> None:
        """Remove ``key`` from ``store`` (no error when absent)."""
        ...

    def items(self, store: str) -> dict[str, str]:
        """Every entry of ``store``."""
        ...

    def value_hash(self, store: str, key: str) -> str | None:
        """sha256 hex of the value under ``key`` (None when absent)."""
        ...


def apply_entries(memory: MemoryStore, store: str, entries: dict[str, str | None]) -> None:
    """Apply a ``restore_memory`` entry map: a string value is written, None deletes the key."""
    for key, value in entries.items():
        if value is None:
            memory.delete(store, key)
        else:
            memory.put(store, key, value)


class DictMemoryStore:
    """An in-process ``MemoryStore`` (tests, throwaway agents)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, str]] = {}

    def get(self, store: str, key: str) -> str | None:
        """The value under ``key`` in ``store``, or None."""
        return self.data.get(store, {}).get(key)

    def put(self, store: str, key: str, value: str) -> None:
        """Insert or replace ``key`` in ``store``."""
        self.data.setdefault(store, {})[key] = value

    def delete(self, store: str, key: str) -> None:
        """Remove ``key`` from ``store``."""
        self.data.get(store, {}).pop(key, None)

    def items(self, store: str) -> dict[str, str]:
        """Every entry of ``store``."""
        return dict(self.data.get(store, {}))

    def value_hash(self, store: str, key: str) -> str | None:
        """sha256 hex of the value under ``key``."""
        value = self.get(store, key)
        return None if value is None else value_hash(value)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS memory (
    store TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (store, key)
)
"""


class SQLiteMemoryStore:
    """Reference ``MemoryStore`` on one SQLite file: table ``memory(store, key, value, updated_at)``.

    Safe to share between threads (one connection behind a lock), so the sync wrapper's loop thread
    and the caller's thread may both use it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def get(self, store: str, key: str) -> str | None:
        """The value under ``key`` in ``store``, or None."""
        with self._lock:
            row = self._db.execute("SELECT value FROM memory WHERE store = ? AND key = ?", (store, key)).fetchone()
        return None if row is None else str(row[0])

    def put(self, store: str, key: str, value: str) -> None:
        """Insert or replace ``key`` in ``store``."""
        now = datetime.now(UTC).isoformat()
        with self._lock:
            self._db.execute(
                "INSERT INTO memory (store, key, value, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (store, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (store, key, value, now),
            )

    def delete(self, store: str, key: str) -> None:
        """Remove ``key`` from ``store``."""
        with self._lock:
            self._db.execute("DELETE FROM memory WHERE store = ? AND key = ?", (store, key))

    def items(self, store: str) -> dict[str, str]:
        """Every entry of ``store``."""
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM memory WHERE store = ? ORDER BY key", (store,)).fetchall()
        return {str(k): str(v) for k, v in rows}

    def stores(self) -> list[str]:
        """Names of the stores holding at least one entry."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT store FROM memory ORDER BY store").fetchall()
        return [str(r[0]) for r in rows]

    def updated_at(self, store: str, key: str) -> datetime | None:
        """When ``key`` was last written (None when absent)."""
        with self._lock:
            row = self._db.execute("SELECT updated_at FROM memory WHERE store = ? AND key = ?", (store, key)).fetchone()
        return None if row is None else datetime.fromisoformat(row[0])

    def value_hash(self, store: str, key: str) -> str | None:
        """sha256 hex of the value under ``key``."""
        value = self.get(store, key)
        return None if value is None else value_hash(value)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
