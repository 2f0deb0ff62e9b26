"""Engine and session factory: one ``async_sessionmaker(expire_on_commit=False)`` per database URL.

SQLite goes through aiosqlite, which runs every call on the connection's own thread. SQLAlchemy's adapter
makes four such calls per statement (open a cursor, execute, fetch, close); each is a thread hop that costs
far more than the statement itself on a busy machine. ``_FusedConnection`` hands SQLAlchemy cursors that do
all four in one hop, so a statement costs one round trip (docs/performance.md has the figures).

PostgreSQL connections are pinged before use only when they sat in the pool for ``PING_IDLE_S`` or more
(``_ping_if_idle``): a ping on every checkout was one round trip per transaction, three of them on the way
to a containment step. A connection that dies while in steady use fails its statement instead; SQLAlchemy
invalidates the pool and the caller's ``StoreRetry`` runs the unit again. The pool is LIFO, so the few
connections in use stay warm (asyncpg's prepared statements are cached per connection) and idle ones
are the ones pinged.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from soar.config import get_settings

#: a pooled PostgreSQL connection idle at least this long is pinged before it is handed out
PING_IDLE_S = 2.0
_CHECKED_IN = "soar.checked_in"

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


class _FusedCursor:
    """An aiosqlite-shaped cursor: execute, fetch every row and close in one call on the connection's thread."""

    arraysize = 1

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> _FusedCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._rows = []

    def _run(self, call: Callable[[sqlite3.Cursor], object]) -> tuple[Any, int, int | None, list[Any]]:
        cur = self._conn._conn.cursor()  # runs on the connection's thread
        try:
            call(cur)
            rows = cur.fetchall() if cur.description else []
            return cur.description, cur.rowcount, cur.lastrowid, rows
        finally:
            cur.close()

    async def _call(self, call: Callable[[sqlite3.Cursor], object]) -> _FusedCursor:
        self.description, self.rowcount, self.lastrowid, self._rows = await self._conn._execute(self._run, call)
        return self

    async def execute(self, sql: str, parameters: Any = None) -> _FusedCursor:
        """Run one statement and buffer its rows."""
        return await self._call(lambda c: c.execute(sql) if parameters is None else c.execute(sql, parameters))

    async def executemany(self, sql: str, seq_of_parameters: Sequence[Any]) -> _FusedCursor:
        """Run one statement for each parameter set."""
        return await self._call(lambda c: c.executemany(sql, seq_of_parameters))

    async def fetchall(self) -> list[Any]:
        """The buffered rows."""
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Any:
        """The next buffered row, or None."""
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to ``size`` buffered rows."""
        n = size or self.arraysize
        rows, self._rows = self._rows[:n], self._rows[n:]
        return rows

    async def close(self) -> None:
        """Drop the buffered rows (the sqlite3 cursor is already closed)."""
        self._rows = []


class _FusedConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors cost one thread hop per statement."""

    def cursor(self) -> _FusedCursor:  # type: ignore[override]
        return _FusedCursor(self)


def _connect_sqlite(database: str, *, iter_chunk_size: int = 64, **kwargs: Any) -> _FusedConnection:
    conn = _FusedConnection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size)
    conn._thread.daemon = True  # as SQLAlchemy does for plain aiosqlite connections
    return conn


def _ping_if_idle(engine: AsyncEngine) -> None:
    """Pessimistic disconnect handling for connections that sat idle (SQLAlchemy's recipe, with a threshold)."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    def checkin(dbapi_conn: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    def checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        since = record.info.pop(_CHECKED_IN, None)
        if since is None or time.monotonic() - since < PING_IDLE_S:
            return  # just connected, or in steady use
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as e:  # the pool drops this connection and checks out (or opens) another
            raise DisconnectionError(f"ping after {time.monotonic() - since:.1f}s idle failed: {e}") from e

    event.listen(pool, "checkin", checkin)
    event.listen(pool, "checkout", checkout)


def get_engine(url: str | None = None) -> AsyncEngine:
    """The (cached) engine for ``url`` (default: settings)."""
    url = url or get_settings().db_url
    if url not in _engines:
        if url.startswith("sqlite"):
            engine = create_async_engine(url, connect_args={"timeout": 10, "async_creator_fn": _connect_sqlite})
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            engine = create_async_engine(url, pool_size=10, max_overflow=10, pool_use_lifo=True)
            _ping_if_idle(engine)
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
