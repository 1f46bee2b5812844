"""Bring a database to the current schema with Alembic, once, under the store's write lock.

Opening the store calls `upgrade(db)`. The common case (already current) is one indexed query and
never imports Alembic. An empty database and a first-version SQLite workspace both go through
the same revisions (`migrations/versions/`); a database from a newer app is refused with a message
instead of being touched.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

from ..errors import StoreError
from .engine import Database

HEAD = "0005"  # the newest revision in migrations/versions (a test keeps them in step)
SQLITE_USER_VERSION = 4  # the first version refuses to open a file with user_version > 1
MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK = 7_243_911  # pg_advisory_xact_lock key: one migrating process at a time


def current_revision(conn: Connection) -> str | None:
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
        ).first()
    else:
        found = conn.exec_driver_sql("SELECT to_regclass('alembic_version')").scalar()
    if not found:
        return None
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def upgrade(db: Database) -> None:
    with db.read() as conn:
        if current_revision(conn) == HEAD:
            return
    with db.write() as conn:
        if db.dialect == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
        revision = current_revision(conn)  # again: another process may have just migrated
        if revision == HEAD:
            return
        if db.dialect == "sqlite":
            version = conn.exec_driver_sql("PRAGMA user_version").scalar() or 0
            if version > SQLITE_USER_VERSION or (revision is not None and revision > HEAD):
                raise StoreError(
                    f"{db.safe_url} was written by a newer Tweet Labeler; upgrade the app or "
                    "point TWEET_LABELER_HOME elsewhere."
                )
        elif revision is not None and revision > HEAD:
            raise StoreError(
                f"{db.safe_url} was written by a newer Tweet Labeler; upgrade the app."
            )
        _run_alembic(conn)
        if db.dialect == "sqlite":
            conn.exec_driver_sql(f"PRAGMA user_version={SQLITE_USER_VERSION}")


def _run_alembic(conn: Connection) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
