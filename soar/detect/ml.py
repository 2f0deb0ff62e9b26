"""The text-classifier layer: hashed character and word n-grams + a linear model, applied with numpy.

A model is two files in ``detectors/models/``: ``<family>-<version>.npz`` (the coefficients, float32, and the
intercept; loaded with ``allow_pickle=False``, so loading runs no code) and its JSON model card
``<family>-<version>.json`` (feature parameters, threshold, training data hashes, metrics and the npz's
sha256). ``load_model`` picks the newest card of a family (or the one pinned in options), checks the artifact's
hash against the card and returns a ``TextModel``; with no artifact the detectors run on rules alone.

Features (``HashSpec``): every character n-gram (3, 4, 5 by default) of the UTF-8 bytes and every word
unigram and bigram, hashed into ``2**bits`` buckets. Hashing is vectorised over a whole batch: one prefix
polynomial hash (``cumsum`` in wrapping uint32 arithmetic) gives the hash of any byte span as
``(G[e] - G[s]) * P**-s``, so no n-gram string is ever built and there is no vocabulary dict. A text's
feature vector is its bucket counts divided by their L2 norm, so its score is
``intercept + sum(coef[buckets]) / norm``: gathers, one ``add.reduceat`` and a few ``bincount`` per batch.

The classifier reads *normalised* text (``soar.detect.normalize``: folded, with hidden and decoded segments),
the same text the rules see, with URLs, e-mail addresses and numbers masked (``xurlx``, ``xmailx``, ``0``;
featuriser ``soar-hash-v4`` also reads hex ids of 16+ digits as ``xidx``, ``mask_hex_runs``; ``soar-hash-v5``
adds word skip bigrams, each word with the word 2 or 3 after it).
Long texts are scored in overlapping windows and keep their highest window, so one injected sentence in a
20 KB page is not diluted by the page.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from soar.detect.cues import cue_tokens, cue_words
from soar.detect.cues import cues as cues_of
from soar.detect.normalize import as_text
from soar.errors import ContentError

WINDOW_CHARS = 2048
WINDOW_STEP = 1536  # windows overlap by 512 characters, like the rule scanner's chunks
# Texts featurised at a time when scoring: the temporary arrays (~60 bytes per character) and the norm's
# table (32 KB per row) stay in cache. 1 KB texts score in ~50 µs each in 32K-character pieces, ~90 in 128K.
DOT_CHUNK_CHARS = 1 << 15  # characters
DOT_CHUNK_ROWS = 64  # rows (short texts: the norm's table grows with rows, not characters)
NORM_BITS = 12  # bins per row for the L2 norm of a row's bucket counts
FEATURES = "soar-hash-v2"  # the featuriser's name in model cards; bump when hashing changes
FEATURES_CUES = "soar-hash-v3"  # v2 plus the structural cue words of ``soar.detect.cues``
FEATURES_HEX = "soar-hash-v4"  # v3 with every hex run of HEX_RUN+ digits that is no encoded text as one word, ``xidx``
FEATURES_SKIP = "soar-hash-v5"  # v3 plus word skip bigrams: each word with the word ``gap`` after it (``skip_gaps``)
FEATURE_VERSIONS = (FEATURES, FEATURES_CUES, FEATURES_HEX, FEATURES_SKIP)
SKIP_GAPS = (2, 3)  # "ignore all previous instructions", "ignore the prior instructions": (ignore, instructions)
HEX_RUN = 16  # hex digits in a run that stands for an opaque id (commit ids, digests, keys), not for its digits
SPANS = (1, 2, 3)  # sentence runs scored by ``dot_spans``
MIN_SPAN = 48  # features (about 16 words) a sentence run needs before its score counts
MIN_SENTENCE_CHARS = 16  # a shorter sentence is never scored alone (``TextModel.cue_sentences``)

_URL = re.compile(r"(?:https?://|www\.)\S+")
_MAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS = re.compile(r"\d+")
_DIGIT_RUNS = re.compile(r"(\d+)")
_HEX_RUN = re.compile(rb"[0-9a-fA-F]{%d,}" % HEX_RUN)
_HEX_BYTE = np.zeros(256, dtype=bool)
for _c in b"0123456789abcdefABCDEF":
    _HEX_BYTE[_c] = True

_P = np.uint32(0x01000193)  # FNV-32 prime: odd, so invertible modulo 2**32
_P_INV = np.uint32(pow(0x01000193, -1, 1 << 32))
_MIX = np.uint32(0x9E3779B1)
_BIGRAM = np.uint32(0x85EBCA77)
_SALT_WORD = np.uint32(0x27D4EB2F)
_SALT_SKIP = np.uint32(0x165667B1)  # with the gap: a skip bigram never hashes as a bigram or another gap's
#: byte -> is a word character (ASCII letters and digits, and every byte of a multi-byte UTF-8 character)
_WORD_BYTE = np.zeros(256, dtype=bool)
for _c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_":
    _WORD_BYTE[_c] = True
_WORD_BYTE[128:] = True


_STOPS = np.frombuffer(b".!?", dtype=np.uint8)
_DIGIT_FOLD = np.arange(256, dtype=np.uint8)
_DIGIT_FOLD[ord("0") : ord("9") + 1] = ord("0")  # every digit hashes as 0: amounts and ids are not vocabulary
_POWERS: list[np.ndarray] = [np.ones(1, dtype=np.uint32), np.ones(1, dtype=np.uint32)]


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i (mod 2**32) for i < n, cached and grown by doubling."""
    if len(_POWERS[0]) < n:
        size = max(n, 2 * len(_POWERS[0]), 1 << 16)
        with np.errstate(over="ignore"):
            for i, base in enumerate((_P, _P_INV)):
                p = np.full(size, base, dtype=np.uint32)
                p[0] = 1
                _POWERS[i] = np.cumprod(p, dtype=np.uint32)
    return _POWERS[0], _POWERS[1]


