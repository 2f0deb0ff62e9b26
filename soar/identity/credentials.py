"""Task-scoped credentials: issue short-lived EdDSA JWTs and answer authorize calls (soar as the PDP).

A token names the agent (``sub``), its task (``task_id``) and what it may do (``scopes``); its ``jti`` is
the ``CredentialRecord`` id. :func:`authorize` re-reads the credential and its agent in one query on every
call, so a revocation or a quarantine takes effect on the very next call, in every API process.

Agents get tokens by proving possession of their registered key: :func:`build_token_request` (SDK side)
signs ``{agent_id, task_id, scopes, ts, nonce, kid}``; :func:`request_token` (server side) checks clock
skew, the key and the signature. The credential id is derived from ``(agent_id, kid, nonce)``, so a replayed
request collides with the credential it already produced and is refused, across processes, with no nonce table.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import Counter, Histogram
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from soar.config import Settings, get_settings
from soar.identity.agents import key_for
from soar.identity.errors import (
    AgentNotActive,
    AgentNotFound,
    CredentialConflict,
    IdentityError,
    ScopeNotAllowed,
    TokenRequestRejected,
)
from soar.identity.keys import ALGORITHM, SigningKey, signing_key
from soar.identity.scopes import Scope, scope_decision, tool_allowed
from soar.store.audit import audit
from soar.store.models import AgentRecord, CredentialRecord
from soar.telemetry.events import utcnow
from soar.telemetry.signing import canonical_bytes, load_public_key, sign_object, verify_bytes

ISSUER = "soar"

AUTHORIZE_DECISIONS = Counter(
    "soar_authorize_decisions_total", "Authorize decisions by outcome and reason", ["decision", "reason"]
)
AUTHORIZE_SECONDS = Histogram(
    "soar_authorize_seconds",
    "Time to answer one authorize call",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
TOKEN_REQUESTS = Counter("soar_token_requests_total", "Agent token requests by result", ["result"])


class IssuedToken(BaseModel):
    """A token soar just issued."""

    model_config = ConfigDict(frozen=True)

    token: str
    credential_id: str
    expires_at: datetime


class Decision(BaseModel):
    """The PDP's answer; ``reason`` is a short code (``ok``, ``expired``, ``revoked``, ``tool_out_of_scope``…)."""

    model_config = ConfigDict(frozen=True)

    allow: bool
    reason: str
    agent_id: str | None = None
    credential_id: str | None = None
    task_id: str | None = None


