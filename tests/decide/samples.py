"""Sample findings and a recording publisher for responder tests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from soar.telemetry.control import ControlCommand
from soar.telemetry.events import utcnow
from soar.telemetry.findings import Finding, finding_id_for


def make_finding(
    detector: str = "injection",
    rule: str = "indirect_prompt_injection",
    *,
    agent_id: str = "agent-1",
    severity: str = "high",
    confidence: float = 0.9,
    event_id: uuid.UUID | None = None,
    observed_at: datetime | None = None,
    offset_s: float = 0.0,
    **extra: Any,
) -> Finding:
    """A finding with a deterministic id derived from a (fresh or given) event id."""
    event_id = event_id or uuid.uuid4()
    observed = (observed_at or utcnow()) + timedelta(seconds=offset_s)
    return Finding(
        finding_id=finding_id_for(detector, rule, event_id),
        detector=detector,
        rule=rule,
        agent_id=agent_id,
        task_id=extra.pop("task_id", "task-1"),
        event_ids=[event_id, *extra.pop("extra_event_ids", [])],
        severity=severity,
        confidence=confidence,
        summary=extra.pop("summary", f"{rule} on {agent_id}"),
        evidence=extra.pop("evidence", {}),
        observed_at=observed,
        **extra,
    )


class Published(list[ControlCommand]):
    """A list that records published commands (the worker sends them to soar.control)."""

    async def __call__(self, cmd: ControlCommand) -> None:
        self.append(cmd)
