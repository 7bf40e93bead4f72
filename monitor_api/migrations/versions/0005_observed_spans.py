"""Observed time per camera: spans in which a camera's frames were analysed, written by the pipeline bridge, so that
reports count time nobody observed (camera offline or stalled, counterwatch not running) as unknown.

A new table only: nothing to convert. Halls upgraded from 0004 have no spans; reports treat such a hall, and the time
before its first span, as not told apart (as before).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 16:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('observed_spans',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hall_id', 'camera_id'], ['cameras.hall_id', 'cameras.id'],
                            name=op.f('fk_observed_spans_hall_id_camera_id_cameras')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_observed_spans')),
    sa.UniqueConstraint('hall_id', 'camera_id', 'started_at',
                        name=op.f('uq_observed_spans_hall_id_camera_id_started_at'))
    )
    op.create_index('ix_observed_spans_hall_time', 'observed_spans', ['hall_id', 'started_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_observed_spans_hall_time', table_name='observed_spans')
    op.drop_table('observed_spans')
