"""audit chain head: lock and read in one round trip on PostgreSQL

Revision ID: a7c3e91f2b64
Revises: 876927b99434
Create Date: 2026-12-06 02:00:00

Appending to the audit chain takes the chain's lock and then reads its head. On PostgreSQL that was two
statements (``LOCK TABLE`` and ``SELECT``); this function does both in one call. It is ``VOLATILE``, so its
``SELECT`` takes a fresh snapshot after the lock is granted and sees a head committed while it waited (a
single statement with the lock and the read would read with the snapshot from before the wait).
SQLite needs nothing: there the transaction's write lock is the chain's lock.
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = 'a7c3e91f2b64'
down_revision: str | None = '876927b99434'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION soar_audit_chain_head() RETURNS text
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            LOCK TABLE audit_log IN EXCLUSIVE MODE;
            RETURN (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1);
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP FUNCTION IF EXISTS soar_audit_chain_head()')
