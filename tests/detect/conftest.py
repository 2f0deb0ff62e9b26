"""Fixtures for detector tests: the real rule pack, an in-memory context, an event clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from soar.detect.base import AgentProfile, DetectConfig, DetectContext, MemoryState, StaticDirectory
from soar.telemetry.events import AgentEvent, new_event, utcnow

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "tests" / "files"

ROSTER: dict[str, frozenset[str]] = {
    "mail-triage": frozenset({"email.read", "calendar.create", "search"}),
    "web-researcher": frozenset({"browser.fetch", "search"}),
    "crm-assistant": frozenset({"crm.lookup", "crm.notes", "crm.update"}),
    "scheduler": frozenset({"calendar.create", "calendar.list"}),
    "finance-ops": frozenset({"payments.transfer", "ledger.query", "invoice.read"}),
    "report-writer": frozenset({"docs.write", "search"}),
}


def scored_alone(detector: Any, texts: list[str], sources: list[str]) -> list[float]:
    """Each text's ``score`` on its own: a batch must score the same (rows never influence each other)."""
    return [detector.score([t], [s])[0] for t, s in zip(texts, sources, strict=True)]


@pytest.fixture
def config() -> DetectConfig:
    """The repository's detectors directory, default options."""
    return DetectConfig(detectors_dir=ROOT / "detectors")


@pytest.fixture
def ctx() -> DetectContext:
    """Fresh in-memory state and a directory of the demo roster."""
    return DetectContext(MemoryState(), StaticDirectory({a: AgentProfile(a, t) for a, t in ROSTER.items()}))


class Clock:
    """Makes events with increasing timestamps (``step`` seconds apart unless told)."""

    def __init__(self) -> None:
        self.now: datetime = utcnow()

    def __call__(self, kind: str, agent: str, payload: dict[str, Any], *, after: float = 1.0) -> AgentEvent:
        self.now += timedelta(seconds=after)
        return new_event(kind, agent, payload, ts=self.now)


@pytest.fixture
def ev() -> Callable[..., AgentEvent]:
    """``ev(kind, agent, payload, after=seconds)``: an event one step after the previous one."""
    return Clock()
