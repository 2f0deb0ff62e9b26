"""``soar detectors train``: fit the text classifiers from ``detectors/corpora/`` into versioned artifacts.

For each family (``injection``, ``memory``): read ``corpora/<family>/train.jsonl``, normalise every text the
way the detector will (``soar.detect.normalize``), hash its character and word n-grams (``soar.detect.ml``),
fit a LogisticRegression, and choose the deployed threshold by cross-validation on the *training* rows: the
out-of-fold score that 1% of the training negatives exceed. The intercept is shifted so that this threshold
is probability 0.5, the detectors' deployed threshold. The held-out ``eval.jsonl`` is scored for the card and
never used for fitting or for the threshold. Writes ``models/<family>-<version>.npz`` (coefficients, no
pickle) and its card ``models/<family>-<version>.json``.
"""

from __future__ import annotations

import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from soar.detect.ml import HashSpec, TextModel, sha256_file
from soar.detect.normalize import normalize
from soar.errors import ContentError

FAMILIES = ("injection", "memory")
DEFAULT_PARAMS: dict[str, Any] = {
    "bits": 18,
    "char_ngrams": [3, 4, 5],
    "words": True,
    "C": 32.0,
    "class_weight": "balanced",
    "cv_folds": 5,
    "cv_target_fpr": 0.01,
}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file (blank lines skipped); raises ContentError with the line of a bad row."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ContentError(f"invalid JSON: {e.msg}", source=f"{path}:{i}") from e
            if not isinstance(row, dict) or not isinstance(row.get("text"), str) or row.get("label") not in (0, 1):
                raise ContentError('each row needs "text" (string) and "label" (0 or 1)', source=f"{path}:{i}")
            rows.append(row)
    return rows


def prepare(text: str) -> str:
    """What the classifier reads: the normalised text with hidden and decoded segments."""
    return normalize(text[:262_144]).text


def _fit(x: Any, y: np.ndarray, params: dict[str, Any]) -> LogisticRegression:
    lr = LogisticRegression(
        C=params["C"], class_weight=params["class_weight"], solver="liblinear", max_iter=1000, random_state=0
    )
    return lr.fit(x, y)


def cv_threshold(x: Any, y: np.ndarray, groups: list[str], params: dict[str, Any]) -> dict[str, Any]:
    """Out-of-fold scores on the training rows; the logit that ``cv_target_fpr`` of the negatives exceed.

    Rows built from one template (their ``group``) stay in one fold, so each fold is scored on phrasings its
    model never saw; without groups every row is its own group (which overfits: near-duplicates of a
    template land on both sides).
    """
    from soar.eval.metrics import compute

    oof = np.zeros(len(y))
    folds = StratifiedGroupKFold(n_splits=params["cv_folds"], shuffle=True, random_state=0)
    for tr, te in folds.split(np.zeros(len(y)), y, groups):
        oof[te] = _fit(x[tr], y[tr], params).decision_function(x[te])
    logit = float(np.quantile(oof[y == 0], 1.0 - params["cv_target_fpr"]))
    m = compute(y.tolist(), oof.tolist(), logit)
    return {
        "folds": params["cv_folds"],
        "groups": len(set(groups)),
        "target_fpr": params["cv_target_fpr"],
        "threshold_logit": round(logit, 6),
        "oof_fpr": m.fpr,
        "oof_recall": m.recall,
        "oof_roc_auc": m.roc_auc,
        "oof_recall_at_1pct_fpr": m.recall_at_1pct_fpr,
    }


def train_family(
    family: str,
    corpora_dir: Path,
    models_dir: Path,
    *,
    version: str | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit one family's classifier, write artifact + card, return the card."""
    from soar.eval.metrics import compute  # the eval package depends on detect, not the other way at import

    if family not in FAMILIES:
        raise ContentError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
    params = {**DEFAULT_PARAMS, **(params or {})}
    spec = HashSpec(bits=params["bits"], char_ngrams=tuple(params["char_ngrams"]), words=params["words"])
    train_path = Path(corpora_dir) / family / "train.jsonl"
    eval_path = Path(corpora_dir) / family / "eval.jsonl"
    train_rows = read_jsonl(train_path)
    x = spec.matrix([prepare(r["text"]) for r in train_rows])
    y = np.asarray([int(r["label"]) for r in train_rows])
    t0 = time.perf_counter()
    groups = [str(r.get("group") or f"row-{i}") for i, r in enumerate(train_rows)]
    cv = cv_threshold(x, y, groups, params)
    lr = _fit(x, y, params)
    fit_s = time.perf_counter() - t0
    raw_intercept = float(lr.intercept_[0])
    # shift so that the cross-validated threshold is probability 0.5 (the detectors' deployed threshold)
    model = TextModel(spec, lr.coef_[0].astype(np.float32), raw_intercept - cv["threshold_logit"])
    version = version or datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    artifact = models_dir / f"{family}-{version}.npz"
    digest = model.save(artifact)
    data: dict[str, Any] = {"train": _data_entry(train_path, train_rows)}
    metrics = None
    if eval_path.is_file():
        eval_rows = read_jsonl(eval_path)
        data["eval"] = _data_entry(eval_path, eval_rows)
        scores = model.predict([prepare(r["text"]) for r in eval_rows])
        metrics = compute([int(r["label"]) for r in eval_rows], scores.tolist(), 0.5).model_dump()
    card = {
        "family": family,
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": "hashed char 3-5 + word 1-2 grams -> LogisticRegression over soar.detect.normalize text",
        "hashing": spec.card(),
        "params": params,
        "intercept_raw": round(raw_intercept, 6),
        "intercept": round(model.intercept, 6),
        "threshold": 0.5,
        "threshold_note": "intercept shifted by -cv.threshold_logit: probability 0.5 = the out-of-fold score "
        "exceeded by cv.target_fpr of the training negatives",
        "cv": cv,
        "data": data,
        "metrics_classifier_only_on_eval": metrics,
        "fit_seconds": round(fit_s, 2),
        "nonzero_coefficients": int(np.count_nonzero(model.coef)),
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
        "artifact": artifact.name,
        "artifact_sha256": digest,
    }
    artifact.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card


def _data_entry(path: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    try:  # cards travel with the repository: record paths relative to it when possible
        shown = str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        shown = str(path)
    return {"path": shown, "sha256": sha256_file(path), "n": len(rows), "positives": sum(r["label"] for r in rows)}