def _token_sub(rx: re.Pattern[str], repl: str, text: str, markers: tuple[str, ...]) -> str:
    """``rx.sub(repl, text)``, run only over the tokens (text between spaces and line breaks) holding a marker.

    The same result for ``_URL`` and ``_MAIL``: none of their matches holds a space or a line break, each
    holds one of ``markers``, and the one character ``_MAIL`` looks behind at a token's start is a space or a
    line break (outside its class) or the start of the text, which the look-behind treats alike; so every match
    lies inside one marked token and is found there as in the whole text. Running the pattern over a whole
    1 KB text cost ~26 µs (the e-mail pattern tries every word); the marked tokens cost ~1 µs.
    """
    spans: set[tuple[int, int]] = set()
    end = len(text)
    for marker in markers:
        i = text.find(marker)
        while i != -1:
            a = text.rfind(" ", 0, i) + 1
            a = max(a, text.rfind("\n", a, i) + 1)
            b = text.find(" ", i)
            nl = text.find("\n", i, end if b == -1 else b)
            b = end if b == -1 and nl == -1 else (nl if nl != -1 else b)
            spans.add((a, b))
            i = text.find(marker, b)
    if not spans:
        return text
    out: list[str] = []
    last = 0
    for a, b in sorted(spans):
        out.append(text[last:a])
        out.append(rx.sub(repl, text[a:b]))
        last = b
    out.append(text[last:])
    return "".join(out)


def _mask_links(text: str) -> str:
    """URLs and e-mail addresses replaced by placeholders (digits are folded later, on the bytes)."""
    text = _token_sub(_URL, " xurlx ", text, ("://", "www."))
    return _token_sub(_MAIL, " xmailx ", text, ("@",))


