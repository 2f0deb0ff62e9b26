"""enrollment tokens and key expiry (rotation overlap)

Revision ID: 5b7e2c1d9a40
Revises: 3e1dc6499655
Create Date: 2026-11-26 01:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import soar.store.base

revision: str = '5b7e2c1d9a40'
down_revision: str | None = '3e1dc6499655'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('identity_enrollment',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('enrollment_id', sa.String(length=32), nullable=False),
    sa.Column('agent_id', sa.String(length=256), nullable=False),
    sa.Column('owner', sa.String(length=256), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('tools', sa.JSON(), nullable=True),
    sa.Column('rotate_overlap_s', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=256), nullable=False),
    sa.Column('created_at', soar.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', soar.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', soar.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_kid', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_identity_enrollment')),
    sa.UniqueConstraint('enrollment_id', name=op.f('uq_identity_enrollment_enrollment_id'))
    )
    with op.batch_alter_table('identity_enrollment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_enrollment_agent_id'), ['agent_id'], unique=False)
    with op.batch_alter_table('identity_agent_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', soar.store.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('identity_agent_key', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('identity_enrollment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_enrollment_agent_id'))
    op.drop_table('identity_enrollment')
