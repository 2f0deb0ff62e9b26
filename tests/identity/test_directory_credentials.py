"""The worker's directory knows which credentials soar issued to which agent, from the store (not from telemetry).

``credential_misuse`` compares a credential's user with its owner; before the worker loaded credentials the
owner was whichever agent used it first, so a thief that used a stolen token before its owner went unseen.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.config import Settings
from soar.detect.base import MemoryState
from soar.identity.agents import register_agent
from soar.identity.credentials import issue_token
from soar.identity.keys import SigningKey
from soar.identity.scopes import Scope
from soar.runtime import WorkerRuntime
from soar.store.session import get_sessionmaker
from soar.telemetry.findings import Finding
from soar.verify.directory import load_credentials
from tests.helpers import TestAgent, handle_batch

OWNER = TestAgent("finance-ops-1")
THIEF = TestAgent("support-agent-1")
PAY = Scope(tool="payments.transfer", resources=["*"], actions=["*"])


async def _enroll(maker: async_sessionmaker[AsyncSession]) -> None:
    async with maker() as s, s.begin():
        await register_agent(s, OWNER.agent_id, OWNER.public_b64, tools=["payments.transfer", "ledger.query"])
        await register_agent(s, THIEF.agent_id, THIEF.public_b64, tools=["tickets.read", "tickets.reply"])


async def _issue(maker: async_sessionmaker[AsyncSession], key: SigningKey, task: str) -> str:
    async with maker() as s, s.begin():
        issued = await issue_token(s, OWNER.agent_id, task, [PAY], 600, key=key)
    return issued.credential_id


def _use(agent: TestAgent, credential_id: str) -> bytes:
    return agent.raw(
        "credential_use", {"credential_id": credential_id, "resource": "payments-api/transfers", "action": "create"}
    )


def _misuse(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule == "credential_misuse"]


async def test_worker_directory_loads_issued_credentials_and_catches_a_thief_who_uses_one_first(
    db_url: str, soar_key: SigningKey
) -> None:
    maker = get_sessionmaker(db_url)
    await _enroll(maker)
    at_start = await _issue(maker, soar_key, "pay-run-1")
    rt = WorkerRuntime(Settings(database_url=db_url), MemoryState())
    await rt.refresh_directory()
    grant = rt.directory.credential(at_start)
    assert grant is not None and grant.agent_id == OWNER.agent_id and grant.task_id == "pay-run-1"
    assert grant.scopes == (PAY,)

    # the thief uses the owner's credential before the owner ever does: the store says whose it is
    found = _misuse(await handle_batch(rt, _use(THIEF, at_start)))
    assert len(found) == 1
    assert found[0].agent_id == THIEF.agent_id
    assert found[0].evidence["issued_to"] == OWNER.agent_id and found[0].evidence["known_from"] == "directory"
    # and the owner's own use afterwards is not misuse (a learned binding would have bound it to the thief)
    assert not _misuse(await handle_batch(rt, _use(OWNER, at_start)))

    # issued after the last refresh: the batch that names it looks it up before detection
    later = await _issue(maker, soar_key, "pay-run-2")
    assert rt.directory.credential(later) is None
    found = _misuse(await handle_batch(rt, _use(THIEF, later)))
    assert [f.evidence["known_from"] for f in found] == ["directory"]

    # issued since the last refresh: the next refresh reads it (and only credentials issued since)
    fresh = await _issue(maker, soar_key, "pay-run-3")
    await rt.refresh_directory()
    assert rt.directory.credential(fresh) is not None
    assert {at_start, later, fresh} <= rt.directory.credentials.keys()


async def test_a_thief_calling_a_tool_with_a_stolen_task_token_is_misuse_and_out_of_its_tools(
    sqlite_url: str, soar_key: SigningKey
) -> None:
    maker = get_sessionmaker(sqlite_url)
    await _enroll(maker)
    stolen = await _issue(maker, soar_key, "pay-run-9")
    rt = WorkerRuntime(Settings(database_url=sqlite_url), MemoryState())
    await rt.refresh_directory()
    call = THIEF.raw(
        "tool_call",
        {"tool": "payments.transfer", "call_id": "c1", "args": {"amount": 900}, "credential_id": stolen},
    )
    rules = {f.rule: f for f in await handle_batch(rt, call)}
    assert rules["credential_misuse"].evidence["issued_to"] == OWNER.agent_id
    # not the owner's token: judged against the thief's enrolled tools, which do not include payments
    assert rules["scope_violation"].evidence["basis"] == "enrolled tools"


async def test_load_credentials_reads_by_id_and_since(sqlite_url: str, soar_key: SigningKey) -> None:
    maker = get_sessionmaker(sqlite_url)
    await _enroll(maker)
    first = await _issue(maker, soar_key, "t1")
    async with maker() as s:
        everything = await load_credentials(s)
        by_id = await load_credentials(s, ids=[first, "no-such-credential"])
    assert set(everything) == set(by_id) == {first}
    second = await _issue(maker, soar_key, "t2")
    issued = everything[first].issued_at  # whole seconds (JWT times)
    async with maker() as s:
        since = await load_credentials(s, since=datetime.fromtimestamp(issued, UTC))
        later = await load_credentials(s, since=datetime.fromtimestamp(issued + 3600, UTC))
    assert {first, second} <= since.keys() and not later
