"""``InjectionDetector``: prompt injection in text entering an agent's context (input, tool_result, message).

Each event's text is normalised (``soar.detect.normalize``: folded, hidden and encoded parts surfaced),
cut into overlapping chunks and scanned with the ``injection`` rules of the pack in one RE2 set pass per
chunk. The source decides the class of finding: text an attacker may control (tool results, inputs from
web/email/file/retrieval/tool/agent, messages from other agents) makes ``indirect_prompt_injection`` at the
rules' ``severity``; the user's own input makes ``direct_prompt_injection`` at their ``trusted_severity``.
One finding per event, so the finding id (detector + rule + event id) is stable across replays.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import re2
import structlog
from pydantic import BaseModel, ConfigDict, Field

from soar.detect.base import DetectConfig, DetectContext
from soar.detect.calibration import Calibration, RowMatches, adjusted_confidence
from soar.detect.combiner import Combiner, evidence_features
from soar.detect.cues import NAMES as CUE_NAMES
from soar.detect.cues import PATTERNS as CUE_PATTERNS
from soar.detect.cues import cue_words
from soar.detect.ml import WINDOW_CHARS, TextModel, load_model
from soar.detect.normalize import HIDDEN_ORIGINS, NormalizedText, normalize
from soar.detect.rules import (
    DEFAULT_MATURITIES,
    RuleMatch,
    RuleSet,
    RuleSpec,
    SeverityName,
    combined_confidence,
    load_rule_pack,
    raise_severity,
)
from soar.telemetry.events import UNTRUSTED_SOURCES, AgentEvent
from soar.telemetry.findings import Finding, Severity

log = structlog.get_logger(__name__)

# Cheap signs that a match is *about* an attack (a security article, a quoted example) rather than one.
# Reported speech ("the page told the agent to ...", "researchers showed that ...") counts as explanatory too.
_EXPLAINED = re2.compile(
    r"prompt\W+injection|jailbreak|red\W+team|attackers?\W+(?:can|may|might|could|often|use|try)|for\W+example"
    r"|\be\.g\.|such\W+as|example\W+of|malicious\W+(?:prompt|input|instruction)|adversarial|security\W+research"
    r"|researchers?\W+(?:showed|found|demonstrated|planted)|(?:told|tricked|convinced|asked)\W+(?:an?|the)\W+"
    r"(?:ai|model|assistant|agent|chatbot|llm)\W+(?:agent\W+)?(?:to|into)\b|(?:phrases?|text|lines?|sentences?)"
    r"\W+(?:like|such\W+as)\b|\bquoted\b"
)


class InjectionOptions(BaseModel):
    """Tuning for ``InjectionDetector`` (``DetectConfig.options["injection"]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chunk_chars: int = Field(default=4096, ge=256, description="scan window over the normalised text")
    chunk_overlap: int = Field(default=512, ge=0, description="windows overlap so a match never straddles a cut")
    max_scan_chars: int = Field(default=262_144, ge=1024, description="longer texts are truncated (and say so)")
    snippet_chars: int = Field(default=200, ge=20)
    max_matches: int = Field(default=10, ge=1, description="matches kept in evidence")
    combo_bonus: bool = Field(default=True, description="two or more distinct rules: severity +1")
    hidden_bonus: bool = Field(default=True, description="match in hidden or encoded text: severity +1")
    explained_penalty: int = Field(default=1, ge=0, description="match in an explanatory/quoted context: -N")
    min_severity: SeverityName = Field(default=Severity.LOW, description="findings below this are dropped")
    model: str | None = Field(default=None, description="pin a classifier version (default: the newest artifact)")
    use_model: bool = Field(default=True, description="load the classifier from detectors/models when present")
    combiner: bool = Field(
        default=True, description="use the model card's learned combiner when it has one (false: the noisy-OR)"
    )
    calibration: bool = Field(
        default=True,
        description="use the model card's calibrated rule confidences and source shifts when it has them "
        "(false: the rules' written confidences and source_weights)",
    )
    source_weights: dict[str, float] = Field(
        default_factory=lambda: {"user": 0.85, "system": 0.7},
        description="score multiplier by source; untrusted sources (tool, web, email, ...) weigh 1.0",
    )
    threshold: float = Field(default=0.5, gt=0, lt=1, description="deployed score threshold (soar eval's fpr)")
    # The model's 0.5 is its cross-validated 1%-FPR point on the training split; held-out text scores benign
    # documents higher than that (docs/detectors.md), so a finding from the classifier alone needs much more.
    ml_low: float = Field(default=0.9, gt=0, le=1, description="classifier-only score for a low finding")
    ml_medium: float = Field(default=0.99, gt=0, le=1, description="classifier-only score for a medium finding")
    ml_high: float = Field(default=1.0, gt=0, le=1, description="classifier-only score for high (1.0: never)")


#: ``InjectionDetector.prescan``: a short text's rule matches and cue words, or None for each
_Prescan = tuple[list[tuple[RuleMatch, int]] | None, str | None]
#: ``InjectionDetector.evidence``: per matching rule (title, adjusted confidence, hidden, explained)
Evidence = list[tuple[str, float, bool, bool]]


def event_source(event: AgentEvent) -> tuple[str, str]:
    """(source kind, origin) of the text in ``event``: who could have written it."""
    p: Any = event.payload
    if event.kind == "input":
        return p.source, p.origin
    if event.kind == "tool_result":
        return "tool", p.tool
    if event.kind == "message":
        return "agent", event.agent_id
    if event.kind == "memory_write":
        return p.provenance.source, p.provenance.origin
    return "system", ""


def _options(config: DetectConfig, name: str, model: type[BaseModel]) -> Any:
    return model.model_validate(config.options.get(name, {}))


def rules_for(config: DetectConfig, predicate: Any, rules: list[RuleSpec] | None = None) -> RuleSet:
    """A RuleSet of the pack's rules (or ``rules``) that satisfy ``predicate``."""
    if rules is None:
        maturities = config.options.get("rules", {}).get("maturities", DEFAULT_MATURITIES)
        rules = load_rule_pack(config.detectors_dir / "rules", maturities=maturities)
    return RuleSet(r for r in rules if predicate(r))


class Helper(Protocol):
    """Where ``InjectionDetector.begin`` starts a batch's classifier scores (``soar.helper.HelperProcess``)."""

    def predict(self, texts: Sequence[str], cues: Sequence[str | None] | None) -> Future[np.ndarray] | None:
        """``TextModel.predict`` of the detector's model, running elsewhere; None when it cannot."""


_Begun = dict[int, tuple[AgentEvent, NormalizedText, _Prescan, "Future[np.ndarray]", int]]


class InjectionDetector:
    """Direct and indirect prompt injection, from the ``injection`` rules of the pack."""

    name: ClassVar[str] = "injection"
    kinds: ClassVar[frozenset[str]] = frozenset({"input", "tool_result", "message"})

    def __init__(self, config: DetectConfig, rules: list[RuleSpec] | None = None) -> None:
        self.options: InjectionOptions = _options(config, self.name, InjectionOptions)
        self.ruleset = rules_for(config, lambda r: r.detector == "injection", rules)
        self.model: TextModel | None = None
        if self.options.use_model:
            self.model = load_model(Path(config.detectors_dir) / "models", self.name, self.options.model)
        # the learned combination of rule evidence and classifier score (soar.detect.combiner), when the model's
        # card has one; otherwise, or with options.injection.combiner false, the hand-set noisy-OR
        self.combiner: Combiner | None = None
        if self.model is not None and self.options.combiner:
            entry = self.model.card.get("scoring", {}).get("combiner")
            if entry is not None:
                self.combiner = Combiner.from_card(entry, source=str(self.model.path or self.model.version))
        # rule confidences and source shifts calibrated on the training split (soar.detect.calibration); they
        # only ever lower a rule's written confidence
        self.calibration = Calibration()
        if self.model is not None and self.options.calibration:
            known = {str(r.id) for r in self.ruleset.rules}
            source = str(self.model.path or self.model.version)
            self.calibration = Calibration.from_card(self.model.card.get("scoring", {}), known, source=source)
        # The same rules with the classifier's cue patterns in one set: one RE2 pass over a short text gives its
        # rule matches and its cue words (two passes otherwise, ~15 µs per KB of it in the scoring path).
        self._with_cues: RuleSet | None = None
        # batches begun ahead (``begin``), oldest first; a batch that never reaches ``detect`` falls off the end
        self._ahead: deque[_Begun] = deque(maxlen=4)
        if self.model is not None and self.model.spec.cues:
            self._with_cues = RuleSet(self.ruleset.rules, extra=CUE_PATTERNS)

    def begin(self, events: Sequence[AgentEvent], helper: Helper) -> None:
        """Prepare a batch that is still being verified: normalise and prescan its texts here, and start their
        classifier scores in ``helper`` (a process: ``soar.helper``), for ``detect`` to collect. Only pure
        computation moves ahead; an event that never reaches ``detect`` (rejected) is forgotten with its batch.
        """
        prepared = self._prepare(events)
        if not prepared:
            return
        future = helper.predict([nt.text for _, nt, _ in prepared], [pre[1] for _, _, pre in prepared])
        if future is None:
            return
        batch = {id(ev): (ev, nt, pre, future, k) for k, (ev, nt, pre) in enumerate(prepared)}
        self._ahead.append(batch)

    def _prepare(self, events: Sequence[AgentEvent]) -> list[tuple[AgentEvent, NormalizedText, _Prescan]]:
        """(event, normalised text, prescan) of every event with text."""
        prepared: list[tuple[AgentEvent, NormalizedText, _Prescan]] = []
        for event in events:
            raw = event.text()
            if raw:
                try:
                    nt = normalize(raw[: self.options.max_scan_chars])
                    prepared.append((event, nt, self.prescan(nt, event.kind, event_source(event)[0])))
                except Exception:
                    log.exception("detector_event_failed", detector=self.name, event_id=str(event.event_id))
        return prepared

    def _begun(self, events: Sequence[AgentEvent]) -> list[tuple[AgentEvent, NormalizedText, _Prescan, float | None]]:
        """``begin``'s work for ``events``: (event, text, prescan, probability) of those it prepared, in order;
        its batches up to the newest one these events came from are then dropped (with any rejected events)."""
        found: list[tuple[AgentEvent, NormalizedText, _Prescan, float | None]] = []
        newest = -1
        results: dict[int, list[float] | None] = {}
        for event in events:
            for b, batch in enumerate(self._ahead):
                entry = batch.get(id(event))
                if entry is None or entry[0] is not event:
                    continue
                _, nt, pre, future, k = entry
                if id(future) not in results:
                    try:
                        results[id(future)] = [float(p) for p in future.result()]
                    except Exception as e:  # the helper died or failed: score here (below)
                        log.warning("helper classifier failed; scoring in the worker", error=str(e)[:200])
                        results[id(future)] = None
                scores = results[id(future)]
                found.append((event, nt, pre, None if scores is None else scores[k]))
                newest = max(newest, b)
                break
        for _ in range(newest + 1):
            self._ahead.popleft()
        return found

    def detect(self, events: Sequence[AgentEvent], ctx: DetectContext) -> list[Finding]:
        """One finding per event whose text matches injection rules or that the classifier scores high."""
        out: list[Finding] = []
        begun = self._begun(events) if self._ahead else []
        if begun:
            done = {id(b[0]) for b in begun}
            rest = self._prepare([e for e in events if id(e) not in done])
            items = [*begun, *((ev, nt, pre, None) for ev, nt, pre in rest)]
            order = {id(e): i for i, e in enumerate(events)}
            items.sort(key=lambda item: order[id(item[0])])
        else:
            items = [(ev, nt, pre, None) for ev, nt, pre in self._prepare(events)]
        todo = [i for i, item in enumerate(items) if item[3] is None]
        probas: list[float | None] = [item[3] for item in items]
        if todo:  # not begun, or the helper failed: score here, in one batch
            scored = self._predict([items[i][1] for i in todo], [items[i][2][1] for i in todo])
            for i, p in zip(todo, scored, strict=True):
                probas[i] = p
        for (event, nt, pre, _), p in zip(items, probas, strict=True):
            try:
                finding = self.check(event, nt, p, pre[0])
            except Exception:
                log.exception("detector_event_failed", detector=self.name, event_id=str(event.event_id))
                continue
            if finding is not None:
                out.append(finding)
        return out

    def _predict(self, texts: Sequence[NormalizedText], cues: Sequence[str | None] | None = None) -> list[float | None]:
        """Classifier probabilities for a batch (None each when no model is loaded or it fails); ``cues``: the
        texts' cue words where ``prescan`` found them."""
        if self.model is None or not texts:
            return [None] * len(texts)
        try:
            return [float(p) for p in self.model.predict([nt.text for nt in texts], cues)]
        except Exception:
            log.exception("classifier_failed", detector=self.name, texts=len(texts))
            return [None] * len(texts)

    def weight(self, source: str) -> float:
        """How much a score counts for text from ``source`` (untrusted sources: 1.0; every source 1.0 when the
        card's calibration shifts the classifier per source instead)."""
        return 1.0 if self.calibration.source_shift is not None else self.source_weight(source)

    def source_weight(self, source: str) -> float:
        """The configured weight of ``source`` (untrusted sources: 1.0), for the score of cards without per-source
        calibration shifts (``weight``)."""
        return 1.0 if source in UNTRUSTED_SOURCES else self.options.source_weights.get(source, 0.85)

    def rule_score(
        self, nt: NormalizedText, kind: str, source: str, matches: list[tuple[RuleMatch, int]] | None = None
    ) -> float:
        """Noisy-OR of the matching rules' confidences, adjusted for hidden (+) and explained (-) context
        (``matches``: ``scan``'s result when known already)."""
        return self.evidence(nt, kind, source, matches)[0]

    def evidence(
        self, nt: NormalizedText, kind: str, source: str, matches: list[tuple[RuleMatch, int]] | None = None
    ) -> tuple[float, Evidence]:
        """(``rule_score``, per matching rule: title, adjusted confidence, hidden, explained)."""
        if matches is None:
            matches = self.scan(nt, kind, source)
        judged = self._judge(nt, matches, source)
        return _rule_score(judged), _evidence(judged)

    def score(self, texts: Sequence[str], sources: Sequence[str], kind: str = "input") -> list[float]:
        """A continuous score in [0, 1] per text: rule evidence and classifier score combined (``combine``)."""
        nts = [normalize(t[: self.options.max_scan_chars]) for t in texts]
        pres = [self.prescan(nt, kind, src) for nt, src in zip(nts, sources, strict=True)]
        probas = self._predict(nts, [pre[1] for pre in pres])
        out = []
        for nt, p, src, pre in zip(nts, probas, sources, pres, strict=True):
            rule, judged = self.evidence(nt, kind, src, pre[0])
            out.append(self.combine(rule, p, src, judged))
        return out

    def prescan(self, nt: NormalizedText, kind: str, source: str) -> _Prescan:
        """(``scan``'s matches, the classifier's cue words) of a text that is one rule chunk and one classifier
        window, from one RE2 pass; (None, None) otherwise (each is then computed on its own, as before)."""
        text = nt.text
        o = self.options
        if self._with_cues is None or not text or len(text) > o.chunk_chars or len(text) > WINDOW_CHARS:
            return None, None
        matches, extra = self._with_cues.match_extra(text, kind=kind, source=source, snippet_chars=o.snippet_chars)
        return [(m, 0) for m in matches], cue_words([CUE_NAMES[i] for i in extra])

    def combine(self, rule: float, proba: float | None, source: str, judged: Evidence) -> float:
        """The score of one text from its rule score, classifier probability and rule ``evidence``: the learned
        combiner's when there is one (the source is one of its features), otherwise the noisy-OR of the rule
        score and the probability times the source's weight (also without a classifier score)."""
        if self.combiner is not None and proba is not None:
            features = evidence_features(proba, rule, judged, source not in UNTRUSTED_SOURCES)
            return round(self.combiner.score(features), 4)
        return self.noisy_or(rule, proba, source)

    def noisy_or(self, rule: float, proba: float | None, source: str) -> float:
        """The hand-set score: noisy-OR of the rule score and the classifier probability (shifted for its source
        when the card is calibrated so), times the source's weight."""
        both = rule if proba is None else 1.0 - (1.0 - rule) * (1.0 - self.calibration.proba(proba, source))
        return round(both * self.weight(source), 4)

    def scan(self, nt: NormalizedText, kind: str, source: str) -> list[tuple[RuleMatch, int]]:
        """Rule matches over ``nt`` in overlapping chunks: (match, chunk start), first occurrence per rule."""
        o = self.options
        text = nt.text
        if len(text) <= o.chunk_chars:
            return [(m, 0) for m in self.ruleset.match(text, kind=kind, source=source, snippet_chars=o.snippet_chars)]
        seen: dict[Any, tuple[RuleMatch, int]] = {}
        step = max(o.chunk_chars - o.chunk_overlap, 1)
        for start in range(0, max(len(text) - o.chunk_overlap, 1), step):
            chunk = text[start : start + o.chunk_chars]
            for m in self.ruleset.match(chunk, kind=kind, source=source, snippet_chars=o.snippet_chars):
                seen.setdefault(m.rule.id, (m, start))
        return sorted(seen.values(), key=lambda mc: mc[1] + mc[0].start)

    def _judge(
        self, nt: NormalizedText, matches: list[tuple[RuleMatch, int]], source: str
    ) -> list[tuple[Severity, bool, float, dict[str, Any]]]:
        """Per match: (severity, explained, confidence, evidence detail), after hidden/explained adjustments."""
        o = self.options
        untrusted = source in UNTRUSTED_SOURCES
        out = []
        for m, chunk_start in matches:
            pos = chunk_start + m.start
            segment, offset = nt.locate(pos)
            sev = m.rule.severity if untrusted else m.rule.trusted
            hidden = segment in HIDDEN_ORIGINS and o.hidden_bonus
            explained = False
            if hidden:
                sev = raise_severity(sev)
            elif segment == "body" and o.explained_penalty:
                window = nt.text[max(pos - 200, 0) : m.end + chunk_start + 200]
                explained = _EXPLAINED.search(window) is not None or _quoted(nt.text, pos, chunk_start + m.end)
                if explained:
                    sev = raise_severity(sev, -o.explained_penalty)
            conf = adjusted_confidence(
                self.calibration.confidence(str(m.rule.id), m.rule.confidence), hidden, explained
            )
            detail = {
                "rule_id": str(m.rule.id),
                "rule": m.rule.rule,
                "severity": sev.label,
                "snippet": m.snippet,
                "segment": segment,
                "offset": offset,
                "chunk_offset": chunk_start,
                "explained": explained,
            }
            out.append((sev, explained, conf, detail))
        return out

    def rule_matches(self, nt: NormalizedText, kind: str, source: str) -> RowMatches:
        """Per matching rule: (rule id, written confidence, hidden, explained), what ``soar detectors train``
        calibrates the rule confidences from (hidden: with ``hidden_bonus``)."""
        o = self.options
        matches = self.scan(nt, kind, source)
        judged = self._judge(nt, matches, source)
        return [
            (d["rule_id"], m.rule.confidence, d["segment"] in HIDDEN_ORIGINS and o.hidden_bonus, explained)
            for (m, _), (_, explained, _, d) in zip(matches, judged, strict=True)
        ]

    def _ml_severity(self, score: float) -> Severity | None:
        o = self.options
        if score >= o.ml_high and o.ml_high < 1.0:
            return Severity.HIGH
        if score >= o.ml_medium:
            return Severity.MEDIUM
        if score >= o.ml_low:
            return Severity.LOW
        return None

    def check(
        self,
        event: AgentEvent,
        nt: NormalizedText | None = None,
        proba: float | None = None,
        matches: list[tuple[RuleMatch, int]] | None = None,
    ) -> Finding | None:
        """The finding for one event, or None (``nt``/``proba``/``matches``: its normalised text, classifier
        score and ``scan`` result, when known)."""
        o = self.options
        raw = event.text()
        if not raw:
            return None
        truncated = len(raw) > o.max_scan_chars
        source, origin = event_source(event)
        if nt is None:
            nt = normalize(raw[: o.max_scan_chars])
            proba = self._predict([nt])[0]
            matches = None
        if matches is None:
            matches = self.scan(nt, event.kind, source)
        judged = self._judge(nt, matches, source)
        untrusted = source in UNTRUSTED_SOURCES
        rule = _rule_score(judged)
        score = self.combine(rule, proba, source, _evidence(judged))
        if not matches:
            # the raw probability (not the calibrated score): a card's source shifts move ``score``, not findings.
            # A trusted source's finding is one step lower; its source weight is not applied on top, which made
            # the bars unreachable (0.85 x p < 0.9 for every p) and a user's own prompt never a classifier finding
            severity = self._ml_severity(proba) if proba is not None else None
            if severity is None:
                return None
            if not untrusted:
                severity = raise_severity(severity, -1)
        else:
            severity = max(j[0] for j in judged)
            if o.combo_bonus and len({m.rule.rule for m, _ in matches}) >= 2:
                severity = raise_severity(severity)
        if severity < o.min_severity:
            return None
        severities = [j[0] for j in judged]
        details = [j[3] for j in judged]
        direction = "indirect" if untrusted else "direct"
        tags = {"LLM01:2025", "AML.T0051.001" if untrusted else "AML.T0051.000"}
        for m, _ in matches:
            tags.update(m.rule.tags)
        segments = sorted({d["segment"] for d in details})
        hidden_in = [s for s in segments if s in HIDDEN_ORIGINS]
        where = f" ({origin})" if origin else ""
        hidden_note = f", hidden in {', '.join(hidden_in)}" if hidden_in else ""
        if matches:
            top = max(zip(severities, range(len(matches)), strict=True))[1]
            what = matches[top][0].rule.rule
            confidence = combined_confidence([j[2] for j in judged] + ([proba * 0.5] if proba else []))
        else:
            what = f"classifier score {proba:.2f}"
            confidence = round(min(score, 0.95), 3)
        return Finding.make(
            detector=self.name,
            rule=f"{direction}_prompt_injection",
            event=event,
            severity=severity,
            confidence=confidence,
            summary=f"{direction} prompt injection in {event.kind} from {source}{where}: {what}{hidden_note}",
            evidence={
                "direction": direction,
                "source": source,
                "origin": origin,
                "kind": event.kind,
                "rule_ids": [d["rule_id"] for d in details],
                "segments": segments,
                "hidden": bool(hidden_in),
                "matches": details[: o.max_matches],
                "scanned_chars": len(nt.text),
                "truncated": truncated,
                "rule_score": rule,
                "classifier": None if proba is None else round(proba, 4),
                "model_version": self.model.version if self.model is not None else None,
                "score": score,
            },
            tags=sorted(tags),
        )


def _rule_score(judged: list[tuple[Severity, bool, float, dict[str, Any]]]) -> float:
    """Noisy-OR of ``InjectionDetector._judge``'s adjusted confidences (0 without a match)."""
    return combined_confidence([conf for _, _, conf, _ in judged]) if judged else 0.0


def _evidence(judged: list[tuple[Severity, bool, float, dict[str, Any]]]) -> Evidence:
    """``InjectionDetector._judge``'s matches as the combiner reads them: (title, confidence, hidden, explained)."""
    return [(d["rule"], conf, d["segment"] in HIDDEN_ORIGINS, explained) for _, explained, conf, d in judged]


_OPEN_QUOTE = re2.compile(r"(?:^|[\s(\[:])['\"«]")
_CLOSE_QUOTE = re2.compile(r"['\"»](?:$|[\s).,;:!?\]])")


def _quoted(text: str, start: int, end: int) -> bool:
    """True when the match sits inside a quotation: an opening quote mark (double, guillemet, or a single quote
    after a space, so "don't" does not count) shortly before it in the same line, and a closing one shortly
    after it. The normaliser already folded curly quotes to straight ones."""
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(start - 60, line_start) : start]
    line_end = text.find("\n", end)
    after = text[end : min(end + 120, line_end if line_end >= 0 else len(text))]
    opened = [m.end() for m in _OPEN_QUOTE.finditer(before)]
    if not opened or any(before[i] in "'\"»" for i in range(opened[-1], len(before))):
        return False  # no opening quote, or the quotation closed again before the match
    return _CLOSE_QUOTE.search(after) is not None
