"""PostgreSQL connections are pinged before use only after sitting idle; a dead one is then replaced unseen."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from soar.store import session as store_session
from soar.store.retry import is_store_fault

pytestmark = pytest.mark.integration


async def _pid(url: str) -> int:
    async with store_session.get_sessionmaker(url)() as s:
        return int((await s.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(pid: int) -> None:
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_a_connection_killed_while_idle_is_replaced_before_use(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = await _pid(postgres_url)
    await _terminate(pid)
    monkeypatch.setattr(store_session, "PING_IDLE_S", 0.0)  # it has been idle long enough: pinged, found dead
    assert await _pid(postgres_url) != pid  # the caller never saw the dead connection


async def test_a_connection_in_steady_use_is_not_pinged_and_a_dead_one_fails_as_a_store_fault(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trade-off: no ping round trip per transaction; the StoreRetry around every unit rides this out."""
    monkeypatch.setattr(store_session, "PING_IDLE_S", 3600.0)
    pid = await _pid(postgres_url)
    await _terminate(pid)
    with pytest.raises(DBAPIError) as e:
        await _pid(postgres_url)
    assert is_store_fault(e.value)
    assert await _pid(postgres_url) != pid  # the pool dropped it: the next unit gets a live connection
