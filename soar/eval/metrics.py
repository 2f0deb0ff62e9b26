"""Binary-detection metrics from labels and continuous scores (precision, recall, ROC AUC, recall at low FPR)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel
from sklearn.metrics import roc_auc_score, roc_curve


class GroupMetrics(BaseModel):
    """One group's share of a file's metrics: its attacks found at the file's 1%-FPR point and at the deployed
    threshold, and its benign rows flagged at the deployed threshold (thresholds are the whole file's)."""

    positives: int
    negatives: int
    recall_at_1pct_fpr: float | None
    recall: float | None
    fpr: float | None


class Against(BaseModel):
    """The same file scored by another classifier (``soar eval --against``): its recall at 1% FPR, and this
    model's minus that one's with a paired bootstrap interval (both scored on the same resamples)."""

    model: str | None  # None: the rules alone
    recall_at_1pct_fpr: float | None
    difference: float | None
    interval: tuple[float, float] | None


class Metrics(BaseModel):
    """What ``soar eval`` reports for one detector over one labelled file."""

    n: int
    positives: int
    threshold: float
    precision: float
    recall: float
    f1: float
    roc_auc: float | None
    recall_at_1pct_fpr: float | None
    fpr: float | None
    texts_per_s: float = 0.0
    model: str | None = None  # the classifier version that scored; None: rules alone
    by: dict[str, GroupMetrics] | None = None  # per value of a row field (``soar eval --by``)
    #: bootstrap intervals of ``recall_at_1pct_fpr`` and ``roc_auc`` (``soar eval --ci``)
    ci: dict[str, tuple[float, float]] | None = None
    against: Against | None = None  # ``soar eval --against VERSION``


def recall_at_fpr(labels: np.ndarray, scores: np.ndarray, max_fpr: float = 0.01) -> float | None:
    """Highest recall reachable with a threshold whose false-positive rate is at most ``max_fpr``."""
    if labels.min() == labels.max():
        return None
    fpr, tpr, _ = roc_curve(labels, scores)
    ok = fpr <= max_fpr + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def compute(labels: Sequence[int], scores: Sequence[float], threshold: float, texts_per_s: float = 0.0) -> Metrics:
    """All metrics; ``threshold`` is the deployed one (score >= threshold is a detection)."""
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    pred = s >= threshold
    tp = int((pred & (y == 1)).sum())
    fp = int((pred & (y == 0)).sum())
    fn = int((~pred & (y == 1)).sum())
    negatives = int((y == 0).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    both = len(y) and y.min() != y.max()
    return Metrics(
        n=len(y),
        positives=int(y.sum()),
        threshold=threshold,
        precision=round(precision, 4),
        recall=round(recall, 4),
        f1=round(f1, 4),
        roc_auc=round(float(roc_auc_score(y, s)), 4) if both else None,
        recall_at_1pct_fpr=round(v, 4) if both and (v := recall_at_fpr(y, s)) is not None else None,
        fpr=round(fp / negatives, 4) if negatives else None,
        texts_per_s=round(texts_per_s, 1),
    )


def point_at_fpr(labels: np.ndarray, scores: np.ndarray, max_fpr: float = 0.01) -> float:
    """The score a detection must exceed so that at most ``max_fpr`` of the negatives do (``recall_at_fpr``'s
    operating point, as one number: recall there is the share of positives scoring above it)."""
    negatives = np.sort(scores[labels == 0])[::-1]
    if not len(negatives):
        return float("-inf")
    return float(negatives[min(int(np.floor(max_fpr * len(negatives))), len(negatives) - 1)])


def by_group(
    labels: Sequence[int], scores: Sequence[float], groups: Sequence[str], threshold: float
) -> dict[str, GroupMetrics]:
    """Per group: recall at the whole file's 1%-FPR point and at ``threshold``, FPR at ``threshold``."""
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    g = np.asarray(groups, dtype=object)
    point = point_at_fpr(y, s) if (y == 0).any() else None
    out: dict[str, GroupMetrics] = {}
    for name in sorted(set(groups)):
        mask = g == name
        pos, neg = s[mask & (y == 1)], s[mask & (y == 0)]
        out[name] = GroupMetrics(
            positives=len(pos),
            negatives=len(neg),
            recall_at_1pct_fpr=round(float((pos > point).mean()), 4) if len(pos) and point is not None else None,
            recall=round(float((pos >= threshold).mean()), 4) if len(pos) else None,
            fpr=round(float((neg >= threshold).mean()), 4) if len(neg) else None,
        )
    return out


#: bootstrap resamples and the interval's coverage (``soar eval --ci`` and ``--against``)
RESAMPLES = 1000
LEVEL = 0.90


def resamples(labels: np.ndarray, n: int = RESAMPLES, seed: int = 0) -> list[np.ndarray]:
    """Row indices of ``n`` stratified bootstrap resamples: the attacks and the benign rows each drawn with
    replacement on their own, so every resample keeps the file's class counts (a metric at 1% FPR is a quantile
    of the benign rows; a resample without them would mean nothing). ``scipy.stats.bootstrap`` has no strata."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    return [np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]) for _ in range(n)]


def interval(
    stat: Callable[[np.ndarray], float | None], draws: list[np.ndarray], level: float = LEVEL
) -> tuple[float, float]:
    """The central ``level`` percentile interval of ``stat(indices)`` over the resamples (of a file with both
    classes: every resample keeps both, so the metrics are defined on each)."""
    values = np.array([stat(ix) for ix in draws], dtype=float)
    lo, hi = np.percentile(values, [50 * (1 - level), 50 * (1 + level)])
    return round(float(lo), 4), round(float(hi), 4)


def intervals(labels: Sequence[int], scores: Sequence[float], seed: int = 0) -> dict[str, tuple[float, float]] | None:
    """Bootstrap intervals of recall at 1% FPR and ROC AUC (None for a file of one class)."""
    y, s = np.asarray(labels, dtype=int), np.asarray(scores, dtype=float)
    if not len(y) or y.min() == y.max():
        return None
    draws = resamples(y, seed=seed)
    return {
        "recall_at_1pct_fpr": interval(lambda ix: recall_at_fpr(y[ix], s[ix]), draws),
        "roc_auc": interval(lambda ix: float(roc_auc_score(y[ix], s[ix])), draws),
    }


def compare(
    labels: Sequence[int], scores: Sequence[float], other: Sequence[float], model: str | None, seed: int = 0
) -> Against:
    """``scores`` against ``other`` on the same rows: the other's recall at 1% FPR, the difference (this minus
    that), and its interval over paired resamples (each resample scores both)."""
    y = np.asarray(labels, dtype=int)
    a, b = np.asarray(scores, dtype=float), np.asarray(other, dtype=float)
    theirs = recall_at_fpr(y, b) if len(y) else None
    ours = recall_at_fpr(y, a) if len(y) else None
    if ours is None or theirs is None:
        return Against(model=model, recall_at_1pct_fpr=theirs, difference=None, interval=None)

    def diff(ix: np.ndarray) -> float:
        return float(recall_at_fpr(y[ix], a[ix]) or 0.0) - float(recall_at_fpr(y[ix], b[ix]) or 0.0)

    return Against(
        model=model,
        recall_at_1pct_fpr=round(theirs, 4),
        difference=round(ours - theirs, 4),
        interval=interval(diff, resamples(y, seed=seed)),
    )
