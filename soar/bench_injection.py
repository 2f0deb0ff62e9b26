"""``soar bench injection``: CPU time per 1 KB text through the injection detector's scoring path, by stage.

The texts are the ones docs/detectors.md ("Throughput on 1 KB texts") has measured since model ``-4``: the
benign training documents of ``corpora/injection/train.jsonl`` joined by spaces and cut into ``texts`` slices
of exactly ``chars`` characters. ``total`` is ``InjectionDetector.score`` in batches of ``batch`` (what
``soar eval`` times, and what the worker runs per batch of events): normalise, rule scan, classifier. Each
stage is also timed alone over the same texts:

* ``normalize``: ``soar.detect.normalize.normalize`` of the raw text;
* ``prescan``: the one RE2 pass over a short normalised text (one rule chunk, one classifier window) that
  gives both its rule matches and the classifier's cue words (``InjectionDetector.prescan``; models with the
  ``soar-hash-v3`` featuriser and later);
* ``rules``: the rest of the rule score (``InjectionDetector.rule_score`` with the prescanned matches: the
  hidden/explained adjustments and the noisy-OR), or all of it (the rule scan too) without a prescan;
* ``classifier``: ``TextModel.predict`` of the normalised texts in batches with the prescanned cue words
  (windows, link masking, hashing, the dot product), of which ``links`` (URL and e-mail masking, and with
  ``soar-hash-v4`` the hex runs) is timed alone too; ``hashing`` is the rest (``classifier - links``, a
  difference of two minima).

Every figure is process CPU time (``time.process_time``), the best of ``repeat`` passes after one warm-up pass
(RE2's lazy DFA builds its states on the first pass over new text), divided by the number of texts: the
machine is shared, and CPU time of the best pass is the figure least moved by other processes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from soar.detect.base import DetectConfig
from soar.detect.cues import cue_tokens
from soar.detect.injection import InjectionDetector
from soar.detect.ml import FEATURES_HEX, _mask_links, mask_hex_runs, windows
from soar.detect.normalize import normalize


def one_kb_texts(detectors_dir: Path, n: int = 1024, chars: int = 1024) -> list[str]:
    """``n`` slices of ``chars`` characters of the benign training documents, joined by spaces."""
    rows = (json.loads(line) for line in (detectors_dir / "corpora" / "injection" / "train.jsonl").open())
    blob = " ".join(r["text"] for r in rows if int(r["label"]) == 0)
    if len(blob) < n * chars:
        raise ValueError(f"the benign training texts hold {len(blob)} characters, fewer than {n} x {chars}")
    return [blob[i * chars : (i + 1) * chars] for i in range(n)]


def _best_us(fn: Callable[[], object], n_texts: int, repeat: int) -> float:
    """Best CPU µs per text of ``repeat`` runs of ``fn`` after one warm-up run."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best * 1e6 / n_texts


def bench_injection(
    detectors_dir: Path,
    *,
    texts: int = 1024,
    chars: int = 1024,
    batch: int = 256,
    repeat: int = 5,
    source: str = "web",
    model: str | None = None,
    use_model: bool = True,
) -> dict[str, Any]:
    """Per-stage and total CPU µs per text, and texts/s, for the injection scoring path (module docstring)."""
    options: dict[str, Any] = {"use_model": use_model}
    if model:
        options["model"] = model
    det = InjectionDetector(DetectConfig(detectors_dir=detectors_dir, options={"injection": options}))
    raw = one_kb_texts(detectors_dir, texts, chars)
    cap = det.options.max_scan_chars
    nts = [normalize(t[:cap]) for t in raw]
    scan = [nt.text for nt in nts]
    srcs = [source] * batch
    batches = [(raw[i : i + batch], srcs[: len(raw[i : i + batch])]) for i in range(0, len(raw), batch)]

    def total() -> None:
        for ts, ss in batches:
            det.score(ts, ss)

    def normalise() -> None:
        for t in raw:
            normalize(t[:cap])

    pres = [det.prescan(nt, "input", source) for nt in nts]

    def prescan() -> None:
        for nt in nts:
            det.prescan(nt, "input", source)

    def rules() -> None:
        for nt, pre in zip(nts, pres, strict=True):
            det.rule_score(nt, "input", source, pre[0])

    stages: dict[str, float] = {"normalize": _best_us(normalise, len(raw), repeat)}
    if any(pre[0] is not None for pre in pres):
        stages["prescan"] = _best_us(prescan, len(raw), repeat)
    stages["rules"] = _best_us(rules, len(raw), repeat)
    m = det.model
    if m is not None:
        known = [pre[1] for pre in pres]
        parts = [w for t in scan for w in windows(t)]
        cued = [f"{w}\n{cue_tokens(w)}" for w in parts] if m.spec.cues else parts
        hex_runs = m.spec.features == FEATURES_HEX

        def links() -> None:
            masked = [_mask_links(w) for w in cued]
            if hex_runs:
                mask_hex_runs([w.encode("utf-8", "replace") for w in masked])

        def classifier() -> None:
            for i in range(0, len(scan), batch):
                m.predict(scan[i : i + batch], known[i : i + batch])

        stages["classifier"] = _best_us(classifier, len(raw), repeat)
        stages["links"] = _best_us(links, len(raw), repeat)
        stages["hashing"] = stages["classifier"] - stages["links"]
    total_us = _best_us(total, len(raw), repeat)
    return {
        "texts": len(raw),
        "chars": chars,
        "batch": batch,
        "repeat": repeat,
        "model": None if m is None else m.version,
        "texts_per_s": round(1e6 / total_us, 1),
        "us_per_text": round(total_us, 2),
        "stages_us": {k: round(v, 2) for k, v in stages.items()},
    }
