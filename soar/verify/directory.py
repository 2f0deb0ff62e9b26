"""Load the verify stage's ``KeyDirectory`` snapshot from the store (one query per table)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from soar.detect.base import AgentProfile
from soar.store.models import AgentKeyRecord, AgentRecord
from soar.verify.checks import KeyDirectory


async def load_directory(session: AsyncSession) -> KeyDirectory:
    """Every enrolled agent, its active keys, and which agents are quarantined."""
    d = KeyDirectory()
    for a in (await session.execute(select(AgentRecord))).scalars():
        d.agents[a.agent_id] = AgentProfile(agent_id=a.agent_id, tools=frozenset(a.tools or []), labels=a.labels or {})
        if a.status == "quarantined":
            d.quarantined.add(a.agent_id)
    rows = await session.execute(
        select(AgentKeyRecord.kid, AgentKeyRecord.agent_id, AgentKeyRecord.public_key).where(
            AgentKeyRecord.status == "active"
        )
    )
    for kid, agent_id, pub in rows:
        d.add_key(kid, agent_id, pub)
    return d
