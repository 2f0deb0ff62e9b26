"""Enrollment on both backends: one-time tokens, proof of possession, expiry, re-key with overlap."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.identity.agents import active_keys, agent_keys, get_agent, key_for
from soar.identity.enrollment import create_enrollment, enroll, token_hash
from soar.identity.errors import EnrollmentRejected
from soar.sdk.enroll import enroll_request_body, generate_key
from soar.store.audit import verify_chain
from soar.store.models import AuditRecord, EnrollmentRecord
from soar.telemetry.events import utcnow
from soar.telemetry.signing import key_id


async def _issue(sm: async_sessionmaker[AsyncSession], agent_id: str = "a1", **kw: object) -> str:
    async with sm() as s, s.begin():
        issued = await create_enrollment(s, agent_id, owner="ml", labels={"env": "prod"}, tools=["crm.*"], **kw)  # type: ignore[arg-type]
    return issued.token


async def test_enroll_registers_the_agents_own_key_once(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    token = await _issue(sessionmaker)
    key = generate_key()
    async with sessionmaker() as s, s.begin():
        result = await enroll(s, enroll_request_body(key, token, "a1"))
    assert result.kid == key_id(key.public_key()) and result.expiring == []
    async with sessionmaker() as s:
        agent = await get_agent(s, "a1")
        assert agent is not None and (agent.owner, agent.labels, agent.tools) == ("ml", {"env": "prod"}, ["crm.*"])
        assert await key_for(s, "a1", result.kid) is not None
        rec = (await s.execute(select(EnrollmentRecord))).scalar_one()
        assert rec.token_hash == token_hash(token) and token not in str(rec.__dict__)  # stored hashed only
        assert rec.used_kid == result.kid
        actions = list((await s.execute(select(AuditRecord.action).order_by(AuditRecord.seq))).scalars())
        assert actions == ["agent.enrollment_issue", "agent.register", "agent.enroll"]
        assert await verify_chain(s)
    with pytest.raises(EnrollmentRejected, match="used"):
        async with sessionmaker() as s, s.begin():
            await enroll(s, enroll_request_body(generate_key(), token, "a1"))


@pytest.mark.parametrize("case", ["unknown_token", "agent_mismatch", "expired", "bad_signature", "clock_skew"])
async def test_enroll_rejects(sessionmaker: async_sessionmaker[AsyncSession], case: str) -> None:
    token = await _issue(sessionmaker, ttl_s=1 if case == "expired" else 3600)
    key = generate_key()
    body = enroll_request_body(key, token, "a1")
    now = None
    if case == "unknown_token":
        body = enroll_request_body(key, token + "x", "a1")
    elif case == "agent_mismatch":
        body = enroll_request_body(key, token, "a2")
    elif case == "expired":
        now = utcnow() + timedelta(seconds=5)
    elif case == "bad_signature":  # signed by another key than the one being enrolled
        body = {**enroll_request_body(generate_key(), token, "a1"), "public_key": body["public_key"]}
    elif case == "clock_skew":
        now = utcnow() + timedelta(hours=1)
    with pytest.raises(EnrollmentRejected, match=case):
        async with sessionmaker() as s, s.begin():
            await enroll(s, body, now=now, max_skew_s=60 if case != "expired" else 3600)
    async with sessionmaker() as s:
        assert await get_agent(s, "a1") is None


async def test_rekey_enrollment_gives_old_keys_a_deadline(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    old, new = generate_key(), generate_key()
    async with sessionmaker() as s, s.begin():
        await enroll(s, enroll_request_body(old, await _issue(sessionmaker), "a1"))
    token = await _issue(sessionmaker, rotate_overlap_s=600)
    async with sessionmaker() as s, s.begin():
        result = await enroll(s, enroll_request_body(new, token, "a1"))
    old_kid, new_kid = key_id(old.public_key()), key_id(new.public_key())
    assert result.expiring == [old_kid]
    async with sessionmaker() as s:
        keys = {k.kid: k for k in await agent_keys(s, "a1")}
        assert keys[new_kid].expires_at is None
        deadline = keys[old_kid].expires_at
        assert deadline is not None and timedelta(seconds=590) < deadline - utcnow() <= timedelta(seconds=600)
        assert set(await active_keys(s)) == {old_kid, new_kid}  # overlap: both verify until the deadline
    # Past the deadline the old key is no longer usable; a zero overlap ends it at once.
    token = await _issue(sessionmaker, rotate_overlap_s=0)
    newest = generate_key()
    async with sessionmaker() as s, s.begin():
        result = await enroll(s, enroll_request_body(newest, token, "a1"))
    assert set(result.expiring) == {old_kid, new_kid}
    async with sessionmaker() as s:
        assert set(await active_keys(s)) == {key_id(newest.public_key())}
        assert await key_for(s, "a1", old_kid) is None
