"""Load the verify stage's ``KeyDirectory`` from the store: all of it, or just the keys a batch names."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from soar.detect.base import AgentProfile
from soar.identity.agents import active_keys
from soar.store.models import AgentRecord
from soar.verify.checks import KeyDirectory


async def _add_agents(session: AsyncSession, d: KeyDirectory, agent_ids: Collection[str] | None) -> None:
    q = select(AgentRecord)
    if agent_ids is not None:
        q = q.where(AgentRecord.agent_id.in_(list(agent_ids)))
    for a in (await session.execute(q)).scalars():
        d.agents[a.agent_id] = AgentProfile(agent_id=a.agent_id, tools=frozenset(a.tools or []), labels=a.labels or {})
        if a.status == "quarantined":
            d.quarantined.add(a.agent_id)


async def load_directory(session: AsyncSession) -> KeyDirectory:
    """Every enrolled agent, its active keys, and which agents are quarantined."""
    d = KeyDirectory()
    await _add_agents(session, d, None)
    for kid, (agent_id, pub) in (await active_keys(session)).items():
        d.add_key(kid, agent_id, pub)
    return d


async def load_for_kids(session: AsyncSession, kids: Collection[str]) -> KeyDirectory:
    """Only the given keys and the agents that own them (a batch met keys the snapshot did not have)."""
    d = KeyDirectory()
    keys = await active_keys(session, kids)
    for kid, (agent_id, pub) in keys.items():
        d.add_key(kid, agent_id, pub)
    await _add_agents(session, d, {agent_id for agent_id, _ in keys.values()})
    return d
