"""Copy a whole store to another database: a laptop's SQLite workspace onto a lab's PostgreSQL.

Every row of every table is copied with its id, in one transaction on the target, which must be
empty (a half-copied server would be worse than none); then the target's id sequences are moved
past the copied ids. Trained model folders stay where they are on disk: runs keep their paths.
"""

from __future__ import annotations

from sqlalchemy import text

from ..errors import StoreError
from .schema import TABLES, metadata
from .sql import bulk_insert
from .store import Store

CHUNK = 20_000


def copy_store(source: Store, target: Store) -> dict[str, int]:
    """Rows copied per table. Raises StoreError if the target already holds projects."""
    with target.db.read() as conn:
        if conn.execute(text("SELECT COUNT(*) FROM projects")).scalar_one():
            raise StoreError(
                f"The target {target.db.safe_url} already holds projects; copy into an empty "
                "database (createdb a new one) so no rows are mixed or overwritten."
            )
    counts: dict[str, int] = {}
    with source.db.read() as src, target.db.write() as dst:
        for name in TABLES:
            columns = [c.name for c in metadata.tables[name].columns]
            order = "id" if "id" in columns else ", ".join(columns[:2])
            result = src.execute(text(f"SELECT {', '.join(columns)} FROM {name} ORDER BY {order}"))
            counts[name] = 0
            while rows := result.fetchmany(CHUNK):
                bulk_insert(dst, name, columns, rows)
                counts[name] += len(rows)
            if "id" in columns and target.db.dialect == "postgresql":
                dst.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'),"
                        f" COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
                    )
                )
    return counts
