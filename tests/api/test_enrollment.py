"""Enrollment through the API and the SDK helper (over ASGI), on SQLite and PostgreSQL."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from soar.identity.credentials import build_token_request
from soar.sdk.enroll import EnrollmentFailed, enroll, load_key
from soar.telemetry.signing import key_id

API = "http://soar.test"


async def _issue(client: httpx.AsyncClient, op: dict[str, str], **body: object) -> dict[str, object]:
    r = await client.post("/v1/agents/a1/enrollments", json={"owner": "ml", "tools": ["db.*"], **body}, headers=op)
    assert r.status_code == 201, r.text
    return r.json()


async def test_sdk_enrolls_with_a_one_time_token(client: httpx.AsyncClient, op: dict[str, str], tmp_path: Path) -> None:
    assert (await client.post("/v1/agents/a1/enrollments", json={})).status_code == 401  # operator only
    issued = await _issue(client, op, labels={"team": "crm"})
    key_path = tmp_path / "agent" / "soar.pem"
    enrolled = await enroll(API, str(issued["token"]), "a1", key_path=key_path, http=client)
    assert enrolled.kid == key_id(enrolled.private_key.public_key())
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert key_id(load_key(key_path).public_key()) == enrolled.kid
    detail = (await client.get("/v1/agents/a1", headers=op)).json()
    assert detail["owner"] == "ml" and detail["labels"] == {"team": "crm"} and detail["tools"] == ["db.*"]
    assert [k["kid"] for k in detail["keys"]] == [enrolled.kid]
    # The enrolled key can now get tokens.
    body = build_token_request(enrolled.private_key, enrolled.kid, "a1", "t1", ["db.sql"])
    assert (await client.post("/v1/tokens", json=body)).status_code == 201
    # One time only; nothing is written over the existing key file on refusal.
    with pytest.raises(EnrollmentFailed) as e:
        await enroll(API, str(issued["token"]), "a1", key_path=key_path, http=client)
    assert e.value.reason == "used" and e.value.status_code == 401
    assert key_id(load_key(key_path).public_key()) == enrolled.kid


async def test_rotate_with_overlap_then_revoke_old_key(client: httpx.AsyncClient, op: dict[str, str]) -> None:
    first = await enroll(API, str((await _issue(client, op))["token"]), "a1", http=client)
    rekey = await _issue(client, op, rotate_overlap_s=3600)
    second = await enroll(API, str(rekey["token"]), "a1", http=client)
    assert second.expiring_kids == (first.kid,)
    keys = {k["kid"]: k for k in (await client.get("/v1/agents/a1", headers=op)).json()["keys"]}
    assert keys[first.kid]["expires_at"] is not None and keys[second.kid]["expires_at"] is None
    old_body = build_token_request(first.private_key, first.kid, "a1", "t1", ["db.sql"])
    assert (await client.post("/v1/tokens", json=old_body)).status_code == 201  # still valid in the overlap
    r = await client.post(f"/v1/agents/a1/keys/{first.kid}/revoke", json={"reason": "rotated"}, headers=op)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    old_body = build_token_request(first.private_key, first.kid, "a1", "t1", ["db.sql"])
    r = await client.post("/v1/tokens", json=old_body)
    assert r.status_code == 401 and r.json()["reason"] == "unknown_kid"
    assert (await client.post("/v1/agents/a1/keys/nope/revoke", headers=op)).status_code == 404


async def test_enroll_rejects_malformed_and_forged(client: httpx.AsyncClient, op: dict[str, str]) -> None:
    r = await client.post("/v1/enroll", json={"token": "x"})
    assert r.status_code == 422 and r.json()["reason"] == "malformed"
    with pytest.raises(EnrollmentFailed) as e:
        await enroll(API, "soar-enroll.not-a-real-token-at-all", "a1", http=client)
    assert e.value.reason == "unknown_token"


@pytest.mark.parametrize(
    "path", ["/v1/agents/a1/enrollments", "/v1/agents/a1/keys/k1/revoke"], ids=["enrollments", "revoke-key"]
)
async def test_enrollment_operator_endpoints_require_the_bearer_token(client: httpx.AsyncClient, path: str) -> None:
    r = await client.post(path, json={})
    assert r.status_code == 401
