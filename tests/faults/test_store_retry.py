"""StoreRetry: store faults (raised, or swallowed by a caller) rerun the unit with capped backoff; other errors
propagate at once."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from soar.store.retry import StoreRetry, StoreUnavailable, is_store_fault
from soar.store.session import get_sessionmaker


class _Sleeps(list[float]):
    async def __call__(self, s: float) -> None:
        self.append(s)


async def test_store_retry_reruns_until_the_unit_succeeds(sqlite_url: str) -> None:
    sleeps = _Sleeps()
    retry = StoreRetry(get_sessionmaker(sqlite_url), first_delay_s=0.1, max_delay_s=0.3, sleep=sleeps)
    calls = []

    async def unit() -> str:
        calls.append(1)
        if len(calls) <= 4:
            raise ConnectionResetError("connection reset by peer")
        return "done"

    assert await retry.run(unit, "test") == "done"
    assert len(calls) == 5 and retry.retries == 4
    assert sleeps == [0.1, 0.2, 0.3, 0.3]  # doubling, capped


async def test_store_retry_reruns_a_unit_that_swallowed_a_store_error(sqlite_url: str) -> None:
    sm = get_sessionmaker(sqlite_url)
    retry = StoreRetry(sm, sleep=_Sleeps())
    calls = []

    async def unit() -> None:
        calls.append(1)
        if len(calls) == 1:
            try:  # what the responder does: log and go on
                async with sm() as s:
                    await s.execute(text("SELECT * FROM no_such_table"))
            except OperationalError:
                pass

    await retry.run(unit, "test")
    assert len(calls) == 2 and retry.retries == 1


async def test_store_retry_lets_other_errors_through(sqlite_url: str) -> None:
    retry = StoreRetry(get_sessionmaker(sqlite_url), sleep=_Sleeps())

    async def unit() -> None:
        raise KeyError("a bug, not an outage")

    with pytest.raises(KeyError):
        await retry.run(unit, "test")
    assert retry.retries == 0


def test_is_store_fault() -> None:
    assert is_store_fault(StoreUnavailable("x")) and is_store_fault(OSError()) and is_store_fault(TimeoutError())
    assert not is_store_fault(ValueError()) and not is_store_fault(KeyError())
