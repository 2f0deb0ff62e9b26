"""Memory store adapters."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from soar.sdk.memory import DictMemoryStore, MemoryStore, SQLiteMemoryStore, apply_entries
from soar.telemetry.signing import value_hash


@pytest.fixture(params=["sqlite", "dict"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryStore:
    """Each MemoryStore implementation."""
    return SQLiteMemoryStore(tmp_path / "m" / "mem.db") if request.param == "sqlite" else DictMemoryStore()


def test_memory_store_put_get_delete_items(store: MemoryStore) -> None:
    assert isinstance(store, MemoryStore)
    assert store.get("long_term", "a") is None
    store.put("long_term", "a", "1")
    store.put("long_term", "b", "2")
    store.put("scratch", "a", "other")
    store.put("long_term", "a", "3")
    assert store.get("long_term", "a") == "3"
    assert store.items("long_term") == {"a": "3", "b": "2"}
    assert store.value_hash("long_term", "a") == value_hash("3")
    store.delete("long_term", "a")
    store.delete("long_term", "missing")
    assert store.items("long_term") == {"b": "2"}
    assert store.value_hash("long_term", "a") is None
    assert store.items("scratch") == {"a": "other"}


def test_memory_store_apply_entries_writes_and_deletes(store: MemoryStore) -> None:
    store.put("long_term", "invoice_policy", "poisoned")
    store.put("long_term", "injected", "x")
    apply_entries(store, "long_term", {"invoice_policy": "good", "injected": None, "new": "n"})
    assert store.items("long_term") == {"invoice_policy": "good", "new": "n"}


def test_sqlite_memory_store_persists_and_is_thread_safe(tmp_path: Path) -> None:
    path = tmp_path / "mem.db"
    store = SQLiteMemoryStore(path)

    def writer(n: int) -> None:
        for i in range(50):
            store.put("s", f"{n}-{i}", str(i))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.updated_at("s", "0-0") is not None
    store.close()
    again = SQLiteMemoryStore(path)
    assert len(again.items("s")) == 200
    assert again.stores() == ["s"]
