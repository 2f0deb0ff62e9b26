"""Shared fixtures: databases (SQLite and PostgreSQL, migrated by Alembic) and the real embedded broker."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.broker import EmbeddedBroker, ensure_topics, free_port
from soar.store import session as store_session
from soar.store.migrate import upgrade
from soar.topics import TopicMap

PG_ADMIN = os.environ.get("SOAR_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
FILES = Path(__file__).parent / "files"


def _pg_reachable() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    await upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
async def sqlite_url(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated SQLite database for one test."""
    path = tmp_path / "soar.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    yield url
    await _dispose(url)


async def _dispose(url: str) -> None:
    engine = store_session._engines.pop(url, None)
    store_session._makers.pop(url, None)
    if engine is not None:
        await engine.dispose()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database for one test (dropped afterwards)."""
    if not _pg_reachable():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 and CI requires it")
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432 (start it to run these tests)")
    import asyncpg

    name = f"soar_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        await upgrade(url)
        yield url
    finally:
        await _dispose(url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def sessionmaker(db_url: str) -> async_sessionmaker[AsyncSession]:
    """Session factory bound to ``db_url``."""
    return store_session.get_sessionmaker(db_url)


@pytest.fixture
def sqlite_sessionmaker(sqlite_url: str) -> async_sessionmaker[AsyncSession]:
    """Session factory bound to a fresh SQLite database only (for tests that need no PostgreSQL run)."""
    return store_session.get_sessionmaker(sqlite_url)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """The real embedded broker (Tansu) on a free port, for the whole session."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    b = EmbeddedBroker(free_port(), log_path=log).start()
    yield b
    b.stop()


@pytest.fixture
async def topics(broker: EmbeddedBroker) -> TopicMap:
    """Unique pipeline topics for one test, created on the broker (4 partitions)."""
    suffix = uuid.uuid4().hex[:8]
    tm = TopicMap(f"t.tel.{suffix}", f"t.find.{suffix}", f"t.ctl.{suffix}", f"t.dlq.{suffix}")
    await ensure_topics(broker.bootstrap, tm, partitions=4)
    return tm
