"""Fingerprints: the token-hash memo keeps words only, so hostile text cannot grow it without bound."""

from __future__ import annotations

import zlib

from soar.detect.fingerprints import _TOKEN_HASH, fingerprint


def test_long_tokens_are_hashed_but_not_remembered() -> None:
    long_tokens = [f"{i:06d}" + "x" * 4000 for i in range(200)]
    before = len(_TOKEN_HASH)
    first = fingerprint(" ".join(long_tokens), words=2)
    assert not any(t in _TOKEN_HASH for t in long_tokens) and len(_TOKEN_HASH) <= before
    assert fingerprint(" ".join(long_tokens), words=2).tolist() == first.tolist()  # same hashes, memo or not
    assert _TOKEN_HASH["word"] == zlib.crc32(b"word") and "word" in _TOKEN_HASH
