"""Engine and session factory: one ``async_sessionmaker(expire_on_commit=False)`` per database URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from soar.config import get_settings

_engines: dict[str, AsyncEngine] = {}
_makers: dict[str, async_sessionmaker[AsyncSession]] = {}


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the API read while the worker writes; busy_timeout waits instead of failing on a lock.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def get_engine(url: str | None = None) -> AsyncEngine:
    """The (cached) engine for ``url`` (default: settings)."""
    url = url or get_settings().db_url
    if url not in _engines:
        if url.startswith("sqlite"):
            engine = create_async_engine(url, connect_args={"timeout": 10})
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            engine = create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
        _engines[url] = engine
    return _engines[url]


def get_sessionmaker(url: str | None = None) -> async_sessionmaker[AsyncSession]:
    """The session factory for ``url``."""
    url = url or get_settings().db_url
    if url not in _makers:
        _makers[url] = async_sessionmaker(get_engine(url), expire_on_commit=False)
    return _makers[url]


@asynccontextmanager
async def session_scope(url: str | None = None) -> AsyncIterator[AsyncSession]:
    """A session in a transaction: commit on success, roll back on error."""
    async with get_sessionmaker(url)() as session, session.begin():
        yield session


async def dispose_all() -> None:
    """Close every engine (end of a process or a test)."""
    for engine in list(_engines.values()):
        await engine.dispose()
    _engines.clear()
    _makers.clear()
