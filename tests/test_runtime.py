"""``WorkerRuntime.handle_telemetry``: what a batch sends, and in what order against the memory ledger."""

from __future__ import annotations

from sqlalchemy import func, select

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
