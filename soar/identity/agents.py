"""The agent registry: agents, their public keys, and their containment status.

Operators register agents with a public key, or issue a one-time enrollment token with which the agent
registers its own key (``soar.identity.enrollment``, ``actor="enrollment:<id>"``). A key is usable while its
status is ``active`` and its ``expires_at`` (set by a rotation overlap) is unset or in the future.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from soar.identity.errors import AgentNotFound, IdentityError, KeyConflict
from soar.store.audit import audit
from soar.store.models import AgentKeyRecord, AgentRecord
from soar.telemetry.events import utcnow
from soar.telemetry.signing import key_id, load_public_key
from soar.telemetry.signing import public_key_b64 as encode_public_key

AgentStatus = Literal["active", "quarantined"]
STATUSES: frozenset[str] = frozenset({"active", "quarantined"})


def normalise_public_key(public_key: str) -> tuple[str, str]:
    """Validate a raw Ed25519 public key (base64url) and return ``(kid, canonical base64url)``."""
    try:
        key = load_public_key(public_key.strip())
    except (ValueError, TypeError) as e:
        raise IdentityError(f"not a raw Ed25519 public key (32 bytes, base64url): {e}") from e
    return key_id(key), encode_public_key(key)


async def register_agent(
    session: AsyncSession,
    agent_id: str,
    public_key_b64: str,
    *,
    owner: str = "",
    labels: dict[str, Any] | None = None,
    tools: list[str] | None = None,
    actor: str = "system",
) -> AgentRecord:
    """Create the agent and its key (kid = ``key_id(pub)``); idempotent for the same key.

    On an existing agent: a new key is added (rotation; the old one stays active until revoked), and
    ``owner``/``labels``/``tools`` are updated when given (non-empty / not None). A key registered to another
    agent raises :class:`KeyConflict`. Every change is audited in the caller's transaction.
    """
    if not agent_id:
        raise IdentityError("agent_id must not be empty")
    kid, pub = normalise_public_key(public_key_b64)
    existing_key = await session.get(AgentKeyRecord, kid)
    if existing_key is not None and existing_key.agent_id != agent_id:
        raise KeyConflict(f"key {kid} is registered to another agent")
    agent = await session.get(AgentRecord, agent_id)
    if agent is None:
        agent = AgentRecord(
            agent_id=agent_id, owner=owner, labels=dict(labels or {}), tools=list(tools or []), status="active"
        )
        session.add(agent)
        session.add(AgentKeyRecord(kid=kid, agent_id=agent_id, public_key=pub, status="active"))
        await session.flush()
        await audit(
            session,
            actor,
            "agent.register",
            f"agent:{agent_id}",
            {"kid": kid, "owner": owner, "labels": agent.labels, "tools": agent.tools},
        )
        return agent

    changes: dict[str, Any] = {}
    if owner and owner != agent.owner:
        changes["owner"] = owner
    if labels is not None and dict(labels) != agent.labels:
        changes["labels"] = dict(labels)
    if tools is not None and list(tools) != agent.tools:
        changes["tools"] = list(tools)
    for name, value in changes.items():
        setattr(agent, name, value)
    if changes:
        await audit(session, actor, "agent.update", f"agent:{agent_id}", changes)
    if existing_key is None:
        session.add(AgentKeyRecord(kid=kid, agent_id=agent_id, public_key=pub, status="active"))
        await audit(session, actor, "agent.key_add", f"agent:{agent_id}", {"kid": kid})
    await session.flush()
    return agent


async def get_agent(session: AsyncSession, agent_id: str) -> AgentRecord | None:
    """The agent, or None."""
    return await session.get(AgentRecord, agent_id)


async def list_agents(
    session: AsyncSession, *, status: AgentStatus | None = None, limit: int = 100, offset: int = 0
) -> list[AgentRecord]:
    """Agents ordered by id, optionally only those with ``status``."""
    q = select(AgentRecord).order_by(AgentRecord.agent_id).limit(limit).offset(offset)
    if status is not None:
        q = q.where(AgentRecord.status == status)
    return list((await session.execute(q)).scalars())


async def agent_keys(session: AsyncSession, agent_id: str) -> list[AgentKeyRecord]:
    """Every key of the agent (active and revoked), oldest first."""
    q = select(AgentKeyRecord).where(AgentKeyRecord.agent_id == agent_id).order_by(AgentKeyRecord.created_at)
    return list((await session.execute(q)).scalars())


def _usable(now: datetime) -> Any:
    unexpired = or_(AgentKeyRecord.expires_at.is_(None), AgentKeyRecord.expires_at > now)
    return (AgentKeyRecord.status == "active") & unexpired


async def active_keys(session: AsyncSession, kids: Collection[str] | None = None) -> dict[str, tuple[str, str]]:
    """Usable keys (active, not past a rotation deadline), ``kid -> (agent_id, public_key_b64)``, all or ``kids``.

    Quarantined agents' keys are included (their events must still verify, to be flagged).
    """
    q = select(AgentKeyRecord.kid, AgentKeyRecord.agent_id, AgentKeyRecord.public_key).where(_usable(utcnow()))
    if kids is not None:
        q = q.where(AgentKeyRecord.kid.in_(list(kids)))
    rows = await session.execute(q)
    return {kid: (agent_id, pub) for kid, agent_id, pub in rows}


async def key_for(session: AsyncSession, agent_id: str, kid: str) -> str | None:
    """The agent's usable public key (base64url) with this kid, or None (unknown, revoked, expired, other agent)."""
    q = select(AgentKeyRecord.public_key).where(
        AgentKeyRecord.kid == kid, AgentKeyRecord.agent_id == agent_id, _usable(utcnow())
    )
    return (await session.execute(q)).scalar_one_or_none()


