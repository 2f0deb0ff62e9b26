"""``Calibration``: the injection noisy-OR's rule confidences and per-source classifier shifts, from training.

The hand-set score (``InjectionDetector.noisy_or``) combines the matching rules' written confidences with the
classifier probability and multiplies the result by a source weight (``user`` 0.85, ``system`` 0.7). Two
things about it are fitted by ``soar detectors train`` on the training split and kept in the model card's
``scoring`` entry, read without pickle:

- ``rule_confidence`` (rule id -> confidence): each rule's smoothed precision on the training rows, counting
  its unexplained, non-hidden matches, ``(attacks + k w) / (matches + k)`` with ``w`` its written confidence
  and ``k`` = ``RULE_PRIOR`` pseudo-matches, capped at ``w``: calibration only ever lowers a rule (the rule
  files stay as analysts wrote them). Rules with fewer than ``MIN_MATCHES`` matches keep their written value.
  The hidden (+0.1) and explained (x0.6) adjustments apply to the calibrated value as to the written one.
- ``source_shift`` (``untrusted`` / ``user`` -> logit shift): added to the classifier's logit instead of the
  score multiplier, so that each group's probability 0.5 is the out-of-fold score exceeded by 1% of that
  group's training negatives (``system`` counts as ``user``). The untrusted shift is never below the user
  shift: text an attacker may control is never scored less sensitively than the user's own.

A card entry with a non-finite or out-of-range number, or an untrusted shift below the user shift, is refused
at load; rule ids the loaded pack does not know (the pack changed since training) are ignored with a warning.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import structlog

from soar.errors import ContentError
from soar.telemetry.events import UNTRUSTED_SOURCES

log = structlog.get_logger(__name__)

#: pseudo-matches of the prior (the rule's written confidence) in its smoothed precision
RULE_PRIOR = 20.0
#: fewer unexplained, non-hidden training matches than this: the rule keeps its written confidence
MIN_MATCHES = 20
#: the source groups of ``source_shift``
GROUPS: tuple[str, ...] = ("untrusted", "user")
#: the classifier logit is clipped here (a probability of 1.0 in float64 has no finite logit)
LOGIT_CLIP = 16.0


def source_group(source: str) -> str:
    """``untrusted`` for text an attacker may control (tool, web, email, ...), ``user`` for user and system."""
    return "untrusted" if source in UNTRUSTED_SOURCES else "user"


def adjusted_confidence(conf: float, hidden: bool, explained: bool) -> float:
    """A match's confidence after the context adjustments: hidden text +0.1 (at most 0.99), explained x0.6."""
    if hidden:
        return min(conf + 0.1, 0.99)
    if explained:
        return conf * 0.6
    return conf


def clipped_logit(proba: float) -> float:
    """The logit of a probability, clipped to +-``LOGIT_CLIP``."""
    p = min(max(proba, 1e-7), 1.0 - 1e-7)
    return max(min(math.log(p) - math.log1p(-p), LOGIT_CLIP), -LOGIT_CLIP)


def sigmoid(z: float) -> float:
    """The probability of logit ``z`` (no overflow for large negative ``z``)."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def shifted(proba: float, shift: float) -> float:
    """``proba`` with ``shift`` added to its (clipped) logit."""
    if shift == 0.0:
        return proba
    return sigmoid(clipped_logit(proba) + shift)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class Calibration:
    """Calibrated rule confidences (rule id -> confidence) and per-source-group logit shifts (None: none)."""

    rule_confidence: Mapping[str, float] = field(default_factory=dict)
    source_shift: Mapping[str, float] | None = None

    def confidence(self, rule_id: str, written: float) -> float:
        """The confidence to use for a rule: its calibrated value, never above what is written."""
        return min(self.rule_confidence.get(rule_id, written), written)

    def proba(self, proba: float, source: str) -> float:
        """The classifier probability of text from ``source`` after its group's shift."""
        if self.source_shift is None:
            return proba
        return shifted(proba, self.source_shift[source_group(source)])

    def card(self) -> dict[str, Any]:
        """This calibration as entries of the card's ``scoring`` object."""
        out: dict[str, Any] = {"rule_confidence": {k: round(v, 4) for k, v in sorted(self.rule_confidence.items())}}
        if self.source_shift is not None:
            out["source_shift"] = {g: round(self.source_shift[g], 6) for g in GROUPS}
        return out

    @classmethod
    def from_card(cls, scoring: Any, known: Iterable[str] | None = None, source: str = "") -> Calibration:
        """The calibration in a card's ``scoring`` entry (empty when it has none). Raises ContentError for a
        malformed entry; ids not in ``known`` (the loaded rule pack's ids) are dropped with a warning."""
        if not isinstance(scoring, dict):
            raise ContentError("scoring must be an object", source=source)
        confs = scoring.get("rule_confidence", {})
        if not isinstance(confs, dict):
            raise ContentError("scoring.rule_confidence must be an object (rule id -> confidence)", source=source)
        rule_confidence: dict[str, float] = {}
        for key, value in confs.items():
            if not _number(value) or not 0.0 <= value <= 1.0:
                raise ContentError(f"scoring.rule_confidence[{key!r}] must be a number in [0, 1]", source=source)
            try:
                rule_id = str(uuid.UUID(str(key)))
            except ValueError as e:
                raise ContentError(f"scoring.rule_confidence key {key!r} is not a rule id", source=source) from e
            rule_confidence[rule_id] = float(value)
        if known is not None:
            known = set(known)
            unknown = sorted(set(rule_confidence) - known)
            if unknown:
                log.warning("calibration_unknown_rules", source=source, ignored=unknown)
                rule_confidence = {k: v for k, v in rule_confidence.items() if k in known}
        shifts = scoring.get("source_shift")
        source_shift = None
        if shifts is not None:
            if not isinstance(shifts, dict) or set(shifts) != set(GROUPS) or not all(map(_number, shifts.values())):
                raise ContentError(f"scoring.source_shift needs a finite number for each of {GROUPS}", source=source)
            if shifts["untrusted"] < shifts["user"]:
                raise ContentError("scoring.source_shift: the untrusted shift is below the user shift", source=source)
            source_shift = {g: float(shifts[g]) for g in GROUPS}
        return cls(rule_confidence, source_shift)


