"""Binary-detection metrics from labels and continuous scores (precision, recall, ROC AUC, recall at low FPR)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel
from sklearn.metrics import roc_auc_score, roc_curve


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
