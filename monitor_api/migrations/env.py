"""Alembic environment: the models' metadata, batch mode on SQLite, our engine settings.

Run through monitor_api.storage.migrate (programmatic config), or `alembic -c monitor_api/migrations/alembic.ini
-x url=sqlite:////abs/path.db upgrade head` by hand.
"""
from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from monitor_api.storage.db import create_engine_for, normalise_url
from monitor_api.storage.models import Base
from monitor_api.storage.types import UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Migrations must not depend on our Python types (they outlive them): write the plain column type instead.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table (copy, drop, rename) instead.
        render_as_batch=connection.dialect.name == "sqlite",
        # Our SQLite connections emit BEGIN themselves, so DDL is transactional there too: a failed or killed
        # migration leaves the schema as it was.
        transactional_ddl=True,
        compare_type=True,
        render_item=render_item,
    )


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or use monitor_api.storage.migrate(url)")
    return url


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine_for(_url())
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    url = normalise_url(_url())
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=url.get_backend_name() == "sqlite", render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
