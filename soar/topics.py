"""The pipeline map: every topic soar reads or writes, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from soar.config import Settings, get_settings


@dataclass(frozen=True)
class TopicMap:
    """Topic names (settings) of the four pipeline topics."""

    telemetry: str
    findings: str
    control: str
    deadletter: str

    def all(self) -> list[str]:
        """Every topic name."""
        return [self.telemetry, self.findings, self.control, self.deadletter]


def topic_map(settings: Settings | None = None) -> TopicMap:
    """The topic names from settings."""
    s = settings or get_settings()
    return TopicMap(s.topic_telemetry, s.topic_findings, s.topic_control, s.topic_deadletter)
