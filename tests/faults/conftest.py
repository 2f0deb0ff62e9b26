"""Fixtures: a real local webhook receiver (shared with tests/notify), and the database named by a parameter."""

import pytest

from tests.notify.receiver import receiver  # noqa: F401


@pytest.fixture
def backend_url(request: pytest.FixtureRequest) -> str:
    """The database named by the test's parameter (``sqlite`` or ``postgres``), fresh and migrated."""
    return request.getfixturevalue(f"{request.param}_url")
