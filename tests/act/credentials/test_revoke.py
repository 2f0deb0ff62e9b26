"""credentials:revoke on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from soar.act import ACTIONS
from soar.store.models import CredentialRecord
from soar.telemetry.events import utcnow
from tests.act.context import make_ctx
from tests.decide.samples import Published, make_finding


async def _creds(sessionmaker) -> None:
    now = utcnow()
    async with sessionmaker() as s, s.begin():
        s.add_all(
            [
                CredentialRecord(credential_id="live1", agent_id="agent-1", expires_at=now + timedelta(minutes=5)),
                CredentialRecord(credential_id="live2", agent_id="agent-1", expires_at=now + timedelta(minutes=5)),
                CredentialRecord(credential_id="expired", agent_id="agent-1", expires_at=now - timedelta(minutes=1)),
                CredentialRecord(
                    credential_id="old",
                    agent_id="agent-1",
                    expires_at=now + timedelta(minutes=5),
                    revoked_at=now - timedelta(hours=1),
                    revoked_reason="earlier",
                ),
                CredentialRecord(credential_id="other", agent_id="agent-2", expires_at=now + timedelta(minutes=5)),
            ]
        )


async def test_revoke_all_live_credentials(sessionmaker) -> None:
    await _creds(sessionmaker)
    pub = Published()
    async with sessionmaker() as s, s.begin():
        out = await ACTIONS.get("credentials:revoke")().execute(make_ctx(s, make_finding(), pub), {"reason": "inj"})
    assert out["revoked"] == ["live1", "live2"]
    assert pub[0].command == "revoke" and pub[0].params == {"credential_ids": ["live1", "live2"]}
    async with sessionmaker() as s:
        for cid, reason in (("live1", "inj"), ("live2", "inj"), ("old", "earlier")):
            rec = await s.get(CredentialRecord, cid)
            assert rec is not None and rec.revoked_at is not None and rec.revoked_reason == reason
        for cid in ("expired", "other"):
            rec = await s.get(CredentialRecord, cid)
            assert rec is not None and rec.revoked_at is None


async def test_revoke_only_given_ids_and_idempotent(sessionmaker) -> None:
    await _creds(sessionmaker)
    pub = Published()
    action = ACTIONS.get("credentials:revoke")()
    for _ in range(2):
        async with sessionmaker() as s, s.begin():
            out = await action.execute(make_ctx(s, make_finding(), pub), {"credential_ids": ["live2"]})
    assert out["revoked"] == []  # the second run found nothing left to revoke
    assert {c.command_id for c in pub} == {pub[0].command_id}
    async with sessionmaker() as s:
        assert (await s.get(CredentialRecord, "live1")).revoked_at is None  # type: ignore[union-attr]
        assert (await s.get(CredentialRecord, "live2")).revoked_at is not None  # type: ignore[union-attr]
