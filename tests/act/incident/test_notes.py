"""incident:open and incident:note on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from soar.act import ACTIONS
from soar.errors import ActionCheckFailed
from soar.store.models import AuditRecord, IncidentEventRecord, IncidentRecord
from tests.act.context import make_ctx
from tests.decide.samples import Published, make_finding


async def _act(sm, name: str, params: dict, incident_id: str | None, key: str = "run-1:s") -> dict:  # type: ignore[no-untyped-def]
    async with sm() as s, s.begin():
        ctx = make_ctx(
            s, make_finding(severity="medium", summary="odd tool call"), Published(), key=key, incident_id=incident_id
        )
        return await ACTIONS.get(name)().execute(ctx, params)


async def _timeline(sm, incident_id: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with sm() as s:
        q = select(IncidentEventRecord).where(IncidentEventRecord.incident_id == incident_id)
        return [(e.kind, e.summary) for e in (await s.execute(q.order_by(IncidentEventRecord.id))).scalars()]


async def test_open_creates_reopens_and_raises_severity_only(sessionmaker) -> None:
    out = await _act(sessionmaker, "incident:open", {"owner": "secops"}, None)
    inc_id = out["incident_id"]
    assert out["changes"] == {"created": True, "owner": "secops"}
    again = await _act(sessionmaker, "incident:open", {"owner": "secops"}, None)
    assert again["incident_id"] == inc_id  # a resumed step (same key) opens the same incident
    async with sessionmaker() as s, s.begin():
        rec = await s.get(IncidentRecord, inc_id)
        assert rec is not None and rec.severity == "medium" and rec.title == "odd tool call"
        rec.status = "resolved"
    out = await _act(sessionmaker, "incident:open", {"severity": "critical", "title": "Exfil"}, inc_id)
    assert out["status"] == "open" and out["changes"] == {"reopened": True, "title": "Exfil", "severity": "critical"}
    out = await _act(sessionmaker, "incident:open", {"severity": "low"}, inc_id)
    assert out["changes"] == {}  # never downwards
    assert [k for k, _ in await _timeline(sessionmaker, inc_id)] == ["status", "status"]
    with pytest.raises(ActionCheckFailed, match="severity"):
        await _act(sessionmaker, "incident:open", {"severity": "urgent"}, inc_id)


async def test_note_appends_to_timeline_and_audit(sessionmaker) -> None:
    inc_id = (await _act(sessionmaker, "incident:open", {}, None))["incident_id"]
    out = await _act(sessionmaker, "incident:note", {"text": "revoked 2 tokens"}, inc_id, key="run-1:note")
    assert out == {"incident_id": inc_id, "note": "revoked 2 tokens"}
    assert ("note", "revoked 2 tokens") in await _timeline(sessionmaker, inc_id)
    async with sessionmaker() as s:
        acts = list((await s.execute(select(AuditRecord.action))).scalars())
    assert "incident.note" in acts
    with pytest.raises(ActionCheckFailed, match="no incident"):
        await _act(sessionmaker, "incident:note", {"text": "x"}, None)
