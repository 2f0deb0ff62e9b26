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
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from soar.detect.calibration import RowMatches, cv_calibration
from soar.detect.combiner import cv_combiner, evidence_features
from soar.detect.ml import (
    FEATURE_VERSIONS,
    FEATURES,
    FEATURES_CUES,
    SKIP_GAPS,
    HashSpec,
    TextModel,
    sentence_runs,
    sha256_file,
)
from soar.detect.normalize import normalize
from soar.errors import ContentError

FAMILIES = ("injection", "memory")
DEFAULT_PARAMS: dict[str, Any] = {
    "bits": 18,
    "char_ngrams": [3, 4, 5],
    "words": True,
    "features": FEATURES_CUES,
    "skip_gaps": list(SKIP_GAPS),  # word skip bigrams of featuriser soar-hash-v5 (ignored by the others)
    "C": 32.0,
    "class_weight": "balanced",
    "cv_folds": 5,
    "cv_target_fpr": 0.01,
    # sentence runs: scored besides the whole text (soar.detect.ml.HashSpec.dot_spans), and up to
    # span_negatives runs of every benign training text added as benign rows, so that a sentence of a benign
    # document is not judged as if it were a whole (short) attack
    "spans": [],
    "min_span_features": 48,
    "span_offset": 0.0,
    "span_negatives": 0,
    # sentence-level positives: the injected span of every training attack whose row records it
    # (``attack_span``, written by detectors/corpora/build.py for the train half), added as an attack row
    "span_positives": False,
    # run lengths for the benign sentence-run rows when they differ from the scored ``spans`` (e.g. train on
    # runs but score whole texts only); empty: the scored ``spans``
    "span_train": [],
    # also score alone every sentence holding at least this many distinct cues (soar.detect.cues) and keep the
    # higher score (``TextModel.cue_sentences``), so one such sentence inside benign text is not diluted; 0: off
    "cue_sentences": 0,
    # also cross-validate with whole attack families held out (``family_cv``): each fold's attacks are of
    # families its model never saw (``attack_family``), the question an external set asks; reported in the
    # card as ``cv.leave_family_out``, never used for the threshold or anything shipped
    "family_cv": False,
    # the learned combination of rule evidence and classifier score (soar.detect.combiner), fitted on the
    # out-of-fold scores and written to the card's scoring entry when it passes its cross-validated ship rule
    "combiner": False,
    "combiner_C": 1.0,
    # calibrated rule confidences and per-source classifier shifts for the noisy-OR (soar.detect.calibration),
    # measured on the out-of-fold scores and written to the card's scoring entry when they pass the fixed
    # decision rule; ``rule_prior`` pseudo-matches of the written confidence, ``rule_min_matches`` to calibrate
    "calibration": False,
    "rule_prior": 20.0,
    "rule_min_matches": 20,
}

