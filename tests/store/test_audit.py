"""The audit chain on both backends."""

from sqlalchemy import update

from soar.store.audit import audit, verify_chain
from soar.store.models import AuditRecord


async def test_audit_chain_detects_tampering(sessionmaker) -> None:
    async with sessionmaker() as s, s.begin():
        for i in range(3):
            await audit(s, "system", "test", f"t{i}", {"i": i})
    async with sessionmaker() as s:
        assert await verify_chain(s) == (True, 3)
    async with sessionmaker() as s, s.begin():
        await s.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(target="forged"))
    async with sessionmaker() as s:
        intact, n = await verify_chain(s)
        assert not intact and n == 1


async def test_audit_chain_stays_linear_across_sessions_and_transactions(sessionmaker) -> None:
    async with sessionmaker() as first:
        async with first.begin():
            await audit(first, "system", "test", "a")
            await audit(first, "system", "test", "b")
        async with sessionmaker() as other, other.begin():
            await audit(other, "system", "test", "c")  # another writer appends between our transactions
        async with first.begin():
            await audit(first, "system", "test", "d")  # must chain on c, not on our cached b
    async with sessionmaker() as s:
        assert await verify_chain(s) == (True, 4)
