"""Load the worker's ``KeyDirectory`` from the store: all of it, or just the keys / credentials a batch names.

Credentials (``identity_credential``) never change owner, task or scopes once issued, so the snapshot only
grows: :func:`load_directory` reads the ones still live (or expired less than ``CREDENTIAL_GRACE_S`` ago),
:func:`load_credentials` with ``since`` reads those issued since the last refresh, and with ``ids`` the ones a
batch names that the snapshot lacks (whatever their age).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from soar.detect.base import AgentProfile, CredentialGrant
from soar.identity.agents import active_keys
from soar.identity.scopes import Scope
from soar.store.models import AgentRecord, CredentialRecord
from soar.telemetry.events import utcnow
from soar.verify.checks import KeyDirectory

CREDENTIAL_GRACE_S = 3600.0
"""An expired credential stays in the snapshot this long (its use by another agent is still misuse)."""


async def _add_agents(session: AsyncSession, d: KeyDirectory, agent_ids: Collection[str] | None) -> None:
    q = select(AgentRecord)
    if agent_ids is not None:
        q = q.where(AgentRecord.agent_id.in_(list(agent_ids)))
    for a in (await session.execute(q)).scalars():
        d.agents[a.agent_id] = AgentProfile(agent_id=a.agent_id, tools=frozenset(a.tools or []), labels=a.labels or {})
        if a.status == "quarantined":
            d.quarantined.add(a.agent_id)


def _grant(c: CredentialRecord) -> CredentialGrant:
    scopes = []
    for raw in c.scopes or []:
        try:
            scopes.append(Scope.model_validate(raw))
        except ValidationError:
            continue  # a scope this version cannot read: the owner is what matters most
    return CredentialGrant(
        c.credential_id, c.agent_id, c.task_id or "", tuple(scopes), c.expires_at.timestamp(), c.issued_at.timestamp()
    )


async def load_credentials(
    session: AsyncSession,
    *,
    since: datetime | None = None,
    ids: Collection[str] | None = None,
    now: datetime | None = None,
) -> dict[str, CredentialGrant]:
    """Issued credentials: the ones named by ``ids`` (any age), else the live ones (and those expired less than
    ``CREDENTIAL_GRACE_S`` ago), issued at or after ``since`` when given."""
    q = select(CredentialRecord)
    if ids is not None:
        q = q.where(CredentialRecord.credential_id.in_(list(ids)))
    else:
        now = now or utcnow()
        q = q.where(CredentialRecord.expires_at > now - timedelta(seconds=CREDENTIAL_GRACE_S))
        if since is not None:
            q = q.where(CredentialRecord.issued_at >= since)
    return {c.credential_id: _grant(c) for c in (await session.execute(q)).scalars()}


async def load_directory(session: AsyncSession, *, credentials: bool = True) -> KeyDirectory:
    """Every enrolled agent, its active keys, which agents are quarantined and (``credentials``) the issued
    credentials still live."""
    d = KeyDirectory()
    await _add_agents(session, d, None)
    for kid, (agent_id, pub) in (await active_keys(session)).items():
        d.add_key(kid, agent_id, pub)
    if credentials:
        d.credentials = await load_credentials(session)
    return d


async def load_for_kids(session: AsyncSession, kids: Collection[str]) -> KeyDirectory:
    """Only the given keys and the agents that own them (a batch met keys the snapshot did not have)."""
    d = KeyDirectory()
    keys = await active_keys(session, kids)
    for kid, (agent_id, pub) in keys.items():
        d.add_key(kid, agent_id, pub)
    if keys:  # forged kids (a flood of them is the usual case here) need no second round trip
        await _add_agents(session, d, {agent_id for agent_id, _ in keys.values()})
    return d
