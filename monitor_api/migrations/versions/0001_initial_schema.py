"""Initial schema: halls, windows, cameras, staff, roster, incidents, events, evidence, reviews, appeals,
pauses, complaints, users, hall scopes, API keys, audit log.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 00:29:09.959333
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_type', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.String(length=128), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('client_ip', sa.String(length=45), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_actor', ['actor_type', 'actor_id'], unique=False)
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_log_object', ['object_type', 'object_id'], unique=False)

    op.create_table('halls',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('configured', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_halls'))
    )
    op.create_table('cameras',
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('configured', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_cameras_hall_id_halls'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('hall_id', 'id', name=op.f('pk_cameras'))
    )
    op.create_table('staff',
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('configured', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_staff_hall_id_halls'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('hall_id', 'id', name=op.f('pk_staff'))
    )
    op.create_table('windows',
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('schedule', sa.String(length=64), nullable=False),
    sa.Column('pause_marker_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('configured', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_windows_hall_id_halls'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('hall_id', 'id', name=op.f('pk_windows'))
    )
    op.create_table('camera_windows',
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('window_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['hall_id', 'camera_id'], ['cameras.hall_id', 'cameras.id'], name=op.f('fk_camera_windows_hall_id_camera_id_cameras'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hall_id', 'window_id'], ['windows.hall_id', 'windows.id'], name=op.f('fk_camera_windows_hall_id_window_id_windows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('hall_id', 'camera_id', 'window_id', name=op.f('pk_camera_windows'))
    )
    op.create_table('pause_periods',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('window_id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Enum('sign', 'queue', 'schedule', name='pause_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['hall_id', 'window_id'], ['windows.hall_id', 'windows.id'], name=op.f('fk_pause_periods_hall_id_window_id_windows')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pause_periods')),
    sa.UniqueConstraint('hall_id', 'window_id', 'source', 'started_at', name=op.f('uq_pause_periods_hall_id_window_id_source_started_at'))
    )
    with op.batch_alter_table('pause_periods', schema=None) as batch_op:
        batch_op.create_index('ix_pause_periods_window_time', ['hall_id', 'window_id', 'started_at'], unique=False)

    op.create_table('roster_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('window_id', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('days', sa.String(length=32), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('start_time', sa.String(length=5), nullable=True),
    sa.Column('end_time', sa.String(length=5), nullable=True),
    sa.ForeignKeyConstraint(['hall_id', 'staff_id'], ['staff.hall_id', 'staff.id'], name=op.f('fk_roster_entries_hall_id_staff_id_staff'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hall_id', 'window_id'], ['windows.hall_id', 'windows.id'], name=op.f('fk_roster_entries_hall_id_window_id_windows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_entries'))
    )
    with op.batch_alter_table('roster_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_entries_hall_id'), ['hall_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('role', sa.Enum('supervisor', 'manager', 'admin', 'auditor', name='user_role', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('staff_hall_id', sa.String(length=64), nullable=True),
    sa.Column('staff_id', sa.String(length=64), nullable=True),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_hall_id', 'staff_id'], ['staff.hall_id', 'staff.id'], name=op.f('fk_users_staff_hall_id_staff_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=255), nullable=False),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_api_keys_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_api_keys_hall_id_halls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_prefix'), ['prefix'], unique=False)

    op.create_table('incidents',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('window_id', sa.String(length=64), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=True),
    sa.Column('state', sa.Enum('open', 'closed', 'closed_by_recovery', name='incident_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('start_ts', sa.Float(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('peak_confidence', sa.Float(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('last_event_ts', sa.Float(), nullable=False),
    sa.Column('last_event_kind', sa.Enum('opened', 'updated', 'closed', name='incident_last_event_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('review_state', sa.Enum('pending', 'acknowledged', 'confirmed', 'dismissed', name='incident_review_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('acknowledged_by', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evidence_missing', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['users.id'], name=op.f('fk_incidents_acknowledged_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hall_id', 'camera_id'], ['cameras.hall_id', 'cameras.id'], name=op.f('fk_incidents_hall_id_camera_id_cameras')),
    sa.ForeignKeyConstraint(['hall_id', 'staff_id'], ['staff.hall_id', 'staff.id'], name=op.f('fk_incidents_hall_id_staff_id_staff')),
    sa.ForeignKeyConstraint(['hall_id', 'window_id'], ['windows.hall_id', 'windows.id'], name=op.f('fk_incidents_hall_id_window_id_windows')),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_incidents_hall_id_halls')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_hall_started', ['hall_id', 'started_at', 'id'], unique=False)
        batch_op.create_index('ix_incidents_review_state', ['review_state'], unique=False)
        batch_op.create_index('ix_incidents_staff_started', ['hall_id', 'staff_id', 'started_at'], unique=False)
        batch_op.create_index('ix_incidents_state', ['state'], unique=False)
        batch_op.create_index('ix_incidents_window_started', ['hall_id', 'window_id', 'started_at'], unique=False)

    op.create_table('user_hall_scopes',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_user_hall_scopes_hall_id_halls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_hall_scopes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'hall_id', name=op.f('pk_user_hall_scopes'))
    )
    op.create_table('appeals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('incident_id', sa.String(length=128), nullable=False),
    sa.Column('filed_by', sa.Integer(), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decision', sa.Enum('upheld', 'rejected', name='appeal_decision', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_appeals_decided_by_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['filed_by'], ['users.id'], name=op.f('fk_appeals_filed_by_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_appeals_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals'))
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index('ix_appeals_incident', ['incident_id', 'filed_at'], unique=False)

    op.create_table('complaints',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('hall_id', sa.String(length=64), nullable=False),
    sa.Column('window_id', sa.String(length=64), nullable=True),
    sa.Column('staff_id', sa.String(length=64), nullable=True),
    sa.Column('incident_id', sa.String(length=128), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hall_id', 'staff_id'], ['staff.hall_id', 'staff.id'], name=op.f('fk_complaints_hall_id_staff_id_staff')),
    sa.ForeignKeyConstraint(['hall_id', 'window_id'], ['windows.hall_id', 'windows.id'], name=op.f('fk_complaints_hall_id_window_id_windows')),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_complaints_hall_id_halls')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_complaints_incident_id_incidents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_hall_id'), ['hall_id'], unique=False)

    op.create_table('evidence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('incident_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.Enum('snapshot', 'clip', name='evidence_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('retention_class', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_evidence_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence')),
    sa.UniqueConstraint('incident_id', 'path', name=op.f('uq_evidence_incident_id_path'))
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('ix_evidence_purge', ['purged_at', 'retention_class', 'created_at'], unique=False)

    op.create_table('incident_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('incident_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.Enum('opened', 'updated', 'closed', name='incident_event_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('ts', sa.Float(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_events_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_events')),
    sa.UniqueConstraint('incident_id', 'kind', 'ts', name=op.f('uq_incident_events_incident_id_kind_ts'))
    )
    op.create_table('reviews',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('incident_id', sa.String(length=128), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.Enum('confirm', 'dismiss', name='review_decision', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('reason_code', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_reviews_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_reviews_reviewer_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('incident_id', name=op.f('uq_reviews_incident_id'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviews_reviewer_id'), ['reviewer_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_reviewer_id'))

    op.drop_table('reviews')
    op.drop_table('incident_events')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_purge')
        batch_op.drop_index(batch_op.f('ix_evidence_incident_id'))

    op.drop_table('evidence')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_hall_id'))

    op.drop_table('complaints')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index('ix_appeals_incident')

    op.drop_table('appeals')
    op.drop_table('user_hall_scopes')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_window_started')
        batch_op.drop_index('ix_incidents_state')
        batch_op.drop_index('ix_incidents_staff_started')
        batch_op.drop_index('ix_incidents_review_state')
        batch_op.drop_index('ix_incidents_hall_started')

    op.drop_table('incidents')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_prefix'))

    op.drop_table('api_keys')
    op.drop_table('users')
    with op.batch_alter_table('roster_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_entries_hall_id'))

    op.drop_table('roster_entries')
    with op.batch_alter_table('pause_periods', schema=None) as batch_op:
        batch_op.drop_index('ix_pause_periods_window_time')

    op.drop_table('pause_periods')
    op.drop_table('camera_windows')
    op.drop_table('windows')
    op.drop_table('staff')
    op.drop_table('cameras')
    op.drop_table('halls')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_object')
        batch_op.drop_index('ix_audit_log_at')
        batch_op.drop_index('ix_audit_log_actor')

    op.drop_table('audit_log')
