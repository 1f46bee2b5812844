"""The few statements that differ between SQLite and PostgreSQL, written once each.

Everything else in the store is portable SQL run through SQLAlchemy's `text()` with named
parameters. Bulk loads go below SQLAlchemy on purpose: `executemany` on SQLite and `COPY` on
PostgreSQL are 3-10x faster than row-by-row inserts for a 100k-tweet import (bench/store_bench.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Connection, text

from .engine import Database


def reserve_ids(conn: Connection, table: str, n: int) -> list[int]:
    """n fresh primary keys for `table`, inside the caller's write transaction."""
    if n == 0:
        return []
    if conn.dialect.name == "sqlite":  # the write lock is held: MAX(id) cannot move under us
        start = conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}").scalar() + 1
        return list(range(start, start + n))
    return list(
        conn.execute(
            text(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"
            ),
            {"n": n},
        ).scalars()
    )


def bulk_insert(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    if not rows:
        return
    cols = ", ".join(columns)
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" * len(columns))
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(map(tuple, rows))
        )
        return
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def upsert(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    keys: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Insert rows, replacing the non-key columns of rows whose key exists (both engines)."""
    if not rows:
        return
    names = ", ".join(columns)
    params = ", ".join(f":{c}" for c in columns)
    sets = ", ".join(f"{c}=excluded.{c}" for c in columns if c not in keys)
    sql = (
        f"INSERT INTO {table} ({names}) VALUES ({params})"
        f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
    )
    conn.execute(text(sql), [dict(zip(columns, row, strict=True)) for row in rows])


def frame(db: Database, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """A query's rows as a DataFrame (column names as selected)."""
    # the driver's own cursor: building a frame from SQLAlchemy Row objects took 2-3x longer
    with db.raw_read() as cur:
        cur.execute(driver_sql(db.dialect, sql), params or {})
        names = [d[0] for d in cur.description]
        return pd.DataFrame.from_records(cur.fetchall(), columns=names)


def to_utc(seconds: pd.Series) -> pd.Series:
    """Epoch seconds -> 'YYYY-MM-DD HH:MM:SS' in UTC (what SQLite's datetime() printed)."""
    stamps = pd.to_datetime(pd.to_numeric(seconds, errors="coerce"), unit="s", utc=True)
    return stamps.dt.strftime("%Y-%m-%d %H:%M:%S").where(stamps.notna(), None)


@functools.lru_cache(maxsize=256)
def driver_sql(dialect: str, sql: str) -> str:
    """Named `:param` SQL as the driver takes it: sqlite3 reads `:name`, psycopg `%(name)s`."""
    if dialect == "sqlite":
        return sql
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql.replace("%", "%%"))


def expand(name: str, values: Sequence[Any], params: dict[str, Any]) -> str:
    """`IN (...)` placeholders for a list, its values added to `params`."""
    marks = []
    for k, value in enumerate(values):
        params[f"{name}{k}"] = value
        marks.append(f":{name}{k}")
    return "(" + ", ".join(marks) + ")" if marks else "(NULL)"


def fetch_dicts(cur: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
