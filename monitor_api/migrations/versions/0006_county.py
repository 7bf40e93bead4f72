"""The county deployment: an edge's outbox to the centre, the centre's commands and review pushes to edges.

New tables only: nothing to convert.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 20:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('msg_id', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('msg_id', name=op.f('uq_outbox_msg_id'))
    )
    op.create_index('ix_outbox_kind_id', 'outbox', ['kind', 'id'], unique=False)
    op.create_table('county_commands',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_county_commands'))
    )
    op.create_index('ix_county_commands_hall_created', 'county_commands', ['hall_id', 'created_at'], unique=False)
    op.create_table('county_review_pushes',
    sa.Column('incident_id', sa.String(length=128), nullable=False),
    sa.Column('review_state', sa.String(length=16), nullable=False),
    sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('incident_id', name=op.f('pk_county_review_pushes'))
    )


def downgrade() -> None:
    op.drop_table('county_review_pushes')
    op.drop_index('ix_county_commands_hall_created', table_name='county_commands')
    op.drop_table('county_commands')
    op.drop_index('ix_outbox_kind_id', table_name='outbox')
    op.drop_table('outbox')
