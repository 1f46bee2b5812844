"""Where the store lives and how to talk to it: one SQLAlchemy engine over SQLite or PostgreSQL.

- Default: a SQLite file in the workspace (`TWEET_LABELER_HOME`), nothing to install.
  `TWEET_LABELER_DB=postgresql://user:pass@host:5432/db` puts the store on a lab's server.
- Writes are short transactions. On SQLite, WAL + synchronous=FULL make a committed label survive
  `kill -9` and a power cut; writers queue on an OS lock beside the file (`flock`) before
  `BEGIN IMMEDIATE`, so a waiting label gets in as soon as the current transaction ends, instead of
  sleeping in SQLite's backoff while a long import grabs the lock again (measured in
  `tests/test_concurrency.py`). On PostgreSQL, ordinary READ COMMITTED transactions.
- A password in a URL is never printed: errors and logs show `redact(url)`.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from ..errors import StoreError

DB_ENV = "TWEET_LABELER_DB"
SQLITE_FILE = "labeler.sqlite"
CONNECT_TIMEOUT_S = 5
WRITE_WAIT_S = 30.0  # how long a write waits for the lock before the user is told


def redact(url: str | URL) -> str:
    """The URL as it may be shown: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unreadable database URL>"


def default_url() -> str:
    """TWEET_LABELER_DB, else the SQLite file in the workspace folder."""
    env = os.environ.get(DB_ENV, "").strip()
    if env:
        return env
    from ..workspace import database_path

    return f"sqlite:///{database_path()}"


