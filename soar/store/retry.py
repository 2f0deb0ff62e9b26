"""Ride out an unavailable database: retry store work with backoff instead of dropping it or moving on.

The worker's handlers wrap their store work in ``StoreRetry.run``. A fault is a lost or refused connection,
a timeout or a locked SQLite file: the handler waits (exponential backoff, capped), pings the database
until it answers, and runs the whole unit again. The units are idempotent (finding ids, run ids and step
idempotency keys are deterministic), and the consumer commits no offset until a unit has succeeded, so a
fault neither loses nor reorders work.

Some callers (the responder) catch exceptions per item and go on, so a fault may never reach the handler
as an exception. ``StoreFaults`` counts connection-level errors on the engine itself (SQLAlchemy's
``handle_error`` event); a handler that sees the count move during a unit treats the unit as failed.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from soar.errors import StoreError

log = structlog.get_logger(__name__)
T = TypeVar("T")


class StoreUnavailable(StoreError):
    """The database failed under a unit of work; the unit must be run again once it answers."""


def is_store_fault(exc: BaseException) -> bool:
    """Is ``exc`` the database being unreachable (worth waiting for), rather than a bug or a conflict?"""
    if isinstance(exc, StoreUnavailable | OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # asyncpg's connection errors when raised outside SQLAlchemy's wrapping (pool pre-ping, connect)
    return type(exc).__module__.startswith("asyncpg") and "Connection" in type(exc).__name__


class StoreFaults:
    """Counts connection-level errors on one engine, including those a caller caught and logged."""

    _by_engine: weakref.WeakKeyDictionary[Engine, StoreFaults] = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self.count = 0

    @classmethod
    def of(cls, engine: AsyncEngine) -> StoreFaults:
        """The counter of ``engine`` (listens once per engine)."""
        key = engine.sync_engine
        if key not in cls._by_engine:
            faults = cls._by_engine[key] = cls()
            event.listen(key, "handle_error", faults._on_error)
        return cls._by_engine[key]

    def _on_error(self, ctx: ExceptionContext) -> None:
        if ctx.is_disconnect or isinstance(ctx.sqlalchemy_exception, OperationalError | InterfaceError):
            self.count += 1
        elif ctx.original_exception is not None and is_store_fault(ctx.original_exception):
            self.count += 1


class StoreRetry:
    """Run a unit of store work until it succeeds, waiting for the database between attempts."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        first_delay_s: float = 0.25,
        max_delay_s: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.sleep = sleep
        engine = sessionmaker.kw.get("bind")
        self.faults = StoreFaults.of(engine) if isinstance(engine, AsyncEngine) else StoreFaults()
        self.retries = 0  # units run again because of a fault (for tests and metrics)

    async def run(self, unit: Callable[[], Awaitable[T]], what: str) -> T:
        """``await unit()``; on a store fault (raised, or counted by ``StoreFaults`` meanwhile) wait and run again."""
        delay = self.first_delay_s
        while True:
            before = self.faults.count
            try:
                result = await unit()
            except Exception as e:
                if not is_store_fault(e):
                    raise
                error = f"{type(e).__name__}: {e}"
            else:
                if self.faults.count == before:
                    return result
                error = "a store error was caught inside the unit"
            self.retries += 1
            log.warning("store unavailable; will run the unit again", unit=what, error=error[:300], delay_s=delay)
            await self.sleep(delay)
            delay = await self.wait_until_reachable(min(delay * 2, self.max_delay_s))

    async def wait_until_reachable(self, delay: float) -> float:
        """Ping (``SELECT 1``) with backoff until the database answers; returns the next delay to use."""
        while True:
            try:
                async with self.sessionmaker() as session:
                    await session.execute(text("SELECT 1"))
                return delay
            except Exception as e:
                if not is_store_fault(e):
                    raise
                log.info("store still unavailable", error=f"{type(e).__name__}: {e}"[:200], delay_s=delay)
                await self.sleep(delay)
                delay = min(delay * 2, self.max_delay_s)
