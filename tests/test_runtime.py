"""``WorkerRuntime.handle_telemetry``: what a batch sends, and in what order against the memory ledger."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError

from soar.config import Settings
from soar.detect.base import MemoryState
from soar.identity.agents import register_agent
from soar.ingest.decoders import RawRecord
from soar.runtime import WorkerRuntime
from soar.sim import corpus
from soar.store.models import MemoryVersionRecord
from soar.store.session import get_sessionmaker
from soar.telemetry.findings import Finding
from tests.helpers import TestAgent

WRITER = TestAgent("writer")
OTHER = TestAgent("other")


def _attack(agent: TestAgent) -> bytes:
    payload = {"tool": "browser.fetch", "call_id": "atk", "content": corpus.INJECTION_PAGE, "status": "ok"}
    return agent.raw("tool_result", payload)


async def test_findings_of_agents_without_memory_writes_go_out_before_the_ledger_commit(db_url: str) -> None:
    sessionmaker = get_sessionmaker(db_url)
    async with sessionmaker() as s, s.begin():
        for a in (WRITER, OTHER):
            await register_agent(s, a.agent_id, a.public_b64)
    rt = WorkerRuntime(Settings(database_url=db_url), MemoryState())
    await rt.refresh_directory()
    sent: list[tuple[str, int]] = []  # (agent of the finding, the writer's ledger rows when it was sent)

    async def send_finding(key: bytes | None, value: bytes) -> None:
        f = Finding.model_validate_json(value)
        async with sessionmaker() as s:
            q = select(func.count()).select_from(MemoryVersionRecord).where(MemoryVersionRecord.agent_id == "writer")
            sent.append((f.agent_id, (await s.execute(q)).scalar_one()))

    async def send_dead(key: bytes | None, value: bytes) -> None:
        return None

    write = {"store": "notes", "key": "k", "value": "v", "provenance": {"source": "user"}}
    raws = [WRITER.raw("memory_write", write), _attack(WRITER), _attack(OTHER)]
    await rt.handle_telemetry([RawRecord(r, "t", 0, i) for i, r in enumerate(raws)], send_finding, send_dead)
    by_agent: dict[str, list[int]] = {}
    for agent, rows in sent:
        by_agent.setdefault(agent, []).append(rows)
    assert by_agent["other"] and by_agent["writer"]
    assert set(by_agent["other"]) == {0}  # before the ledger's transaction
    assert set(by_agent["writer"]) == {1}  # the writer's findings only once its write is in the ledger
    first_writer = next(i for i, (agent, _) in enumerate(sent) if agent == "writer")
    assert all(agent == "other" for agent, _ in sent[:first_writer])


async def test_a_memory_write_the_database_refuses_is_dead_lettered_and_the_batch_goes_on(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error that is not a connection fault is the data's: retried, it fails again, and a failed batch is
    retried from its last commit for ever (a NUL did it on PostgreSQL). Each write is then tried alone."""
    import soar.runtime

    real = soar.runtime.record_writes

    async def record_writes(session, events):  # type: ignore[no-untyped-def]
        if any(e.payload.value == "refused" for e in events):
            raise DataError("INSERT INTO memory_version ...", {}, ValueError("value too long"))
        return await real(session, events)

    monkeypatch.setattr(soar.runtime, "record_writes", record_writes)
    sessionmaker = get_sessionmaker(db_url)
    async with sessionmaker() as s, s.begin():
        await register_agent(s, WRITER.agent_id, WRITER.public_b64)
    rt = WorkerRuntime(Settings(database_url=db_url), MemoryState())
    await rt.refresh_directory()
    findings: list[Finding] = []
    dead: list[dict] = []

    async def send_finding(key: bytes | None, value: bytes) -> None:
        findings.append(Finding.model_validate_json(value))

    async def send_dead(key: bytes | None, value: bytes) -> None:
        dead.append(orjson.loads(value))

    def write(key: str, value: str) -> bytes:
        return WRITER.raw(
            "memory_write", {"store": "notes", "key": key, "value": value, "provenance": {"source": "user"}}
        )

    raws = [write("a", "kept"), write("b", "refused"), _attack(WRITER)]
    await rt.handle_telemetry([RawRecord(r, "t", 0, i) for i, r in enumerate(raws)], send_finding, send_dead)
    assert [(d["reason"], d["offset"]) for d in dead] == [("internal_error", 1)]
    assert "DataError" in dead[0]["detail"]
    async with sessionmaker() as s:
        assert (await s.execute(select(MemoryVersionRecord.key))).scalars().all() == ["a"]
    assert any(f.detector == "injection" for f in findings)
