"""Near-duplicate fingerprints of text: bottom-k sketches of word-shingle hashes, packed, compared in numpy.

A text's fingerprint is the sorted unique 32-bit hashes of its word ``words``-shingles (of the folded text;
each distinct token is hashed once with CRC32, memoised; shingle hashes are one ``numpy.convolve`` plus one
multiplicative mix). A stored item keeps the smallest ``k`` of them (a bottom-k sketch, so two sketches of the
same content pick the same shingles), base64-packed. :func:`containments_both` compares one text with many
items in one vectorised pass, with a 64K-entry low-bits filter in front of the exact lookup.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from soar.detect.normalize import fold

_MAX_HASH = 0xFFFFFFFF


class _TokenHashes(dict[str, int]):
    """Token -> CRC32, memoised (vocabularies repeat; a lookup is far cheaper than encode + crc32).

    Only words are kept (at most ``longest`` characters): an attacker's text of distinct long tokens would
    otherwise fill the memo with them, up to ``limit`` times the longest text (found by fuzzing, tests/fuzz/).
    """

    limit = 200_000
    longest = 32

    def __missing__(self, token: str) -> int:
        value = zlib.crc32(token.encode())
        if len(token) <= self.longest:
            if len(self) >= self.limit:
                self.clear()
            self[token] = value
        return value


_TOKEN_HASH = _TokenHashes()
_P = 0x100000001B3  # odd multiplier for the polynomial combination of token hashes
_MIX = np.uint64(0xFF51AFD7ED558CCD)  # murmur3 fmix constant: one multiply spreads the sum into the high bits
_S32 = np.uint64(32)
_EMPTY = np.empty(0, dtype=np.uint32)
_LOW16 = np.uint32(0xFFFF)
_FILTER = np.zeros(1 << 16, dtype=np.bool_)  # scratch for ``containments``, all False between calls
_KERNELS: dict[int, np.ndarray] = {}


def _kernel(words: int) -> np.ndarray:
    """[1, P, P^2, ...] mod 2^64: convolving token hashes with it gives each shingle's polynomial hash."""
    if words not in _KERNELS:
        _KERNELS[words] = np.array([pow(_P, j, 1 << 64) for j in range(words)], dtype=np.uint64)
    return _KERNELS[words]


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """Sort + drop repeats (np.unique's hash path is several times slower on arrays this small)."""
    a = np.sort(a)
    if len(a) > 1:
        a = a[np.concatenate(([True], a[1:] != a[:-1]))]
    return a


def fingerprint(text: str, words: int = 5, max_chars: int = 65_536) -> np.ndarray:
    """Sorted unique 32-bit hashes of every ``words``-shingle of the folded text's words (stable across processes).

    Words are the whitespace-separated tokens of ``fold(text)`` (punctuation stays attached: relayed content
    keeps it). Each distinct token is hashed once (memoised CRC32); shingle hashes are one convolution.
    """
    text = text[:max_chars]
    tokens = (text.lower() if text.isascii() else fold(text)).split()
    n = len(tokens)
    if n == 0:
        return _EMPTY
    th = np.fromiter(map(_TOKEN_HASH.__getitem__, tokens), dtype=np.uint64, count=n)
    h = np.convolve(th, _kernel(min(words, n)), mode="valid")  # uint64 arithmetic wraps: mod 2^64
    return _sorted_unique(((h * _MIX) >> _S32).astype(np.uint32))


def shingle_hashes(text: str, words: int = 5, max_chars: int = 65_536) -> set[int]:
    """``fingerprint`` as a set of ints."""
    return set(fingerprint(text, words, max_chars).tolist())


def pack(hashes: np.ndarray) -> str:
    """A sorted uint32 array as JSON-able text (base64 of little-endian bytes)."""
    return base64.b64encode(hashes.astype("<u4").tobytes()).decode("ascii")


_UNPACKED: dict[str, np.ndarray] = {}  # packed sketch -> array: a pure function of the value, so safe to memoise


def unpack(packed: str | list[int]) -> np.ndarray:
    """The sorted uint32 array of a packed sketch (a plain list of ints is accepted too)."""
    if not isinstance(packed, str):
        return np.asarray(sorted(packed), dtype=np.uint32)
    arr = _UNPACKED.get(packed)
    if arr is None:
        arr = np.frombuffer(binascii.a2b_base64(packed), dtype="<u4")
        if len(_UNPACKED) >= 4096:
            _UNPACKED.clear()
        _UNPACKED[packed] = arr
    return arr


def _sketch(hashes: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """The k smallest hashes (input is sorted) and the threshold below which the sketch is complete."""
    if len(hashes) <= k:
        return hashes, _MAX_HASH
    return hashes[:k], int(hashes[k - 1])


def _as_sorted(sent: np.ndarray | set[int]) -> np.ndarray:
    if isinstance(sent, np.ndarray):
        return sent
    return np.asarray(sorted(sent), dtype=np.uint32)


def containments(sent: np.ndarray | set[int], items: Sequence[dict[str, Any]]) -> np.ndarray:
    """``containment`` of ``sent`` against each item, in one vectorised pass."""
    item_in_sent, sent_in_item = containments_both(sent, items)
    return np.maximum(item_in_sent, sent_in_item)


def containments_both(sent: np.ndarray | set[int], items: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """(item in sent, sent in item) per item, both estimated from the item's sketch."""
    out = np.zeros(len(items), dtype=np.float64)
    sent = _as_sorted(sent)
    if not len(items) or not len(sent):
        return out, out.copy()
    sketches = [unpack(i["h"]) for i in items]
    lens = np.fromiter(map(len, sketches), dtype=np.int64, count=len(sketches))
    nonempty = lens > 0
    if not nonempty.any():
        return out, out.copy()
    flat = np.concatenate(sketches)
    # a 64K-entry filter on the sent hashes' low 16 bits rules out almost every item hash with one gather;
    # only the few candidates are looked up exactly
    low = (sent & _LOW16).astype(np.intp)
    _FILTER[low] = True
    candidates = np.flatnonzero(np.take(_FILTER, (flat & _LOW16).astype(np.intp)))
    _FILTER[low] = False
    pos = np.minimum(np.searchsorted(sent, flat[candidates]), len(sent) - 1)
    found = candidates[sent[pos] == flat[candidates]]
    owner = np.repeat(np.arange(len(items)), lens)
    inside = np.bincount(owner[found], minlength=len(items))
    thresholds = np.fromiter((i["t"] for i in items), dtype=np.uint64, count=len(items))
    # the sent shingles the item's sketch would have kept: those at or below its threshold
    below = np.searchsorted(sent.astype(np.uint64), thresholds, side="right")
    item_in_sent = np.divide(inside, lens, out=np.zeros_like(out), where=nonempty)
    sent_in_item = np.divide(inside, below, out=np.zeros_like(out), where=below >= 2)
    return item_in_sent, np.minimum(sent_in_item, 1.0)


def containment(sent: np.ndarray | set[int], item: dict[str, Any]) -> float:
    """How much of one side is inside the other: max of (item in sent, sent in item), both from the sketch."""
    return float(containments(sent, [item])[0])
