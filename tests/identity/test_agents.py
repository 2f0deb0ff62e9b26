"""The agent registry on both backends: registration, keys, status, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.identity.agents import (
    active_keys,
    agent_keys,
    get_agent,
    key_for,
    list_agents,
    register_agent,
    revoke_key,
    set_status,
)
from soar.identity.errors import AgentNotFound, IdentityError, KeyConflict
from soar.store.audit import verify_chain
from soar.store.models import AuditRecord
from tests.identity.conftest import AgentKey, new_agent_key


async def _actions(s: AsyncSession) -> list[str]:
    return list((await s.execute(select(AuditRecord.action).order_by(AuditRecord.seq))).scalars())


async def test_register_agent_is_idempotent_for_the_same_key(
    sessionmaker: async_sessionmaker[AsyncSession], agent_key: AgentKey
) -> None:
    async with sessionmaker() as s, s.begin():
        a = await register_agent(s, "a1", agent_key.public_b64, owner="team", tools=["search"], actor="user:x")
        assert (a.status, a.tools, a.owner) == ("active", ["search"], "team")
    async with sessionmaker() as s, s.begin():
        await register_agent(s, "a1", agent_key.public_b64)
    async with sessionmaker() as s:
        keys = await agent_keys(s, "a1")
        assert [k.kid for k in keys] == [agent_key.kid]
        assert await _actions(s) == ["agent.register"]
        assert (await get_agent(s, "a1")).tools == ["search"]  # type: ignore[union-attr]


async def test_register_agent_adds_a_second_key_and_updates_fields(
    sessionmaker: async_sessionmaker[AsyncSession], agent_key: AgentKey
) -> None:
    other = new_agent_key()
    async with sessionmaker() as s, s.begin():
        await register_agent(s, "a1", agent_key.public_b64)
        await register_agent(s, "a1", other.public_b64, tools=["mail"])
    async with sessionmaker() as s:
        assert {k.kid for k in await agent_keys(s, "a1")} == {agent_key.kid, other.kid}
        assert await _actions(s) == ["agent.register", "agent.update", "agent.key_add"]
        assert await verify_chain(s) == (True, 3)


async def test_register_agent_refuses_a_key_of_another_agent(
    sessionmaker: async_sessionmaker[AsyncSession], agent_key: AgentKey
) -> None:
    async with sessionmaker() as s, s.begin():
        await register_agent(s, "a1", agent_key.public_b64)
    with pytest.raises(KeyConflict, match="another agent"):
        async with sessionmaker() as s, s.begin():
            await register_agent(s, "a2", agent_key.public_b64)


async def test_register_agent_refuses_a_bad_key(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(IdentityError, match="Ed25519"):
        async with sessionmaker() as s, s.begin():
            await register_agent(s, "a1", "not-a-key")


async def test_active_keys_and_key_for(sessionmaker: async_sessionmaker[AsyncSession], agent_key: AgentKey) -> None:
    other = new_agent_key()
    async with sessionmaker() as s, s.begin():
        await register_agent(s, "a1", agent_key.public_b64)
        await register_agent(s, "a2", other.public_b64)
        await set_status(s, "a2", "quarantined", "test", "user:x")
    async with sessionmaker() as s:
        assert await active_keys(s) == {
            agent_key.kid: ("a1", agent_key.public_b64),
            other.kid: ("a2", other.public_b64),
        }
        assert await key_for(s, "a1", agent_key.kid) == agent_key.public_b64
        assert await key_for(s, "a2", agent_key.kid) is None  # kid of another agent
        assert await key_for(s, "a1", "nope") is None
    async with sessionmaker() as s, s.begin():
        await revoke_key(s, "a1", agent_key.kid, "rotated", "user:x")
    async with sessionmaker() as s:
        assert await key_for(s, "a1", agent_key.kid) is None
        assert agent_key.kid not in await active_keys(s)


async def test_set_status_audits_changes_only(
    sessionmaker: async_sessionmaker[AsyncSession], agent_key: AgentKey
) -> None:
    async with sessionmaker() as s, s.begin():
        await register_agent(s, "a1", agent_key.public_b64)
    for status in ("quarantined", "quarantined", "active"):
        async with sessionmaker() as s, s.begin():
            await set_status(s, "a1", status, f"to {status}", "playbook:p1")  # type: ignore[arg-type]
    async with sessionmaker() as s:
        assert await _actions(s) == ["agent.register", "agent.quarantine", "agent.release"]
        assert [a.agent_id for a in await list_agents(s, status="active")] == ["a1"]
        assert await list_agents(s, status="quarantined") == []
    with pytest.raises(AgentNotFound):
        async with sessionmaker() as s, s.begin():
            await set_status(s, "ghost", "quarantined", "", "user:x")
    with pytest.raises(IdentityError, match="unknown status"):
        async with sessionmaker() as s, s.begin():
            await set_status(s, "a1", "deleted", "", "user:x")  # type: ignore[arg-type]
