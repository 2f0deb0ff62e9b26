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
