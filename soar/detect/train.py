"""``soar detectors train``: fit the text classifiers from ``detectors/corpora/`` into versioned artifacts.

For each family (``injection``, ``memory``): read ``corpora/<family>/train.jsonl``, normalise every text the
way the detector will (``soar.detect.normalize``), fit TF-IDF word 1-2 grams + LogisticRegression, score the
held-out ``eval.jsonl`` (never used for fitting), and write ``models/<family>-<version>.joblib`` with its card.
"""

from __future__ import annotations

import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from soar.detect.ml import TextModel, analyze, sha256_file
from soar.detect.normalize import normalize
from soar.errors import ContentError

FAMILIES = ("injection", "memory")
DEFAULT_PARAMS: dict[str, Any] = {
    "analyzer": "soar.detect.ml.analyze (word 1-2 grams)",
    "min_df": 2,
    "max_features": 100_000,
    "sublinear_tf": True,
    "C": 4.0,
    "class_weight": "balanced",
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


def build_pipeline(params: dict[str, Any]) -> Pipeline:
    """An unfitted TF-IDF + LogisticRegression pipeline."""
    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    analyzer=analyze,  # word 1-2 grams, fast path (see soar.detect.ml.analyze)
                    min_df=params["min_df"],
                    max_features=params["max_features"],
                    sublinear_tf=params["sublinear_tf"],
                    dtype=np.float32,
                ),
            ),
            (
                "lr",
                LogisticRegression(C=params["C"], class_weight=params["class_weight"], max_iter=2000),
            ),
        ]
    )


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
    train_path = Path(corpora_dir) / family / "train.jsonl"
    eval_path = Path(corpora_dir) / family / "eval.jsonl"
    train_rows = read_jsonl(train_path)
    texts = [prepare(r["text"]) for r in train_rows]
    labels = [int(r["label"]) for r in train_rows]
    t0 = time.perf_counter()
    pipeline = build_pipeline(params).fit(texts, labels)
    fit_s = time.perf_counter() - t0
    version = version or datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    artifact = models_dir / f"{family}-{version}.joblib"
    joblib.dump(pipeline, artifact, compress=3)
    data: dict[str, Any] = {"train": _data_entry(train_path, train_rows)}
    metrics = None
    if eval_path.is_file():
        eval_rows = read_jsonl(eval_path)
        data["eval"] = _data_entry(eval_path, eval_rows)
        scores = TextModel(pipeline).predict([prepare(r["text"]) for r in eval_rows])
        metrics = compute([int(r["label"]) for r in eval_rows], scores.tolist(), 0.5).model_dump()
    card = {
        "family": family,
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": "TfidfVectorizer(word 1-2) + LogisticRegression over soar.detect.normalize text",
        "params": params,
        "data": data,
        "metrics_classifier_only_on_eval": metrics,
        "fit_seconds": round(fit_s, 2),
        "vocabulary": len(pipeline.named_steps["tfidf"].vocabulary_),
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
        "artifact": artifact.name,
        "artifact_sha256": sha256_file(artifact),
    }
    artifact.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card


def _data_entry(path: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    try:  # cards travel with the repository: record paths relative to it when possible
        shown = str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        shown = str(path)
    return {"path": shown, "sha256": sha256_file(path), "n": len(rows), "positives": sum(r["label"] for r in rows)}
