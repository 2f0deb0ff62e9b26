"""The soar exception tree.

SoarError
├── ContentError          bad playbook / rule / corpus (carries file, line, field)
├── IngestError           bytes that are not an event (too large, too deep, not JSON, wrong schema)
├── VerificationError     signature, key or identity failure
├── DetectorError         a detector failed on an event
├── ActionError           a response action failed
│   ├── ActionCheckFailed an action's precondition failed; it did nothing
│   └── ActionTimeout     an action did not finish in time
├── NotifyError           a notifier could not deliver
└── StoreError            the database refused or is unreachable
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


def validation_detail(exc: ValidationError, limit: int = 5) -> str:
    """A pydantic validation error in one line: ``field.path: message; ...`` for its first ``limit`` errors."""
    parts = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)]
    return "; ".join(parts[:limit])


class SoarError(Exception):
    """Base of every error soar raises on purpose."""


class ContentError(SoarError):
    """Analyst content (playbook, rule) is invalid; ``source`` is ``path:line`` and ``field`` the key path."""

    def __init__(self, message: str, *, source: str = "", field: str = "") -> None:
        self.message = message
        self.source = source
        self.field = field
        where = f"{source}: " if source else ""
        at = f" (at {field})" if field else ""
        super().__init__(f"{where}{message}{at}")


class ContentErrors(SoarError):
    """Several content errors, collected so a check reports all of them at once."""

    def __init__(self, errors: list[ContentError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class IngestError(SoarError):
    """Raw bytes could not become an event; ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class VerificationError(SoarError):
    """An event failed identity checks."""


class DetectorError(SoarError):
    """A detector failed on an event."""


class ActionError(SoarError):
    """A response action failed."""


class ActionCheckFailed(ActionError):
    """An action's precondition did not hold; nothing was done."""


class ActionTimeout(ActionError):
    """An action did not finish within its timeout."""


class NotifyError(SoarError):
    """A notifier could not deliver."""


class StoreError(SoarError):
    """The database refused an operation or is unreachable."""
