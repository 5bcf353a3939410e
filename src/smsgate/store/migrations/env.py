"""Alembic environment: run by Store.migrate() with the store's own connection."""

from __future__ import annotations

from alembic import context

from smsgate.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
