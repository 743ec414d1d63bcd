"""Alembic environment: runs against the ``Database`` handed over by ``storage.migrate``."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.db import Database

database = context.config.attributes.get("database")
if not isinstance(database, Database):
    raise RuntimeError("run migrations through storage.migrate (community-memory db upgrade)")

with database.engine.connect() as connection:
    # Write lock up front on SQLite, like every other writer.
    connection = connection.execution_options(community_memory_write=True)
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=database.is_sqlite,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
