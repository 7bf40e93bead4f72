"""The labelling queue: frames sampled during service hours and the labels supervisors give them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 03:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('label_samples',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('window_id', sa.String(length=64), nullable=False),
    sa.Column('captured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('scores', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('uncertainty', sa.Float(), nullable=False),
    sa.Column('label', sa.String(length=32), nullable=True),
    sa.Column('labelled_by', sa.Integer(), nullable=True),
    sa.Column('labelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['hall_id', 'camera_id'], ['cameras.hall_id', 'cameras.id'], name=op.f('fk_label_samples_hall_id_camera_id_cameras')),
    sa.ForeignKeyConstraint(['hall_id', 'window_id'], ['windows.hall_id', 'windows.id'], name=op.f('fk_label_samples_hall_id_window_id_windows')),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_label_samples_hall_id_halls')),
    sa.ForeignKeyConstraint(['labelled_by'], ['users.id'], name=op.f('fk_label_samples_labelled_by_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_samples')),
    sa.UniqueConstraint('path', name=op.f('uq_label_samples_path'))
    )
    op.create_index('ix_label_samples_captured', 'label_samples', ['hall_id', 'captured_at'], unique=False)
    op.create_index('ix_label_samples_queue', 'label_samples', ['hall_id', 'label', 'uncertainty'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_label_samples_queue', table_name='label_samples')
    op.drop_index('ix_label_samples_captured', table_name='label_samples')
    op.drop_table('label_samples')
