"""``PlaybookSpec``: the playbook file format (``playbooks/<domain>/<slug>.yaml``), as frozen pydantic models.

Each file is a YAML list of playbooks::

    - playbook: Contain indirect prompt injection
      id: 0b8e3c1a-...                      # uuid4, never reused
      mode: auto                            # auto | approve | dry-run
      trigger: {detectors: [injection], rules: [indirect_prompt_injection], min_severity: high}
      where: 'finding.confidence >= 0.6'    # optional CEL over finding, agent
      throttle: {key: agent, window_s: 300}
      steps:
        - {id: revoke, action: credentials:revoke, with: {reason: "{{ finding.summary }}"}}
        - {id: page, action: notify:webhook, with: {channel: oncall}, continue_on_error: true}
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_serializer, field_validator, model_validator

from soar.telemetry.findings import Severity

Maturity = Literal["stable", "incubating", "sandbox", "deprecated"]
Mode = Literal["auto", "approve", "dry-run"]
ThrottleKey = Literal["agent", "task", "rule", "detector", "finding"]

_content = ConfigDict(frozen=True, extra="forbid")


class TriggerSpec(BaseModel):
    """Which findings fire the playbook; empty lists match any detector or rule."""

    model_config = _content

    detectors: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    min_severity: Severity = Severity.INFO
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)

    @field_validator("min_severity", mode="before")
    @classmethod
    def _parse_severity(cls, v: Any) -> Severity:
        return Severity.parse(v)

    @field_serializer("min_severity")
    def _ser_severity(self, v: Severity) -> str:
        return v.label


class ThrottleSpec(BaseModel):
    """Findings with the same key within ``window_s`` of a run join its incident instead of starting a run."""

    model_config = _content

    key: ThrottleKey = "agent"
    window_s: float = Field(default=300.0, gt=0)


class StepSpec(BaseModel):
    """One step: a registered action with its (templated) parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    action: str = Field(pattern=r"^[a-z0-9_]+:[a-z0-9_]+$")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    continue_on_error: bool = False
    description: str = ""


class PlaybookSpec(BaseModel):
    """A playbook: a trigger, an optional condition, a throttle and ordered steps."""

    model_config = _content

    playbook: str = Field(min_length=1, description="human title")
    id: uuid.UUID
    description: str = ""
    version: int = Field(default=1, ge=1)
    enabled: bool = True
    maturity: Maturity = "stable"
    mode: Mode = "auto"
    trigger: TriggerSpec
    where: str | None = None
    throttle: ThrottleSpec | None = None
    steps: list[StepSpec] = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)

    _source: str = PrivateAttr(default="")

    @field_validator("id")
    @classmethod
    def _uuid4(cls, v: uuid.UUID) -> uuid.UUID:
        if v.version != 4:
            raise ValueError("id must be a UUID4")
        return v

    @model_validator(mode="after")
    def _unique_steps(self) -> PlaybookSpec:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"duplicate step id {step.id!r}")
            seen.add(step.id)
        return self

    @property
    def source(self) -> str:
        """``path:line`` the playbook was loaded from ('' when built in code)."""
        return self._source

    def with_source(self, source: str) -> PlaybookSpec:
        """This playbook, tagged with where it was loaded from."""
        self._source = source
        return self
