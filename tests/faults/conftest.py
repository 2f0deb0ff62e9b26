"""Fixtures: a real local webhook receiver (shared with tests/notify)."""

from tests.notify.receiver import receiver  # noqa: F401