#: per-family changes to DEFAULT_PARAMS: memory keeps the v2 featuriser (the cue words were measured on
#: injection only) and its writes are a sentence or two, so no sentence runs; injection uses C = 64 since ``-10`` (the
#: development pair with the real machine output in training, recall at 1% FPR direct / indirect / records /
#: machine output: C 64 0.644 / 0.475 / 0.550 / 0.247, 128 0.641 / 0.466 / 0.550 / 0.237, 256 0.638 / 0.426 /
#: 0.550 / 0.213; before, C = 128 from grouped cross-validation on the eighth-wave split; memory not re-measured).
#: The learned combiner (``combiner``, 2026.12.06-4) is off: it learned weight 0 for the rules, so a rule match
#: no longer lifted a diluted long text (docs/detectors.md); injection calibrates the noisy-OR instead.
FAMILY_PARAMS: dict[str, dict[str, Any]] = {
    "injection": {"C": 64.0, "calibration": True},
    "memory": {"features": FEATURES, "spans": [], "span_negatives": 0},
}


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` training parameters (``soar detectors train --param``): each KEY one of ``DEFAULT_PARAMS``,
    each VALUE read as JSON (numbers, booleans, lists) or else taken as a string; raises ContentError naming the
    pair that is not."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or key not in DEFAULT_PARAMS:
            known = ", ".join(sorted(DEFAULT_PARAMS))
            raise ContentError(f"{pair!r}: a training parameter is KEY=VALUE with KEY one of {known}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    if "features" in params and params["features"] not in FEATURE_VERSIONS:
        raise ContentError(f"features={params['features']!r}: one of {', '.join(FEATURE_VERSIONS)}")
    return params


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


def _scoring(params: dict[str, Any]) -> dict[str, Any]:
    """The card's ``scoring`` entry (sentence runs, cue sentences) for ``params``; empty when both are off."""
    scoring: dict[str, Any] = {}
    if params.get("spans"):
        scoring.update(
            spans=list(params["spans"]), min_features=params["min_span_features"], span_offset=params["span_offset"]
        )
    if params.get("cue_sentences"):
        scoring["cue_sentences"] = int(params["cue_sentences"])
    return scoring


def span_rows(
    texts: list[str],
    y: np.ndarray,
    groups: list[str],
    params: dict[str, Any],
    spans: list[str | None] | None = None,
) -> tuple[list[int], list[int]]:
    """Extra sentence-level training rows, appended to ``texts``: up to ``span_negatives`` sentence runs of
    each benign text (seeded, benign rows), and with ``span_positives`` the recorded injected span of each
    attack (``spans[i]``, attack rows). Returns (the parent row of each appended text, its label)."""
    n = int(params.get("span_negatives") or 0)
    parents: list[int] = []
    labels: list[int] = []
    run_lengths = params.get("span_train") or params.get("spans")
    if run_lengths and n > 0:
        rng = np.random.default_rng(0)
        for i in range(len(y)):
            if y[i] != 0:
                continue
            runs = [r for r in sentence_runs(texts[i], run_lengths) if r != texts[i] and len(r) >= 40]
            if len(runs) > n:
                runs = [runs[j] for j in sorted(rng.choice(len(runs), n, replace=False))]
            texts.extend(runs)
            parents.extend([i] * len(runs))
            labels.extend([0] * len(runs))
    if params.get("span_positives") and spans:
        for i in range(len(y)):
            span = spans[i]
            if y[i] != 1 or not span:
                continue
            prepared = prepare(span)
            if prepared.strip() and prepared != texts[i]:
                texts.append(prepared)
                parents.append(i)
                labels.append(1)
    return parents, labels


def oof_scores(
    x: Any,
    y: np.ndarray,
    groups: list[str],
    params: dict[str, Any],
    *,
    spec: HashSpec | None = None,
    texts: list[str] | None = None,
    parents: list[int] | None = None,
    labels: list[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(out-of-fold score, fold index) of every training row, from ``cv_folds`` folds grouped by template.

    Rows built from one template (their ``group``) stay in one fold, so each fold is scored on phrasings its
    model never saw; without groups every row is its own group (which overfits: near-duplicates of a
    template land on both sides). ``x`` may hold extra rows after the first ``len(y)`` (sentence runs of
    benign rows and injected spans of attacks, ``parents`` naming the row each came from, ``labels`` their
    labels, benign when omitted): they train with their parent's fold and are never scored. With ``spec``
    and ``texts`` the scores are the deployed scoring (sentence runs included), not the bare linear score.
    """
    parents = parents or []
    n = len(y)
    oof = np.zeros(n)
    fold_of = np.zeros(n, dtype=np.int64)
    extra = np.asarray(parents, dtype=np.int64)
    extra_y = np.asarray(labels if labels is not None else [0] * len(parents), dtype=y.dtype)
    y_all = np.concatenate([y, extra_y])
    scoring = _scoring(params)
    folds = StratifiedGroupKFold(n_splits=params["cv_folds"], shuffle=True, random_state=0)
    for k, (tr, te) in enumerate(folds.split(np.zeros(n), y, groups)):
        in_tr = np.zeros(n, dtype=bool)
        in_tr[tr] = True
        rows = np.concatenate([tr, n + np.flatnonzero(in_tr[extra])]) if len(extra) else tr
        lr = _fit(x[rows], y_all[rows], params)
        if spec is not None and texts is not None and scoring:
            fold_model = TextModel(spec, lr.coef_[0].astype(np.float32), float(lr.intercept_[0]), {"scoring": scoring})
            oof[te] = fold_model.decision([texts[i] for i in te])
        else:
            oof[te] = lr.decision_function(x[te])
        fold_of[te] = k
    return oof, fold_of


def cv_threshold(
    oof: np.ndarray,
    y: np.ndarray,
    groups: list[str],
    params: dict[str, Any],
    *,
    extra_rows: int = 0,
    sources: list[str] | None = None,
    styles: list[str] | None = None,
) -> dict[str, Any]:
    """The cross-validation entry of the card, from ``oof_scores``'s out-of-fold scores of the training rows:
    the logit that ``cv_target_fpr`` of the negatives exceed, and the out-of-fold metrics at it.

    With ``sources`` the recall at 1% FPR is also reported per slice (``user`` = direct, the rest indirect),
    and with ``styles`` for plain (not hidden or encoded) indirect attacks against all indirect negatives.
    ``extra_rows``: the span rows the folds trained on (reported only).
    """
    from soar.eval.metrics import compute

    logit = float(np.quantile(oof[y == 0], 1.0 - params["cv_target_fpr"]))
    m = compute(y.tolist(), oof.tolist(), logit)
    slices: dict[str, float] = {}
    if sources is not None:
        direct = np.asarray([src == "user" for src in sources])
        for name, mask in (("indirect", ~direct), ("direct", direct)):
            if mask.any() and (y[mask] == 1).any() and (y[mask] == 0).any():
                part = compute(y[mask].tolist(), oof[mask].tolist(), logit)
                slices[name] = part.recall_at_1pct_fpr
        if styles is not None:
            plain = ~direct & ((y == 0) | np.asarray([st.endswith("/plain") for st in styles]))
            if (y[plain] == 1).any():
                slices["indirect_plain"] = compute(y[plain].tolist(), oof[plain].tolist(), logit).recall_at_1pct_fpr
    return {
        "folds": params["cv_folds"],
        "groups": len(set(groups)),
        "span_rows": extra_rows,
        "target_fpr": params["cv_target_fpr"],
        "threshold_logit": round(logit, 6),
        "oof_fpr": m.fpr,
        "oof_recall": m.recall,
        "oof_roc_auc": m.roc_auc,
        "oof_recall_at_1pct_fpr": m.recall_at_1pct_fpr,
        **({"oof_recall_at_1pct_fpr_by_slice": slices} if slices else {}),
    }


def attack_family(row: dict[str, Any], group: str) -> str:
    """The fold group of a row for ``family_cv``: an attack's family (the second part of its ``style``,
    ``indirect/fake_tool/plain`` -> ``fake_tool``, direct and indirect together), a benign row's own group."""
    parts = str(row.get("style") or "").split("/")
    if row.get("label") == 1 and len(parts) > 1 and parts[1]:
        return f"family:{parts[1]}"
    return group


def leave_family_out(
    oof: np.ndarray,
    y: np.ndarray,
    families: list[str],
    params: dict[str, Any],
    sources: list[str],
    styles: list[str],
) -> dict[str, Any]:
    """The card's ``cv.leave_family_out``: out-of-fold recall at 1% FPR with whole attack families held out
    (pooled and per slice, as ``cv_threshold`` reports them), and each family's recall at the pooled point."""
    entry = cv_threshold(oof, y, families, params, sources=sources, styles=styles)
    logit = entry["threshold_logit"]
    attack_families = np.asarray(families)[y == 1]
    caught = oof[y == 1] > logit
    by_family = {
        str(name).removeprefix("family:"): round(float(np.mean(caught[attack_families == name])), 4)
        for name in np.unique(attack_families)
    }
    keep = ("folds", "groups", "oof_recall_at_1pct_fpr", "oof_recall_at_1pct_fpr_by_slice")
    return {**{k: entry[k] for k in keep if k in entry}, "recall_by_family": by_family}


def train_family(
    family: str,
    corpora_dir: Path,
    models_dir: Path,
    *,
    version: str | None = None,
    params: dict[str, Any] | None = None,
    detectors_dir: Path | None = None,
) -> dict[str, Any]:
    """Fit one family's classifier (and, with ``combiner``, the combiner of rule evidence and classifier score,
    reading the rules of ``detectors_dir``, by default the corpora's parent), write artifact + card, return
    the card."""
    from soar.eval.metrics import compute  # the eval package depends on detect, not the other way at import

    if family not in FAMILIES:
        raise ContentError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
    params = {**DEFAULT_PARAMS, **FAMILY_PARAMS.get(family, {}), **(params or {})}
    spec = HashSpec(
        bits=params["bits"],
        char_ngrams=tuple(params["char_ngrams"]),
        words=params["words"],
        features=params["features"],
        skip_gaps=tuple(params["skip_gaps"]) if isinstance(params["skip_gaps"], list) else (params["skip_gaps"],),
    )
    train_path = Path(corpora_dir) / family / "train.jsonl"
    eval_path = Path(corpora_dir) / family / "eval.jsonl"
    train_rows = read_jsonl(train_path)
    texts = [prepare(r["text"]) for r in train_rows]
    y = np.asarray([int(r["label"]) for r in train_rows])
    groups = [str(r.get("group") or f"row-{i}") for i, r in enumerate(train_rows)]
    sources = [str(r.get("source") or "") for r in train_rows]
    styles = [str(r.get("style") or "") for r in train_rows]
    attack_spans = [r.get("attack_span") if isinstance(r.get("attack_span"), str) else None for r in train_rows]
    parents, labels = span_rows(texts, y, groups, params, attack_spans)
    x = spec.matrix(texts)
    t0 = time.perf_counter()
    oof, fold = oof_scores(x, y, groups, params, spec=spec, texts=texts, parents=parents, labels=labels)
    cv = cv_threshold(oof, y, groups, params, extra_rows=len(parents), sources=sources, styles=styles)
    if params.get("family_cv"):
        families = [attack_family(r, g) for r, g in zip(train_rows, groups, strict=True)]
        oof_family, _ = oof_scores(x, y, families, params, spec=spec, texts=texts, parents=parents, labels=labels)
        cv["leave_family_out"] = leave_family_out(oof_family, y, families, params, sources, styles)
    lr = _fit(x, np.concatenate([y, np.asarray(labels, dtype=y.dtype)]), params)
    scoring = _scoring(params)
    if params.get("combiner"):
        # the deployed model's probability 0.5 is the out-of-fold threshold logit (see the intercept shift below)
        proba = 1.0 / (1.0 + np.exp(-(oof - cv["threshold_logit"])))
        features, noisy_or = combiner_rows(train_rows, proba, Path(detectors_dir or Path(corpora_dir).parent))
        combiner, cv["combiner"] = cv_combiner(
            features, y, fold, noisy_or, proba, c=params["combiner_C"], target_fpr=params["cv_target_fpr"]
        )
        if cv["combiner"]["ships"]:
            scoring = {**scoring, "combiner": combiner.card()}
    if params.get("calibration"):
        proba = 1.0 / (1.0 + np.exp(-(oof - cv["threshold_logit"])))
        matches, weights = calibration_rows(train_rows, Path(detectors_dir or Path(corpora_dir).parent))
        calibration, cv["calibration"] = cv_calibration(
            matches,
            y,
            fold,
            proba,
            [str(r.get("source") or "web") for r in train_rows],
            weights,
            prior=float(params["rule_prior"]),
            min_matches=int(params["rule_min_matches"]),
            target_fpr=params["cv_target_fpr"],
        )
        if calibration is not None:
            scoring = {**scoring, **calibration.card()}
    fit_s = time.perf_counter() - t0
    raw_intercept = float(lr.intercept_[0])
    # shift so that the cross-validated threshold is probability 0.5 (the detectors' deployed threshold)
    model = TextModel(spec, lr.coef_[0].astype(np.float32), raw_intercept - cv["threshold_logit"], {"scoring": scoring})
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
    described = "hashed char 3-5 + word 1-2 grams -> LogisticRegression over soar.detect.normalize text"
    if "combiner" in scoring:
        described += "; rule evidence + classifier logit -> learned combiner (scoring.combiner)"
    if "rule_confidence" in scoring:
        described += "; noisy-OR with calibrated rule confidences (scoring.rule_confidence)"
    if "source_shift" in scoring:
        described += " and per-source classifier shifts (scoring.source_shift)"
    card = {
        "family": family,
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": described,
        "hashing": spec.card(),
        "scoring": scoring,
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


def combiner_rows(rows: list[dict[str, Any]], probas: np.ndarray, detectors_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(the combiner's ``FEATURES``, the hand-set noisy-OR score) of each row with classifier probability
    ``probas[i]``, its rule evidence from the injection rules of ``detectors_dir``, scored as ``soar eval``
    scores the row (kind ``input``, its ``source``, ``web`` when it has none)."""
    from soar.detect.base import DetectConfig
    from soar.detect.injection import InjectionDetector
    from soar.telemetry.events import UNTRUSTED_SOURCES

    det = InjectionDetector(DetectConfig(Path(detectors_dir), {"injection": {"use_model": False}}))
    features: list[list[float]] = []
    noisy_or: list[float] = []
    for row, p in zip(rows, probas.tolist(), strict=True):
        source = str(row.get("source") or "web")
        rule, judged = det.evidence(normalize(row["text"][: det.options.max_scan_chars]), "input", source)
        features.append(evidence_features(p, rule, judged, source not in UNTRUSTED_SOURCES))
        noisy_or.append(det.noisy_or(rule, p, source))
    return np.asarray(features), np.asarray(noisy_or)


def calibration_rows(rows: list[dict[str, Any]], detectors_dir: Path) -> tuple[list[RowMatches], np.ndarray]:
    """(per row its injection rule matches with their written confidences, its source weight today), scored
    as ``soar eval`` scores the row (kind ``input``, its ``source``, ``web`` when it has none)."""
    from soar.detect.base import DetectConfig
    from soar.detect.injection import InjectionDetector

    det = InjectionDetector(DetectConfig(Path(detectors_dir), {"injection": {"use_model": False}}))
    matches: list[RowMatches] = []
    weights: list[float] = []
    for row in rows:
        source = str(row.get("source") or "web")
        matches.append(det.rule_matches(normalize(row["text"][: det.options.max_scan_chars]), "input", source))
        weights.append(det.weight(source))
    return matches, np.asarray(weights)


def _data_entry(path: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    try:  # cards travel with the repository: record paths relative to it when possible
        shown = str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        shown = str(path)
    return {"path": shown, "sha256": sha256_file(path), "n": len(rows), "positives": sum(r["label"] for r in rows)}
