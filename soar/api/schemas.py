"""Request and response models of the HTTP API (views over ``*Record`` rows; never the rows themselves)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class ErrorOut(BaseModel):
    """Error body: a human message and, for identity errors, a machine-readable reason code."""

    detail: str
    reason: str = ""


class HealthOut(BaseModel):
    """``GET /healthz``."""

    status: Literal["ok", "degraded"]
    db: bool


class TokenOut(BaseModel):
    """``POST /v1/tokens``: the issued token."""

    token: str
    credential_id: str
    expires_at: datetime


class AuthorizeIn(BaseModel):
    """``POST /v1/authorize``: may ``token`` do ``action`` on ``resource`` with ``tool``?"""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=8192)
    tool: str = Field(min_length=1, max_length=256)
    resource: str = Field(max_length=4096)
    action: str = Field(min_length=1, max_length=256)


class AgentKeyOut(_Out):
    """One registered public key of an agent."""

    kid: str
    public_key: str
    status: str
    created_at: datetime
    revoked_at: datetime | None = None
    expires_at: datetime | None = None


class AgentOut(_Out):
    """An agent in a list."""

    agent_id: str
    owner: str
    labels: dict[str, Any]
    tools: list[Any]
    status: str
    status_reason: str
    created_at: datetime
    updated_at: datetime


class AgentDetailOut(AgentOut):
    """One agent with its keys."""

    keys: list[AgentKeyOut]


class AgentIn(BaseModel):
    """``POST /v1/agents``: register an agent (or add a key / update fields of an existing one)."""

    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=1, max_length=256)
    public_key: str = Field(min_length=1, max_length=128, description="raw Ed25519 public key, base64url")
    owner: str = Field(default="", max_length=256)
    labels: dict[str, Any] | None = None
    tools: list[str] | None = Field(default=None, description="tool globs the agent may call; empty: any")


class EnrollmentIn(BaseModel):
    """``POST /v1/agents/{agent_id}/enrollments``: issue a one-time enrollment token."""

    model_config = ConfigDict(extra="forbid")

    owner: str = Field(default="", max_length=256)
    labels: dict[str, Any] = Field(default_factory=dict)
    tools: list[str] | None = None
    ttl_s: int = Field(default=3600, gt=0, le=30 * 86400)
    rotate_overlap_s: int | None = Field(default=None, ge=0, le=30 * 86400)


class EnrollmentOut(BaseModel):
    """An issued enrollment token (shown once)."""

    token: str
    enrollment_id: str
    agent_id: str
    expires_at: datetime
    rotate_overlap_s: int | None = None


class EnrolledOut(BaseModel):
    """The answer of ``POST /v1/enroll``."""

    agent_id: str
    kid: str
    enrollment_id: str
    expiring_kids: list[str]


class ReasonIn(BaseModel):
    """Body of a containment or release call: why (kept in the audit log)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000)


class CredentialOut(_Out):
    """A credential soar issued."""

    credential_id: str
    agent_id: str
    task_id: str
    scopes: list[Any]
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str


class FindingOut(_Out):
    """A stored finding."""

    finding_id: str
    detector: str
    rule: str
    agent_id: str
    task_id: str
    severity: str
    confidence: float
    summary: str
    evidence: dict[str, Any]
    tags: list[Any]
    event_ids: list[Any]
    ts: datetime
    observed_at: datetime | None = None
    incident_id: str | None = None


class IncidentOut(_Out):
    """An incident in a list."""

    incident_id: str
    agent_id: str
    task_id: str
    title: str
    severity: str
    status: str
    first_event_at: datetime | None = None
    opened_at: datetime
    contained_at: datetime | None = None
    resolved_at: datetime | None = None
    owner: str


class IncidentEventOut(_Out):
    """One line of an incident's timeline."""

    id: int
    ts: datetime
    kind: str
    summary: str
    data: dict[str, Any]


class StepOut(_Out):
    """One step of a playbook run."""

    idempotency_key: str
    step_id: str
    position: int
    action: str
    status: str
    attempts: int
    output: dict[str, Any]
    error: str
    started_at: datetime | None = None
    finished_at: datetime | None = None


class RunOut(_Out):
    """A playbook run with its steps."""

    run_id: str
    playbook_id: str
    playbook_name: str
    finding_id: str
    agent_id: str
    mode: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    steps: list[StepOut] = Field(default_factory=list)


class IncidentDetailOut(IncidentOut):
    """One incident with its timeline, findings, and playbook runs (with steps)."""

    timeline: list[IncidentEventOut]
    findings: list[FindingOut]
    runs: list[RunOut]
