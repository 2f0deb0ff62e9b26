"""Replay and timestamp checks for verify, as pure functions over the detectors' ``StateStore``.

A *replayed* event is an ``event_id`` seen before at another place in the log: an attacker re-sending a
captured (validly signed) event. Kafka's own redelivery (a worker restarted before committing, see STACK.md
quirk 5) brings the same event back at the *same* topic/partition/offset, which is not a replay and is not
flagged. Each agent keeps a bounded window of recent ``event_id -> position`` in state namespace
``identity.replay`` (key: the agent id, so it lives on the worker owning the agent's partition); one get and
one set per agent per batch.

Policy by tier: Foundation flags a replay (finding, the event goes on); Advanced and Optimized flag it and
reject the event to the dead-letter topic with reason ``replayed``. :func:`check_timestamp` flags events from
the future (beyond the allowed skew) and, optionally, events older than ``max_age_s``.

Wiring, in verify after the signature checks (the lead's ``soar/verify/``)::

    findings, rejected = replay_findings(passed_items, state, tier=settings.tier, window=4096)
    # rejected: indices into passed_items to dead-letter with reason "replayed"
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING

from soar.config import Tier
from soar.detect.base import StateStore
from soar.ingest.decoders import Ingested
from soar.telemetry.events import utcnow
from soar.telemetry.findings import Finding, Severity

if TYPE_CHECKING:
    from soar.telemetry.events import AgentEvent
    from soar.verify.checks import IdentityFold

DETECTOR = "identity"
NAMESPACE = "identity.replay"
DEFAULT_WINDOW = 4096
_TAGS = ["AML.T0012", "ASI03"]


def position_of(item: Ingested) -> str:
    """Where this copy of the event sits in the log (``topic:partition:offset``; '' when unknown, e.g. replay files)."""
    r = item.record
    return f"{r.topic}:{r.partition}:{r.offset}" if r.offset >= 0 else ""


def _load(state: StateStore, agent_id: str) -> dict[str, str]:
    """The agent's window, updated in place (and set back once per batch): copying a full window of ``window``
    ids for every agent in every batch cost more than the rest of verify."""
    raw = state.get(NAMESPACE, agent_id, None)
    return raw if isinstance(raw, dict) else {}


def replay_summary(event: AgentEvent) -> str:
    """What a replay finding and a replay's dead letter say."""
    return f"{event.kind} event {event.event_id} from {event.agent_id} was seen before (replay)"


def replay_findings(
    items: Sequence[Ingested],
    state: StateStore,
    *,
    tier: Tier,
    window: int = DEFAULT_WINDOW,
    fold: IdentityFold | None = None,
) -> tuple[list[Finding], set[int]]:
    """Findings for replayed events in ``items`` and the indices to reject (Advanced/Optimized only).

    With ``fold``, the findings of rejected replays are folded per agent and window, and a folded one is never
    built (a replay flood costs no finding per record). Updates each agent's window in ``state`` (insertion
    order = age; the oldest ids fall out past ``window``).
    """
    findings: list[Finding] = []
    rejected: set[int] = set()
    windows: dict[str, dict[str, str]] = {}
    reject = tier is not Tier.FOUNDATION
    for i, item in enumerate(items):
        ev = item.event
        seen = windows.get(ev.agent_id)
        if seen is None:
            seen = windows[ev.agent_id] = _load(state, ev.agent_id)
        eid = str(ev.event_id)
        here = position_of(item)
        before = seen.get(eid)
        if before is None:
            seen[eid] = here
            continue
        if here and before == here:
            continue  # the broker delivered the same record again: not a replay

        def build(ev: AgentEvent = ev, before: str = before, here: str = here) -> Finding:
            return Finding.make(
                detector=DETECTOR,
                rule="replayed_event",
                event=ev,
                severity=Severity.HIGH,
                confidence=0.9,
                summary=replay_summary(ev),
                evidence={"kind": ev.kind, "first_position": before, "position": here, "rejected": reject},
                tags=_TAGS,
            )

        if reject:
            rejected.add(i)
        finding = fold.admit_lazily("replayed_event", ev.agent_id, build) if reject and fold else build()
        if finding is not None:
            findings.append(finding)
    for agent_id, seen in windows.items():
        if len(seen) > window:  # drop the oldest (insertion order), without rebuilding the window
            for eid in list(islice(seen, len(seen) - window)):
                del seen[eid]
        state.set(NAMESPACE, agent_id, seen)
    return findings, rejected


def check_timestamp(
    ts: datetime, *, max_skew_s: float, max_age_s: float | None = None, now: datetime | None = None
) -> str | None:
    """``future`` when ``ts`` is more than ``max_skew_s`` ahead, ``stale`` when older than ``max_age_s``, else None."""
    now = now or utcnow()
    if ts - now > timedelta(seconds=max_skew_s):
        return "future"
    if max_age_s is not None and now - ts > timedelta(seconds=max_age_s):
        return "stale"
    return None


def timestamp_findings(
    items: Sequence[Ingested], *, max_skew_s: float, max_age_s: float | None = None, now: datetime | None = None
) -> list[Finding]:
    """A ``clock_skew`` (future) or ``stale_event`` finding per event whose ``ts`` is out of bounds."""
    out: list[Finding] = []
    for item in items:
        ev = item.event
        verdict = check_timestamp(ev.ts, max_skew_s=max_skew_s, max_age_s=max_age_s, now=now)
        if verdict is None:
            continue
        rule = "clock_skew" if verdict == "future" else "stale_event"
        out.append(
            Finding.make(
                detector=DETECTOR,
                rule=rule,
                event=ev,
                severity=Severity.MEDIUM,
                confidence=0.8,
                summary=f"event ts {ev.ts.isoformat()} is {'in the future' if verdict == 'future' else 'too old'}",
                evidence={"kind": ev.kind, "ts": ev.ts.isoformat()},
                tags=_TAGS,
            )
        )
    return out
