"""The scikit-learn layer: a TF-IDF (word 1-2 grams) + LogisticRegression text classifier per detector family.

Artifacts live in ``detectors/models/<family>-<version>.joblib`` with a JSON model card next to them
(``<family>-<version>.json``: training data hashes, parameters, held-out metrics, the artifact's sha256).
``load_model`` picks the newest card of a family (or the one pinned in options), checks the artifact's hash
against the card and returns a ``TextModel``; with no artifact the detectors run on rules alone.

The classifier reads *normalised* text (``soar.detect.normalize``: folded, with hidden and decoded segments),
the same text the rules see. Long texts are scored in overlapping windows and keep their highest window, so
one injected sentence in a 20 KB page is not diluted by the page. Word 1-2 grams are used rather than
character n-grams because they alone meet the batch budget (>= 5,000 one-KB texts/s per core; STACK.md).

Security: a joblib file is a pickle, and loading one runs code. Only load artifacts this project trained;
the sha256 check catches a swapped file, not a tampered card, so ``detectors/models`` must be as protected
as the code.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy.sparse import csr_matrix, diags
from sklearn.preprocessing import normalize

from soar.errors import ContentError

WINDOW_CHARS = 2048
WINDOW_STEP = 1536  # windows overlap by 512 characters, like the rule scanner's chunks


_URL = re.compile(r"(?:https?://|www\.)\S+")
_MAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS = re.compile(r"\d+")


def mask_volatile(text: str) -> str:
    """URLs, e-mail addresses and numbers replaced by placeholders, so the classifier learns their role, not
    the particular domains or amounts of its training data (the TF-IDF ``preprocessor``)."""
    if "://" in text or "www." in text:
        text = _URL.sub(" xurlx ", text)
    if "@" in text:  # the e-mail pattern rescans every word; run it only when an address is possible
        text = _MAIL.sub(" xmailx ", text)
    return _DIGITS.sub("0", text)


# word characters only: punctuation separates tokens (the normaliser already folded case and look-alikes)
_SEPARATORS = str.maketrans({c: " " for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~"})


def analyze(text: str) -> list[str]:
    """Word unigrams and bigrams of masked text: str.split and a zip in place of sklearn's regex analyzer,
    which is most of the cost of TF-IDF scoring (module-level, so a pickled vectorizer can find it)."""
    tokens = mask_volatile(text).translate(_SEPARATORS).split()
    return tokens + [f"{a} {b}" for a, b in pairwise(tokens)]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def windows(text: str, size: int = WINDOW_CHARS, step: int = WINDOW_STEP) -> list[str]:
    """``text`` cut into overlapping windows (one window when it is short)."""
    if len(text) <= size:
        return [text]
    return [text[i : i + size] for i in range(0, max(len(text) - (size - step), 1), step)]


@dataclass
class TextModel:
    """A fitted text classifier and its card."""

    pipeline: Any
    card: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def version(self) -> str:
        """The artifact's version string."""
        return str(self.card.get("version", "unversioned"))

    def _fast_ok(self) -> bool:
        steps = getattr(self.pipeline, "named_steps", {})
        tf = steps.get("tfidf")
        return (
            tf is not None
            and "lr" in steps
            and tf.analyzer is analyze
            and tf.sublinear_tf
            and tf.use_idf
            and tf.norm == "l2"
            and not tf.binary
        )

    def _fast_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``predict_proba`` of the TF-IDF + LR pipeline without sklearn's per-feature ``try/except`` lookup.

        sklearn's vectorizer raises and catches a KeyError for every out-of-vocabulary n-gram, which is most of
        them on real text and most of the scoring time; ``dict.get`` through ``map`` skips that. Same numbers
        (tested against ``pipeline.predict_proba``).
        """
        tf = self.pipeline.named_steps["tfidf"]
        lr = self.pipeline.named_steps["lr"]
        vocab = tf.vocabulary_
        cols: list[int] = []
        indptr = [0]
        for t in texts:
            cols.extend([j for j in map(vocab.get, analyze(t)) if j is not None])
            indptr.append(len(cols))
        x = csr_matrix(
            (np.ones(len(cols), dtype=np.float32), np.asarray(cols, dtype=np.int32), np.asarray(indptr)),
            shape=(len(texts), len(vocab)),
        )
        x.sum_duplicates()
        np.log(x.data, out=x.data)
        x.data += 1.0
        x = normalize(x @ diags(tf.idf_.astype(np.float32)), norm="l2", copy=False)
        return lr.predict_proba(x)[:, 1]

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of the positive class for each (normalised) text: one batched call, max over windows."""
        if not texts:
            return np.zeros(0)
        parts: list[str] = []
        owner: list[int] = []
        for i, t in enumerate(texts):
            w = windows(t)
            parts.extend(w)
            owner.extend([i] * len(w))
        proba = self._fast_proba(parts) if self._fast_ok() else self.pipeline.predict_proba(parts)[:, 1]
        if len(parts) == len(texts):
            return proba
        out = np.zeros(len(texts))
        np.maximum.at(out, np.asarray(owner), proba)
        return out


def model_cards(models_dir: Path, family: str) -> list[Path]:
    """Cards of ``family`` under ``models_dir``, oldest first (versions sort by time)."""
    if not models_dir.is_dir():
        return []
    return sorted(models_dir.glob(f"{family}-*.json"))


def load_model(models_dir: Path, family: str, pinned: str | None = None) -> TextModel | None:
    """The newest (or ``pinned`` version) model of ``family``, or None when there is none.

    Raises ContentError when a card exists but its artifact is missing or does not match the recorded hash.
    """
    cards = model_cards(Path(models_dir), family)
    if pinned is not None:
        cards = [c for c in cards if c.stem == f"{family}-{pinned}"]
        if not cards:
            raise ContentError(f"model {family}-{pinned} not found", source=str(models_dir))
    if not cards:
        return None
    card_path = cards[-1]
    card = json.loads(card_path.read_text(encoding="utf-8"))
    artifact = card_path.with_suffix(".joblib")
    if not artifact.is_file():
        raise ContentError("model artifact missing", source=str(artifact))
    digest = sha256_file(artifact)
    if digest != card.get("artifact_sha256"):
        raise ContentError("model artifact does not match its card's sha256", source=str(artifact))
    # no log line here: CLI commands that build detectors print JSON on stdout (the version is in each finding)
    return TextModel(joblib.load(artifact), card, artifact)
