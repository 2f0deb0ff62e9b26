"""``Combiner``: a learned combination of the injection rules' evidence and the classifier's score.

The hand-set score (``InjectionDetector.combine``) is a noisy-OR of the rule score and the classifier
probability, times a source weight. The combiner replaces it with a logistic regression over a few features
of the same evidence (``FEATURES``): the classifier's logit, the rule score, the strongest rule confidence,
the number of distinct unexplained and explained rules, whether a match sat in hidden text, and whether the
source is trusted (``user``, ``system``). It is fitted by ``soar detectors train`` on grouped out-of-fold
classifier scores of the training split (``soar.detect.train``), and its coefficients live in the model
card's ``scoring.combiner`` entry, so scoring a text is one dot product.

Monotone by construction: every feature that more attack evidence raises (``MONOTONE``) has a coefficient
>= 0, so a higher classifier score or one more rule match never lowers the score. That includes *explained*
matches (an explanatory context nearby): a free coefficient learned -1.14 for them, which would let an
attacker lower a text's score below that of no match by writing "for example" next to the payload, for the
same cross-validated recall (docs/detectors.md). A card whose combiner breaks that, names an unknown feature
or holds a non-finite number is refused at load.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from soar.detect.calibration import LOGIT_CLIP, clipped_logit, recall_by_slice, sigmoid
from soar.errors import ContentError

#: the features in the order of the coefficients
FEATURES: tuple[str, ...] = ("logit", "rule_score", "max_conf", "unexplained", "explained", "hidden", "trusted")
#: features whose coefficient must be >= 0: more evidence of an attack never lowers the score
MONOTONE: frozenset[str] = frozenset({"logit", "rule_score", "max_conf", "unexplained", "explained", "hidden"})


def classifier_logit(proba: float | None) -> float:
    """The clipped logit of a classifier probability (0.0 when there is no classifier score)."""
    return 0.0 if proba is None else clipped_logit(proba)


def evidence_features(
    proba: float | None, rule: float, judged: Sequence[tuple[str, float, bool, bool]], trusted: bool
) -> list[float]:
    """The ``FEATURES`` of one text: ``rule`` its rule score, ``judged`` (rule title, adjusted confidence,
    hidden, explained) per matching rule (the scanner keeps one match per rule), ``trusted`` whether the source
    is the user's or the system's. One more match raises exactly one of the two counts."""
    top = explained = hidden = 0.0
    for _, conf, in_hidden, was_explained in judged:  # one loop: this runs for every scored text
        if conf > top:
            top = conf
        if was_explained:
            explained += 1.0
        if in_hidden:
            hidden = 1.0
    return [classifier_logit(proba), rule, top, len(judged) - explained, explained, hidden, 1.0 if trusted else 0.0]


@dataclass(frozen=True)
class Combiner:
    """A fitted combiner: ``sigmoid(coef . features + intercept)``, its 0.5 the training split's 1%-FPR point."""

    coef: tuple[float, ...]
    intercept: float

    def score(self, features: Sequence[float]) -> float:
        """The combined score in (0, 1) of one text's features."""
        z = self.intercept
        for c, f in zip(self.coef, features, strict=True):
            z += c * f
        return sigmoid(z)

    def card(self) -> dict[str, Any]:
        """This combiner as the card's ``scoring.combiner`` entry."""
        return {
            "features": list(FEATURES),
            "coef": [round(c, 6) for c in self.coef],
            "intercept": round(self.intercept, 6),
            "logit_clip": LOGIT_CLIP,
        }

    @classmethod
    def from_card(cls, entry: Any, source: str = "") -> Combiner:
        """The combiner of a card's ``scoring.combiner`` entry; raises ContentError when it is malformed or not
        monotone."""
        if not isinstance(entry, dict):
            raise ContentError("scoring.combiner must be an object", source=source)
        if entry.get("features") != list(FEATURES):
            got = entry.get("features")
            raise ContentError(f"scoring.combiner features {got!r} are not {list(FEATURES)}", source=source)
        if entry.get("logit_clip", LOGIT_CLIP) != LOGIT_CLIP:
            raise ContentError(f"scoring.combiner logit_clip must be {LOGIT_CLIP}", source=source)
        coef = entry.get("coef")
        intercept = entry.get("intercept")
        numbers = [*coef, intercept] if isinstance(coef, list) else []
        if len(numbers) != len(FEATURES) + 1 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in numbers
        ):
            need = f"scoring.combiner needs {len(FEATURES)} finite coefficients and an intercept"
            raise ContentError(need, source=source)
        bad = [name for name, c in zip(FEATURES, coef, strict=True) if name in MONOTONE and c < 0]
        if bad:
            raise ContentError(f"scoring.combiner is not monotone: negative coefficients for {bad}", source=source)
        return cls(tuple(float(c) for c in coef), float(intercept))


