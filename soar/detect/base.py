"""The ``Detector`` extension point and the per-agent state interface detectors keep their memory in.

A detector is a class with a ``name``, the event ``kinds`` it reads, and ``detect(events, ctx)``,
called with a *batch* of verified events (batching is what lets the scikit-learn and RE2 layers run
fast). It returns findings and keeps whatever it must remember across events in ``ctx.state``, never
in attributes, so that the same detector runs in the Faust worker (state in a changelog-backed
table), in ``soar replay`` and in tests (state in a dict)::

    class LongMessageDetector:
        name = "long_message"
        kinds = frozenset({"message"})

        def __init__(self, config: DetectConfig) -> None:
            self.limit = 10_000

        def detect(self, events, ctx):
            return [
                Finding.make(detector=self.name, rule="too_long", event=e, severity="low",
                             confidence=0.5, summary="very long message")
                for e in events if len(e.payload.content) > self.limit
            ]
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import structlog

from soar.identity.scopes import Scope
from soar.telemetry.events import AgentEvent
from soar.telemetry.findings import Finding

log = structlog.get_logger(__name__)


class StateStore(Protocol):
    """Per-key state (JSON-able values) that survives restarts in the worker.

    Keys are ``(namespace, key)``; by convention ``key`` starts with the agent id, so an agent's state
    lives on the worker that owns its partition.
    """

    def get(self, namespace: str, key: str, default: Any = None) -> Any:
        """The value stored, or ``default``."""
        ...

    def set(self, namespace: str, key: str, value: Any) -> None:
        """Store a JSON-able value."""
        ...


class MemoryState:
    """A dict-backed ``StateStore``: the fast worker's detector state, and replay's and the tests'.

    With ``max_keys`` it holds at most that many keys and drops the least recently used first. Most keys are
    per agent (windows, received fingerprints, replay windows) or per agent and memory key, so without a bound a
    stream of new agent ids (unsigned events are accepted at Foundation) or of new memory keys grows a worker
    for as long as it runs. What is dropped is the state of whatever was idle longest: a later event of it is
    judged as its first.
    """

    def __init__(self, max_keys: int | None = None) -> None:
        self.data: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self.max_keys = max_keys
        self.evicted = 0

    def get(self, namespace: str, key: str, default: Any = None) -> Any:
        k = (namespace, key)
        try:
            value = self.data[k]
        except KeyError:
            return default
        if self.max_keys is not None:
            self.data.move_to_end(k)
        return value

    def set(self, namespace: str, key: str, value: Any) -> None:
        k = (namespace, key)
        self.data[k] = value
        if self.max_keys is not None:
            self.data.move_to_end(k)
            while len(self.data) > self.max_keys:
                self.data.popitem(last=False)
                if self.evicted % 100_000 == 0:
                    log.warning("detector state full: dropping the least recently used keys", max_keys=self.max_keys)
                self.evicted += 1


@dataclass(frozen=True)
class AgentProfile:
    """What detectors may know of an enrolled agent."""

    agent_id: str
    tools: frozenset[str] = frozenset()
    labels: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CredentialGrant:
    """A task-scoped credential as issued (the store's ``identity_credential`` row): to whom, for which task,
    with which scopes, when (epoch seconds; expiry ``inf``: not known)."""

    credential_id: str
    agent_id: str
    task_id: str = ""
    scopes: tuple[Scope, ...] = ()
    expires_at: float = float("inf")
    issued_at: float = 0.0


class AgentDirectory(Protocol):
    """Looks up enrolled agents (the worker keeps a cache of the store's agents table)."""

    def profile(self, agent_id: str) -> AgentProfile | None:
        """The agent's profile, or None when it is not enrolled."""
        ...


class StaticDirectory:
    """An ``AgentDirectory`` over a fixed mapping (replay and tests)."""

    def __init__(self, profiles: dict[str, AgentProfile] | None = None) -> None:
        self.profiles = dict(profiles or {})

    def profile(self, agent_id: str) -> AgentProfile | None:
        return self.profiles.get(agent_id)


@dataclass
class DetectConfig:
    """What a detector is built from: the content directory and tuning."""

    detectors_dir: Path
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class DetectContext:
    """What ``detect`` gets besides events."""

    state: StateStore
    agents: AgentDirectory


@runtime_checkable
class Detector(Protocol):
    """A family of detections over verified events (see module docstring)."""

    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]]

    def detect(self, events: Sequence[AgentEvent], ctx: DetectContext) -> list[Finding]:
        """Findings for this batch (events are already filtered to ``kinds``, in arrival order)."""
        ...
