"""The API's fast authorize path on both backends: same decisions, claims cached, state never cached."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.identity.agents import register_agent, set_status
from soar.identity.credentials import authorize, issue_token, revoke_credential
from soar.identity.keys import SigningKey
from soar.identity.pdp import Authorizer, PostgresStateReader, SQLiteStateReader, state_reader
from soar.identity.scopes import Scope
from soar.store.models import AgentRecord, CredentialRecord
from soar.store.session import get_engine
from tests.identity.conftest import AgentKey

SCOPE = Scope(tool="db.*", resources=["orders/*"], actions=["read"])


async def test_fast_path_matches_and_sees_every_change_on_the_next_call(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str, soar_key: SigningKey, agent_key: AgentKey
) -> None:
    async with sessionmaker() as s, s.begin():
        await register_agent(s, "a1", agent_key.public_b64, tools=["db.*"])
        t1 = await issue_token(s, "a1", "t", [SCOPE], 300, key=soar_key)
        t2 = await issue_token(s, "a1", "t", [SCOPE], 300, key=soar_key)
    az = Authorizer(soar_key, state_reader(db_url, get_engine(db_url)))
    expected = SQLiteStateReader if db_url.startswith("sqlite") else PostgresStateReader
    assert isinstance(az.reader, expected)

    async def both(token: str, tool: str = "db.sql", res: str = "orders/1") -> str:
        fast = await az.authorize(token, tool, res, "read")
        async with sessionmaker() as s:
            slow = await authorize(s, token, tool, res, "read", key=soar_key)
        assert fast == slow
        return fast.reason

    try:
        assert await both(t1.token) == "ok"
        assert await both(t1.token, res="customers/1") == "resource_out_of_scope"
        assert await both(t1.token, tool="mail.send") == "tool_out_of_scope"
        assert await both("not.a.token") == "malformed"
        assert az.claims.hits >= 2
        async with sessionmaker() as s, s.begin():  # a writer elsewhere revokes: denied on the next call
            await revoke_credential(s, t1.credential_id, "x", "test")
        assert await both(t1.token) == "revoked"
        assert await both(t2.token) == "ok"
        async with sessionmaker() as s, s.begin():  # a playbook action writes the row directly
            await s.execute(update(AgentRecord).where(AgentRecord.agent_id == "a1").values(tools=["mail.*"]))
        assert await both(t2.token) == "tool_not_allowed_for_agent"
        async with sessionmaker() as s, s.begin():
            await s.execute(update(AgentRecord).where(AgentRecord.agent_id == "a1").values(tools=["db.*"]))
            await set_status(s, "a1", "quarantined", "x", "test")
        assert await both(t2.token) == "agent_quarantined"
        async with sessionmaker() as s, s.begin():
            await set_status(s, "a1", "active", "x", "test")
            cred = await s.get(CredentialRecord, t2.credential_id)
            assert cred is not None
            cred.expires_at = cred.issued_at - timedelta(seconds=1)
        assert await both(t2.token) == "expired"
    finally:
        await az.close()
