"""``TableState``: the worker's ``StateStore``, a write-back cache over a Faust changelog table.

Detectors read and write a plain dict during a batch; ``flush()`` at the end of the batch writes each
changed key to the table once, so a hot key costs one changelog record per batch, not one per event.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any


class TableState:
    """A ``StateStore`` over a Faust table (or any mutable mapping) with per-batch write-back."""

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table
        self.cache: dict[str, Any] = {}
        self.dirty: set[str] = set()

    @staticmethod
    def _k(namespace: str, key: str) -> str:
        return f"{key}|{namespace}"

    def get(self, namespace: str, key: str, default: Any = None) -> Any:
        """The cached or stored value."""
        k = self._k(namespace, key)
        if k in self.cache:
            return self.cache[k]
        value = self.table.get(k)
        if value is None:
            return default
        self.cache[k] = value
        return value

    def set(self, namespace: str, key: str, value: Any) -> None:
        """Set in the cache; written to the table by :meth:`flush`."""
        k = self._k(namespace, key)
        self.cache[k] = value
        self.dirty.add(k)

    def flush(self) -> int:
        """Write changed keys to the table; returns how many."""
        n = len(self.dirty)
        for k in self.dirty:
            self.table[k] = self.cache[k]
        self.dirty.clear()
        if len(self.cache) > 50_000:  # bound memory: the table keeps the truth
            self.cache.clear()
        return n
