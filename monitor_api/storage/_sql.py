"""Small SQL helpers that differ per backend."""
from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor_api.storage.models import Base


def insert_ignore(session: Session, model: type[Base], values: dict[str, Any], conflict_columns: list[str]) -> bool:
    """INSERT ... ON CONFLICT (conflict_columns) DO NOTHING; True if a row was inserted.

    Used instead of "SELECT, then INSERT if absent": under concurrent writers (PostgreSQL) two deliveries of the same
    event can both see "absent"; the unique index decides instead, and the loser waits for the winner's commit.
    RETURNING tells whether a row went in: psycopg 3 through SQLAlchemy reports rowcount -1 for this statement.
    """
    returned = inspect(model).columns[conflict_columns[0]]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg_statement = (postgresql.insert(model).values(**values)
                        .on_conflict_do_nothing(index_elements=conflict_columns).returning(returned))
        return session.execute(pg_statement).first() is not None
    if dialect == "sqlite":
        sqlite_statement = (sqlite.insert(model).values(**values)
                            .on_conflict_do_nothing(index_elements=conflict_columns).returning(returned))
        return session.execute(sqlite_statement).first() is not None
    raise NotImplementedError(dialect)  # create_engine_for accepts only the two
