"""What a simulated fleet run reports: per agent, per attack, with wall-clock times for time-to-contain."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from soar.sdk.client import AppliedCommand

AttackName = Literal["injection", "memory", "coordination"]
ATTACKS: tuple[AttackName, ...] = ("injection", "memory", "coordination")


class ReceivedCommand(BaseModel):
    """A control command an agent applied; times are ``time.time()`` on the agent's side."""

    command: str
    command_id: str
    reason: str = ""
    incident_id: str | None = None
    run_id: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    received_at: float
    applied_at: float

    @classmethod
    def of(cls, applied: AppliedCommand) -> ReceivedCommand:
        """From the SDK's record of an applied command."""
        c = applied.command
        return cls(
            command=c.command,
            command_id=str(c.command_id),
            reason=c.reason,
            incident_id=c.incident_id,
            run_id=c.run_id,
            params=c.params,
            received_at=applied.received_at,
            applied_at=applied.applied_at,
        )


class AttackStep(BaseModel):
    """One action the victim took (or tried) during an attack."""

    step: str
    kind: str
    event_id: str | None = None  # None when the SDK refused it (agent quarantined)
    produced_at: float | None = None
    malicious: bool = False
    blocked: bool = False


class AttackReport(BaseModel):
    """One played attack: what was sent, what came back, and the outcome.

    ``event_id``/``produced_at`` are the first malicious event the victim produced; every step is in
    ``steps``. ``time_to_contain_s`` is the first ``quarantine`` received minus ``produced_at``.
    """

    attack: AttackName
    victim: str
    event_id: str | None = None
    produced_at: float | None = None
    steps: list[AttackStep] = Field(default_factory=list)
    commands: list[ReceivedCommand] = Field(default_factory=list)  # the victim's, from the attack's start on
    quarantined_at: float | None = None
    time_to_contain_s: float | None = None
    memory_key: str | None = None
    expected_memory_value: str | None = None
    memory_value: str | None = None
    memory_restored: bool | None = None  # memory attack only
    exfil_blocked: bool | None = None  # injection attack only
    blocked_by: str | None = None  # quarantine | credential revoked | authorize
    notes: list[str] = Field(default_factory=list)

    def event_ids(self) -> list[str]:
        """Ids of every event the attack produced."""
        return [s.event_id for s in self.steps if s.event_id]


class AgentReport(BaseModel):
    """One simulated agent at the end of the run."""

    agent_id: str
    role: str
    tools: list[str]
    peers: list[str]
    public_key: str
    kid: str
    victim_of: list[AttackName] = Field(default_factory=list)
    events_sent: dict[str, int] = Field(default_factory=dict)
    quarantined: bool = False  # at the end of the run
    was_quarantined: bool = False  # at any point
    commands: list[ReceivedCommand] = Field(default_factory=list)
    blocked_actions: int = 0  # helper calls refused with AgentQuarantined
    errors: list[str] = Field(default_factory=list)
    credential_id: str | None = None
    memory: dict[str, str] = Field(default_factory=dict)  # long_term store at the end


class FleetReport(BaseModel):
    """The whole run."""

    started_at: float
    traffic_started_at: float
    ended_at: float
    agents: dict[str, AgentReport]
    attacks: list[AttackReport]
    events_sent: dict[str, int]

    @property
    def benign_touched(self) -> list[str]:
        """Agents that were no attack's victim yet received a control command (should be empty)."""
        return [a.agent_id for a in self.agents.values() if not a.victim_of and a.commands]

    def attack(self, name: AttackName) -> AttackReport | None:
        """The report of one attack, if it was played."""
        return next((a for a in self.attacks if a.attack == name), None)
