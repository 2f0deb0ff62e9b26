"""Enrollment on the agent side: generate the Ed25519 key locally, keep it in a 0600 file, register its public half.

The private key never leaves the agent: ``POST /v1/enroll`` carries the one-time token, the public key and a
signature by the new key over the request (proof of possession)::

    enrolled = await enroll(api_url, token, "web-researcher", key_path=Path("~/.agent/soar.pem").expanduser())
    agent = SoarAgent("web-researcher", enrolled.private_key, bootstrap, topics, api_url=api_url)
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from soar.errors import SoarError
from soar.telemetry.signing import key_id, public_key_b64, sign_object


class EnrollmentFailed(SoarError):
    """soar refused the enrollment; ``reason`` is its code (``used``, ``expired``, ``unknown_token``...)."""

    def __init__(self, reason: str, detail: str = "", status_code: int = 0) -> None:
        self.reason = reason
        self.detail = detail
        self.status_code = status_code
        super().__init__(f"enrollment refused ({status_code} {reason}): {detail}")


@dataclass(frozen=True)
class Enrollment:
    """An enrolled identity: the agent id, its key id and its private key (kept on the agent only)."""

    agent_id: str
    kid: str
    private_key: Ed25519PrivateKey = field(repr=False)
    key_path: Path | None = None
    expiring_kids: tuple[str, ...] = ()


def generate_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def save_key(private_key: Ed25519PrivateKey, path: Path) -> Path:
    """Write the key as PKCS#8 PEM, mode 0600 (parent 0700), replacing ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load_key(path: Path) -> Ed25519PrivateKey:
    """Load a PEM Ed25519 private key."""
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SoarError(f"{path}: not an Ed25519 private key")
    return key


def enroll_request_body(private_key: Ed25519PrivateKey, token: str, agent_id: str) -> dict[str, Any]:
    """The body of ``POST /v1/enroll``, signed by the key being enrolled."""
    pub = private_key.public_key()
    body = {
        "token": token.strip(),
        "agent_id": agent_id,
        "public_key": public_key_b64(pub),
        "ts": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "nonce": secrets.token_urlsafe(18),
    }
    return sign_object(body, private_key, key_id(pub))


async def enroll(
    api_url: str,
    token: str,
    agent_id: str,
    *,
    private_key: Ed25519PrivateKey | None = None,
    key_path: Path | None = None,
    http: httpx.AsyncClient | None = None,
) -> Enrollment:
    """Generate a key (or use ``private_key``), register it with the one-time ``token``, save it to ``key_path``.

    The key is written only after soar accepted it, so a refused enrollment leaves any existing key file alone.
    Raises :class:`EnrollmentFailed` when soar refuses.
    """
    key = private_key or generate_key()
    body = enroll_request_body(key, token, agent_id)
    client = http or httpx.AsyncClient(timeout=10.0)
    try:
        resp = await client.post(
            f"{api_url.rstrip('/')}/v1/enroll", content=orjson.dumps(body), headers={"content-type": "application/json"}
        )
    finally:
        if http is None:
            await client.aclose()
    if resp.status_code != 201:
        try:
            data = resp.json()
        except ValueError:
            data = {}
        raise EnrollmentFailed(str(data.get("reason", "")), str(data.get("detail", resp.text[:200])), resp.status_code)
    data = resp.json()
    if key_path is not None:
        save_key(key, key_path)
    return Enrollment(agent_id, str(data["kid"]), key, key_path, tuple(data.get("expiring_kids") or ()))
