"""Binary-detection metrics from labels and continuous scores (precision, recall, ROC AUC, recall at low FPR)."""

from __future__ import annotations

from collections.abc import Sequence

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
