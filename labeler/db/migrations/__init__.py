"""Alembic migrations of the store's schema; `labeler.db.migrate` runs them."""
