"""Fixtures for identity tests: an agent keypair and soar's signing key in a temporary data dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from soar.config import Settings
from soar.identity.keys import SigningKey, load_signing_key
from soar.telemetry.signing import key_id, public_key_b64


@dataclass(frozen=True)
class AgentKey:
    """An agent's private key with its kid and public key (base64url)."""

    private_key: Ed25519PrivateKey
    kid: str
    public_b64: str


def new_agent_key() -> AgentKey:
    """A fresh Ed25519 agent key."""
    k = Ed25519PrivateKey.generate()
    return AgentKey(k, key_id(k.public_key()), public_key_b64(k.public_key()))


@pytest.fixture
def agent_key() -> AgentKey:
    """A fresh agent key."""
    return new_agent_key()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a private data dir."""
    return Settings(data_dir=tmp_path / "data", admin_token="")


@pytest.fixture
def soar_key(tmp_path: Path) -> SigningKey:
    """soar's token signing key, in a temporary dir."""
    return load_signing_key(tmp_path / "keys" / "soar_signing.pem")
