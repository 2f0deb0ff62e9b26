"""The one declarative base and column helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps on every backend (SQLite stores naive; we read them back as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _NulFree(TypeDecorator[str]):
    """Text that any Python string may be bound to: NUL (U+0000), which PostgreSQL's text types cannot hold, is
    stored as U+FFFD on every backend. Agent-supplied text may carry it (``\\u0000`` is valid JSON, and the
    detectors must see it), and one such memory write failed its batch's store unit on PostgreSQL, which the
    worker then retried for ever. Comparisons bind through the same type, so lookups agree with what was stored.
    """

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and "\x00" in value:
            return value.replace("\x00", "\ufffd")
        return value


class Str(_NulFree):
    """``String(length)`` without NUL (``_NulFree``)."""

    impl = String
    cache_ok = True  # read from the class itself, not inherited


class LongStr(_NulFree):
    """``Text`` without NUL (``_NulFree``)."""

    impl = Text
    cache_ok = True


class Base(DeclarativeBase):
    """Declarative base for every ``*Record``."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}
