"""Telemetry events: the envelope and one payload model per ``kind`` (a discriminated union).

Every model is frozen; unknown keys are rejected so that a typo in an agent's SDK surfaces as a
dead-lettered event with a reason instead of a silently ignored field.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

Source = Literal["user", "tool", "retrieval", "web", "email", "file", "agent", "system"]
#: task id prefix of the SDK's memory reads confirming a ``restore_memory`` command: ``restore:<command_id>``
RESTORE_TASK_PREFIX = "restore:"
#: sources whose content an attacker may control
UNTRUSTED_SOURCES: frozenset[str] = frozenset({"tool", "retrieval", "web", "email", "file", "agent"})

_frozen = ConfigDict(frozen=True, extra="forbid")


class _Payload(BaseModel):
    model_config = _frozen


class InputPayload(_Payload):
    """Content entering the agent's context."""

    source: Source
    origin: str = Field(default="", max_length=2048, description="URL, mailbox, file path, agent id, ...")
    content: str


class OutputPayload(_Payload):
    """Content the agent emits."""

    content: str
    destination: str = Field(default="", max_length=2048)


class ToolCallPayload(_Payload):
    """The agent calls a tool."""

    tool: str = Field(max_length=256)
    call_id: str = Field(max_length=256)
    args: dict[str, Any] = Field(default_factory=dict)
    credential_id: str | None = None


class ToolResultPayload(_Payload):
    """A tool's answer, entering the agent's context (an indirect-injection vector)."""

    tool: str = Field(max_length=256)
    call_id: str = Field(max_length=256)
    content: str
    status: Literal["ok", "error"] = "ok"


class Provenance(_Payload):
    """Where a memory write's content came from."""

    source: Source
    origin: str = ""
    event_id: uuid.UUID | None = Field(default=None, description="the event whose content caused the write")


class MemoryWritePayload(_Payload):
    """The agent writes to one of its memory stores."""

    store: str = Field(max_length=256)
    key: str = Field(max_length=1024)
    value: str
    provenance: Provenance


class MemoryReadPayload(_Payload):
    """The agent recalls a memory entry; ``value_hash`` is sha256 hex of the value it read."""

    store: str = Field(max_length=256)
    key: str = Field(max_length=1024)
    value_hash: str = Field(max_length=128)


class Delegation(_Payload):
    """A request in a message that the peer run a tool or task on the sender's behalf."""

    tool: str | None = None
    task: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)


class MessagePayload(_Payload):
    """An agent-to-agent message."""

    to_agent: str = Field(max_length=256)
    conversation_id: str = Field(default="", max_length=256)
    content: str
    delegation: Delegation | None = None


class CredentialUsePayload(_Payload):
    """The agent used a credential on a resource."""

    credential_id: str = Field(max_length=256)
    resource: str = Field(max_length=2048)
    action: str = Field(max_length=256)


class LifecyclePayload(_Payload):
    """The agent started, is alive, or stopped."""

    state: Literal["started", "heartbeat", "stopped"]
    model: str = ""
    version: str = ""


class _Envelope(BaseModel):
    model_config = _frozen

    event_id: uuid.UUID
    ts: AwareDatetime = Field(description="when it happened; an offset is required (a bare local time is ambiguous)")
    agent_id: str = Field(min_length=1, max_length=256)
    task_id: str = Field(default="", max_length=256)
    session_id: str = Field(default="", max_length=256)
    trace_id: str | None = Field(default=None, max_length=64)
    span_id: str | None = Field(default=None, max_length=32)
    kid: str | None = Field(default=None, max_length=128)
    sig: str | None = Field(default=None, max_length=256)

    def text(self) -> str:
        """The free text an attacker could control in this event ('' when none)."""
        return ""


class InputEvent(_Envelope):
    """``kind=input``."""

    kind: Literal["input"] = "input"
    payload: InputPayload

    def text(self) -> str:
        return self.payload.content


class OutputEvent(_Envelope):
    """``kind=output``."""

    kind: Literal["output"] = "output"
    payload: OutputPayload

    def text(self) -> str:
        return self.payload.content


class ToolCallEvent(_Envelope):
    """``kind=tool_call``."""

    kind: Literal["tool_call"] = "tool_call"
    payload: ToolCallPayload


class ToolResultEvent(_Envelope):
    """``kind=tool_result``."""

    kind: Literal["tool_result"] = "tool_result"
    payload: ToolResultPayload

    def text(self) -> str:
        return self.payload.content


class MemoryWriteEvent(_Envelope):
    """``kind=memory_write``."""

    kind: Literal["memory_write"] = "memory_write"
    payload: MemoryWritePayload

    def text(self) -> str:
        return self.payload.value


class MemoryReadEvent(_Envelope):
    """``kind=memory_read``."""

    kind: Literal["memory_read"] = "memory_read"
    payload: MemoryReadPayload


class MessageEvent(_Envelope):
    """``kind=message``."""

    kind: Literal["message"] = "message"
    payload: MessagePayload

    def text(self) -> str:
        return self.payload.content


class CredentialUseEvent(_Envelope):
    """``kind=credential_use``."""

    kind: Literal["credential_use"] = "credential_use"
    payload: CredentialUsePayload


class LifecycleEvent(_Envelope):
    """``kind=lifecycle``."""

    kind: Literal["lifecycle"] = "lifecycle"
    payload: LifecyclePayload


AgentEvent = Annotated[
    InputEvent
    | OutputEvent
    | ToolCallEvent
    | ToolResultEvent
    | MemoryWriteEvent
    | MemoryReadEvent
    | MessageEvent
    | CredentialUseEvent
    | LifecycleEvent,
    Field(discriminator="kind"),
]
EVENT_ADAPTER: TypeAdapter[AgentEvent] = TypeAdapter(AgentEvent)
EVENT_KINDS: tuple[str, ...] = (
    "input",
    "output",
    "tool_call",
    "tool_result",
    "memory_write",
    "memory_read",
    "message",
    "credential_use",
    "lifecycle",
)
PAYLOADS: dict[str, type[BaseModel]] = {
    "input": InputPayload,
    "output": OutputPayload,
    "tool_call": ToolCallPayload,
    "tool_result": ToolResultPayload,
    "memory_write": MemoryWritePayload,
    "memory_read": MemoryReadPayload,
    "message": MessagePayload,
    "credential_use": CredentialUsePayload,
    "lifecycle": LifecyclePayload,
}


def is_restore_confirmation(event: AgentEvent) -> bool:
    """A memory read by which the SDK confirms a ``restore_memory`` command (task ``restore:<command id>``)."""
    return isinstance(event, MemoryReadEvent) and event.task_id.startswith(RESTORE_TASK_PREFIX)


def utcnow() -> datetime:
    """Timezone-aware now, UTC."""
    return datetime.now(UTC)


def new_event(kind: str, agent_id: str, payload: dict[str, Any] | BaseModel, **envelope: Any) -> AgentEvent:
    """Build an unsigned event of ``kind`` (helper for the SDK, simulator and tests)."""
    body = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    data: dict[str, Any] = {
        "event_id": str(envelope.pop("event_id", uuid.uuid4())),
        "ts": envelope.pop("ts", utcnow()),
        "agent_id": agent_id,
        "kind": kind,
        "payload": body,
        **envelope,
    }
    return EVENT_ADAPTER.validate_python(data)


def telemetry_schema() -> dict[str, Any]:
    """The JSON Schema of ``AgentEvent`` (``soar schema telemetry``)."""
    return EVENT_ADAPTER.json_schema()
