"""``PlaybookSpec``: the playbook file format (``playbooks/<domain>/<slug>.yaml``), as frozen pydantic models.

Each file is a YAML list of playbooks::

    - playbook: Contain indirect prompt injection
      id: 0b8e3c1a-...                      # uuid4, never reused
      mode: auto                            # auto | approve | dry-run
      trigger: {detectors: [injection], rules: [indirect_prompt_injection], min_severity: high}
      where: 'finding.confidence >= 0.6'    # optional CEL over finding, agent
      throttle: {key: agent, window_s: 300}
      steps:
        - {id: snapshot, action: memory:snapshot}
        - {id: revoke, action: credentials:revoke, with: {reason: "{{ finding.summary }}"}, retries: 2}
        - id: quarantine
          action: agent:quarantine
          if: 'finding.severity_level >= 4'
          approval: {roles: [oncall], timeout_s: 900, on_timeout: approve}
        - {id: page, action: notify:send, with: {channel: oncall}, continue_on_error: true}
      on_failure:
        - {id: page_failure, action: notify:send, with: {channel: oncall, message: "playbook failed"}}

Templates and conditions see ``finding``, ``agent``, ``incident``, ``run`` and ``steps`` (the outputs of the
earlier steps by id, each with its ``status``): ``"{{ steps.snapshot.version }}"``.
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


class AgentSelectorSpec(BaseModel):
    """Which agents a playbook applies to: all given criteria must hold (empty: any agent)."""

    model_config = _content

    ids: list[str] = Field(default_factory=list, description="agent ids (exact)")
    labels: dict[str, str] = Field(default_factory=dict, description="every label must equal its value")
    tier: list[str] = Field(default_factory=list, description="the agent's ``tier`` label is one of these")


class TriggerSpec(BaseModel):
    """Which findings fire the playbook; empty lists match any detector or rule."""

    model_config = _content

    detectors: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    min_severity: Severity = Severity.INFO
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    tags: list[str] = Field(default_factory=list, description="any of these tags (ATLAS/OWASP ids); empty: any")
    agents: AgentSelectorSpec | None = Field(default=None, description="only these agents (ids, labels, tier)")

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


class ApprovalSpec(BaseModel):
    """A human must approve the step before it runs; ``on_timeout`` decides when nobody answers in time."""

    model_config = _content

    roles: list[str] = Field(default_factory=list, description="operator roles that may decide (empty: any)")
    timeout_s: float = Field(default=3600.0, gt=0, description="seconds to wait for a decision")
    on_timeout: Literal["deny", "approve"] = Field(default="deny", description="decision taken at the deadline")


class StepSpec(BaseModel):
    """One step: a registered action with its (templated) parameters and its flow control."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_]{1,64}$", description="unique in the playbook; ``steps.<id>`` in templates")
    action: str = Field(pattern=r"^[a-z0-9_]+:[a-z0-9_]+$", description="a registered action (soar actions list)")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with", description="parameters; strings may hold {{ }}")
    if_: str | None = Field(default=None, alias="if", description="CEL condition; false: the step is skipped")
    retries: int = Field(default=0, ge=0, le=10, description="extra attempts after a failure")
    backoff_s: float = Field(default=1.0, ge=0, le=300, description="wait before retry n: backoff_s * 2**(n-1)")
    timeout_s: float | None = Field(default=None, gt=0, le=3600, description="an attempt fails after this long")
    continue_on_error: bool = False
    approval: ApprovalSpec | None = None
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
    on_failure: list[StepSpec] = Field(default_factory=list, description="steps run when the run fails")
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
        for step in [*self.steps, *self.on_failure]:
            if step.id in seen:
                raise ValueError(f"duplicate step id {step.id!r}")
            seen.add(step.id)
        return self

    @property
    def name(self) -> str:
        """The human title (the ``playbook:`` key)."""
        return self.playbook

    @property
    def source(self) -> str:
        """``path:line`` the playbook was loaded from ('' when built in code)."""
        return self._source

    def step(self, step_id: str) -> StepSpec:
        """The step (or on_failure step) with ``step_id``; KeyError when there is none."""
        for step in [*self.steps, *self.on_failure]:
            if step.id == step_id:
                return step
        raise KeyError(f"playbook {self.id} has no step {step_id!r}")

    def with_source(self, source: str) -> PlaybookSpec:
        """This playbook, tagged with where it was loaded from."""
        self._source = source
        return self


def playbook_file_schema() -> dict[str, Any]:
    """JSON Schema of a playbook file: a YAML list of ``PlaybookSpec`` (what ``soar playbooks schema`` prints)."""
    item = PlaybookSpec.model_json_schema(by_alias=True, mode="validation")
    defs = item.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "soar playbook file",
        "description": "A YAML list of playbooks (playbooks/<domain>/<slug>.yaml).",
        "type": "array",
        "items": {"$ref": "#/$defs/PlaybookSpec"},
        "$defs": {**defs, "PlaybookSpec": item},
    }
