"""The detect stage: the detector registry, building detectors from config, and routing batches to them.

``DETECTORS`` is the explicit table of detector families (one line each); ``build_detectors`` makes
instances from a ``DetectConfig``; ``run_detectors`` hands each detector the events of the kinds it reads
and isolates failures, so one broken detector or one bad event never stops the stage.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog

from soar.detect.base import DetectConfig, DetectContext, Detector
from soar.detect.coordination import CoordinationDetector
from soar.detect.injection import InjectionDetector
from soar.detect.memory import MemoryPoisoningDetector
from soar.detect.rules import DEFAULT_MATURITIES, RuleSpec, load_rule_pack, load_rules
from soar.detect.zerotrust import ZeroTrustDetector
from soar.registry import Registry
from soar.telemetry.events import AgentEvent
from soar.telemetry.findings import Finding

log = structlog.get_logger(__name__)

DETECTORS: Registry[type] = Registry("detector")
DETECTORS.add(InjectionDetector)  # "injection"
DETECTORS.add(MemoryPoisoningDetector)  # "memory"
DETECTORS.add(CoordinationDetector)  # "coordination"
DETECTORS.add(ZeroTrustDetector)  # "zerotrust"

__all__ = [
    "DETECTORS",
    "build_detectors",
    "load_rule_pack",
    "load_rules",
    "run_detectors",
]


def build_detectors(config: DetectConfig, names: list[str] | None = None) -> list[Detector]:
    """Instances of the named detectors (default: all registered), sharing one parse of the rule pack.

    Raises ContentErrors when the rule pack is invalid and KeyError for an unknown name.
    """
    chosen = names if names is not None else list(DETECTORS)
    classes = [DETECTORS.get(n) for n in chosen]
    rules: list[RuleSpec] | None = None
    uses_rules = (InjectionDetector, MemoryPoisoningDetector, CoordinationDetector)
    if any(c in uses_rules for c in classes):
        maturities = config.options.get("rules", {}).get("maturities", DEFAULT_MATURITIES)
        rules = load_rule_pack(Path(config.detectors_dir) / "rules", maturities=maturities)
    out: list[Detector] = []
    for cls in classes:
        out.append(cls(config, rules=rules) if cls in uses_rules else cls(config))
    return out


def run_detectors(
    detectors: Sequence[Detector],
    events: Sequence[AgentEvent],
    ctx: DetectContext,
    times: dict[str, float] | Any | None = None,
) -> list[Finding]:
    """Route the batch by kind to each detector; findings come back in event order, detector order within.

    A detector that raises on the batch runs again on each of its events alone, so one event it fails on loses
    only that event's findings from it (logged), not the batch's: a batch is up to thousands of events, and an
    input that made a detector fail would otherwise hide every other event of its batch from it.
    ``times`` (optional) accumulates CPU seconds per detector under ``detect.<name>`` (process CPU time: the
    detectors run in the calling thread, and a figure that does not move with other processes' load).
    """
    found_by: list[tuple[int, list[Finding]]] = []
    for d_index, detector in enumerate(detectors):
        batch = [e for e in events if e.kind in detector.kinds]
        if not batch:
            continue
        t0 = time.process_time()
        try:
            found = detector.detect(batch, ctx)
        except Exception:
            log.exception("detector_failed; running it event by event", detector=detector.name, events=len(batch))
            found = []
            for event in batch:
                try:
                    found.extend(detector.detect([event], ctx))
                except Exception:
                    log.exception("detector_failed_on_event", detector=detector.name, event_id=str(event.event_id))
        if times is not None:
            times[f"detect.{detector.name}"] = times.get(f"detect.{detector.name}", 0.0) + time.process_time() - t0
        if found:
            found_by.append((d_index, found))
    if not found_by:
        return []
    # the event order map only when there is something to order (most batches make no finding; hashing every
    # event's UUID, a Python-level __hash__, cost ~2-3 us per event)
    order = {e.event_id: i for i, e in enumerate(events)}
    keyed: list[tuple[int, int, int, Finding]] = []
    for d_index, found in found_by:
        for f_index, finding in enumerate(found):
            keyed.append((order.get(finding.event_ids[0], len(events)), d_index, f_index, finding))
    keyed.sort(key=lambda k: k[:3])
    return [k[3] for k in keyed]