def fit_combiner(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> Combiner:
    """A logistic regression of ``y`` on the ``FEATURES`` rows ``x``, classes balanced, L2 penalty
    ``0.5 |w|^2 / c`` (intercept free), with the ``MONOTONE`` coefficients bounded at >= 0 (L-BFGS-B)."""
    from scipy.optimize import minimize

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    pos = max(float(y.sum()), 1.0)
    neg = max(float(len(y) - y.sum()), 1.0)
    w = np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * neg))
    sign = 2 * y - 1

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ theta[:-1] + theta[-1]
        m = sign * z
        value = float(np.sum(w * np.logaddexp(0.0, -m))) + 0.5 * float(theta[:-1] @ theta[:-1]) / c
        g = -w * sign / (1.0 + np.exp(m))
        grad = np.concatenate([x.T @ g + theta[:-1] / c, [g.sum()]])
        return value, grad

    bounds = [(0.0, None) if name in MONOTONE else (None, None) for name in FEATURES] + [(None, None)]
    res = minimize(loss, np.zeros(len(FEATURES) + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    return Combiner(tuple(float(v) for v in res.x[:-1]), float(res.x[-1]))


def cv_combiner(
    x: np.ndarray,
    y: np.ndarray,
    fold: np.ndarray,
    noisy_or: np.ndarray,
    proba: np.ndarray,
    *,
    c: float = 1.0,
    target_fpr: float = 0.01,
) -> tuple[Combiner, dict[str, Any]]:
    """Fit the combiner on out-of-fold evidence rows and measure it against the hand-set score.

    ``x``: the ``FEATURES`` of every training row, its classifier logit out-of-fold; ``fold``: the fold that
    scored each row; ``noisy_or``: the hand-set score of each row (``InjectionDetector.combine`` without a
    combiner); ``proba``: its out-of-fold classifier probability. A second level of the same folds scores the
    combiner: the combiner that scores a fold's rows was fitted on the other folds' rows only. Returns the
    combiner fitted on all rows, its intercept shifted so that 0.5 is the out-of-fold score exceeded by
    ``target_fpr`` of the negatives, and the card's ``cv.combiner`` entry: recall at 1% FPR per slice of
    the hand-set score, the classifier alone and the combiner, and ``ships``, the fixed decision rule (the
    combiner at least equal on every slice and higher on indirect).
    """
    x = np.asarray(x, dtype=np.float64)
    oof = np.zeros(len(y))
    for k in np.unique(fold):
        te = fold == k
        part = fit_combiner(x[~te], y[~te], c)
        oof[te] = x[te] @ np.asarray(part.coef) + part.intercept
    trusted = x[:, FEATURES.index("trusted")] > 0.5
    table = {
        "noisy_or": recall_by_slice(y, np.asarray(noisy_or), ~trusted),
        "classifier": recall_by_slice(y, np.asarray(proba), ~trusted),
        "combiner": recall_by_slice(y, oof, ~trusted),
    }
    a, b = table["noisy_or"], table["combiner"]
    ships = all(b.get(s, 0.0) >= a.get(s, 0.0) for s in a) and b.get("indirect", 0.0) > a.get("indirect", 0.0)
    logit = float(np.quantile(oof[y == 0], 1.0 - target_fpr))
    final = fit_combiner(x, y, c)
    entry = {
        "folds": len(np.unique(fold)),
        "C": c,
        "threshold_logit": round(logit, 6),
        "oof_recall_at_1pct_fpr_by_slice": table,
        "ships": ships,
        "rule": "ships when the combiner's out-of-fold recall at 1% FPR is >= the noisy-OR's on every slice "
        "and higher on indirect",
    }
    return Combiner(final.coef, final.intercept - logit), entry
