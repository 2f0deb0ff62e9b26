"""soar's token signing key: created once with mode 0600, stable kid, published as a JWK set."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from soar.config import Settings
from soar.identity.keys import ensure_secret_file, jwks, load_signing_key, signing_key, signing_key_path
from soar.telemetry.signing import key_id, load_public_key


def test_load_signing_key_creates_private_file_once(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "soar_signing.pem"
    first = load_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = load_signing_key(path)
    assert again.kid == first.kid == key_id(first.public_key)
    assert list(path.parent.iterdir()) == [path]  # no temp files left behind


def test_signing_key_lives_in_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    key = signing_key(settings)
    assert signing_key_path(settings) == tmp_path / "keys" / "soar_signing.pem"
    assert key.path == (tmp_path / "keys" / "soar_signing.pem").resolve()
    assert signing_key(settings) is key


def test_jwks_publishes_the_public_key(tmp_path: Path) -> None:
    key = load_signing_key(tmp_path / "k.pem")
    (jwk,) = jwks([key]).model_dump()["keys"]
    assert jwk == {"kty": "OKP", "crv": "Ed25519", "x": jwk["x"], "kid": key.kid, "alg": "EdDSA", "use": "sig"}
    assert key_id(load_public_key(jwk["x"])) == key.kid


def test_ensure_secret_file_first_writer_wins(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: ensure_secret_file(path, lambda: f"secret-{i}".encode()), range(32)))
    assert len(set(results)) == 1
    assert path.read_bytes() == results[0]
