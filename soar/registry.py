"""``Registry[T]``: a name -> implementation table, one per family (detectors, actions, notifiers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of implementations; content refers to entries by ``name``."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._items: dict[str, T] = {}

    def add(self, item: T, name: str | None = None) -> T:
        """Register ``item`` under ``name`` (default: its ``name`` attribute); returns it (decorator use)."""
        key = name or getattr(item, "name")  # noqa: B009 - items declare their name
        if key in self._items:
            raise ValueError(f"{self.family} {key!r} registered twice")
        self._items[key] = item
        return item

    def get(self, name: str) -> T:
        """Look ``name`` up; the KeyError lists what is known."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise KeyError(f"unknown {self.family} {name!r}; known: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def items(self) -> list[tuple[str, T]]:
        """All entries, sorted by name."""
        return sorted(self._items.items())
