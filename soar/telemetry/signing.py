"""Canonical JSON and Ed25519 signatures over telemetry events.

The signature covers the canonical JSON of the event object *as sent*, without ``sig``: keys sorted,
no insignificant white space, UTF-8 (orjson with OPT_SORT_KEYS). Verifying over the received object,
not over a re-serialised model, keeps the signature independent of how either side normalises
timestamps or UUIDs.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl import bindings as nacl_bindings
from nacl.exceptions import BadSignatureError

_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
_MIN_CHUNK = 16  # below this a thread hand-off costs more than the signature checks it moves


def canonical_bytes(obj: dict[str, Any]) -> bytes:
    """Canonical JSON of ``obj`` without its ``sig`` key."""
    if "sig" in obj:
        obj = dict(obj)  # a C-level copy: cheaper than a comprehension on the per-event path
        del obj["sig"]
    return orjson.dumps(obj, option=_OPTS)


def b64u(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text: str) -> bytes:
    """Inverse of :func:`b64u` (padding optional)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_b64(key: Ed25519PublicKey) -> str:
    """Raw 32-byte public key, base64url."""
    return b64u(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def load_public_key(b64: str) -> Ed25519PublicKey:
    """A public key from its base64url raw form."""
    return Ed25519PublicKey.from_public_bytes(b64u_decode(b64))


def key_id(key: Ed25519PublicKey) -> str:
    """Stable key id: first 16 hex chars of sha256 of the raw public key."""
    return hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def sign_object(obj: dict[str, Any], private_key: Ed25519PrivateKey, kid: str) -> dict[str, Any]:
    """Return ``obj`` with ``kid`` set and ``sig`` over its canonical form."""
    body = {k: v for k, v in obj.items() if k != "sig"}
    body["kid"] = kid
    body["sig"] = b64u(private_key.sign(canonical_bytes(body)))
    return body


def raw_public_key(key: Ed25519PublicKey | bytes) -> bytes:
    """The 32 raw bytes of a public key."""
    return key if isinstance(key, bytes) else key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def verify_bytes(canonical: bytes, sig: str, public_key: Ed25519PublicKey | bytes) -> bool:
    """True when ``sig`` is a valid signature of ``canonical`` by ``public_key`` (raw bytes or a key object).

    Verification goes through libsodium (PyNaCl): on these machines it takes about half the time of
    OpenSSL's Ed25519 through ``cryptography`` (~110 vs ~230 us), and it is on every event's path.
    """
    try:
        signature = b64u_decode(sig)
        if len(signature) != 64:
            return False
        nacl_bindings.crypto_sign_open(signature + canonical, raw_public_key(public_key))
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True


#: one signature check: (canonical bytes, signature as base64url, raw public key)
SignatureJob = tuple[bytes, str, bytes]


class VerdictCache:
    """The verdicts of the last signature checks, each kept with exactly what it checked.

    Ed25519 verification is deterministic: the same public key, signature and signed bytes always give the same
    verdict. A captured event sent again and again, or one forged record sent many times, then costs a dictionary
    lookup and a comparison of bytes instead of a signature check (40-100 µs on these machines).

    Entries are found by the signature (a string the decoder made already, so a miss costs the good path one
    lookup) and hold the public key and the signed bytes, compared on a hit: a verdict is only ever reused for
    the very check it answered. Signed bytes over ``INLINE`` are kept as their BLAKE2b digest, hashed only when
    such an entry is found again, so memory is bounded by ``size`` x ``INLINE``.

    Two generations of at most ``size`` entries each (``Settings.signature_cache_size``): when the newer one
    fills, the older one is dropped (a hit in the older one is copied forward). ``size`` 0 turns the cache off.
    """

    INLINE = 1024

    def __init__(self, size: int) -> None:
        self.size = size
        # signature -> (public key, signed bytes or their digest, whether it is the digest, verdict)
        self._new: dict[str, tuple[bytes, bytes, bool, bool]] = {}
        self._old: dict[str, tuple[bytes, bytes, bool, bool]] = {}

    @staticmethod
    def _digest(canonical: bytes) -> bytes:
        return hashlib.blake2b(canonical, digest_size=32).digest()

    def get(self, job: SignatureJob) -> bool | None:
        """The verdict of this exact check when it was made before, else None."""
        canonical, sig, key = job
        entry = self._new.get(sig)
        old = entry is None
        if old:
            entry = self._old.get(sig)
        if entry is None or entry[0] != key:
            return None
        _, body, digested, verdict = entry
        if digested != (len(canonical) > self.INLINE):
            return None
        if body != (self._digest(canonical) if digested else canonical):
            return None
        if old:
            self._insert(sig, entry)
        return verdict

    def put(self, job: SignatureJob, verdict: bool) -> None:
        """Record the verdict of a check."""
        if self.size:
            canonical, sig, key = job
            digested = len(canonical) > self.INLINE
            self._insert(sig, (key, self._digest(canonical) if digested else canonical, digested, verdict))

    def _insert(self, sig: str, entry: tuple[bytes, bytes, bool, bool]) -> None:
        new = self._new
        if len(new) >= self.size:
            self._old, self._new = new, {}
            new = self._new
        new[sig] = entry

    def __len__(self) -> int:
        return len(self._new) + len(self._old)


def verify_many(jobs: Sequence[SignatureJob], pool: Executor | None = None, shares: int = 1) -> list[bool]:
    """``verify_bytes`` over ``(canonical, sig, raw public key)`` jobs, in order, in up to ``shares`` parts.

    libsodium runs without the GIL (PyNaCl calls it through cffi), so with a pool the signature checks of
    one batch use every core: the calling thread checks the first part, ``pool`` the others. Every job is
    checked either way.
    """
    shares = min(shares, len(jobs) // _MIN_CHUNK)
    if pool is None or shares < 2:
        return verify_jobs(jobs)
    size = -(-len(jobs) // shares)
    futures = [pool.submit(verify_jobs, jobs[i : i + size]) for i in range(size, len(jobs), size)]
    out = verify_jobs(jobs[:size])
    for fut in futures:
        out.extend(fut.result())
    return out


def verify_jobs(jobs: Sequence[SignatureJob]) -> list[bool]:
    """``verify_bytes`` over ``(canonical, sig, raw public key)`` jobs, in order, in the calling thread."""
    return [verify_bytes(c, s, k) for c, s, k in jobs]


def value_hash(value: str) -> str:
    """sha256 hex of a memory value (the ledger's and the SDK's shared hash)."""
    return hashlib.sha256(value.encode()).hexdigest()