class TokenRequest(BaseModel):
    """An agent-signed token request; ``sig`` is Ed25519 over the canonical JSON of the body without ``sig``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent_id: str = Field(min_length=1, max_length=256)
    task_id: str = Field(max_length=256)
    scopes: list[Scope] = Field(min_length=1, max_length=32)
    ts: AwareDatetime
    nonce: str = Field(min_length=16, max_length=128)
    kid: str = Field(min_length=1, max_length=128)
    sig: str = Field(min_length=1, max_length=256)


# --- issuing ---------------------------------------------------------------------------------------------


def _check_tools(agent: AgentRecord, scopes: Sequence[Scope]) -> None:
    allowed = [str(t) for t in agent.tools or []]
    if not allowed:  # no tool list registered: the agent is not restricted by tool (scopes still are)
        return
    denied = [s.tool for s in scopes if not tool_allowed(s.tool, allowed)]
    if denied:
        raise ScopeNotAllowed(f"agent {agent.agent_id} may not call {denied}; allowed: {allowed}")


async def issue_token(
    session: AsyncSession,
    agent_id: str,
    task_id: str,
    scopes: Sequence[Scope],
    ttl_s: int,
    *,
    key: SigningKey | None = None,
    credential_id: str | None = None,
    actor: str | None = None,
) -> IssuedToken:
    """Store a ``CredentialRecord`` (audited) and return its signed JWT, valid for ``ttl_s`` seconds.

    Refuses unknown agents (:class:`AgentNotFound`), quarantined ones (:class:`AgentNotActive`), tools outside
    the agent's ``tools`` (:class:`ScopeNotAllowed`) and a duplicate ``credential_id`` (:class:`CredentialConflict`).
    """
    if ttl_s <= 0:
        raise IdentityError("ttl_s must be positive")
    if not scopes:
        raise IdentityError("a token needs at least one scope")
    key = key or signing_key()
    agent = await session.get(AgentRecord, agent_id)
    if agent is None:
        raise AgentNotFound(agent_id)
    if agent.status != "active":
        raise AgentNotActive(f"agent {agent_id} is {agent.status}")
    _check_tools(agent, scopes)
    now = utcnow().replace(microsecond=0)  # JWT times are whole seconds
    expires_at = now + timedelta(seconds=ttl_s)
    cid = credential_id or uuid.uuid4().hex
    scope_dicts = [s.model_dump(mode="json") for s in scopes]
    session.add(
        CredentialRecord(
            credential_id=cid,
            agent_id=agent_id,
            task_id=task_id,
            scopes=scope_dicts,
            issued_at=now,
            expires_at=expires_at,
        )
    )
    try:
        await session.flush()
    except IntegrityError as e:
        raise CredentialConflict(f"credential {cid} exists already") from e
    await audit(
        session,
        actor or f"agent:{agent_id}",
        "credential.issue",
        f"credential:{cid}",
        {"agent_id": agent_id, "task_id": task_id, "scopes": scope_dicts, "expires_at": expires_at.isoformat()},
    )
    claims = {
        "iss": ISSUER,
        "sub": agent_id,
        "task_id": task_id,
        "scopes": scope_dicts,
        "jti": cid,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    token = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
    return IssuedToken(token=token, credential_id=cid, expires_at=expires_at)


# --- authorizing ------------------------------------------------------------------------------------------


def _deny(reason: str, **ids: str | None) -> Decision:
    return Decision(allow=False, reason=reason, **ids)


def _decode(token: str, key: SigningKey) -> dict[str, Any] | str:
    """The verified claims, or a deny reason."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        return "malformed"
    if header.get("kid") != key.kid:
        return "unknown_signing_key"
    try:
        return jwt.decode(
            token,
            key.public_key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            # iat is not checked against the clock: another API process a little ahead of us is not an attack.
            options={"require": ["iss", "sub", "jti", "iat", "exp"], "verify_iat": False},
        )
    except jwt.ExpiredSignatureError:
        return "expired"
    except jwt.InvalidSignatureError:
        return "bad_signature"
    except jwt.InvalidTokenError:
        return "malformed"


async def authorize(
    session: AsyncSession, token: str, tool: str, resource: str, action: str, *, key: SigningKey | None = None
) -> Decision:
    """Decide whether ``token`` lets its agent do ``action`` on ``resource`` with ``tool``.

    Denies on a bad signature, expiry, an unknown or revoked credential, a quarantined agent, a tool the agent
    may no longer call, or a tool/resource/action outside the token's scopes. One database query per call.
    """
    started = time.perf_counter()
    decision = await _authorize(session, token, tool, resource, action, key or signing_key())
    AUTHORIZE_SECONDS.observe(time.perf_counter() - started)
    AUTHORIZE_DECISIONS.labels("allow" if decision.allow else "deny", decision.reason).inc()
    return decision


@dataclass(frozen=True)
class Claims:
    """A verified token's claims as authorize uses them (immutable, so a cache may share them)."""

    agent_id: str
    credential_id: str
    task_id: str
    exp: int
    scopes: tuple[Scope, ...]

    def ids(self) -> dict[str, str | None]:
        """The ids a :class:`Decision` carries."""
        return {"agent_id": self.agent_id, "credential_id": self.credential_id, "task_id": self.task_id}


def parse_claims(token: str, key: SigningKey) -> Claims | str:
    """Verify the JWT and return its :class:`Claims`, or a deny reason (``exp`` is checked in :func:`decide`)."""
    claims = _decode(token, key)
    if isinstance(claims, str):
        return claims
    try:
        scopes = tuple(Scope.model_validate(s) for s in claims.get("scopes") or [])
        return Claims(
            str(claims["sub"]), str(claims["jti"]), str(claims.get("task_id", "")), int(claims["exp"]), scopes
        )
    except (ValidationError, TypeError, ValueError):
        return "malformed"


