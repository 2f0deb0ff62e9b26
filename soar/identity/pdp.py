"""The fast authorize path the API serves: cached token verification, one uncached state read per call.

What may be cached and what may not:

* A token's signature and claims never change, so verified :class:`Claims` are kept in a bounded LRU keyed by
  the token string (saves the Ed25519 verification, the largest CPU cost of a call). Expiry is still checked
  against the clock on every call.
* Revocation, quarantine and the agent's tools change at any time and from any process (operators, playbook
  actions that write the rows directly, another API process). They are **never cached**: every call reads the
  credential joined to its agent with one primary-key query, so a change committed by anyone takes effect on
  the very next call. On SQLite that read goes through a plain ``sqlite3`` connection (WAL: readers never wait
  for writers; ~tens of microseconds, far below aiosqlite's thread hand-offs); on PostgreSQL through an asyncpg
  pool with a prepared statement; elsewhere through SQLAlchemy Core.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Protocol

import asyncpg
import orjson
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from soar.identity.credentials import (
    AUTHORIZE_DECISIONS,
    AUTHORIZE_SECONDS,
    Claims,
    CredentialRow,
    Decision,
    credential_state_query,
    decide,
    parse_claims,
)
from soar.identity.keys import SigningKey

_SQLITE_QUERY = (
    "SELECT c.agent_id, c.revoked_at IS NOT NULL, c.expires_at, a.status, a.tools "
    "FROM identity_credential AS c LEFT OUTER JOIN identity_agent AS a ON a.agent_id = c.agent_id "
    "WHERE c.credential_id = ?"
)


class StateReader(Protocol):
    """Reads one credential's current state; must never cache it."""

    async def credential_state(self, credential_id: str) -> CredentialRow | None:
        """The row, or None for an unknown credential."""
        ...

    async def close(self) -> None:
        """Release the connection."""
        ...


def _sqlite_ts(value: str | datetime) -> datetime:
    ts = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


class SQLiteStateReader:
    """State reads on a SQLite file through one autocommit ``sqlite3`` connection (sees every commit at once)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=5.0)
        self._db.execute("PRAGMA busy_timeout=5000")
        # WAL (persistent, as every soar engine sets it): this reader never waits for a writer, nor a writer for it.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA query_only=1")

    async def credential_state(self, credential_id: str) -> CredentialRow | None:
        """One primary-key join, run inline (shorter than a thread hand-off)."""
        with self._lock:
            row = self._db.execute(_SQLITE_QUERY, (credential_id,)).fetchone()
        if row is None:
            return None
        agent_id, revoked, expires_at, status, tools = row
        return (agent_id, bool(revoked), _sqlite_ts(expires_at), status, orjson.loads(tools) if tools else None)

    async def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


class EngineStateReader:
    """State reads through an async SQLAlchemy engine (PostgreSQL), Core only: no ORM session per call."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def credential_state(self, credential_id: str) -> CredentialRow | None:
        """One primary-key join on a pooled connection."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(credential_state_query(credential_id))).one_or_none()
        if row is None:
            return None
        agent_id, revoked_at, expires_at, status, tools = row
        return (agent_id, revoked_at is not None, expires_at, status, tools)

    async def close(self) -> None:
        """Nothing to do: the engine is shared."""


_PG_QUERY = _SQLITE_QUERY.replace("?", "$1")


class PostgresStateReader:
    """State reads on PostgreSQL through a small asyncpg pool and a prepared statement (no ORM, no pre-ping)."""

    def __init__(self, dsn: str, max_size: int = 8) -> None:
        self.dsn = dsn
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.max_size)
        return self._pool

    async def credential_state(self, credential_id: str) -> CredentialRow | None:
        """One primary-key join (prepared, cached per connection)."""
        pool = await self._get_pool()
        row = await pool.fetchrow(_PG_QUERY, credential_id)
        if row is None:
            return None
        agent_id, revoked, expires_at, status, tools = row
        if isinstance(tools, str):
            tools = orjson.loads(tools)
        return (agent_id, bool(revoked), expires_at.astimezone(UTC), status, tools)

    async def close(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def state_reader(db_url: str, engine: AsyncEngine) -> StateReader:
    """The fastest uncached reader for ``db_url``: sqlite3 for a SQLite file, asyncpg for PostgreSQL, else Core."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return SQLiteStateReader(url.database)
    if url.get_backend_name() == "postgresql" and url.get_driver_name() == "asyncpg":
        return PostgresStateReader(url.set(drivername="postgresql").render_as_string(hide_password=False))
    return EngineStateReader(engine)


class ClaimsCache:
    """A bounded LRU of verified token claims, keyed by the token string."""

    def __init__(self, maxsize: int = 8192) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[str, Claims] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, token: str, key: SigningKey) -> Claims | str:
        """Cached claims, or verify now (deny reasons are not cached: a bad token costs its own verification)."""
        claims = self._data.get(token)
        if claims is not None:
            self._data.move_to_end(token)
            self.hits += 1
            return claims
        self.misses += 1
        parsed = parse_claims(token, key)
        if isinstance(parsed, Claims):
            self._data[token] = parsed
            if len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return parsed


class Authorizer:
    """The API's policy decision point: ``await authorizer.authorize(token, tool, resource, action)``."""

    def __init__(self, key: SigningKey, reader: StateReader, *, cache_size: int = 8192) -> None:
        self.key = key
        self.reader = reader
        self.claims = ClaimsCache(cache_size)

    async def authorize(self, token: str, tool: str, resource: str, action: str) -> Decision:
        """Same decisions as :func:`soar.identity.credentials.authorize`, one uncached state read per call."""
        started = time.perf_counter()
        claims = self.claims.get(token, self.key)
        if isinstance(claims, str):
            decision = Decision(allow=False, reason=claims)
        else:
            row = await self.reader.credential_state(claims.credential_id)
            decision = decide(claims, row, tool, resource, action)
        AUTHORIZE_SECONDS.observe(time.perf_counter() - started)
        AUTHORIZE_DECISIONS.labels("allow" if decision.allow else "deny", decision.reason).inc()
        return decision

    async def close(self) -> None:
        """Release the reader."""
        await self.reader.close()
