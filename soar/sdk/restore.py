"""Confirming a ``restore_memory`` command: the agent reports the hashes its memory now holds.

After applying ``restore_memory`` the SDK emits one ``memory_read`` per restored key, with the resulting
``value_hash`` ('' for a deleted key) and ``task_id = "restore:<command_id>"``, so the worker can tell
confirmations from ordinary reads and pair them with the command. :func:`check_restoration` is the pure check
the worker runs: does what the agent reports match what the command asked for?
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from soar.telemetry.events import RESTORE_TASK_PREFIX
from soar.telemetry.signing import value_hash

TASK_PREFIX = RESTORE_TASK_PREFIX


def confirmation_task_id(command_id: uuid.UUID | str) -> str:
    """The ``task_id`` of the confirmation reads for one command."""
    return f"{TASK_PREFIX}{command_id}"


def command_id_of(task_id: str) -> str | None:
    """The command id a confirmation read answers, or None for an ordinary read."""
    return task_id[len(TASK_PREFIX) :] if task_id.startswith(TASK_PREFIX) else None


def expected_hashes(entries: Mapping[str, str | None]) -> dict[str, str]:
    """key -> the hash the agent should report ('' where the command deletes the key)."""
    return {k: "" if v is None else value_hash(v) for k, v in entries.items()}


@dataclass(frozen=True)
class RestoreCheck:
    """Whether an agent's memory matches the state a ``restore_memory`` command asked for."""

    matches: bool
    confirmed: dict[str, str] = field(default_factory=dict)  # key -> hash the agent reported
    mismatched: list[str] = field(default_factory=list)  # keys reported with another hash
    missing: list[str] = field(default_factory=list)  # keys not (yet) confirmed


def check_restoration(
    store: str, entries: Mapping[str, str | None], reads: Iterable[tuple[str, str, str]]
) -> RestoreCheck:
    """Compare confirmation reads ``(store, key, value_hash)`` with the command's ``entries`` for ``store``."""
    expected = expected_hashes(entries)
    confirmed = {k: h for s, k, h in reads if s == store and k in expected}
    mismatched = sorted(k for k, h in confirmed.items() if h != expected[k])
    missing = sorted(set(expected) - set(confirmed))
    return RestoreCheck(not mismatched and not missing, confirmed, mismatched, missing)
