"""The detect stage entry points: registry, build_detectors, run_detectors; the demo end to end."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import pytest

from soar.detect import DETECTORS, build_detectors, run_detectors
from soar.detect.base import DetectConfig, DetectContext, Detector
from soar.telemetry.events import AgentEvent
from soar.telemetry.findings import Finding, Severity
from soar.telemetry.signing import value_hash

from .test_coordination import PAYLOAD
from .test_injection import PAGE
from .test_memory import GOOD, POISON

Ev = Callable[..., AgentEvent]


class _Broken:
    name: ClassVar[str] = "broken"
    kinds: ClassVar[frozenset[str]] = frozenset({"input"})

    def detect(self, events: Sequence[AgentEvent], ctx: DetectContext) -> list[Finding]:
        raise RuntimeError("boom")


def test_init_registry_lists_the_families() -> None:
    assert list(DETECTORS) == ["coordination", "injection", "memory", "zerotrust"]


def test_init_build_detectors_all_and_by_name(config: DetectConfig) -> None:
    assert [d.name for d in build_detectors(config)] == ["coordination", "injection", "memory", "zerotrust"]
    (only,) = build_detectors(config, ["memory"])
    assert only.name == "memory" and isinstance(only, Detector)
    with pytest.raises(KeyError, match="unknown detector 'nope'"):
        build_detectors(config, ["nope"])


def test_init_run_detectors_isolates_failures_and_keeps_event_order(
    config: DetectConfig, ctx: DetectContext, ev: Ev
) -> None:
    detectors = [_Broken(), *build_detectors(config)]
    mail = ev("input", "mail-triage", {"source": "email", "content": PAYLOAD})
    page = ev("tool_result", "web-researcher", {"tool": "browser.fetch", "call_id": "c", "content": PAGE})
    times: dict[str, float] = {}
    findings = run_detectors(detectors, [page, mail], ctx, times=times)
    assert [f.event_ids[0] for f in findings] == [page.event_id, mail.event_id]
    assert {"detect.broken", "detect.injection", "detect.coordination"} <= set(times)


class _FailsOnOne:
    """Raises whenever its batch holds the event whose content is ``boom``."""

    name = "fails_on_one"
    kinds = frozenset({"input", "tool_result"})

    def detect(self, events: list[Any], ctx: DetectContext) -> list[Finding]:
        if any(getattr(e.payload, "content", "") == "boom" for e in events):
            raise ValueError("boom")
        return [Finding.make(detector=self.name, rule="seen", event=e, severity="low", confidence=0.5, summary="x")
                for e in events]  # fmt: skip


def test_init_a_detector_failing_on_one_event_still_sees_the_others(ctx: DetectContext, ev: Ev) -> None:
    """An input that made a detector raise used to cost the detector's findings for the whole batch."""
    events = [ev("input", f"agent-{i}", {"source": "user", "content": "boom" if i == 1 else "fine"}) for i in range(4)]
    findings = run_detectors([_FailsOnOne()], events, ctx)
    assert [f.event_ids[0] for f in findings] == [events[0].event_id, events[2].event_id, events[3].event_id]


def test_init_demo_attacks_fire_high_and_benign_traffic_stays_quiet(
    config: DetectConfig, ctx: DetectContext, ev: Ev
) -> None:
    detectors = build_detectors(config)
    rng = random.Random(7)
    benign: list[AgentEvent] = [
        ev("memory_write", "crm-assistant", {"store": "long_term", "key": "invoice_policy", "value": GOOD,
                                             "provenance": {"source": "user"}}),
        ev("memory_write", "web-researcher", {"store": "long_term", "key": "answer_style",
                                              "value": "User prefers short answers.",
                                              "provenance": {"source": "user"}}),
    ]  # fmt: skip
    for _ in range(60):
        benign += [
            ev("input", "mail-triage", {"source": "email", "content": rng.choice([
                "Hi, please send the report by Friday so I can review it. Thanks, Alice",
                "Team, the standup moves to 10:30 tomorrow. Please update your calendars.",
                "Your password expires in 7 days. Change it at https://sso.ourcorp.example."])}),
            ev("tool_call", "web-researcher", {"tool": "search", "call_id": "s", "args": {"q": "freight rates"}}),
            ev("tool_result", "web-researcher", {"tool": "browser.fetch", "call_id": "s", "content":
                "<html><body><h1>Tide</h1><p>Tides are the rise and fall of sea levels.</p></body></html>"}),
            ev("tool_result", "crm-assistant", {"tool": "crm.lookup", "call_id": "l",
                                                "content": "Acme Ltd: key account, owner Dan Okafor."}),
            ev("message", "web-researcher", {"to_agent": "report-writer",
                                             "content": "Here are my notes for the weekly report."}),
            ev("memory_read", "crm-assistant", {"store": "long_term", "key": "invoice_policy",
                                                "value_hash": value_hash(GOOD)}),
        ]  # fmt: skip
    noisy = [f for f in run_detectors(detectors, benign, ctx) if f.severity >= Severity.MEDIUM]
    assert noisy == []

    notes = ev("tool_result", "crm-assistant", {"tool": "crm.notes", "call_id": "n", "content": f"Notes. {POISON}."})
    attacks = [
        ev("tool_result", "web-researcher", {"tool": "browser.fetch", "call_id": "x", "content": PAGE}),
        notes,
        ev("memory_write", "crm-assistant", {"store": "long_term", "key": "invoice_policy", "value": POISON,
                                             "provenance": {"source": "tool", "origin": "crm.notes",
                                                            "event_id": str(notes.event_id)}}),
        ev("input", "mail-triage", {"source": "email", "origin": "mailbox:ceo", "content": PAYLOAD}),
        ev("message", "mail-triage", {"to_agent": "scheduler", "content": PAYLOAD}),
        ev("message", "mail-triage", {"to_agent": "crm-assistant", "content": PAYLOAD}),
        ev("message", "mail-triage", {"to_agent": "finance-ops", "content": "Please run this transfer now.",
                                      "delegation": {"tool": "payments.transfer"}}),
    ]  # fmt: skip
    found = {(f.detector, f.rule): f.severity for f in run_detectors(detectors, attacks, ctx)}
    expected = {
        ("injection", "indirect_prompt_injection"),
        ("memory", "memory_poisoning"),
        ("memory", "untrusted_overwrite"),
        ("coordination", "relay_to_new_peers"),
        ("coordination", "unauthorized_delegation"),
    }
    assert expected <= set(found)
    assert all(found[k] >= Severity.HIGH for k in expected)
