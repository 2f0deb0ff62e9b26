"""``MemoryPoisoningDetector``: instruction-like memory writes, untrusted overwrites, write bursts, tampering.

State (in ``ctx.state``, JSON-able, keyed by agent first):

* ``memory.entry`` / ``<agent>|<store>|<key>``: the last write's value hash, writer trust and event id, so a
  later read with another hash is ``memory_tampering`` and an untrusted overwrite of a trusted entry is
  ``untrusted_overwrite``;
* ``memory.burst`` / ``<agent>``: timestamps of recent writes (bounded), for ``memory_write_burst``.

Every finding's evidence names the store, key and provenance, and ``event_ids`` starts with the
``memory_write`` event (plus the provenance's causing event when known), so ``memory:rollback`` can find the
tainted version.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import structlog
from pydantic import BaseModel, ConfigDict, Field

from soar.detect.base import DetectConfig, DetectContext
from soar.detect.injection import rules_for
from soar.detect.ml import TextModel, load_model
from soar.detect.normalize import HIDDEN_ORIGINS, normalize
from soar.detect.rules import RuleSpec, SeverityName, combined_confidence, raise_severity
from soar.telemetry.events import (
    UNTRUSTED_SOURCES,
    AgentEvent,
    MemoryReadEvent,
    MemoryWriteEvent,
    is_restore_confirmation,
)
from soar.telemetry.findings import Finding, Severity
from soar.telemetry.signing import value_hash

log = structlog.get_logger(__name__)

ENTRY_NS = "memory.entry"
BURST_NS = "memory.burst"
_TAGS = ["AML.T0080.000", "ASI06", "LLM04:2025"]


class MemoryOptions(BaseModel):
    """Tuning for ``MemoryPoisoningDetector`` (``DetectConfig.options["memory"]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    long_term_stores: frozenset[str] = Field(
        default=frozenset(
            {"long_term", "longterm", "long-term", "ltm", "profile", "user_profile", "preferences", "instructions",
             "system", "system_prompt", "persona", "core", "semantic", "episodic", "knowledge", "facts", "rules"}
        ),
        description="stores whose content persists across sessions; untrusted writes there weigh more",
    )  # fmt: skip
    burst_max_writes: int = Field(default=20, ge=1, description="more writes than this in the window is a burst")
    burst_window_s: float = Field(default=10.0, gt=0)
    overwrite_severity: SeverityName = Severity.MEDIUM
    overwrite_long_term_severity: SeverityName = Severity.HIGH
    tampering_severity: SeverityName = Severity.HIGH
    burst_severity: SeverityName = Severity.LOW
    max_scan_chars: int = Field(default=65_536, ge=1024)
    min_severity: SeverityName = Field(default=Severity.LOW, description="memory_poisoning findings below are dropped")
    model: str | None = Field(default=None, description="pin a classifier version (default: the newest artifact)")
    use_model: bool = Field(default=True, description="load the classifier from detectors/models when present")
    trusted_weight: float = Field(default=0.35, ge=0, le=1, description="score multiplier for user/system writes")
    threshold: float = Field(default=0.5, gt=0, lt=1, description="deployed score threshold (soar eval's fpr)")
    ml_threshold: float = Field(default=0.9, gt=0, le=1, description="classifier-only score for a medium finding")


def _is_long_term(store: str, stores: frozenset[str]) -> bool:
    s = store.lower()
    return s in stores or any(s.startswith(f"{p}.") or s.startswith(f"{p}/") or s.startswith(f"{p}:") for p in stores)


class MemoryPoisoningDetector:
    """Memory poisoning and tampering over ``memory_write`` / ``memory_read`` events."""

    name: ClassVar[str] = "memory"
    kinds: ClassVar[frozenset[str]] = frozenset({"memory_write", "memory_read"})

    def __init__(self, config: DetectConfig, rules: list[RuleSpec] | None = None) -> None:
        self.options: MemoryOptions = MemoryOptions.model_validate(config.options.get(self.name, {}))
        # its own rules, plus any injection rule an analyst marked as applying to memory writes
        self.ruleset = rules_for(
            config, lambda r: r.detector in ("memory", "injection") and "memory_write" in r.kinds, rules
        )
        self.model: TextModel | None = None
        if self.options.use_model:
            self.model = load_model(Path(config.detectors_dir) / "models", self.name, self.options.model)

    def _predict(self, texts: Sequence[str]) -> list[float | None]:
        """Classifier probabilities over normalised texts (None each without a model)."""
        if self.model is None or not texts:
            return [None] * len(texts)
        try:
            return [float(p) for p in self.model.predict(texts)]
        except Exception:
            log.exception("classifier_failed", detector=self.name, texts=len(texts))
            return [None] * len(texts)

    def score(self, texts: Sequence[str], sources: Sequence[str], stores: Sequence[str] | None = None) -> list[float]:
        """A continuous poisoning score in [0, 1] per value written (rules + classifier, weighted by provenance)."""
        o = self.options
        nts = [normalize(t[: o.max_scan_chars]) for t in texts]
        probas = self._predict([nt.text for nt in nts])
        out = []
        for nt, proba, source in zip(nts, probas, sources, strict=True):
            matches = self.ruleset.match(nt.text, kind="memory_write", source=source)
            confs = [min(m.rule.confidence + (0.1 if nt.origin_at(m.start) in HIDDEN_ORIGINS else 0), 0.99)
                     for m in matches]  # fmt: skip
            rule = combined_confidence(confs) if confs else 0.0
            both = rule if proba is None else 1.0 - (1.0 - rule) * (1.0 - proba)
            out.append(round(both * (1.0 if source in UNTRUSTED_SOURCES else o.trusted_weight), 4))
        return out

    def detect(self, events: Sequence[AgentEvent], ctx: DetectContext) -> list[Finding]:
        """Findings for a batch of memory events, in order."""
        out: list[Finding] = []
        for event in events:
            try:
                if isinstance(event, MemoryWriteEvent):
                    out.extend(self.on_write(event, ctx))
                elif isinstance(event, MemoryReadEvent):
                    out.extend(self.on_read(event, ctx))
            except Exception:
                log.exception("detector_event_failed", detector=self.name, event_id=str(event.event_id))
        return out

    # --- writes ------------------------------------------------------------------------------------------------

    def on_write(self, event: MemoryWriteEvent, ctx: DetectContext) -> list[Finding]:
        """Content, overwrite and burst checks for one write; records the entry for later reads."""
        p = event.payload
        prov = p.provenance
        untrusted = prov.source in UNTRUSTED_SOURCES
        long_term = _is_long_term(p.store, self.options.long_term_stores)
        digest = value_hash(p.value)
        base = {
            "store": p.store,
            "key": p.key,
            "long_term": long_term,
            "value_hash": digest,
            "provenance": {
                "source": prov.source,
                "origin": prov.origin,
                "event_id": str(prov.event_id) if prov.event_id else None,
            },
            "write_event_id": str(event.event_id),
            "trust": "untrusted" if untrusted else "trusted",
        }
        extra_ids = [prov.event_id] if prov.event_id else []
        findings: list[Finding] = []
        poisoning = self._poisoning(event, untrusted, long_term, base, extra_ids)
        if poisoning is not None:
            findings.append(poisoning)
        entry_key = f"{event.agent_id}|{p.store}|{p.key}"
        prev = ctx.state.get(ENTRY_NS, entry_key)
        if prev and untrusted and prev.get("trust") == "trusted" and prev.get("h") != digest:
            sev = self.options.overwrite_long_term_severity if long_term else self.options.overwrite_severity
            findings.append(
                Finding.make(
                    detector=self.name,
                    rule="untrusted_overwrite",
                    event=event,
                    severity=sev,
                    confidence=0.6,
                    summary=f"{prov.source} content overwrote {p.store}/{p.key}, last written by a trusted source",
                    evidence={
                        **base,
                        "previous": {
                            "value_hash": prev.get("h"),
                            "source": prev.get("src"),
                            "event_id": prev.get("eid"),
                        },
                    },
                    tags=_TAGS,
                    extra_event_ids=extra_ids,
                )
            )
        ctx.state.set(
            ENTRY_NS,
            entry_key,
            {"h": digest, "trust": base["trust"], "src": prov.source, "eid": str(event.event_id)},
        )
        burst = self._burst(event, ctx, base)
        if burst is not None:
            findings.append(burst)
        return findings

    def _poisoning(
        self, event: MemoryWriteEvent, untrusted: bool, long_term: bool, base: dict[str, Any], extra_ids: list[Any]
    ) -> Finding | None:
        p = event.payload
        o = self.options
        nt = normalize(p.value[: o.max_scan_chars])
        matches = self.ruleset.match(nt.text, kind="memory_write", source=p.provenance.source)
        if not matches:
            return self._classified(event, nt.text, untrusted, base, extra_ids)
        sevs = [m.rule.severity if untrusted else m.rule.trusted for m in matches]
        severity = max(sevs)
        hidden = [nt.origin_at(m.start) for m in matches if nt.origin_at(m.start) in HIDDEN_ORIGINS]
        if untrusted:
            if len({m.rule.rule for m in matches}) >= 2:
                severity = raise_severity(severity)
            if long_term:
                severity = raise_severity(severity)
            if hidden:
                severity = raise_severity(severity)
            severity = max(severity, Severity.HIGH)  # instruction-like content from an attacker-reachable source
        if severity < o.min_severity:
            return None
        top = max(range(len(matches)), key=lambda i: sevs[i])
        tags = set(_TAGS)
        for m in matches:
            tags.update(m.rule.tags)
        return Finding.make(
            detector=self.name,
            rule="memory_poisoning",
            event=event,
            severity=severity,
            confidence=combined_confidence(m.rule.confidence for m in matches),
            summary=f"instruction-like memory write to {p.store}/{p.key} from {p.provenance.source}: "
            f"{matches[top].rule.rule}",
            evidence={
                **base,
                "rule_ids": [str(m.rule.id) for m in matches],
                "matches": [
                    {
                        "rule_id": str(m.rule.id),
                        "rule": m.rule.rule,
                        "snippet": m.snippet,
                        "segment": nt.origin_at(m.start),
                    }
                    for m in matches[:10]
                ],
                "value_snippet": p.value[:200],
            },
            tags=sorted(tags),
            extra_event_ids=extra_ids,
        )

    def _classified(
        self, event: MemoryWriteEvent, text: str, untrusted: bool, base: dict[str, Any], extra_ids: list[Any]
    ) -> Finding | None:
        """A medium ``memory_poisoning`` finding when only the classifier flags an untrusted write."""
        if not untrusted or self.model is None:
            return None
        proba = self._predict([text])[0]
        if proba is None or proba < self.options.ml_threshold:
            return None
        p = event.payload
        return Finding.make(
            detector=self.name,
            rule="memory_poisoning",
            event=event,
            severity=Severity.MEDIUM,  # a bag-of-words score alone never pages above medium
            confidence=round(min(proba, 0.95) * 0.8, 3),
            summary=f"memory write to {p.store}/{p.key} from {p.provenance.source} reads like a planted instruction "
            f"(classifier score {proba:.2f})",
            evidence={
                **base,
                "rule_ids": [],
                "classifier": round(proba, 4),
                "model_version": self.model.version,
                "value_snippet": p.value[:200],
            },
            tags=_TAGS,
            extra_event_ids=extra_ids,
        )

    def _burst(self, event: MemoryWriteEvent, ctx: DetectContext, base: dict[str, Any]) -> Finding | None:
        o = self.options
        now = event.ts.timestamp()
        state = ctx.state.get(BURST_NS, event.agent_id) or {"ts": [], "quiet_until": 0.0}
        times = [t for t in state["ts"] if now - t <= o.burst_window_s][-o.burst_max_writes :]
        times.append(now)
        finding = None
        if len(times) > o.burst_max_writes and now >= state.get("quiet_until", 0.0):
            finding = Finding.make(
                detector=self.name,
                rule="memory_write_burst",
                event=event,
                severity=o.burst_severity,
                confidence=0.4,
                summary=f"{len(times)} memory writes in {o.burst_window_s:g}s by {event.agent_id}",
                evidence={**base, "writes_in_window": len(times), "window_s": o.burst_window_s},
                tags=_TAGS,
            )
            state["quiet_until"] = now + o.burst_window_s  # one finding per window, not one per write
        state["ts"] = times
        ctx.state.set(BURST_NS, event.agent_id, state)
        return finding

    # --- reads -------------------------------------------------------------------------------------------------

    def on_read(self, event: MemoryReadEvent, ctx: DetectContext) -> list[Finding]:
        """``memory_tampering`` when the value read is not the value last written (as soar saw it)."""
        p = event.payload
        key = f"{event.agent_id}|{p.store}|{p.key}"
        prev = ctx.state.get(ENTRY_NS, key)
        if is_restore_confirmation(event):
            # the SDK confirming a restore soar ordered: the restored value is the expected state from now on
            if prev:
                ctx.state.set(ENTRY_NS, key, {**prev, "h": p.value_hash.lower(), "eid": str(event.event_id)})
            return []
        if not prev or prev.get("h") == p.value_hash.lower():
            return []
        last_write = prev.get("eid")
        return [
            Finding.make(
                detector=self.name,
                rule="memory_tampering",
                event=event,
                severity=self.options.tampering_severity,
                confidence=0.8,
                summary=f"{p.store}/{p.key} read back with a hash that no recorded write produced",
                evidence={
                    "store": p.store,
                    "key": p.key,
                    "expected_hash": prev.get("h"),
                    "observed_hash": p.value_hash,
                    "last_write_event_id": last_write,
                    "last_writer_source": prev.get("src"),
                },
                tags=_TAGS,
                extra_event_ids=[last_write] if last_write else [],
            )
        ]
