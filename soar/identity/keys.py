"""soar's own Ed25519 token-signing key: loaded from (or created in) ``data_dir/keys/soar_signing.pem``.

Every API process that issues or checks tokens must read the same key file (same ``data_dir`` or the same
mounted secret). The public half is published as a JWK set so enforcement points can verify tokens offline.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from pydantic import BaseModel, ConfigDict

from soar.config import Settings, get_settings
from soar.telemetry.signing import key_id, public_key_b64

log = structlog.get_logger(__name__)

KEY_DIR = "keys"
KEY_FILE = "soar_signing.pem"
ALGORITHM = "EdDSA"


class JWK(BaseModel):
    """One public key in JWK form (RFC 8037: OKP / Ed25519)."""

    model_config = ConfigDict(frozen=True)

    kty: str = "OKP"
    crv: str = "Ed25519"
    x: str
    kid: str
    alg: str = ALGORITHM
    use: str = "sig"


class JWKSet(BaseModel):
    """A JWK set, as served at ``/v1/.well-known/jwks.json``."""

    keys: list[JWK]


@dataclass(frozen=True)
class SigningKey:
    """soar's private signing key and its key id (``kid`` = :func:`soar.telemetry.signing.key_id`)."""

    private_key: Ed25519PrivateKey = field(repr=False)
    kid: str
    path: Path | None = None

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The public half."""
        return self.private_key.public_key()

    def jwk(self) -> JWK:
        """The public key as a JWK."""
        return JWK(x=public_key_b64(self.public_key), kid=self.kid)

    @classmethod
    def from_private_key(cls, private_key: Ed25519PrivateKey, path: Path | None = None) -> SigningKey:
        """Wrap a private key, deriving its kid."""
        return cls(private_key=private_key, kid=key_id(private_key.public_key()), path=path)


def ensure_secret_file(path: Path, make: Callable[[], bytes]) -> bytes:
    """Return the contents of ``path``, creating it (mode 0600, parent 0700) from ``make()`` if missing.

    Creation is atomic and first-writer-wins (temp file + hard link), so two processes starting together
    end up with the same secret.
    """
    if path.exists():
        _warn_if_loose(path)
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(make())
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race; use its secret
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


def _warn_if_loose(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("secret file is readable by group or others", path=str(path), mode=oct(mode))


def _new_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def load_signing_key(path: Path) -> SigningKey:
    """Load the signing key at ``path``, generating it there first if it does not exist."""
    created = not path.exists()
    pem = ensure_secret_file(path, _new_pem)
    key = load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    sk = SigningKey.from_private_key(key, path)
    if created:
        log.info("generated token signing key", path=str(path), kid=sk.kid)
    return sk


def signing_key_path(settings: Settings) -> Path:
    """Where the signing key lives for these settings."""
    return settings.data_dir / KEY_DIR / KEY_FILE


_cache: dict[Path, SigningKey] = {}


def signing_key(settings: Settings | None = None) -> SigningKey:
    """The (cached) signing key for ``settings`` (default: process settings)."""
    path = signing_key_path(settings or get_settings()).resolve()
    if path not in _cache:
        _cache[path] = load_signing_key(path)
    return _cache[path]


def jwks(keys: Iterable[SigningKey]) -> JWKSet:
    """The public JWK set for ``keys``."""
    return JWKSet(keys=[k.jwk() for k in keys])
