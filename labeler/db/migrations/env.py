"""Alembic's entry point: migrations run on the connection the store hands over (never a URL
from an ini file), inside the store's own transaction and lock."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