#: per training row, per matching rule: (rule id, written confidence, hidden, explained)
RowMatches = list[tuple[str, float, bool, bool]]


def calibrate_rules(
    matches: Sequence[RowMatches], y: np.ndarray, prior: float = RULE_PRIOR, min_matches: int = MIN_MATCHES
) -> dict[str, float]:
    """Each rule's smoothed precision over the rows' unexplained, non-hidden matches, capped at its written
    confidence, for rules with at least ``min_matches`` of them."""
    hits: dict[str, list[float]] = {}
    for row, label in zip(matches, np.asarray(y).tolist(), strict=True):
        for rule_id, written, hidden, explained in row:
            if hidden or explained:
                continue
            count = hits.setdefault(rule_id, [0.0, 0.0, written])
            count[0] += label
            count[1] += 1
    return {
        rule_id: min(written, (attacks + prior * written) / (n + prior))
        for rule_id, (attacks, n, written) in sorted(hits.items())
        if n >= min_matches
    }


def group_shifts(logit: np.ndarray, y: np.ndarray, untrusted: np.ndarray, target_fpr: float = 0.01) -> dict[str, float]:
    """The logit shift per source group that puts 0.5 at the score ``target_fpr`` of that group's negatives
    exceed (no shift for a group without negatives), before the constraint of ``source_shifts``."""
    out: dict[str, float] = {}
    for group, mask in (("untrusted", untrusted), ("user", ~untrusted)):
        neg = logit[mask & (y == 0)]
        out[group] = -float(np.quantile(neg, 1.0 - target_fpr)) if len(neg) else 0.0
    return out


def source_shifts(
    logit: np.ndarray, y: np.ndarray, untrusted: np.ndarray, target_fpr: float = 0.01
) -> dict[str, float]:
    """``group_shifts`` with the user shift lowered to the untrusted one when it is higher: text an attacker
    may control is never scored less sensitively than the user's own."""
    out = group_shifts(logit, y, untrusted, target_fpr)
    out["user"] = min(out["user"], out["untrusted"])
    return out


def noisy_or_scores(
    matches: Sequence[RowMatches],
    proba: np.ndarray,
    sources: Sequence[str],
    calibration: Calibration,
    weights: np.ndarray,
) -> np.ndarray:
    """The noisy-OR score of each row as ``InjectionDetector.noisy_or`` computes it under ``calibration``, times
    the row's source weight ``weights[i]`` (all 1.0 when the calibration shifts sources instead)."""
    out = np.zeros(len(matches))
    for i, row in enumerate(matches):
        miss = 1.0
        for rule_id, written, hidden, explained in row:
            miss *= 1.0 - adjusted_confidence(calibration.confidence(rule_id, written), hidden, explained)
        rule = round(min(1.0 - miss, 0.99), 3) if row else 0.0
        p = calibration.proba(float(proba[i]), sources[i])
        out[i] = round((1.0 - (1.0 - rule) * (1.0 - p)) * float(weights[i]), 4)
    return out


def recall_by_slice(y: np.ndarray, scores: np.ndarray, untrusted: np.ndarray) -> dict[str, float]:
    """Recall at 1% FPR pooled, on untrusted sources (indirect) and on trusted ones (direct)."""
    from soar.eval.metrics import recall_at_fpr  # the eval package depends on detect, not the other way

    out: dict[str, float] = {}
    for name, mask in (("pooled", np.ones(len(y), dtype=bool)), ("indirect", untrusted), ("direct", ~untrusted)):
        if mask.any() and (y[mask] == 1).any() and (y[mask] == 0).any():
            out[name] = round(float(recall_at_fpr(y[mask], scores[mask])), 4)
    return out


