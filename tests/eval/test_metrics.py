"""Metrics: precision/recall at the deployed threshold, ROC AUC, recall at 1% FPR."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from soar.eval.metrics import compare, compute, intervals, point_at_fpr, recall_at_fpr, resamples


def test_metrics_perfect_and_threshold_counts() -> None:
    m = compute([1, 1, 0, 0, 0], [0.9, 0.6, 0.4, 0.1, 0.55], threshold=0.5)
    assert (m.n, m.positives) == (5, 2)
    assert m.recall == 1.0 and m.precision == round(2 / 3, 4) and m.fpr == round(1 / 3, 4)
    assert m.roc_auc == 1.0 and m.recall_at_1pct_fpr == 1.0


def test_metrics_recall_at_fpr_counts_only_thresholds_within_budget() -> None:
    y = np.array([0] * 100 + [1] * 10)
    s = np.concatenate([np.linspace(0, 0.5, 99), [0.95], np.linspace(0.6, 0.99, 10)])
    # one negative at 0.95: at <= 1% FPR (1 of 100) every positive counts; at 0% only those above 0.95
    assert recall_at_fpr(y, s, 0.01) == 1.0
    assert recall_at_fpr(y, s, 0.0) == 0.1


def test_metrics_single_class_has_no_auc() -> None:
    m = compute([0, 0, 0], [0.1, 0.7, 0.2], threshold=0.5)
    assert m.roc_auc is None and m.recall_at_1pct_fpr is None and m.fpr == round(1 / 3, 4)
    assert m.recall == 0.0 and m.precision == 0.0


@given(
    st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1, allow_nan=False)), min_size=2, max_size=300).filter(
        lambda rows: {y for y, _ in rows} == {0, 1}
    )
)
def test_point_at_fpr_is_recall_at_fprs_operating_point(rows: list[tuple[int, float]]) -> None:
    """The one-number point ``by_group`` uses gives the recall ``recall_at_fpr`` reports, when scores are distinct
    (ties can only lower it: the point is a benign row's score, and a positive tied with it does not count)."""
    y = np.array([r[0] for r in rows])
    s = np.array([r[1] for r in rows])
    recall = float((s[y == 1] > point_at_fpr(y, s)).mean())
    full = recall_at_fpr(y, s)
    assert full is not None and recall <= full + 1e-12
    if len(set(s.tolist())) == len(s):
        assert recall == pytest.approx(full)


def test_resamples_keep_class_counts_and_repeat_by_seed() -> None:
    y = np.array([1] * 7 + [0] * 30)
    draws = resamples(y, n=50)
    assert all(len(ix) == len(y) and y[ix].sum() == 7 for ix in draws)
    assert all((a == b).all() for a, b in zip(draws, resamples(y, n=50), strict=True))
    assert any((a != b).any() for a, b in zip(draws, resamples(y, n=50, seed=1), strict=True))


def test_intervals_bound_the_metrics_and_need_both_classes() -> None:
    rng = np.random.default_rng(3)
    y = np.array([1] * 200 + [0] * 400)
    s = np.concatenate([rng.normal(2.0, 1.0, 200), rng.normal(0.0, 1.0, 400)])
    ci = intervals(y.tolist(), s.tolist())
    assert ci is not None and set(ci) == {"recall_at_1pct_fpr", "roc_auc"}
    for lo, hi in ci.values():
        assert 0.0 <= lo <= hi <= 1.0
    lo, hi = ci["roc_auc"]
    assert lo < compute(y.tolist(), s.tolist(), 0.5).roc_auc < hi  # type: ignore[operator]
    assert intervals([0, 0, 0], [0.1, 0.2, 0.3]) is None


def test_compare_is_paired() -> None:
    """A model against itself differs by exactly 0 on every resample; a model that separates the classes against
    one that does not differs by a clearly positive amount."""
    rng = np.random.default_rng(4)
    y = [1] * 100 + [0] * 300
    good = np.concatenate([rng.normal(3.0, 1.0, 100), rng.normal(0.0, 1.0, 300)]).tolist()
    noise = rng.normal(0.0, 1.0, 400).tolist()
    same = compare(y, good, good, "v1")
    assert same.difference == 0.0 and same.interval == (0.0, 0.0) and same.model == "v1"
    better = compare(y, good, noise, None)
    assert better.difference is not None and better.interval is not None and better.interval[0] > 0.3
    assert compare([0, 0], [0.1, 0.2], [0.3, 0.4], "v1").difference is None
