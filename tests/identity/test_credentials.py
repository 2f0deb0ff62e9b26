"""Task-scoped tokens on both backends: issue, authorize, revoke, and agent-signed token requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.config import Settings
from soar.identity.agents import register_agent, set_status
from soar.identity.credentials import (
    Scope,
    authorize,
    build_token_request,
    issue_token,
    request_token,
    revoke_agent_credentials,
    revoke_credential,
    verify_token_request,
)
from soar.identity.errors import (
    AgentNotActive,
    AgentNotFound,
    CredentialConflict,
    ScopeNotAllowed,
    TokenRequestRejected,
)
from soar.identity.keys import SigningKey, load_signing_key
from soar.store.models import AuditRecord, CredentialRecord
from tests.identity.conftest import AgentKey, new_agent_key

DB_READ = Scope(tool="db.*", resources=["orders/*"], actions=["read"])

Maker = async_sessionmaker[AsyncSession]


async def _enroll(maker: Maker, key: AgentKey, agent_id: str = "a1", tools: list[str] | None = None) -> None:
    async with maker() as s, s.begin():
        await register_agent(s, agent_id, key.public_b64, tools=tools)


async def _issue(maker: Maker, soar_key: SigningKey, ttl_s: int = 60, agent_id: str = "a1") -> tuple[str, str]:
    async with maker() as s, s.begin():
        t = await issue_token(s, agent_id, "task-1", [DB_READ], ttl_s, key=soar_key)
    return t.token, t.credential_id


async def _decide(maker: Maker, soar_key: SigningKey, token: str, tool: str = "db.sql", res: str = "orders/7") -> Any:
    async with maker() as s:
        return await authorize(s, token, tool, res, "read", key=soar_key)


async def test_issue_token_claims_and_record(sessionmaker: Maker, agent_key: AgentKey, soar_key: SigningKey) -> None:
    await _enroll(sessionmaker, agent_key)
    token, cid = await _issue(sessionmaker, soar_key, ttl_s=120)
    claims = jwt.decode(token, soar_key.public_key, algorithms=["EdDSA"], issuer="soar")
    assert claims["sub"] == "a1" and claims["task_id"] == "task-1" and claims["jti"] == cid
    assert claims["exp"] - claims["iat"] == 120
    assert claims["scopes"] == [{"tool": "db.*", "resources": ["orders/*"], "actions": ["read"]}]
    assert jwt.get_unverified_header(token)["kid"] == soar_key.kid
    async with sessionmaker() as s:
        rec = await s.get(CredentialRecord, cid)
        assert rec is not None and rec.agent_id == "a1" and rec.revoked_at is None
        assert int(rec.expires_at.timestamp()) == claims["exp"]
        audit = (await s.execute(select(AuditRecord).where(AuditRecord.action == "credential.issue"))).scalar_one()
        assert audit.target == f"credential:{cid}" and audit.actor == "agent:a1"


async def test_issue_token_refusals(sessionmaker: Maker, agent_key: AgentKey, soar_key: SigningKey) -> None:
    await _enroll(sessionmaker, agent_key, tools=["db.*"])
    with pytest.raises(AgentNotFound):
        async with sessionmaker() as s, s.begin():
            await issue_token(s, "ghost", "t", [DB_READ], 60, key=soar_key)
    with pytest.raises(ScopeNotAllowed, match="shell"):
        async with sessionmaker() as s, s.begin():
            await issue_token(s, "a1", "t", [Scope(tool="shell", resources=["*"], actions=["*"])], 60, key=soar_key)
    async with sessionmaker() as s, s.begin():
        await issue_token(s, "a1", "t", [DB_READ], 60, key=soar_key, credential_id="c1")
    with pytest.raises(CredentialConflict):
        async with sessionmaker() as s, s.begin():
            await issue_token(s, "a1", "t", [DB_READ], 60, key=soar_key, credential_id="c1")
    async with sessionmaker() as s, s.begin():
        await set_status(s, "a1", "quarantined", "test", "user:x")
    with pytest.raises(AgentNotActive):
        async with sessionmaker() as s, s.begin():
            await issue_token(s, "a1", "t", [DB_READ], 60, key=soar_key)


async def test_authorize_allows_in_scope(sessionmaker: Maker, agent_key: AgentKey, soar_key: SigningKey) -> None:
    await _enroll(sessionmaker, agent_key)
    token, cid = await _issue(sessionmaker, soar_key)
    d = await _decide(sessionmaker, soar_key, token)
    assert (d.allow, d.reason, d.agent_id, d.credential_id, d.task_id) == (True, "ok", "a1", cid, "task-1")


@pytest.mark.parametrize(
    ("tool", "resource", "reason"),
    [("shell", "orders/7", "tool_out_of_scope"), ("db.sql", "users/1", "resource_out_of_scope")],
)
async def test_authorize_denies_out_of_scope(
    sqlite_sessionmaker: Maker, agent_key: AgentKey, soar_key: SigningKey, tool: str, resource: str, reason: str
) -> None:
    await _enroll(sqlite_sessionmaker, agent_key)
    token, _ = await _issue(sqlite_sessionmaker, soar_key)
    d = await _decide(sqlite_sessionmaker, soar_key, token, tool, resource)
    assert (d.allow, d.reason) == (False, reason)
    async with sqlite_sessionmaker() as s:
        d = await authorize(s, token, "db.sql", "orders/7", "delete", key=soar_key)
    assert (d.allow, d.reason) == (False, "action_out_of_scope")


async def test_authorize_denies_after_revocation_and_quarantine(
    sessionmaker: Maker, agent_key: AgentKey, soar_key: SigningKey
) -> None:
    await _enroll(sessionmaker, agent_key)
    token, cid = await _issue(sessionmaker, soar_key)
    token2, cid2 = await _issue(sessionmaker, soar_key)
    async with sessionmaker() as s, s.begin():
        await revoke_credential(s, cid, "leak", "playbook:p1")
    assert (await _decide(sessionmaker, soar_key, token)).reason == "revoked"
    assert (await _decide(sessionmaker, soar_key, token2)).allow
    async with sessionmaker() as s, s.begin():
        await set_status(s, "a1", "quarantined", "attack", "playbook:p1")
    assert (await _decide(sessionmaker, soar_key, token2)).reason == "agent_quarantined"
    async with sessionmaker() as s, s.begin():
        await set_status(s, "a1", "active", "cleared", "user:x")
    assert (await _decide(sessionmaker, soar_key, token2)).allow
    async with sessionmaker() as s, s.begin():
        assert await revoke_agent_credentials(s, "a1", "contain", "playbook:p1") == [cid2]
    assert (await _decide(sessionmaker, soar_key, token2)).reason == "revoked"


async def test_authorize_denies_bad_tokens(sessionmaker: Maker, agent_key: AgentKey, soar_key: SigningKey) -> None:
    await _enroll(sessionmaker, agent_key)
    token, _ = await _issue(sessionmaker, soar_key)
    claims = jwt.decode(token, soar_key.public_key, algorithms=["EdDSA"])
    past = int((datetime.now(UTC) - timedelta(minutes=5)).timestamp())
    expired = jwt.encode(
        {**claims, "exp": past}, soar_key.private_key, algorithm="EdDSA", headers={"kid": soar_key.kid}
    )
    forger = load_signing_key(soar_key.path.parent / "forger.pem")  # type: ignore[union-attr]
    forged = jwt.encode(claims, forger.private_key, algorithm="EdDSA", headers={"kid": soar_key.kid})
    wider = {**claims, "scopes": [{"tool": "*", "resources": ["*"], "actions": ["*"]}]}
    tampered = jwt.encode(wider, forger.private_key, algorithm="EdDSA", headers={"kid": soar_key.kid})
    unknown = jwt.encode(
        {**claims, "jti": "nope"}, soar_key.private_key, algorithm="EdDSA", headers={"kid": soar_key.kid}
    )
    other_kid = jwt.encode(claims, forger.private_key, algorithm="EdDSA", headers={"kid": forger.kid})
    hs = jwt.encode(claims, "secret-secret-secret-secret-32b!", algorithm="HS256", headers={"kid": soar_key.kid})
    cases = {
        expired: "expired",
        forged: "bad_signature",
        tampered: "bad_signature",
        unknown: "unknown_credential",
        other_kid: "unknown_signing_key",
        hs: "malformed",
        "not.a.jwt": "malformed",
    }
    for bad, reason in cases.items():
        d = await _decide(sessionmaker, soar_key, bad)
        assert (d.allow, d.reason) == (False, reason), reason


async def test_authorize_denies_expired_by_ttl(
    sqlite_sessionmaker: Maker, agent_key: AgentKey, soar_key: SigningKey
) -> None:
    await _enroll(sqlite_sessionmaker, agent_key)
    async with sqlite_sessionmaker() as s, s.begin():
        t = await issue_token(s, "a1", "t", [DB_READ], 60, key=soar_key)
        # the database's expiry is authoritative too (e.g. an operator shortened it)
        await s.execute(
            update(CredentialRecord)
            .where(CredentialRecord.credential_id == t.credential_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert (await _decide(sqlite_sessionmaker, soar_key, t.token)).reason == "expired"


async def test_authorize_denies_tools_removed_from_the_agent(
    sqlite_sessionmaker: Maker, agent_key: AgentKey, soar_key: SigningKey
) -> None:
    await _enroll(sqlite_sessionmaker, agent_key, tools=["db.*"])
    token, _ = await _issue(sqlite_sessionmaker, soar_key)
    assert (await _decide(sqlite_sessionmaker, soar_key, token)).allow
    async with sqlite_sessionmaker() as s, s.begin():
        await register_agent(s, "a1", agent_key.public_b64, tools=["mail"])
    assert (await _decide(sqlite_sessionmaker, soar_key, token)).reason == "tool_not_allowed_for_agent"


# --- agent-signed requests ---


async def test_request_token_with_a_valid_signature(
    sessionmaker: Maker, agent_key: AgentKey, soar_key: SigningKey, settings: Settings
) -> None:
    await _enroll(sessionmaker, agent_key)
    body = build_token_request(agent_key.private_key, agent_key.kid, "a1", "task-9", [DB_READ])
    assert set(body) == {"agent_id", "task_id", "scopes", "ts", "nonce", "kid", "sig"}
    async with sessionmaker() as s, s.begin():
        issued = await request_token(s, body, settings=settings, key=soar_key)
    d = await _decide(sessionmaker, soar_key, issued.token)
    assert d.allow and d.task_id == "task-9"
    with pytest.raises(TokenRequestRejected, match="replayed"):
        async with sessionmaker() as s, s.begin():
            await request_token(s, body, settings=settings, key=soar_key)


@pytest.mark.parametrize("case", ["bad_signature", "unknown_kid", "clock_skew", "tampered", "other_agent", "malformed"])
async def test_verify_token_request_rejects(sqlite_sessionmaker: Maker, agent_key: AgentKey, case: str) -> None:
    await _enroll(sqlite_sessionmaker, agent_key)
    intruder = new_agent_key()
    await _enroll(sqlite_sessionmaker, intruder, "a2")
    body = build_token_request(agent_key.private_key, agent_key.kid, "a1", "t", [DB_READ])
    expect = case
    if case == "bad_signature":
        body = build_token_request(intruder.private_key, agent_key.kid, "a1", "t", [DB_READ])
    elif case == "unknown_kid":
        body = build_token_request(agent_key.private_key, "0123456789abcdef", "a1", "t", [DB_READ])
    elif case == "clock_skew":
        old = datetime.now(UTC) - timedelta(seconds=301)
        body = build_token_request(agent_key.private_key, agent_key.kid, "a1", "t", [DB_READ], now=old)
    elif case == "tampered":
        body["scopes"] = [{"tool": "*", "resources": ["*"], "actions": ["*"]}]
        expect = "bad_signature"
    elif case == "other_agent":  # a2 signs with its own key but claims to be a1
        body = build_token_request(intruder.private_key, intruder.kid, "a1", "t", [DB_READ])
        expect = "unknown_kid"
    elif case == "malformed":
        body["extra"] = 1
    with pytest.raises(TokenRequestRejected) as err:
        async with sqlite_sessionmaker() as s:
            await verify_token_request(s, body, max_skew_s=300)
    assert err.value.reason == expect


async def test_request_token_refuses_a_quarantined_agent(
    sqlite_sessionmaker: Maker, agent_key: AgentKey, soar_key: SigningKey, settings: Settings
) -> None:
    await _enroll(sqlite_sessionmaker, agent_key)
    async with sqlite_sessionmaker() as s, s.begin():
        await set_status(s, "a1", "quarantined", "attack", "user:x")
    body = build_token_request(agent_key.private_key, agent_key.kid, "a1", "t", [DB_READ])
    with pytest.raises(TokenRequestRejected, match="agent_quarantined"):
        async with sqlite_sessionmaker() as s, s.begin():
            await request_token(s, body, settings=settings, key=soar_key)


def test_build_token_request_accepts_a_bare_tool_glob(agent_key: AgentKey) -> None:
    body = build_token_request(agent_key.private_key, agent_key.kid, "a1", "t", ["search", DB_READ])
    assert body["scopes"] == [
        {"tool": "search", "resources": ["*"], "actions": ["*"]},
        {"tool": "db.*", "resources": ["orders/*"], "actions": ["read"]},
    ]