#: the fixed decision rule: a candidate ships if >= today's noisy-OR on every slice (direct within this) and
#: higher on pooled or indirect
DIRECT_TIE = 0.002


def beats(candidate: Mapping[str, float], today: Mapping[str, float]) -> bool:
    """``DIRECT_TIE``'s decision rule for one candidate's slices against today's noisy-OR's."""
    at_least = all(candidate.get(s, 0.0) >= today[s] - (DIRECT_TIE if s == "direct" else 0.0) - 1e-9 for s in today)
    higher = any(candidate.get(s, 0.0) > today[s] for s in ("pooled", "indirect") if s in today)
    return at_least and higher


def cv_calibration(
    matches: Sequence[RowMatches],
    y: np.ndarray,
    fold: np.ndarray,
    proba: np.ndarray,
    sources: Sequence[str],
    weights: np.ndarray,
    *,
    prior: float = RULE_PRIOR,
    min_matches: int = MIN_MATCHES,
    target_fpr: float = 0.01,
) -> tuple[Calibration | None, dict[str, Any]]:
    """Measure the calibrations on out-of-fold rows and choose one by the fixed decision rule.

    ``matches``: each training row's rule matches (written confidences); ``fold``: the fold that scored each
    row out-of-fold; ``proba``: its out-of-fold classifier probability (0.5 = the pooled 1%-FPR point);
    ``weights``: its source weight today. Scores every row three ways, each fold's rows with calibrations
    fitted on the other folds only: (a) today's noisy-OR, (d) with calibrated rule confidences, (e) (d) with
    the per-source logit shifts instead of the multiplier. Returns the calibration of the best of (d)/(e)
    that beats (a) (``beats``), fitted on all rows, or None, and the card's ``cv.calibration`` entry.
    """
    y = np.asarray(y)
    proba = np.asarray(proba, dtype=np.float64)
    untrusted = np.asarray([s in UNTRUSTED_SOURCES for s in sources])
    clipped = np.clip(proba, 1e-7, 1.0 - 1e-7)
    logit = np.clip(np.log(clipped) - np.log1p(-clipped), -LOGIT_CLIP, LOGIT_CLIP)
    ones = np.ones(len(y))
    d = np.zeros(len(y))
    e = np.zeros(len(y))
    for k in np.unique(fold):
        te = np.flatnonzero(fold == k)
        tr = np.flatnonzero(fold != k)
        rules = calibrate_rules([matches[i] for i in tr], y[tr], prior, min_matches)
        shifts = source_shifts(logit[tr], y[tr], untrusted[tr], target_fpr)
        rows = [matches[i] for i in te]
        srcs = [sources[i] for i in te]
        d[te] = noisy_or_scores(rows, proba[te], srcs, Calibration(rules), weights[te])
        e[te] = noisy_or_scores(rows, proba[te], srcs, Calibration(rules, shifts), ones[te])
    a = noisy_or_scores(matches, proba, sources, Calibration(), weights)
    table = {
        "a_noisy_or": recall_by_slice(y, a, untrusted),
        "d_rule_confidences": recall_by_slice(y, d, untrusted),
        "e_rule_confidences_source_shift": recall_by_slice(y, e, untrusted),
    }
    passing = [
        name
        for name in ("d_rule_confidences", "e_rule_confidences_source_shift")
        if beats(table[name], table["a_noisy_or"])
    ]
    chosen = max(passing, key=lambda n: (table[n].get("pooled", 0.0), table[n].get("indirect", 0.0)), default=None)
    rules = calibrate_rules(matches, y, prior, min_matches)
    shifts = source_shifts(logit, y, untrusted, target_fpr)
    entry = {
        "folds": len(np.unique(fold)),
        "rule_prior": prior,
        "min_matches": min_matches,
        "oof_recall_at_1pct_fpr_by_slice": table,
        "chosen": chosen,
        "rule": "ship the best (pooled, then indirect) of d/e that is >= a on every slice (direct within "
        f"{DIRECT_TIE}) and higher on pooled or indirect; otherwise none",
        "source_shift_all_rows": {g: round(v, 6) for g, v in shifts.items()},
        "source_shift_unconstrained": {
            g: round(v, 6) for g, v in group_shifts(logit, y, untrusted, target_fpr).items()
        },
        "rule_confidence_all_rows": {k: round(v, 4) for k, v in rules.items()},
    }
    if chosen is None:
        return None, entry
    return Calibration(rules, shifts if chosen.startswith("e_") else None), entry