CredentialRow = tuple[str, bool, datetime, str | None, list[Any] | None]
"""``(credential agent_id, revoked, expires_at, agent status or None, agent tools)``: the state authorize reads."""


def credential_state_query(credential_id: str) -> Any:
    """The one indexed query authorize runs per call: the credential joined to its agent."""
    return (
        select(
            CredentialRecord.agent_id,
            CredentialRecord.revoked_at,
            CredentialRecord.expires_at,
            AgentRecord.status,
            AgentRecord.tools,
        )
        .outerjoin(AgentRecord, AgentRecord.agent_id == CredentialRecord.agent_id)
        .where(CredentialRecord.credential_id == credential_id)
    )


def decide(
    claims: Claims,
    row: CredentialRow | None,
    tool: str,
    resource: str,
    action: str,
    *,
    now: datetime | None = None,
) -> Decision:
    """The decision for verified claims and the credential's current row (None: unknown credential)."""
    now = now or utcnow()
    ids = claims.ids()
    if claims.exp <= now.timestamp():
        return _deny("expired", **ids)
    if row is None:
        return _deny("unknown_credential", **ids)
    cred_agent, revoked, expires_at, agent_status, agent_tools = row
    if cred_agent != ids["agent_id"]:
        return _deny("agent_mismatch", **ids)
    if revoked:
        return _deny("revoked", **ids)
    if expires_at <= now:
        return _deny("expired", **ids)
    if agent_status is None:
        return _deny("unknown_agent", **ids)
    if agent_status != "active":
        return _deny("agent_quarantined", **ids)
    reason = scope_decision(claims.scopes, tool, resource, action)
    if reason == "ok" and agent_tools and not any(fnmatchcase(tool, str(t)) for t in agent_tools):
        reason = "tool_not_allowed_for_agent"  # the agent's tools were narrowed after the token was issued
    return Decision(allow=reason == "ok", reason=reason, **ids)


async def _authorize(
    session: AsyncSession, token: str, tool: str, resource: str, action: str, key: SigningKey
) -> Decision:
    claims = parse_claims(token, key)
    if isinstance(claims, str):
        return _deny(claims)
    result = (await session.execute(credential_state_query(claims.credential_id))).one_or_none()
    row: CredentialRow | None = None
    if result is not None:
        agent_id, revoked_at, expires_at, status, tools = result
        row = (agent_id, revoked_at is not None, expires_at, status, tools)
    return decide(claims, row, tool, resource, action)


# --- revoking ---------------------------------------------------------------------------------------------


async def revoke_credential(session: AsyncSession, credential_id: str, reason: str, actor: str) -> CredentialRecord:
    """Revoke one credential (audited; idempotent). Takes effect on the next authorize call."""
    cred = await session.get(CredentialRecord, credential_id, with_for_update=True)
    if cred is None:
        raise IdentityError(f"unknown credential {credential_id}")
    if cred.revoked_at is None:
        cred.revoked_at = utcnow()
        cred.revoked_reason = reason
        await session.flush()
        await audit(
            session,
            actor,
            "credential.revoke",
            f"credential:{credential_id}",
            {"agent_id": cred.agent_id, "reason": reason},
        )
    return cred


