"""``Finding``: what a detector (or the verify stage) concludes about one or more events."""

from __future__ import annotations

import uuid
from enum import IntEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer, field_validator

from soar.telemetry.events import utcnow

_NS = uuid.UUID("6b3c1e52-51f4-4d8e-9a0b-5f7c1d2e3a40")


class Severity(IntEnum):
    """Ordered severities; serialised by name."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, value: Any) -> Severity:
        """Accept a Severity, its name (any case) or its number."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls[value.upper()]
            except KeyError:
                raise ValueError(f"unknown severity {value!r}; known: {', '.join(s.label for s in cls)}") from None
        try:
            return cls(int(value))
        except (TypeError, ValueError, OverflowError):  # None, a list, inf...: a validation error, not a crash
            raise ValueError(f"unknown severity {value!r}; known: {', '.join(s.label for s in cls)}") from None

    @property
    def label(self) -> str:
        """Lower-case name (``high``)."""
        return self.name.lower()


def finding_id_for(detector: str, rule: str, event_id: uuid.UUID | str) -> uuid.UUID:
    """Deterministic id: a replayed event makes the same finding."""
    return uuid.uuid5(_NS, f"{detector}|{rule}|{event_id}")


class Finding(BaseModel):
    """One detection; ``finding_id`` derives from detector + rule + first event id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    finding_id: uuid.UUID
    detector: str
    rule: str
    agent_id: str
    task_id: str = ""
    event_ids: list[uuid.UUID]
    severity: Severity
    confidence: float = Field(ge=0.0, le=1.0)
    summary: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    ts: AwareDatetime = Field(default_factory=utcnow, description="when the finding was made")
    observed_at: AwareDatetime | None = Field(default=None, description="ts of the triggering event")

    @field_validator("severity", mode="before")
    @classmethod
    def _parse_severity(cls, v: Any) -> Severity:
        return Severity.parse(v)

    @field_serializer("severity")
    def _ser_severity(self, v: Severity) -> str:
        return v.label

    @classmethod
    def make(
        cls,
        *,
        detector: str,
        rule: str,
        event: Any,
        severity: Severity | str,
        confidence: float,
        summary: str,
        evidence: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        extra_event_ids: list[uuid.UUID] | None = None,
    ) -> Finding:
        """A finding about ``event`` (an AgentEvent), with the deterministic id."""
        return cls(
            finding_id=finding_id_for(detector, rule, event.event_id),
            detector=detector,
            rule=rule,
            agent_id=event.agent_id,
            task_id=event.task_id,
            event_ids=[event.event_id, *(extra_event_ids or [])],
            severity=Severity.parse(severity),
            confidence=confidence,
            summary=summary,
            evidence=evidence or {},
            tags=tags or [],
            observed_at=event.ts,
        )

    def to_ocsf(self) -> dict[str, Any]:
        """This finding as an OCSF Detection Finding (class_uid 2004)."""
        sev_map = {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}
        return {
            "class_uid": 2004,
            "category_uid": 2,
            "activity_id": 1,
            "type_uid": 200401,
            "time": int(self.ts.timestamp() * 1000),
            "severity_id": sev_map[int(self.severity)],
            "confidence_score": round(self.confidence * 100),
            "finding_info": {
                "uid": str(self.finding_id),
                "title": self.summary,
                "analytic": {"name": self.rule, "type_id": 1, "uid": f"{self.detector}/{self.rule}"},
                "attacks": [{"technique": {"uid": t}} for t in self.tags if t.startswith("AML.")],
                "related_events": [{"uid": str(e)} for e in self.event_ids],
            },
            "resources": [{"type": "ai_agent", "uid": self.agent_id}],
            "evidences": [self.evidence],
            "metadata": {"product": {"name": "soar", "vendor_name": "soar"}, "version": "1.3.0"},
        }
