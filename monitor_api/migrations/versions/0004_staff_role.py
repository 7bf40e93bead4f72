"""The staff role: window staff log in to see their own record and appeal, without a supervisor's role.

The role column is a string with a CHECK constraint over the role names (storage.types.enum_column): the constraint
is replaced by one that also admits 'staff'. On SQLite, batch mode rebuilds the users table for it (migrate() turns
foreign-key enforcement off around migrations, so the rebuild does not cascade into the tables that reference
users). Accounts made the only way there was before, supervisors without halls linked to a staff member (they could
see nothing but their own record), become staff accounts; a downgrade turns staff accounts back into those.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 02:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONSTRAINT = 'ck_users_user_role'
_BEFORE = ('supervisor', 'manager', 'admin', 'auditor')
_AFTER = (*_BEFORE, 'staff')


def _condition(roles: tuple[str, ...]) -> str:
    return "role IN (" + ", ".join(f"'{role}'" for role in roles) + ")"


def _replace_check(roles: tuple[str, ...]) -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_CONSTRAINT), type_='check')
        batch_op.create_check_constraint(op.f(_CONSTRAINT), _condition(roles))


def upgrade() -> None:
    _replace_check(_AFTER)
    op.execute(sa.text(
        "UPDATE users SET role = 'staff' WHERE role = 'supervisor' AND staff_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM user_hall_scopes WHERE user_hall_scopes.user_id = users.id)"))


def downgrade() -> None:
    op.execute(sa.text("UPDATE users SET role = 'supervisor' WHERE role = 'staff'"))
    _replace_check(_BEFORE)
