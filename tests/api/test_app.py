"""The HTTP API end to end over ASGI, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from soar.api.app import create_app
from soar.api.state import ApiState
from soar.config import Settings
from soar.identity.credentials import build_token_request
from soar.identity.keys import signing_key
from soar.store.models import (
    AuditRecord,
    CredentialRecord,
    FindingRecord,
    IncidentEventRecord,
    IncidentRecord,
    PlaybookRunRecord,
    StepRunRecord,
)
from soar.store.session import get_sessionmaker
from soar.telemetry.signing import load_public_key
from tests.api.conftest import ADMIN, client_for
from tests.helpers import running
from tests.identity.conftest import AgentKey, new_agent_key

SCOPES = [{"tool": "db.*", "resources": ["orders/*"], "actions": ["read"]}]
OPERATOR_CALLS = [
    ("GET", "/v1/agents"),
    ("GET", "/v1/agents/a1"),
    ("POST", "/v1/agents"),
    ("POST", "/v1/agents/a1/quarantine"),
    ("POST", "/v1/agents/a1/release"),
    ("GET", "/v1/findings"),
    ("GET", "/v1/incidents"),
    ("GET", "/v1/incidents/i1"),
    ("GET", "/v1/credentials"),
    ("POST", "/v1/credentials/c1/revoke"),
    ("POST", "/v1/agents/a1/credentials/revoke"),
]


async def _enroll(client: httpx.AsyncClient, op: dict[str, str], key: AgentKey, agent_id: str = "a1") -> None:
    r = await client.post(
        "/v1/agents", json={"agent_id": agent_id, "public_key": key.public_b64, "tools": ["db.*"]}, headers=op
    )
    assert r.status_code == 201, r.text


async def _token(client: httpx.AsyncClient, key: AgentKey, agent_id: str = "a1") -> dict[str, Any]:
    body = build_token_request(key.private_key, key.kid, agent_id, "task-1", SCOPES)
    r = await client.post("/v1/tokens", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def _authorize(client: httpx.AsyncClient, token: str, tool: str = "db.sql", res: str = "orders/1") -> Any:
    r = await client.post("/v1/authorize", json={"token": token, "tool": tool, "resource": res, "action": "read"})
    assert r.status_code == 200, r.text
    return r.json()


async def test_healthz_and_metrics(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "db": True}
    await _authorize(client, "not.a.token")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert 'soar_authorize_decisions_total{decision="deny",reason="malformed"}' in r.text


@pytest.mark.parametrize(("method", "path"), OPERATOR_CALLS)
async def test_operator_endpoints_require_the_bearer_token(client: httpx.AsyncClient, method: str, path: str) -> None:
    r = await client.request(method, path)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = await client.request(method, path, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


async def test_register_and_inspect_agent(client: httpx.AsyncClient, op: dict[str, str]) -> None:
    key = new_agent_key()
    await _enroll(client, op, key)
    r = await client.post("/v1/agents", json={"agent_id": "a1", "public_key": key.public_b64}, headers=op)
    assert r.status_code == 200  # idempotent
    r = await client.get("/v1/agents/a1", headers=op)
    body = r.json()
    assert (body["status"], body["tools"]) == ("active", ["db.*"])
    assert [(k["kid"], k["public_key"], k["status"]) for k in body["keys"]] == [(key.kid, key.public_b64, "active")]
    assert [a["agent_id"] for a in (await client.get("/v1/agents", headers=op)).json()] == ["a1"]
    r = await client.post("/v1/agents", json={"agent_id": "a2", "public_key": key.public_b64}, headers=op)
    assert r.status_code == 409 and r.json()["reason"] == "key_conflict"
    r = await client.post("/v1/agents", json={"agent_id": "a3", "public_key": "garbage"}, headers=op)
    assert r.status_code == 422
    assert (await client.get("/v1/agents/ghost", headers=op)).status_code == 404
    assert (await client.post("/v1/agents/ghost/quarantine", headers=op)).status_code == 404


async def test_token_issue_and_authorize(client: httpx.AsyncClient, op: dict[str, str], app: FastAPI) -> None:
    key = new_agent_key()
    await _enroll(client, op, key)
    issued = await _token(client, key)
    assert set(issued) == {"token", "credential_id", "expires_at"}
    d = await _authorize(client, issued["token"])
    assert d == {
        "allow": True,
        "reason": "ok",
        "agent_id": "a1",
        "credential_id": issued["credential_id"],
        "task_id": "task-1",
    }
    d = await _authorize(client, issued["token"], tool="shell")
    assert (d["allow"], d["reason"]) == (False, "tool_out_of_scope")
    d = await _authorize(client, issued["token"], res="users/1")
    assert (d["allow"], d["reason"]) == (False, "resource_out_of_scope")
    # the JWK set verifies the token
    (jwk,) = (await client.get("/v1/.well-known/jwks.json")).json()["keys"]
    claims = jwt.decode(issued["token"], load_public_key(jwk["x"]), algorithms=[jwk["alg"]], issuer="soar")
    assert claims["jti"] == issued["credential_id"]


@pytest.mark.parametrize("case", ["bad_signature", "unknown_kid", "clock_skew", "replayed"])
async def test_token_request_rejected(client: httpx.AsyncClient, op: dict[str, str], case: str) -> None:
    key = new_agent_key()
    await _enroll(client, op, key)
    body = build_token_request(key.private_key, key.kid, "a1", "t", SCOPES)
    if case == "bad_signature":
        body = build_token_request(new_agent_key().private_key, key.kid, "a1", "t", SCOPES)
    elif case == "unknown_kid":
        other = new_agent_key()
        body = build_token_request(other.private_key, other.kid, "a1", "t", SCOPES)
    elif case == "clock_skew":
        future = datetime.now(UTC) + timedelta(minutes=10)
        body = build_token_request(key.private_key, key.kid, "a1", "t", SCOPES, now=future)
    elif case == "replayed":
        assert (await client.post("/v1/tokens", json=body)).status_code == 201
    r = await client.post("/v1/tokens", json=body)
    assert r.status_code == 401 and r.json()["reason"] == case, r.text


async def test_token_request_malformed_or_forbidden(client: httpx.AsyncClient, op: dict[str, str]) -> None:
    key = new_agent_key()
    await _enroll(client, op, key)
    body = build_token_request(key.private_key, key.kid, "a1", "t", SCOPES)
    del body["nonce"]
    assert (await client.post("/v1/tokens", json=body)).status_code == 422
    wide = [{"tool": "shell", "resources": ["*"], "actions": ["*"]}]
    r = await client.post("/v1/tokens", json=build_token_request(key.private_key, key.kid, "a1", "t", wide))
    assert r.status_code == 403 and r.json()["reason"] == "scope_not_allowed"
    await client.post("/v1/agents/a1/quarantine", json={"reason": "test"}, headers=op)
    r = await client.post("/v1/tokens", json=build_token_request(key.private_key, key.kid, "a1", "t", SCOPES))
    assert r.status_code == 403 and r.json()["reason"] == "agent_quarantined"


async def test_authorize_denies_after_revocation_in_db(
    client: httpx.AsyncClient, op: dict[str, str], db_url: str
) -> None:
    key = new_agent_key()
    await _enroll(client, op, key)
    issued = await _token(client, key)
    async with get_sessionmaker(db_url)() as s, s.begin():  # what the credentials:revoke action does
        await s.execute(
            update(CredentialRecord)
            .where(CredentialRecord.credential_id == issued["credential_id"])
            .values(revoked_at=datetime.now(UTC), revoked_reason="playbook")
        )
    d = await _authorize(client, issued["token"])
    assert (d["allow"], d["reason"]) == (False, "revoked")


async def test_authorize_denies_during_quarantine(client: httpx.AsyncClient, op: dict[str, str], db_url: str) -> None:
    key = new_agent_key()
    await _enroll(client, op, key)
    issued = await _token(client, key)
    r = await client.post("/v1/agents/a1/quarantine", json={"reason": "prompt injection"}, headers=op)
    assert r.status_code == 200 and r.json()["status"] == "quarantined"
    assert (await _authorize(client, issued["token"]))["reason"] == "agent_quarantined"
    r = await client.post("/v1/agents/a1/release", json={"reason": "cleared"}, headers=op)
    assert r.json()["status"] == "active"
    assert (await _authorize(client, issued["token"]))["allow"] is True
    async with get_sessionmaker(db_url)() as s:
        rows = (await s.execute(select(AuditRecord.actor, AuditRecord.action).order_by(AuditRecord.seq))).all()
    assert ("user:admin", "agent.quarantine") in rows and ("user:admin", "agent.release") in rows


async def test_authorize_denies_expired(client: httpx.AsyncClient, op: dict[str, str], settings: Settings) -> None:
    key = new_agent_key()
    await _enroll(client, op, key)
    issued = await _token(client, key)
    sk = signing_key(settings)
    claims = jwt.decode(issued["token"], sk.public_key, algorithms=["EdDSA"])
    claims["exp"] = int((datetime.now(UTC) - timedelta(seconds=1)).timestamp())
    expired = jwt.encode(claims, sk.private_key, algorithm="EdDSA", headers={"kid": sk.kid})
    d = await _authorize(client, expired)
    assert (d["allow"], d["reason"]) == (False, "expired")


async def test_incident_detail_has_timeline_runs_and_steps(
    client: httpx.AsyncClient, op: dict[str, str], db_url: str
) -> None:
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    async with get_sessionmaker(db_url)() as s, s.begin():
        s.add(IncidentRecord(incident_id="i1", agent_id="a1", title="secret leak", severity="high", opened_at=t0))
        s.add_all(
            [
                IncidentEventRecord(incident_id="i1", ts=t0 + timedelta(seconds=2), kind="step", summary="quarantined"),
                IncidentEventRecord(incident_id="i1", ts=t0, kind="finding", summary="leak", data={"f": "f1"}),
                IncidentEventRecord(incident_id="other", ts=t0, kind="note", summary="not mine"),
            ]
        )
        s.add(
            FindingRecord(
                finding_id="f1",
                detector="secrets",
                rule="aws_key",
                agent_id="a1",
                severity="high",
                confidence=0.9,
                summary="aws key in output",
                ts=t0,
                incident_id="i1",
            )
        )
        s.add(
            PlaybookRunRecord(
                run_id="r1", playbook_id="p1", playbook_name="contain", finding_id="f1", agent_id="a1", incident_id="i1"
            )
        )
        s.add_all(
            [
                StepRunRecord(idempotency_key="r1:2", run_id="r1", step_id="s2", position=1, action="notify:slack"),
                StepRunRecord(idempotency_key="r1:1", run_id="r1", step_id="s1", position=0, action="agent:quarantine"),
            ]
        )
    r = await client.get("/v1/incidents/i1", headers=op)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["title"] == "secret leak" and body["status"] == "open"
    assert [e["summary"] for e in body["timeline"]] == ["leak", "quarantined"]
    assert body["timeline"][0]["data"] == {"f": "f1"}
    assert [f["finding_id"] for f in body["findings"]] == ["f1"]
    (run,) = body["runs"]
    assert run["run_id"] == "r1" and [s["action"] for s in run["steps"]] == ["agent:quarantine", "notify:slack"]
    assert [i["incident_id"] for i in (await client.get("/v1/incidents", headers=op)).json()] == ["i1"]
    assert (await client.get("/v1/incidents/nope", headers=op)).status_code == 404
    r = await client.get("/v1/findings", params={"agent_id": "a1", "limit": 5}, headers=op)
    assert [f["finding_id"] for f in r.json()] == ["f1"]
    assert (await client.get("/v1/findings", params={"agent_id": "a2"}, headers=op)).json() == []


@pytest.fixture
async def second_app(settings: Settings, db_url: str) -> AsyncIterator[FastAPI]:
    """A second API instance on the same database with its own engine (as another process would have)."""
    app = create_app(settings, db_url)
    engine = create_async_engine(db_url)
    state: ApiState = app.state.soar
    app.state.soar = dataclasses.replace(state, sessionmaker=async_sessionmaker(engine, expire_on_commit=False))
    async with running(app):
        yield app
    await engine.dispose()


async def test_two_instances_see_revocation_on_the_next_call(
    client: httpx.AsyncClient, op: dict[str, str], second_app: FastAPI
) -> None:
    key = new_agent_key()
    await _enroll(client, op, key)
    issued = await _token(client, key)
    async with client_for(second_app) as other:
        assert (await _authorize(other, issued["token"]))["allow"] is True
        r = await client.post(f"/v1/credentials/{issued['credential_id']}/revoke", json={"reason": "x"}, headers=op)
        assert r.status_code == 200 and r.json()["revoked_at"] is not None
        assert (await _authorize(other, issued["token"]))["reason"] == "revoked"
        second = await _token(other, key)
        assert (await _authorize(client, second["token"]))["allow"] is True
        r = await other.post("/v1/agents/a1/quarantine", json={"reason": "x"}, headers=op)
        assert r.status_code == 200
        assert (await _authorize(client, second["token"]))["reason"] == "agent_quarantined"


async def test_admin_token_generated_into_data_dir(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path / "gen", admin_token="")
    app = create_app(settings, db_url)
    path = tmp_path / "gen" / "admin_token"
    token = path.read_text().strip()
    assert len(token) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    out = capsys.readouterr()
    assert str(path.resolve()) in out.out + out.err and token not in out.out + out.err
    assert create_app(settings, db_url).state.soar.admin_token == token  # stable across restarts
    async with client_for(app) as c:
        assert (await c.get("/v1/agents", headers={"Authorization": f"Bearer {token}"})).status_code == 200
        assert (await c.get("/v1/agents", headers={"Authorization": f"Bearer {ADMIN}"})).status_code == 401
