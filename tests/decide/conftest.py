"""Fixtures: a real local webhook receiver."""

from tests.notify.receiver import receiver  # noqa: F401
