"""Evaluate a detector's continuous score over labelled JSONL rows (``soar eval``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from soar.detect.base import DetectConfig
from soar.detect.injection import InjectionDetector
from soar.detect.memory import MemoryPoisoningDetector
from soar.detect.train import read_jsonl
from soar.eval.metrics import Metrics, by_group, compare, compute, intervals

TEXT_DETECTORS = ("injection", "memory")
BATCH = 256


def _source(row: dict[str, Any], default: str) -> str:
    prov = row.get("provenance")
    if isinstance(prov, dict) and isinstance(prov.get("source"), str):
        return prov["source"]
    return row.get("source") or default


def score_rows(
    detector: str, rows: Sequence[dict[str, Any]], config: DetectConfig
) -> tuple[list[float], float, float, str | None]:
    """(scores, CPU seconds spent scoring, deployed threshold, classifier version or None for rules alone) for
    ``rows``, scored in batches of 256."""
    if detector == "injection":
        inj = InjectionDetector(config)
        sources = [_source(r, "web") for r in rows]

        def run(texts: list[str], srcs: list[str], _stores: list[str]) -> list[float]:
            return inj.score(texts, srcs)

        threshold, model = inj.options.threshold, inj.model
    elif detector == "memory":
        mem = MemoryPoisoningDetector(config)
        sources = [_source(r, "tool") for r in rows]

        def run(texts: list[str], srcs: list[str], stores: list[str]) -> list[float]:
            return mem.score(texts, srcs, stores)

        threshold, model = mem.options.threshold, mem.model
    else:
        raise KeyError(f"unknown detector {detector!r}; known: {', '.join(TEXT_DETECTORS)}")
    texts = [r["text"] for r in rows]
    stores = [str(r.get("store", "long_term")) for r in rows]
    scores: list[float] = []
    t0 = time.process_time()
    for i in range(0, len(rows), BATCH):
        scores.extend(run(texts[i : i + BATCH], sources[i : i + BATCH], stores[i : i + BATCH]))
    return scores, time.process_time() - t0, threshold, None if model is None else model.version


def evaluate(
    detector: str,
    data: Path,
    config: DetectConfig,
    by: str | None = None,
    ci: bool = False,
    against: DetectConfig | None = None,
) -> Metrics:
    """Metrics of ``detector`` over the labelled file ``data`` (throughput is CPU time of one core), with the
    classifier version that scored (None: rules alone); with ``by``, per value of that row field (rows without
    it count as ``-``); with ``ci``, bootstrap intervals of recall at 1% FPR and ROC AUC; with ``against``, the
    same rows scored by that configuration's classifier and the paired difference in recall at 1% FPR."""
    rows = read_jsonl(Path(data))
    scores, seconds, threshold, model = score_rows(detector, rows, config)
    labels = [int(r["label"]) for r in rows]
    metrics = compute(labels, scores, threshold, len(rows) / max(seconds, 1e-9))
    update: dict[str, Any] = {"model": model}
    if by:
        update["by"] = by_group(labels, scores, [str(r.get(by, "-")) for r in rows], threshold)
    if ci:
        update["ci"] = intervals(labels, scores)
    if against is not None:
        other, _, _, other_model = score_rows(detector, rows, against)
        update["against"] = compare(labels, scores, other, other_model)
    return metrics.model_copy(update=update)