async def revoke_agent_credentials(session: AsyncSession, agent_id: str, reason: str, actor: str) -> list[str]:
    """Revoke every unrevoked, unexpired credential of the agent (one audit entry); returns their ids."""
    now = utcnow()
    ids = list(
        (
            await session.execute(
                select(CredentialRecord.credential_id).where(
                    CredentialRecord.agent_id == agent_id,
                    CredentialRecord.revoked_at.is_(None),
                    CredentialRecord.expires_at > now,
                )
            )
        ).scalars()
    )
    if ids:
        await session.execute(
            update(CredentialRecord)
            .where(CredentialRecord.credential_id.in_(ids), CredentialRecord.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )
        await audit(
            session, actor, "credential.revoke_all", f"agent:{agent_id}", {"credentials": ids, "reason": reason}
        )
    return ids


# --- agent-signed token requests --------------------------------------------------------------------------


def _scope(s: Scope | Mapping[str, Any] | str) -> Scope:
    if isinstance(s, str):
        return Scope(tool=s, resources=["*"], actions=["*"])
    return Scope.model_validate(s)


def build_token_request(
    private_key: Ed25519PrivateKey,
    kid: str,
    agent_id: str,
    task_id: str,
    scopes: Sequence[Scope | Mapping[str, Any] | str],
    *,
    now: datetime | None = None,
    nonce: str | None = None,
) -> dict[str, Any]:
    """SDK side: the JSON body for ``POST /v1/tokens``, signed with the agent's key.

    A scope is a :class:`Scope`, its dict form, or a bare tool glob (shorthand for every resource and action).
    """
    ts = (now or datetime.now(UTC)).astimezone(UTC)
    body: dict[str, Any] = {
        "agent_id": agent_id,
        "task_id": task_id,
        "scopes": [_scope(s).model_dump(mode="json") for s in scopes],
        "ts": ts.isoformat().replace("+00:00", "Z"),
        "nonce": nonce or secrets.token_urlsafe(18),
    }
    return sign_object(body, private_key, kid)


async def verify_token_request(
    session: AsyncSession, body: Mapping[str, Any], *, max_skew_s: float, now: datetime | None = None
) -> TokenRequest:
    """Check an agent-signed request: shape, clock skew, the agent's active key ``kid``, the signature.

    The signature is checked over the body *as received* (not a re-serialised model).
    """
    try:
        req = TokenRequest.model_validate(dict(body))
    except ValidationError as e:
        raise TokenRequestRejected("malformed", str(e)) from e
    skew = abs(((now or utcnow()) - req.ts).total_seconds())
    if skew > max_skew_s:
        raise TokenRequestRejected("clock_skew", f"{skew:.0f}s > {max_skew_s:.0f}s")
    pub = await key_for(session, req.agent_id, req.kid)
    if pub is None:
        raise TokenRequestRejected("unknown_kid", f"agent {req.agent_id} has no active key {req.kid}")
    if not verify_bytes(canonical_bytes(dict(body)), req.sig, load_public_key(pub)):
        raise TokenRequestRejected("bad_signature")
    return req


def request_credential_id(agent_id: str, kid: str, nonce: str) -> str:
    """The credential id a signed request produces (so a replay collides with it)."""
    return hashlib.sha256(f"{agent_id}\0{kid}\0{nonce}".encode()).hexdigest()[:32]


async def request_token(
    session: AsyncSession,
    body: Mapping[str, Any],
    *,
    settings: Settings | None = None,
    key: SigningKey | None = None,
) -> IssuedToken:
    """Server side of ``POST /v1/tokens``: verify the signed request, then issue (ttl: ``settings.token_ttl_s``).

    Raises :class:`TokenRequestRejected` with reason ``malformed``, ``clock_skew``, ``unknown_kid``,
    ``bad_signature``, ``replayed``, ``agent_quarantined`` or ``scope_not_allowed``.
    """
    settings = settings or get_settings()
    try:
        req = await verify_token_request(session, body, max_skew_s=settings.max_clock_skew_s)
        cid = request_credential_id(req.agent_id, req.kid, req.nonce)
        if await session.get(CredentialRecord, cid) is not None:
            raise TokenRequestRejected("replayed", "this request was already used")
        try:
            issued = await issue_token(
                session, req.agent_id, req.task_id, req.scopes, settings.token_ttl_s, key=key, credential_id=cid
            )
        except AgentNotActive as e:
            raise TokenRequestRejected("agent_quarantined", str(e)) from e
        except ScopeNotAllowed as e:
            raise TokenRequestRejected("scope_not_allowed", str(e)) from e
        except CredentialConflict as e:
            raise TokenRequestRejected("replayed", str(e)) from e
        except AgentNotFound as e:
            raise TokenRequestRejected("unknown_kid", str(e)) from e
    except TokenRequestRejected as e:
        TOKEN_REQUESTS.labels(e.reason).inc()
        raise
    TOKEN_REQUESTS.labels("issued").inc()
    return issued