async def set_status(session: AsyncSession, agent_id: str, status: AgentStatus, reason: str, actor: str) -> AgentRecord:
    """Quarantine or release an agent (audited); a no-op, not audited, when it already has ``status``."""
    if status not in STATUSES:
        raise IdentityError(f"unknown status {status!r}; known: {sorted(STATUSES)}")
    agent = await session.get(AgentRecord, agent_id, with_for_update=True)
    if agent is None:
        raise AgentNotFound(agent_id)
    if agent.status == status:
        return agent
    previous = agent.status
    agent.status = status
    agent.status_reason = reason
    agent.updated_at = utcnow()
    await session.flush()
    action = "agent.quarantine" if status == "quarantined" else "agent.release"
    await audit(session, actor, action, f"agent:{agent_id}", {"reason": reason, "previous": previous})
    return agent


async def revoke_key(session: AsyncSession, agent_id: str, kid: str, reason: str, actor: str) -> AgentKeyRecord:
    """Revoke one of the agent's keys (audited); its signatures stop verifying on the next cache refresh."""
    key = await session.get(AgentKeyRecord, kid, with_for_update=True)
    if key is None or key.agent_id != agent_id:
        raise AgentNotFound(f"agent {agent_id} has no key {kid}")
    if key.status != "revoked":
        key.status = "revoked"
        key.revoked_at = utcnow()
        await session.flush()
        await audit(session, actor, "agent.key_revoke", f"agent:{agent_id}", {"kid": kid, "reason": reason})
    return key


async def expire_other_keys(
    session: AsyncSession, agent_id: str, keep_kid: str, overlap_s: float, actor: str
) -> list[str]:
    """Rotation: every other usable key of the agent stops verifying ``overlap_s`` from now (audited).

    A key that already expires sooner keeps its earlier deadline. Returns the kids given a deadline.
    """
    now = utcnow()
    deadline = now + timedelta(seconds=max(0.0, overlap_s))
    q = select(AgentKeyRecord).where(AgentKeyRecord.agent_id == agent_id, AgentKeyRecord.kid != keep_kid, _usable(now))
    changed: list[str] = []
    for key in (await session.execute(q)).scalars():
        if key.expires_at is None or key.expires_at > deadline:
            key.expires_at = deadline
            changed.append(key.kid)
    if changed:
        await session.flush()
        await audit(
            session,
            actor,
            "agent.key_rotate",
            f"agent:{agent_id}",
            {"new_kid": keep_kid, "expiring": changed, "deadline": deadline.isoformat()},
        )
    return changed
