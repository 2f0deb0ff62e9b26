"""Enrollment: an operator issues a one-time, expiring token; the agent registers its own public key with it.

The token is shown once and stored only as its sha256. The agent generates its Ed25519 key locally and sends
``POST /v1/enroll`` with a body signed by that new key (proof of possession; the private key never leaves the
agent)::

    issued = await create_enrollment(session, "web-researcher", owner="ml-team", tools=["browser.*"], ttl_s=3600)
    # ... on the agent: soar.sdk.enroll.enroll(api_url, issued.token, "web-researcher", key_path)
    result = await enroll(session, body, max_skew_s=300)

A re-key enrollment (``rotate_overlap_s`` set, from ``soar agents rotate-key``) gives the agent's other keys a
deadline ``rotate_overlap_s`` after the new key enrolls: rotation with overlap. The token is consumed with a
conditional UPDATE, so two API processes cannot both accept it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from soar.identity.agents import expire_other_keys, normalise_public_key, register_agent
from soar.identity.errors import EnrollmentRejected, IdentityError, KeyConflict
from soar.store.audit import audit
from soar.store.models import AgentRecord, EnrollmentRecord
from soar.telemetry.events import utcnow
from soar.telemetry.signing import canonical_bytes, load_public_key, verify_bytes

TOKEN_PREFIX = "soar-enroll."
DEFAULT_TTL_S = 3600


def token_hash(token: str) -> str:
    """sha256 hex of an enrollment token (what the store keeps)."""
    return hashlib.sha256(token.strip().encode()).hexdigest()


@dataclass(frozen=True)
class IssuedEnrollment:
    """A freshly issued enrollment token; ``token`` is shown once and never stored."""

    token: str
    enrollment_id: str
    agent_id: str
    expires_at: datetime
    rotate_overlap_s: int | None = None


@dataclass(frozen=True)
class EnrollResult:
    """What an accepted enrollment did: the agent, its new key id, and the keys now expiring (re-key)."""

    agent: AgentRecord
    kid: str
    enrollment_id: str
    expiring: list[str]


class EnrollRequest(BaseModel):
    """``POST /v1/enroll``: signed with the new key itself (``kid`` must be that key's id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: str = Field(min_length=16, max_length=256)
    agent_id: str = Field(min_length=1, max_length=256)
    public_key: str = Field(min_length=40, max_length=64)
    ts: AwareDatetime
    nonce: str = Field(min_length=16, max_length=128)
    kid: str = Field(min_length=1, max_length=128)
    sig: str = Field(min_length=1, max_length=256)


async def create_enrollment(
    session: AsyncSession,
    agent_id: str,
    *,
    owner: str = "",
    labels: dict[str, Any] | None = None,
    tools: list[str] | None = None,
    ttl_s: int = DEFAULT_TTL_S,
    rotate_overlap_s: int | None = None,
    actor: str = "system",
) -> IssuedEnrollment:
    """Store a one-time token for ``agent_id`` (hashed; audited) and return it, valid for ``ttl_s`` seconds."""
    if not agent_id:
        raise IdentityError("agent_id must not be empty")
    if ttl_s <= 0:
        raise IdentityError("ttl_s must be positive")
    if rotate_overlap_s is not None and rotate_overlap_s < 0:
        raise IdentityError("rotate_overlap_s must not be negative")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    eid = uuid.uuid4().hex
    now = utcnow()
    expires_at = now + timedelta(seconds=ttl_s)
    session.add(
        EnrollmentRecord(
            token_hash=token_hash(token),
            enrollment_id=eid,
            agent_id=agent_id,
            owner=owner,
            labels=dict(labels or {}),
            tools=list(tools) if tools is not None else None,
            rotate_overlap_s=rotate_overlap_s,
            created_by=actor,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()
    await audit(
        session,
        actor,
        "agent.enrollment_issue",
        f"agent:{agent_id}",
        {"enrollment_id": eid, "expires_at": expires_at.isoformat(), "rotate_overlap_s": rotate_overlap_s},
    )
    return IssuedEnrollment(token, eid, agent_id, expires_at, rotate_overlap_s)


def verify_enroll_request(body: Mapping[str, Any], *, max_skew_s: float, now: datetime | None = None) -> EnrollRequest:
    """Shape, clock skew, and the proof of possession: ``kid`` is the key's id and ``sig`` verifies with it."""
    try:
        req = EnrollRequest.model_validate(dict(body))
    except ValidationError as e:
        raise EnrollmentRejected("malformed", str(e)) from e
    skew = abs(((now or utcnow()) - req.ts).total_seconds())
    if skew > max_skew_s:
        raise EnrollmentRejected("clock_skew", f"{skew:.0f}s > {max_skew_s:.0f}s")
    try:
        kid, pub = normalise_public_key(req.public_key)
    except IdentityError as e:
        raise EnrollmentRejected("malformed", str(e)) from e
    if kid != req.kid:
        raise EnrollmentRejected("bad_signature", "kid is not the id of the enrolled public key")
    if not verify_bytes(canonical_bytes(dict(body)), req.sig, load_public_key(pub)):
        raise EnrollmentRejected("bad_signature", "the request is not signed by the key being enrolled")
    return req


async def enroll(
    session: AsyncSession, body: Mapping[str, Any], *, max_skew_s: float = 300.0, now: datetime | None = None
) -> EnrollResult:
    """Server side of ``POST /v1/enroll``: verify, consume the token once, register the key (all audited).

    Raises :class:`EnrollmentRejected` with reason ``malformed``, ``clock_skew``, ``bad_signature``,
    ``unknown_token``, ``expired``, ``used``, ``agent_mismatch`` or ``key_conflict``.
    """
    req = verify_enroll_request(body, max_skew_s=max_skew_s, now=now)
    now = now or utcnow()
    h = token_hash(req.token)
    rec = await session.get(EnrollmentRecord, h)
    if rec is None:
        raise EnrollmentRejected("unknown_token")
    if rec.agent_id != req.agent_id:
        raise EnrollmentRejected("agent_mismatch", "the token was issued for another agent id")
    if rec.used_at is not None:
        raise EnrollmentRejected("used", "the token was already used")
    if rec.expires_at <= now:
        raise EnrollmentRejected("expired")
    consumed = await session.execute(
        update(EnrollmentRecord)
        .where(EnrollmentRecord.token_hash == h, EnrollmentRecord.used_at.is_(None))
        .values(used_at=now, used_kid=req.kid)
        .execution_options(synchronize_session=False)
    )
    if int(consumed.rowcount or 0) != 1:  # type: ignore[attr-defined]
        raise EnrollmentRejected("used", "the token was used concurrently")
    actor = f"enrollment:{rec.enrollment_id}"
    try:
        agent = await register_agent(
            session,
            req.agent_id,
            req.public_key,
            owner=rec.owner,
            labels=rec.labels or None,
            tools=rec.tools,
            actor=actor,
        )
    except KeyConflict as e:
        raise EnrollmentRejected("key_conflict", str(e)) from e
    expiring: list[str] = []
    if rec.rotate_overlap_s is not None:
        expiring = await expire_other_keys(session, req.agent_id, req.kid, rec.rotate_overlap_s, actor)
    await audit(session, actor, "agent.enroll", f"agent:{req.agent_id}", {"kid": req.kid, "expiring": expiring})
    return EnrollResult(agent, req.kid, rec.enrollment_id, expiring)
