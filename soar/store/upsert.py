"""Insert-if-absent in one statement (``INSERT ... ON CONFLICT DO NOTHING``) on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def insert_if_absent(session: AsyncSession, model: type[DeclarativeBase], values: dict[str, Any]) -> bool:
    """Insert one row of ``model`` unless its primary key (or another unique key) is taken; True if inserted.

    One round trip instead of a read and then a write, and no race between the two: of two transactions
    inserting the same key, the second waits for the first and then inserts nothing.
    """
    dialect = session.get_bind().dialect.name
    ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
    res = await session.execute(
        ins(model).values(**values).on_conflict_do_nothing().execution_options(synchronize_session=False)
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]
