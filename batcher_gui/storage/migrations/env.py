"""Alembic environment: always runs on the connection the workspace hands over."""

from __future__ import annotations

from alembic import context

from batcher_gui.storage.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table.
    transactional_ddl=True,  # SQLite DDL is transactional: a failed upgrade changes nothing.
)
with context.begin_transaction():
    context.run_migrations()
