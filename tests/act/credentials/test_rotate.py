"""credentials:rotate on SQLite and PostgreSQL: live tokens retired as rotated, the agent told, idempotent."""

from __future__ import annotations

from datetime import timedelta

from soar.act import ACTIONS
from soar.store.models import AgentRecord, CredentialRecord
from soar.telemetry.control import command_id_for
from soar.telemetry.events import utcnow
from tests.act.context import make_ctx
from tests.decide.samples import Published, make_finding


async def _creds(sm) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    async with sm() as s, s.begin():
        s.add(AgentRecord(agent_id="agent-1", status="active"))
        s.add_all(
            [
                CredentialRecord(
                    credential_id="t1", agent_id="agent-1", task_id="task-1", expires_at=now + timedelta(minutes=5)
                ),
                CredentialRecord(
                    credential_id="t2", agent_id="agent-1", task_id="task-2", expires_at=now + timedelta(minutes=5)
                ),
                CredentialRecord(credential_id="gone", agent_id="agent-1", expires_at=now - timedelta(minutes=1)),
                CredentialRecord(credential_id="other", agent_id="agent-2", expires_at=now + timedelta(minutes=5)),
            ]
        )


async def _rotate(sm, pub: Published, params: dict, key: str = "run-1:rotate") -> dict:  # type: ignore[no-untyped-def]
    async with sm() as s, s.begin():
        return await ACTIONS.get("credentials:rotate")().execute(make_ctx(s, make_finding(), pub, key=key), params)


async def test_rotate_retires_live_tokens_and_keeps_agent_active(sessionmaker) -> None:
    await _creds(sessionmaker)
    pub = Published()
    out = await _rotate(sessionmaker, pub, {})
    assert out["rotated"] == ["t1", "t2"] and out["already"] is False
    [cmd] = pub
    assert cmd.command == "revoke" and cmd.params == {"credential_ids": ["t1", "t2"], "rotate": True}
    assert cmd.command_id == command_id_for("run-1:rotate")
    async with sessionmaker() as s:
        assert (await s.get(AgentRecord, "agent-1")).status == "active"  # type: ignore[union-attr]
        t1, other = await s.get(CredentialRecord, "t1"), await s.get(CredentialRecord, "other")
        assert t1 is not None and t1.revoked_reason == "rotated" and t1.revoked_at is not None
        assert other is not None and other.revoked_at is None
    again = Published()
    out2 = await _rotate(sessionmaker, again, {}, key="run-2:rotate")
    assert out2 == {"agent_id": "agent-1", "rotated": [], "already": True, "command_id": None} and again == []


async def test_rotate_task_only(sqlite_sessionmaker) -> None:
    await _creds(sqlite_sessionmaker)
    pub = Published()
    out = await _rotate(sqlite_sessionmaker, pub, {"task_only": True, "reason": "task scope changed"})
    assert out["rotated"] == ["t1"]  # the finding's task is task-1
    async with sqlite_sessionmaker() as s:
        t1, t2 = await s.get(CredentialRecord, "t1"), await s.get(CredentialRecord, "t2")
    assert t1 is not None and t1.revoked_reason == "task scope changed" and t2 is not None and t2.revoked_at is None
