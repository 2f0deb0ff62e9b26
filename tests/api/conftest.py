"""Fixtures for API tests: an app on a fresh database (SQLite and PostgreSQL) and an httpx client over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from soar.api.app import create_app
from soar.config import Settings
from tests.helpers import running

ADMIN = "test-operator-token"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a private data dir and a known operator token."""
    return Settings(data_dir=tmp_path / "data", admin_token=ADMIN)


@pytest.fixture
async def app(settings: Settings, db_url: str) -> AsyncIterator[FastAPI]:
    """The API on a fresh migrated database, its lifespan running."""
    async with running(create_app(settings, db_url)) as a:
        yield a


def client_for(app: FastAPI) -> httpx.AsyncClient:
    """An httpx client calling ``app`` in process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://soar.test")


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client without credentials."""
    async with client_for(app) as c:
        yield c


@pytest.fixture
def op() -> dict[str, str]:
    """Operator auth header."""
    return {"Authorization": f"Bearer {ADMIN}"}