def _opaque_id(m: re.Match[bytes]) -> bytes:
    """A hex run's view: `` xidx `` unless it decodes to text (then the normaliser has scanned its decoding, and
    its digits stay: the same encoded words give the same digits)."""
    run = m.group(0)
    return run if as_text(bytes.fromhex(run[: len(run) // 2 * 2].decode("ascii"))) else b" xidx "


def mask_hex_runs(encoded: list[bytes]) -> list[bytes]:
    """``encoded`` (UTF-8 texts) with every run of ``HEX_RUN`` or more hex digits that is not encoded text
    replaced by `` xidx ``.

    A 40-digit commit id or a SHA-256 digest is an opaque id: its digit n-grams are not vocabulary. The
    corpus' only long hex runs were its hex-encoded attacks, so a model reading the digits learned them as
    attack evidence and scored ``git log`` output and checksum lists as attacks. A run that decodes to text
    (the normaliser's own test, ``soar.detect.normalize.as_text``) is left as it is: that is an encoded
    message, not an id. The runs are found for the whole batch in numpy (one table lookup and one comparison
    per byte, ~2 µs per KB) and only the texts holding one go through the pattern.
    """
    if not encoded:
        return encoded
    joined = b"\0" + b"\0".join(encoded) + b"\0"  # the separators are not hex: runs never span two texts
    is_hex = _HEX_BYTE[np.frombuffer(joined, dtype=np.uint8)]
    edge = np.flatnonzero(is_hex[1:] != is_hex[:-1])  # a run's start, its end, the next start, ... (ends are not hex)
    long = edge[0::2][(edge[1::2] - edge[0::2]) >= HEX_RUN]
    if not len(long):
        return encoded
    offsets = np.cumsum([len(b) + 1 for b in encoded])  # the separator after each text, as its last position
    out = list(encoded)
    for row in np.unique(np.searchsorted(offsets, long, side="right")):
        out[row] = _HEX_RUN.sub(_opaque_id, out[row])
    return out


def mask_volatile(text: str) -> str:
    """URLs, e-mail addresses and numbers replaced by placeholders, so the classifier learns their role, not
    the particular domains or amounts of its training data."""
    return _DIGITS.sub("0", _mask_links(text))


_SENTENCE_END = re.compile(r"(?<=[.!?]) |\n")


def _sentences(text: str, min_chars: int = 1) -> list[str]:
    """The sentences of ``text`` as ``HashSpec.dot_spans`` splits them (after ``.``, ``!`` or ``?`` and a space,
    and at line breaks), those under ``min_chars`` characters left out."""
    return [s for s in _SENTENCE_END.split(text) if len(s.strip()) >= min_chars]


def sentence_runs(text: str, spans: Sequence[int] = SPANS) -> list[str]:
    """Every run of ``spans`` consecutive sentences of ``text`` (``_sentences``); for training on sentence-sized
    rows."""
    sentences = _sentences(text)
    return [" ".join(sentences[i : i + k]) for k in spans for i in range(len(sentences) - k + 1)]


def _cue_count(words: str) -> int:
    """How many distinct cues ``cue_words`` wrote ``words`` for (n cues give n words and n(n-1)/2 pair words)."""
    return (math.isqrt(8 * len(words.split()) + 1) - 1) // 2


def cue_sentences(
    texts: Sequence[str], min_cues: int, cues: Sequence[str | None] | None = None
) -> tuple[list[str], list[int], list[str]]:
    """The sentences of ``texts`` (of two sentences or more) that hold at least ``min_cues`` distinct cues: each
    sentence, the index of its text and its cue words. ``cues``: the texts' cue words when known (a text with
    fewer cues than ``min_cues`` has no such sentence, so it is not split); sentences are split like
    ``sentence_runs``, and those under ``MIN_SENTENCE_CHARS`` characters are left out."""
    out: tuple[list[str], list[int], list[str]] = ([], [], [])
    for i, text in enumerate(texts):
        known = cues[i] if cues is not None else None
        if (_cue_count(known) if known is not None else len(cues_of(text))) < min_cues:
            continue
        sentences = _sentences(text, MIN_SENTENCE_CHARS)
        if len(sentences) < 2:
            continue
        for sentence in sentences:
            found = cues_of(sentence)
            if len(found) >= min_cues:
                out[0].append(sentence)
                out[1].append(i)
                out[2].append(cue_words(found))
    return out


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


@dataclass(frozen=True)
class HashSpec:
    """How texts become hashed features (recorded in the model card; the model is only valid with it)."""

    bits: int = 18
    char_ngrams: tuple[int, ...] = (3, 4, 5)
    words: bool = True  # word unigrams and bigrams
    # FEATURES_CUES: append the cue words of soar.detect.cues; FEATURES_HEX: and hex runs; FEATURES_SKIP: cue words
    # and skip bigrams
    features: str = FEATURES
    skip_gaps: tuple[int, ...] = SKIP_GAPS  # read by FEATURES_SKIP only

    def __post_init__(self) -> None:
        if not all(isinstance(g, int) and g >= 2 for g in self.skip_gaps):
            raise ContentError(f"skip_gaps {list(self.skip_gaps)!r}: word gaps of 2 or more (1 is the bigram)")

    @property
    def cues(self) -> bool:
        """Whether the cue words of ``soar.detect.cues`` are appended to every text (``soar-hash-v3`` and on)."""
        return self.features in (FEATURES_CUES, FEATURES_HEX, FEATURES_SKIP)

    @classmethod
    def from_card(cls, d: dict[str, Any]) -> HashSpec:
        """The spec recorded in a model card; raises ContentError for an unknown featuriser."""
        if d.get("features") not in FEATURE_VERSIONS:
            raise ContentError(f"model card features {d.get('features')!r} are not one of {FEATURE_VERSIONS}")
        return cls(
            bits=int(d["bits"]),
            char_ngrams=tuple(int(n) for n in d["char_ngrams"]),
            words=bool(d["words"]),
            features=str(d["features"]),
            skip_gaps=tuple(int(g) for g in d.get("skip_gaps", SKIP_GAPS)),
        )

    def card(self) -> dict[str, Any]:
        """This spec as JSON-able card data."""
        card = {**asdict(self), "char_ngrams": list(self.char_ngrams), "skip_gaps": list(self.skip_gaps)}
        if self.features != FEATURES_SKIP:
            del card["skip_gaps"]  # cards of the featurisers before v5 stay as they were
        return card

    def hashes(self, texts: Sequence[str], cues: Sequence[str | None] | None = None) -> _Hashed:
        """The n-gram hashes of ``texts``, all rows in one pass over their concatenated bytes.

        ``cues`` (featuriser ``soar-hash-v3``): each text's cue words when the caller has them already (from a
        rule pass that carried the cue patterns, ``RuleSet.match_extra``), None where they must be computed.

        Each row is preceded and followed by ``max(n) - 1`` NUL bytes. A character n-gram belongs to the row it
        starts in (or whose leading padding it starts in), and the padding is wide enough that no n-gram reaches
        another row, so a row's features never depend on its batch; n-grams touching the padding mark the
        beginning and end of the text. Hashes are polynomial modulo 2**32 from one prefix sum:
        ``hash(s, e) = (G[e] - G[s]) * P**-s``.
        """
        n_rows = len(texts)
        pad = max(max(self.char_ngrams, default=1) - 1, 1)
        if self.cues:
            known = cues if cues is not None else [None] * n_rows
            texts = [f"{t}\n{cue_tokens(t) if c is None else c}" for t, c in zip(texts, known, strict=True)]
        encoded = [_mask_links(t).encode("utf-8", "replace") for t in texts]
        if self.features == FEATURES_HEX:
            encoded = mask_hex_runs(encoded)
        lens = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=n_rows)
        sep = b"\0" * pad
        data = _DIGIT_FOLD[np.frombuffer(sep + sep.join(encoded) + sep, dtype=np.uint8)]
        size = len(data) - pad  # n-grams start before the final padding
        block = lens + pad
        starts = np.zeros(n_rows, dtype=np.int64)
        np.cumsum(block[:-1], out=starts[1:])
        pw, ipw = _powers(len(data) + 1)
        chars: list[np.ndarray] = []
        word_rows: list[np.ndarray] = []
        word_pos: list[np.ndarray] = []
        words: list[np.ndarray] = []
        with np.errstate(over="ignore"):
            g = np.zeros(len(data) + 1, dtype=np.uint32)
            np.cumsum(np.multiply(data, pw[: len(data)], dtype=np.uint32), out=g[1:])
            for n in self.char_ngrams:
                h = g[n : n + size] - g[:size]
                h *= ipw[:size]
                h += np.uint32(n)
                chars.append(h)
            if self.words and n_rows:
                # the padding is not word bytes, so the batch starts and ends outside a word and its changes of
                # word-ness alternate: a word's start, its end, the next start, ...
                w = _WORD_BYTE[data]
                edge = np.flatnonzero(w[1:] != w[:-1])
                edge += 1
                t_start = edge[0::2]
                t_end = edge[1::2]
                wh = (g[t_end] - g[t_start]) * ipw[t_start] ^ _SALT_WORD
                t_row = np.searchsorted(starts, t_start, side="right") - 1
                same = t_row[1:] == t_row[:-1]
                word_rows = [t_row, t_row[1:][same]]
                word_pos = [t_start, t_start[:-1][same]]
                words = [wh, (wh[:-1] * _BIGRAM + wh[1:])[same]]
                if self.features == FEATURES_SKIP:
                    for gap in self.skip_gaps:
                        near = t_row[gap:] == t_row[:-gap]
                        word_rows.append(t_row[gap:][near])
                        word_pos.append(t_start[:-gap][near])
                        words.append(((wh[:-gap] * _BIGRAM + wh[gap:]) ^ (_SALT_SKIP * np.uint32(gap)))[near])
        return _Hashed(n_rows, starts, block, chars, word_rows, words, word_pos, data)

    def bucket(self, h: np.ndarray) -> np.ndarray:
        """Hash values mixed and cut to ``bits`` bits (bucket indices, ``intp``: what indexing and ``bincount``
        use, so they convert nothing)."""
        with np.errstate(over="ignore"):
            m = h >> np.uint32(15)
            m ^= h
            m *= _MIX
            m >>= np.uint32(32 - self.bits)
        return m.astype(np.intp)

    def featurise(self, texts: Sequence[str], cues: Sequence[str | None] | None = None) -> _Features:
        """Bucket indices of every n-gram of ``texts`` and each row's scale (1 / norm).

        The norm makes a text and the same text repeated score alike: the L2 norm of the row's counts of its
        middle character n-gram and its words (a third of the work of all n-grams), over the low ``NORM_BITS``
        bits of the buckets (one ``bincount`` over rows x 4096 bins instead of a sort). Colliding n-grams are
        over-counted a little, the same way in training and scoring.
        """
        if not texts:
            raise ValueError("featurise needs at least one text")
        hs = self.hashes(texts, cues)
        char_rows = np.repeat(np.arange(hs.n_rows, dtype=np.intp), hs.block)
        chars = [self.bucket(h) for h in hs.chars]
        words = [self.bucket(h) for h in hs.words]
        mask = (1 << NORM_BITS) - 1
        keys = [(r << NORM_BITS) | (b & mask) for r, b in zip(hs.word_rows, words, strict=True)]
        if chars:
            keys.append((char_rows << NORM_BITS) | (chars[len(chars) // 2] & mask))
        if keys and hs.n_rows:
            c = np.bincount(np.concatenate(keys), minlength=hs.n_rows << NORM_BITS).reshape(hs.n_rows, -1)
            sumsq = np.einsum("ij,ij->i", c, c)
        else:
            sumsq = np.zeros(hs.n_rows, dtype=np.int64)
        scale = 1.0 / np.sqrt(np.maximum(sumsq, 1))
        return _Features(hs, char_rows, chars, words, scale)

    def matrix(self, texts: Sequence[str], batch: int = 256) -> Any:
        """The feature matrix of ``texts`` (scipy CSR, float32), for training; built ``batch`` rows at a time
        (a row's features never depend on its batch)."""
        from scipy.sparse import csr_matrix, vstack

        parts = []
        for i in range(0, len(texts), batch):
            f = self.featurise(texts[i : i + batch])
            rows = [f.char_rows] * len(f.chars) + f.hashed.word_rows
            row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
            col = np.concatenate([*f.chars, *f.words]).astype(np.int64) if rows else np.zeros(0, dtype=np.int64)
            x = csr_matrix(
                (f.scale[row].astype(np.float32), (row, col)), shape=(f.hashed.n_rows, 1 << self.bits), dtype=np.float32
            )
            x.sum_duplicates()
            parts.append(x)
        if not parts:
            return csr_matrix((0, 1 << self.bits), dtype=np.float32)
        return vstack(parts, format="csr")

    def dot(self, texts: Sequence[str], coef: np.ndarray, cues: Sequence[str | None] | None = None) -> np.ndarray:
        """``matrix(texts) @ coef`` without building the matrix: gathers, one ``add.reduceat`` and bincounts."""
        if not texts:
            return np.zeros(0)
        f = self.featurise(texts, cues)
        hs = f.hashed
        sums = np.zeros(hs.n_rows)
        if f.chars:
            acc = np.take(coef, f.chars[0])
            tmp = np.empty_like(acc)
            for b in f.chars[1:]:
                acc += np.take(coef, b, out=tmp)
            sums += np.add.reduceat(acc, hs.starts, dtype=np.float64)  # blocks are never empty (padding)
        for r, b in zip(hs.word_rows, f.words, strict=True):
            sums += np.bincount(r, weights=np.take(coef, b), minlength=hs.n_rows)
        return sums * f.scale

    def dot_spans(
        self,
        texts: Sequence[str],
        coef: np.ndarray,
        spans: Sequence[int] = SPANS,
        min_features: int = MIN_SPAN,
        cues: Sequence[str | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``dot(texts, coef)`` and, per row, the highest score of any run of 1..max(spans) consecutive
        sentences (-inf when the row has no run of ``min_features`` features).

        A sentence ends after ``.``, ``!`` or ``?`` followed by a space, and at a line break (the normaliser
        joins its segments with line breaks). Every n-gram belongs to the position it starts at, so a run's
        sum is a difference of one cumulative sum over the batch: sentence runs cost O(length), not another
        pass. A run is scaled by 1/sqrt(its feature count), the L2 norm of a text without repeated n-grams
        (sentences rarely repeat one), so a sentence scores about as it would alone.
        """
        if not texts:
            return np.zeros(0), np.zeros(0)
        f = self.featurise(texts, cues)
        hs = f.hashed
        size = len(f.char_rows)
        contrib = np.zeros(size)
        count = np.zeros(size)
        if f.chars:
            acc = np.take(coef, f.chars[0])
            tmp = np.empty_like(acc)
            for b in f.chars[1:]:
                acc += np.take(coef, b, out=tmp)
            contrib += acc
            count += 1.0  # the norm counts one character n-gram size per position (see featurise)
        if self.words and len(hs.words[0]):
            for pos, b in zip(hs.word_pos, f.words, strict=True):
                contrib += np.bincount(pos, weights=np.take(coef, b), minlength=size)
                count += np.bincount(pos, minlength=size)
        whole = np.add.reduceat(contrib, hs.starts) * f.scale
        data = hs.data[:size]
        term = np.isin(data, _STOPS)
        nxt = hs.data[1 : size + 1]
        cut = np.flatnonzero((data == ord("\n")) | (term & ((nxt == ord(" ")) | (nxt == 0)))) + 1
        bounds = np.union1d(cut, np.concatenate([hs.starts, [size]]))
        seg_row = np.searchsorted(hs.starts, bounds[:-1], side="right") - 1
        c_sum = np.concatenate([[0.0], np.cumsum(contrib)])
        c_cnt = np.concatenate([[0.0], np.cumsum(count)])
        best = np.full(hs.n_rows, -np.inf)
        n_seg = len(bounds) - 1
        for k in spans:
            if k > n_seg:
                continue
            s = bounds[: n_seg - k + 1]
            e = bounds[k:]
            ok = seg_row[: n_seg - k + 1] == seg_row[k - 1 :]
            cnt = c_cnt[e] - c_cnt[s]
            ok &= cnt >= min_features
            if not ok.any():
                continue
            val = (c_sum[e] - c_sum[s])[ok] / np.sqrt(cnt[ok])
            np.maximum.at(best, seg_row[: n_seg - k + 1][ok], val)
        return whole, best


@dataclass(frozen=True)
class _Hashed:
    """N-gram hashes of a batch (see ``HashSpec.hashes``)."""

    n_rows: int
    starts: np.ndarray  # first character position of each row's block
    block: np.ndarray  # character positions per row (its length plus the padding)
    chars: list[np.ndarray]  # per n: the hash at every character position (aligned with the blocks)
    word_rows: list[np.ndarray]  # unigrams, bigrams (and skip bigrams, soar-hash-v5): the row of each
    words: list[np.ndarray]
    word_pos: list[np.ndarray]  # unigrams, bigrams (, skip bigrams): the batch position each starts at
    data: np.ndarray  # the batch's (digit-folded) bytes, rows separated by NUL padding


@dataclass(frozen=True)
class _Features:
    """Bucket indices of a batch and each row's scale (see ``HashSpec.featurise``)."""

    hashed: _Hashed
    char_rows: np.ndarray  # the row of every character position
    chars: list[np.ndarray]  # per n: the bucket at every character position
    words: list[np.ndarray]  # unigram, bigram buckets (rows in ``hashed.word_rows``)
    scale: np.ndarray  # 1 / L2 norm of the row's bucket counts


@dataclass
class TextModel:
    """A fitted hashed linear classifier and its card."""

    spec: HashSpec
    coef: np.ndarray
    intercept: float
    card: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def version(self) -> str:
        """The artifact's version string."""
        return str(self.card.get("version", "unversioned"))

    @property
    def spans(self) -> tuple[int, ...]:
        """Sentence runs scored besides the whole text (card ``scoring.spans``; none for older cards)."""
        return tuple(int(k) for k in self.card.get("scoring", {}).get("spans", ()))

    @property
    def cue_sentences(self) -> int:
        """Distinct cues a sentence needs to be scored alone as well (card ``scoring.cue_sentences``; 0: off)."""
        return int(self.card.get("scoring", {}).get("cue_sentences", 0))

    def decision(self, texts: Sequence[str], cues: Sequence[str | None] | None = None) -> np.ndarray:
        """Linear scores (logits) of ``texts``, each scored as one window: the whole text's score, or, when the
        card names sentence ``spans``, the higher of it and the best run of consecutive sentences; with
        ``cue_sentences``, also the higher of it and each sentence's own score where the sentence holds that
        many distinct cues (``soar.detect.cues``: what an injection does), so a sentence of that kind is not
        diluted by the benign text around it.

        Texts are featurised at most ``DOT_CHUNK_CHARS`` characters and ``DOT_CHUNK_ROWS`` rows at a time (a
        row's features never depend on its batch, so the scores are the same): the temporary arrays, ~60 bytes
        per character, and the norm's table, 32 KB per row, stay bounded however much text a batch of events
        carries, and stay in cache (faster than one pass over the whole batch).
        """
        if not texts:
            return np.zeros(0)
        out: list[np.ndarray] = []
        start, size = 0, 0
        for i, t in enumerate(texts):
            if i > start and (size + len(t) > DOT_CHUNK_CHARS or i - start >= DOT_CHUNK_ROWS):
                out.append(self._logits(texts[start:i], None if cues is None else cues[start:i]))
                start, size = i, 0
            size += len(t)
        out.append(self._logits(texts[start:], None if cues is None else cues[start:]))
        return (out[0] if len(out) == 1 else np.concatenate(out)) + self.intercept

    def _logits(self, texts: Sequence[str], cues: Sequence[str | None] | None = None) -> np.ndarray:
        """Scores of ``texts`` without the intercept (see ``decision``)."""
        gate = self.cue_sentences if self.spec.cues else 0
        if gate:  # one cue pass per text serves the whole text and the choice of its sentences
            known = cues if cues is not None else [None] * len(texts)
            cues = [cue_tokens(t) if c is None else c for t, c in zip(texts, known, strict=True)]
        if not self.spans:
            scores = self.spec.dot(texts, self.coef, cues)
        else:
            scoring = self.card["scoring"]
            min_features = int(scoring.get("min_features", MIN_SPAN))
            whole, best = self.spec.dot_spans(texts, self.coef, self.spans, min_features, cues)
            scores = np.maximum(whole, best + float(scoring.get("span_offset", 0.0)))
        if gate:
            sentences, owner, words = cue_sentences(texts, gate, cues)
            if sentences:
                np.maximum.at(scores, np.asarray(owner), self.spec.dot(sentences, self.coef, words))
        return scores

    def predict(self, texts: Sequence[str], cues: Sequence[str | None] | None = None) -> np.ndarray:
        """Probability of the positive class for each (normalised) text: one batched pass, max over windows.

        ``cues``: each text's cue words when known already (see ``HashSpec.hashes``); they stand for a text only
        when it is one window, so a longer text's windows compute their own.
        """
        if not texts:
            return np.zeros(0)
        parts: list[str] = []
        owner: list[int] = []
        part_cues: list[str | None] = []
        for i, t in enumerate(texts):
            w = windows(t)
            parts.extend(w)
            owner.extend([i] * len(w))
            part_cues.extend([cues[i]] if cues is not None and len(w) == 1 else [None] * len(w))
        proba = 1.0 / (1.0 + np.exp(-self.decision(parts, part_cues if cues is not None else None)))
        if len(parts) == len(texts):
            return proba
        out = np.zeros(len(texts))
        np.maximum.at(out, np.asarray(owner), proba)
        return out

    def save(self, artifact: Path) -> str:
        """Write the coefficients to ``artifact`` (.npz, no pickle); returns its sha256."""
        with open(artifact, "wb") as f:
            np.savez_compressed(f, coef=self.coef.astype(np.float32), intercept=np.float64(self.intercept))
        return sha256_file(artifact)


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key of a model version: runs of digits compare as numbers, so ``2026.12.06-10`` follows
    ``2026.12.06-9`` (as text it would sort before ``2026.12.06-2``); UTC-timestamp versions sort by time."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _DIGIT_RUNS.split(version) if p)


def model_cards(models_dir: Path, family: str) -> list[Path]:
    """Cards of ``family`` under ``models_dir``, oldest first (by ``version_key``)."""
    if not models_dir.is_dir():
        return []
    return sorted(models_dir.glob(f"{family}-*.json"), key=lambda p: version_key(p.stem.removeprefix(f"{family}-")))


def load_model(models_dir: Path, family: str, pinned: str | None = None) -> TextModel | None:
    """The newest (or ``pinned`` version) model of ``family``, or None when there is none.

    Raises ContentError when a card exists but its artifact is missing, does not match the recorded hash, or
    does not fit the card's feature parameters.
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
    name = str(card.get("artifact", card_path.with_suffix(".npz").name))
    if "/" in name or "\\" in name or name.startswith(".") or not name.endswith(".npz"):
        raise ContentError("model card names an artifact outside its directory or not .npz", source=str(card_path))
    artifact = card_path.with_name(name)
    if not artifact.is_file():
        raise ContentError("model artifact missing", source=str(artifact))
    if sha256_file(artifact) != card.get("artifact_sha256"):
        raise ContentError("model artifact does not match its card's sha256", source=str(artifact))
    spec = HashSpec.from_card(card.get("hashing", {}))
    try:
        with np.load(artifact, allow_pickle=False) as npz:
            coef = np.asarray(npz["coef"], dtype=np.float32)
            intercept = float(npz["intercept"])
    except (ValueError, KeyError, OSError) as e:
        raise ContentError(f"unreadable model artifact: {e}", source=str(artifact)) from e
    if coef.shape != (1 << spec.bits,):
        raise ContentError(f"coefficients {coef.shape} do not fit {spec.bits} hash bits", source=str(artifact))
    # no log line here: CLI commands that build detectors print JSON on stdout (the version is in each finding)
    return TextModel(spec, coef, intercept, card, artifact)