def parse_url(url: str | os.PathLike | None) -> URL:
    """A database URL, a path to a SQLite file, or None for the default."""
    if url is None:
        url = default_url()
    if isinstance(url, os.PathLike) or (isinstance(url, str) and "://" not in url):
        return make_url(f"sqlite:///{Path(url).expanduser().resolve()}")
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise StoreError(
            f"{DB_ENV} is not a database URL ({redact(url)}): write it like "
            "postgresql://user:password@host:5432/dbname, or unset it to use the workspace's "
            "SQLite file."
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")  # psycopg 3, whatever was written
    if backend != "sqlite":
        raise StoreError(
            f"Unsupported database {backend!r} in {redact(parsed)}: use a postgresql:// URL or "
            "a SQLite file."
        )
    return parsed


class Database:
    """A connection factory with the two kinds of transaction the store needs: `read()`, `write()`."""

    def __init__(self, url: str | os.PathLike | None = None):
        self.url = parse_url(url)
        self.dialect = self.url.get_backend_name()
        self.safe_url = redact(self.url).replace("postgresql+psycopg://", "postgresql://")
        self._local = threading.local()
        if self.dialect == "sqlite":
            if not self.url.database or self.url.database == ":memory:":
                raise StoreError("The store needs a SQLite file, not an in-memory database.")
            self.path: Path | None = Path(self.url.database)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(self.url, connect_args={"timeout": WRITE_WAIT_S})
            event.listen(self.engine, "connect", _sqlite_on_connect)
            event.listen(self.engine, "begin", _sqlite_on_begin)
            self._read_engine = self.engine
        else:
            self.path = None
            self.engine = create_engine(
                self.url,
                # no pre-ping: it costs a round trip per label. A connection the server dropped
                # fails once, SQLAlchemy then discards the whole pool, and the next call reconnects.
                pool_recycle=1800,
                pool_size=5,
                max_overflow=20,
                connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "labeler"},
            )
            # reads get their own small pool of autocommit connections: no BEGIN, no ROLLBACK,
            # one round trip per query (a next-item query is one)
            self._read_engine = create_engine(
                self.url,
                isolation_level="AUTOCOMMIT",
                pool_reset_on_return=None,
                pool_size=5,
                max_overflow=20,
                pool_recycle=1800,
                connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "labeler"},
            )
        self._pid = os.getpid()

    # -- transactions -----------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (no transaction held open on SQLite; autocommit on PostgreSQL)."""
        self._check_fork()
        with self._errors(), self._read_engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One all-or-nothing transaction; on SQLite the only writer while it lasts."""
        self._check_fork()
        with self._errors():
            if self.dialect == "sqlite":
                with self._writer_lock(), self.engine.connect() as conn:
                    conn.execution_options(sqlite_write=True)
                    with conn.begin():
                        yield conn
            else:
                with self.engine.begin() as conn:
                    yield conn

    @contextmanager
    def _writer_lock(self) -> Iterator[None]:
        fd = getattr(self._local, "lock_fd", None)
        if fd is None:
            fd = os.open(f"{self.path}.writelock", os.O_RDWR | os.O_CREAT, 0o644)
            self._local.lock_fd = fd
        if getattr(self._local, "lock_depth", 0):  # nested write on this thread: already held
            yield
            return
        deadline = time.monotonic() + WRITE_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"The workspace {self.path} has been busy writing for {WRITE_WAIT_S:.0f} s "
                        "(a large import or another process); try again in a moment."
                    ) from None
                time.sleep(0.0005)
        self._local.lock_depth = 1
        try:
            yield
        finally:
            self._local.lock_depth = 0
            fcntl.flock(fd, fcntl.LOCK_UN)

    # -- the hot path: a label per key press -----------------------------------------------
    # SQLAlchemy's execution layer costs ~0.08 ms a statement; a label write is 3 statements and
    # an fsync'd commit of ~0.35 ms. The few statements run on every key press go straight to the
    # driver's cursor (bench/store_bench.py: within 1.2x of the first version's raw sqlite3).
    @property
    def mark(self) -> str:
        """The driver's parameter placeholder: `?` (sqlite3) or `%s` (psycopg)."""
        return "?" if self.dialect == "sqlite" else "%s"

    @contextmanager
    def raw_write(self) -> Iterator[Any]:
        """A driver cursor inside one write transaction (the same lock and guarantees as write())."""
        self._check_fork()
        with self._errors():
            lock = self._writer_lock() if self.dialect == "sqlite" else nullcontext()
            with lock:
                raw = self.engine.raw_connection()
                try:
                    cur = raw.cursor()
                    if self.dialect == "sqlite":
                        cur.execute("BEGIN IMMEDIATE")
                    try:
                        yield cur
                    except BaseException:
                        raw.rollback()
                        raise
                    raw.commit()
                finally:
                    raw.close()

    @contextmanager
    def raw_read(self) -> Iterator[Any]:
        """A driver cursor for reads, outside any transaction."""
        self._check_fork()
        with self._errors():
            raw = self._read_engine.raw_connection()
            try:
                yield raw.cursor()
            finally:
                raw.close()

    def yield_writers(self) -> None:
        """Between chunks of a long write: give a waiting label the lock first."""
        if self.dialect == "sqlite":
            time.sleep(0.002)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (OperationalError, *_driver_operational_errors()) as exc:
            raise StoreError(self.describe_error(exc)) from None
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreError(self.describe_error(exc)) from None
            raise

    def describe_error(self, exc: BaseException) -> str:
        """One line for a user: what failed and what to do, never the password."""
        text = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0] if str(exc) else ""
        text = text.replace(self.url.password or "\0", "***") if self.url.password else text
        low = text.lower()
        if self.dialect == "postgresql":
            if "password authentication failed" in low or "authentication failed" in low:
                return (
                    f"PostgreSQL at {self.safe_url} refused the user name or password; check "
                    f"{DB_ENV}."
                )
            if "does not exist" in low and "database" in low:
                return (
                    f"PostgreSQL at {self.safe_url} has no such database; create it "
                    "(createdb) or fix the name in the URL."
                )
            if any(s in low for s in ("connection refused", "timeout", "could not", "resolve")):
                return (
                    f"Cannot reach PostgreSQL at {self.safe_url} ({text}); is the server running "
                    "and the host/port right?"
                )
            return f"PostgreSQL at {self.safe_url} failed: {text}"
        if "locked" in low or "busy" in low:
            return (
                f"The workspace {self.path} stayed locked by another process; try again in a "
                "moment."
            )
        return f"The workspace database {self.path} failed: {text}"

    def _check_fork(self) -> None:
        if os.getpid() != self._pid:  # a forked child must not share the parent's connections
            self.engine.dispose(close=False)
            self._read_engine.dispose(close=False)
            self._local = threading.local()
            self._pid = os.getpid()

    def close(self) -> None:
        self.engine.dispose()
        if self._read_engine is not self.engine:
            self._read_engine.dispose()
        fd = getattr(self._local, "lock_fd", None)
        if fd is not None:
            os.close(fd)
            self._local.lock_fd = None


def _driver_operational_errors() -> tuple[type[BaseException], ...]:
    """The drivers' own OperationalError classes (raised on the raw hot path)."""
    import sqlite3

    errors: list[type[BaseException]] = [sqlite3.OperationalError]
    try:
        import psycopg

        errors.append(psycopg.OperationalError)
    except ImportError:  # pragma: no cover - psycopg is in requirements.txt
        pass
    return tuple(errors)


def _sqlite_on_connect(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_on_begin)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_S * 1000)}")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MB: bulk imports keep indexes in memory
    cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # Writes take the write lock up front (no deadlock upgrading a read lock); reads run in
    # SQLite's autocommit mode, so no snapshot is held open between page loads.
    if conn.get_execution_options().get("sqlite_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
