"""ORM rows. Table names are prefixed by the stage that owns them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from soar.store.base import Base, LongStr, Str, UTCDateTime
from soar.telemetry.events import utcnow

_pk_int = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only


class AgentRecord(Base):
    """An enrolled agent and its containment state."""

    __tablename__ = "identity_agent"

    agent_id: Mapped[str] = mapped_column(Str(256), primary_key=True)
    owner: Mapped[str] = mapped_column(Str(256), default="")
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tools: Mapped[list[Any]] = mapped_column(JSON, default=list, doc="tools the agent may call itself")
    status: Mapped[str] = mapped_column(Str(32), default="active", doc="active | quarantined")
    status_reason: Mapped[str] = mapped_column(LongStr, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AgentKeyRecord(Base):
    """A public key registered for an agent (Ed25519, raw, base64url)."""

    __tablename__ = "identity_agent_key"

    kid: Mapped[str] = mapped_column(Str(128), primary_key=True)
    agent_id: Mapped[str] = mapped_column(Str(256), index=True)
    public_key: Mapped[str] = mapped_column(Str(128))
    status: Mapped[str] = mapped_column(Str(32), default="active", doc="active | revoked")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True, doc="rotation overlap: the key stops verifying at this time (null: never)"
    )


class EnrollmentRecord(Base):
    """A one-time, expiring enrollment token (only its sha256 is stored) for one agent id."""

    __tablename__ = "identity_enrollment"

    token_hash: Mapped[str] = mapped_column(Str(64), primary_key=True)
    enrollment_id: Mapped[str] = mapped_column(Str(32), unique=True)
    agent_id: Mapped[str] = mapped_column(Str(256), index=True)
    owner: Mapped[str] = mapped_column(Str(256), default="")
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tools: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True, doc="null: keep the agent's tools")
    rotate_overlap_s: Mapped[int | None] = mapped_column(
        Integer, nullable=True, doc="re-key: the agent's other keys expire this long after the new key enrolls"
    )
    created_by: Mapped[str] = mapped_column(Str(256), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    used_kid: Mapped[str | None] = mapped_column(Str(128), nullable=True)


class CredentialRecord(Base):
    """A task-scoped token soar issued (the JWT's ``jti``)."""

    __tablename__ = "identity_credential"

    credential_id: Mapped[str] = mapped_column(Str(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(Str(256), index=True)
    task_id: Mapped[str] = mapped_column(Str(256), default="")
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str] = mapped_column(LongStr, default="")


class FindingRecord(Base):
    """A stored finding; the id is deterministic so a replay inserts nothing new."""

    __tablename__ = "detect_finding"

    finding_id: Mapped[str] = mapped_column(Str(36), primary_key=True)
    detector: Mapped[str] = mapped_column(Str(128), index=True)
    rule: Mapped[str] = mapped_column(Str(256))
    agent_id: Mapped[str] = mapped_column(Str(256), index=True)
    task_id: Mapped[str] = mapped_column(Str(256), default="")
    severity: Mapped[str] = mapped_column(Str(16))
    confidence: Mapped[float] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(LongStr)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    event_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    incident_id: Mapped[str | None] = mapped_column(Str(36), nullable=True, index=True)


class IncidentRecord(Base):
    """Findings grouped by agent and time, with their response."""

    __tablename__ = "respond_incident"

    incident_id: Mapped[str] = mapped_column(Str(36), primary_key=True)
    agent_id: Mapped[str] = mapped_column(Str(256), index=True)
    task_id: Mapped[str] = mapped_column(Str(256), default="")
    title: Mapped[str] = mapped_column(LongStr)
    severity: Mapped[str] = mapped_column(Str(16))
    status: Mapped[str] = mapped_column(Str(16), default="open", doc="open | contained | resolved")
    first_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    contained_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    owner: Mapped[str] = mapped_column(Str(256), default="")
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by: Mapped[str] = mapped_column(Str(256), default="", server_default="")


class IncidentEventRecord(Base):
    """One line of an incident's timeline."""

    __tablename__ = "respond_incident_event"

    id: Mapped[int] = mapped_column(_pk_int, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(Str(36), index=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(Str(32), doc="finding | step | notification | note | status")
    summary: Mapped[str] = mapped_column(LongStr)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PlaybookRunRecord(Base):
    """A durable run of one playbook for one finding (unique per playbook + finding)."""

    __tablename__ = "decide_playbook_run"
    __table_args__ = (UniqueConstraint("playbook_id", "finding_id", name="uq_decide_playbook_run_pb_finding"),)

    run_id: Mapped[str] = mapped_column(Str(36), primary_key=True)
    playbook_id: Mapped[str] = mapped_column(Str(64), index=True)
    playbook_name: Mapped[str] = mapped_column(LongStr)
    finding_id: Mapped[str] = mapped_column(Str(36), index=True)
    agent_id: Mapped[str] = mapped_column(Str(256), index=True)
    incident_id: Mapped[str | None] = mapped_column(Str(36), nullable=True, index=True)
    throttle_key: Mapped[str] = mapped_column(Str(512), default="")
    mode: Mapped[str] = mapped_column(Str(16), default="auto")
    status: Mapped[str] = mapped_column(Str(16), default="running", doc="running|completed|failed|waiting|denied")
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StepRunRecord(Base):
    """One step of a run; ``idempotency_key`` makes a resumed step a no-op once it succeeded."""

    __tablename__ = "act_step_run"

    idempotency_key: Mapped[str] = mapped_column(Str(128), primary_key=True)
    run_id: Mapped[str] = mapped_column(Str(36), index=True)
    step_id: Mapped[str] = mapped_column(Str(128))
    position: Mapped[int] = mapped_column(Integer, default=0)
    action: Mapped[str] = mapped_column(Str(128))
    status: Mapped[str] = mapped_column(
        Str(16), default="pending", doc="pending|running|succeeded|failed|skipped|waiting|approved|denied"
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    output: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(LongStr, default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    params: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, nullable=True, doc="rendered parameters (what an approver is asked to allow)"
    )
    approval_deadline: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True, index=True, doc="a waiting step times out at this time (durable timer)"
    )
    decision: Mapped[str] = mapped_column(Str(16), default="", server_default="", doc="approved | denied")
    decided_by: Mapped[str] = mapped_column(Str(256), default="", server_default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MemoryVersionRecord(Base):
    """One version of one memory key, with the provenance of its content."""

    __tablename__ = "memory_version"
    __table_args__ = (Index("ix_memory_version_key", "agent_id", "store", "key", "version"),)

    id: Mapped[int] = mapped_column(_pk_int, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(Str(36), unique=True)
    agent_id: Mapped[str] = mapped_column(Str(256))
    store: Mapped[str] = mapped_column(Str(256))
    key: Mapped[str] = mapped_column(Str(1024))
    version: Mapped[int] = mapped_column(Integer)
    value: Mapped[str | None] = mapped_column(LongStr, nullable=True, doc="null: the key was deleted")
    value_hash: Mapped[str] = mapped_column(Str(64))
    source: Mapped[str] = mapped_column(Str(32))
    origin: Mapped[str] = mapped_column(LongStr, default="")
    cause_event_id: Mapped[str | None] = mapped_column(Str(36), nullable=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    tainted: Mapped[bool] = mapped_column(Boolean, default=False)


class ControlCommandRecord(Base):
    """A command sent to an agent on ``soar.control``."""

    __tablename__ = "act_control_command"

    command_id: Mapped[str] = mapped_column(Str(36), primary_key=True)
    agent_id: Mapped[str] = mapped_column(Str(256), index=True)
    command: Mapped[str] = mapped_column(Str(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    run_id: Mapped[str | None] = mapped_column(Str(36), nullable=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryRecord(Base):
    """One notification delivery; the idempotency key stops a second page."""

    __tablename__ = "notify_delivery"

    idempotency_key: Mapped[str] = mapped_column(Str(128), primary_key=True)
    notifier: Mapped[str] = mapped_column(Str(64))
    target: Mapped[str] = mapped_column(LongStr)
    status: Mapped[str] = mapped_column(Str(16), doc="delivered | failed")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    incident_id: Mapped[str | None] = mapped_column(Str(36), nullable=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditRecord(Base):
    """One entry of the hash-chained audit log."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(_pk_int, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(Str(256), doc="playbook:<id>, user:<name>, system")
    action: Mapped[str] = mapped_column(Str(128))
    target: Mapped[str] = mapped_column(Str(512))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(Str(64))
    hash: Mapped[str] = mapped_column(Str(64), unique=True)
