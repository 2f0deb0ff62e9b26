"""``ControlCommand``: what the responder tells an agent to do (on ``soar.control``)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from soar.telemetry.events import utcnow

_NS = uuid.UUID("0c2f5a7e-3d1b-4e6a-8f9c-2b4d6e8a0c1e")

Command = Literal["quarantine", "release", "revoke", "restore_memory"]


def command_id_for(idempotency_key: str) -> uuid.UUID:
    """Deterministic id, so a resumed step re-sends the same command and the agent can drop the repeat."""
    return uuid.uuid5(_NS, idempotency_key)


class ControlCommand(BaseModel):
    """A command addressed to one agent.

    ``restore_memory`` params: ``{"store": str, "entries": {key: value-or-null}}`` where null deletes.
    ``revoke`` params: ``{"credential_ids": [...]}`` (empty: every token the agent holds).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    command_id: uuid.UUID
    agent_id: str
    command: Command
    params: dict[str, Any] = Field(default_factory=dict)
    reason: str = ""
    incident_id: str | None = None
    run_id: str | None = None
    ts: AwareDatetime = Field(default_factory=utcnow)
