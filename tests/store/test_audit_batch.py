"""Audit entries are chained and written once per transaction: linear with concurrent writers, gone on rollback."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

from soar.store.audit import audit, verify_chain
from soar.store.models import AgentRecord, AuditRecord
from soar.store.session import get_sessionmaker


async def test_audit_batches_stay_linear_with_concurrent_writers(sessionmaker) -> None:
    async def writer(i: int) -> None:
        async with sessionmaker() as s, s.begin():
            s.add(AgentRecord(agent_id=f"agent-{i}"))
            for j in range(3):
                await audit(s, "system", "test", f"w{i}", {"j": j})
                await asyncio.sleep(0)  # let the other writers interleave

    await asyncio.gather(*(writer(i) for i in range(5)))
    async with sessionmaker() as s:
        assert await verify_chain(s) == (True, 15)
        rows = (await s.execute(select(AuditRecord.target).order_by(AuditRecord.seq))).scalars().all()
    assert all(rows[k] == rows[k - k % 3] for k in range(15))  # one transaction's entries stay together


async def test_audit_entries_of_a_rolled_back_transaction_are_dropped(sessionmaker) -> None:
    with pytest.raises(RuntimeError):
        async with sessionmaker() as s, s.begin():
            await audit(s, "system", "test", "lost")
            raise RuntimeError("boom")
    async with sessionmaker() as s, s.begin():
        await audit(s, "system", "test", "kept")
    async with sessionmaker() as s:
        assert (await s.execute(select(func.count()).select_from(AuditRecord))).scalar() == 1
        assert await verify_chain(s) == (True, 1)


@pytest.mark.integration
async def test_postgres_head_read_after_the_lock_wait_sees_the_entry_committed_meanwhile(postgres_url: str) -> None:
    """The chain head is read with a snapshot taken after the lock is granted, not before the wait."""
    sm = get_sessionmaker(postgres_url)
    async with sm() as first:
        await first.begin()
        await first.execute(text("SELECT soar_audit_chain_head()"))  # holds the chain's lock until it commits

        async def second() -> None:
            async with sm() as s, s.begin():
                await audit(s, "system", "test", "second")

        waiting = asyncio.create_task(second())
        async with sm() as watch:  # until the second writer's commit waits for the lock
            q = text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%soar_audit_chain_head%' AND pid <> pg_backend_pid()"
            )
            # pg_stat_activity is read once per transaction: end it on every poll, or a wait that starts after
            # the first poll is never seen (the test hung that way in CI)
            while not (await watch.execute(q)).scalar():
                await watch.rollback()
                await asyncio.sleep(0.01)
        await audit(first, "system", "test", "first")
        await first.commit()
    await waiting
    async with sm() as s:
        assert await verify_chain(s) == (True, 2)
        rows = (await s.execute(select(AuditRecord.target).order_by(AuditRecord.seq))).scalars().all()
    assert rows == ["first", "second"]
