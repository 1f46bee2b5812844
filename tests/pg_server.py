"""A throwaway PostgreSQL server for tests and benchmarks: real server, temp dir, 127.0.0.1 only.

    with postgres_server() as pg:              # or PostgresServer(durable=True) for benchmarks
        engine = sqlalchemy.create_engine(pg.url)   # postgresql://labeler:secret@127.0.0.1:PORT/labeler
        url = pg.create_database("test_1")     # a fresh, empty database owned by `labeler`
        ...
        pg.drop_database("test_1")

What it does, in order (each step raises PostgresUnavailable with a readable reason):

1. finds the server binaries: `pg_config --bindir` when that holds `initdb`, else the newest
   /usr/lib/postgresql/<version>/bin (Debian's `postgresql` package);
2. makes a temp dir (mode 0755) owned by the user the server runs as. `initdb` refuses to run as
   root, so as root every server command runs as the package's `postgres` user; as anyone else
   it runs as that user. Layout: DIR/data (the cluster), DIR/server.log, and DIR itself as the
   Unix socket directory;
3. `initdb --no-sync` (nothing to make durable in a throwaway cluster), UTF8, locale C.UTF-8
   (C where that locale is missing);
4. writes pg_hba.conf: TCP from 127.0.0.1 needs a password (scram-sha-256), so wrong-password
   paths behave as on a real server; only the superuser `postgres` may log in without one, and
   only through the private Unix socket in DIR: that is how the role and databases are made;
5. starts it with `pg_ctl -w` on a free port, listening on 127.0.0.1 only, fsync off unless
   `durable=True` (keep fsync on when timing writes), and retries on another port if the free one
   got taken in between;
6. creates the role `labeler` (LOGIN, CREATEDB, password `secret`) and its database `labeler`;
7. on exit, even after a failure: `pg_ctl stop -m fast` (immediate if that hangs), then removes DIR.

A server left behind by a killed process (SIGKILL) stays until its machine reboots: it only ever
listens on 127.0.0.1 and its socket lies in a temp dir named tweet-labeler-pg-*.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROLE = "labeler"
PASSWORD = "secret"
DATABASE = "labeler"
SUPERUSER = "postgres"
# Whom the server runs as when we are root (initdb refuses root); the Debian package creates it.
SERVER_OS_USER = "postgres"
# A Unix socket path must fit in sun_path (108 bytes on Linux, with the trailing NUL).
_MAX_SOCKET_PATH = 100
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresUnavailable(RuntimeError):
    """The server cannot run here; str(error) says why, fit for a pytest skip reason."""


def find_bindir() -> Path:
    """The folder holding initdb, pg_ctl and postgres: pg_config's, else the newest Debian one."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        # pg_config can come from libpq-dev without a server: only trust it if initdb is there.
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        bindir = Path(result.stdout.strip())
        if result.returncode == 0 and (bindir / "initdb").is_file():
            return bindir

    def version(path: str) -> tuple[int, ...]:
        # /usr/lib/postgresql/15/bin -> (15,): compare numerically, so 10 beats 9.6.
        return tuple(int(p) for p in re.findall(r"\d+", Path(path).parent.name))

    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if candidates:
        return Path(max((str(Path(c).parent) for c in candidates), key=version))
    raise PostgresUnavailable(
        "PostgreSQL is not installed: no initdb on PATH's pg_config nor in "
        "/usr/lib/postgresql/*/bin (apt install postgresql)"
    )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (it may be taken before use: callers retry)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> pwd.struct_passwd | None:
    """The account to switch to before running server commands; None: stay who we are."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_OS_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, and initdb refuses root, but there is no {SERVER_OS_USER!r} "
            "user to run the server as (Debian's postgresql package creates it)"
        ) from None


def _traversable(path: Path, account: pwd.struct_passwd) -> bool:
    """Whether `account` may enter `path` and every folder above it (search permission)."""
    groups = set(os.getgrouplist(account.pw_name, account.pw_gid))
    for folder in [path, *path.parents]:
        st = folder.stat()
        if st.st_uid == account.pw_uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid in groups:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return False
    return True


def _base_dir(account: pwd.struct_passwd | None) -> Path:
    """Where to make the temp dir: the usual temp folder, else /tmp (short, world-traversable)."""
    base = Path(tempfile.gettempdir()).resolve()
    # DIR is tweet-labeler-pg-XXXXXXXX (~26 chars) and the socket .s.PGSQL.NNNNN (~17 more).
    too_long = len(str(base)) + 50 > _MAX_SOCKET_PATH
    if too_long or (account is not None and not _traversable(base, account)):
        base = Path("/tmp")
        if account is not None and not _traversable(base, account):
            raise PostgresUnavailable(f"the {account.pw_name!r} user cannot enter /tmp")
    return base


class PostgresServer:
    """One PostgreSQL server in a temp dir; use as a context manager, or start()/stop().

    url: postgresql://labeler:secret@127.0.0.1:PORT/labeler (psycopg and SQLAlchemy 2.1 take it).
    durable: keep fsync on (for benchmarks); off by default, which is safe for throwaway data.
    """

    def __init__(self, *, durable: bool = False, bindir: str | Path | None = None) -> None:
        self.durable = durable
        self._bindir = Path(bindir) if bindir else None
        self._account: pwd.struct_passwd | None = None
        self.dir: Path | None = None
        self.port: int | None = None
        self.startup_s: float | None = None  # seconds start() took, for reports

    # -- paths and URLs -------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._dir / "data"

    @property
    def log_path(self) -> Path:
        return self._dir / "server.log"

    @property
    def _dir(self) -> Path:
        if self.dir is None:
            raise RuntimeError("the server is not started")
        return self.dir

    def url_for(self, database: str) -> str:
        """The password-authenticated TCP URL of `database`, as the `labeler` role."""
        return f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    @property
    def url(self) -> str:
        return self.url_for(DATABASE)

    def admin_connect(self, dbname: str = "postgres"):
        """An autocommit psycopg connection as the superuser, through the private Unix socket."""
        import psycopg

        return psycopg.connect(
            host=str(self._dir), port=self.port, user=SUPERUSER, dbname=dbname, autocommit=True
        )

    # -- running server commands ----------------------------------------------------------

    def _cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a server binary as the server's account, in DIR, with a clean environment."""
        # PG* variables (PGDATA, PGPORT, PGHOST...) from the caller must not redirect our commands.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        # English messages, whatever the caller's locale: the log is matched on "could not bind".
        # The cluster's own locale comes from initdb's --locale, not from this.
        env["LC_ALL"] = "C"
        if self._account is not None:
            env.update(HOME=self._account.pw_dir, USER=self._account.pw_name)
        try:
            result = subprocess.run(
                [str(self._bindir / args[0]), *args[1:]],
                cwd=self._dir,
                env=env,
                capture_output=True,
                text=True,
                # As root: setgid/setgroups/setuid in the child, like `runuser -u postgres`
                # without a PAM session (faster, and nothing to install).
                user=self._account.pw_uid if self._account else None,
                group=self._account.pw_gid if self._account else None,
                extra_groups=[] if self._account else None,
                timeout=90,
            )
        except (OSError, subprocess.SubprocessError) as error:
            raise PostgresUnavailable(f"cannot run {args[0]}: {error}") from error
        if check and result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise PostgresUnavailable(f"{args[0]} failed ({result.returncode}): {output[-1500:]}")
        return result

    def _log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:].strip()
        except OSError:
            return ""

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> PostgresServer:
        started = time.perf_counter()
        self._bindir = self._bindir or find_bindir()
        if not (self._bindir / "initdb").is_file():
            raise PostgresUnavailable(f"no initdb in {self._bindir}")
        self._account = _run_as()
        self.dir = Path(tempfile.mkdtemp(prefix="tweet-labeler-pg-", dir=_base_dir(self._account)))
        try:
            # mkdtemp makes it 0700 root: the server's account must own it (initdb creates data/,
            # the server writes its log and socket here) and clients must reach the socket.
            self.dir.chmod(0o755)
            if self._account is not None:
                os.chown(self.dir, self._account.pw_uid, self._account.pw_gid)
            self._initdb()
            self._write_hba()
            self._start_server()
            self._create_role_and_database()
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.perf_counter() - started
        return self

    def _initdb(self) -> None:
        base = ["initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "-A", "trust"]
        base += ["--no-sync", "-E", "UTF8"]  # its output is captured, shown only on failure
        # C.UTF-8: byte-order collation like C, but upper()/lower()/ILIKE know non-ASCII letters.
        result = self._cmd(*base, "--locale=C.UTF-8", check=False)
        if result.returncode != 0 and "locale" in (result.stdout + result.stderr).lower():
            shutil.rmtree(self.data_dir, ignore_errors=True)
            result = self._cmd(*base, "--locale=C", check=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise PostgresUnavailable(f"initdb failed ({result.returncode}): {output[-1500:]}")

    def _write_hba(self) -> None:
        # Replaces initdb's file (root may write it; otherwise we are its owner). First match
        # wins: the superuser via the socket only, and everyone over TCP with a password.
        (self.data_dir / "pg_hba.conf").write_text(
            "# Written by tests/pg_server.py\n"
            f"local all {SUPERUSER} trust\n"
            "host  all all 127.0.0.1/32 scram-sha-256\n"
        )

    def _start_server(self, attempts: int = 3) -> None:
        for attempt in range(attempts):
            self.port = free_port()
            options = [
                "-c listen_addresses=127.0.0.1",
                f"-p {self.port}",
                f"-c unix_socket_directories='{self.dir}'",
                "-c password_encryption=scram-sha-256",
            ]
            if not self.durable:
                options.append("-c fsync=off")  # throwaway data: skip flushing to disk
            result = self._cmd(
                "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_path),
                "-w", "-t", "30", "-o", " ".join(options),
                check=False,
            )  # fmt: skip
            if result.returncode == 0:
                return
            log = self._log_tail()
            port_taken = "could not bind" in log or "already in use" in log
            if not port_taken or attempt == attempts - 1:
                output = (result.stdout + result.stderr).strip()
                raise PostgresUnavailable(
                    f"pg_ctl start failed ({result.returncode}): {output[-500:]}\nserver log: {log}"
                )
            self.log_path.unlink(missing_ok=True)

    def _create_role_and_database(self) -> None:
        try:
            import psycopg
            from psycopg import sql
        except ImportError as error:  # pragma: no cover - psycopg is in requirements.txt
            raise PostgresUnavailable(f"psycopg is not installed: {error}") from error
        try:
            with self.admin_connect() as conn:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                        sql.Identifier(ROLE), sql.Literal(PASSWORD)
                    )
                )
        except psycopg.Error as error:
            raise PostgresUnavailable(f"cannot create the {ROLE!r} role: {error}") from error
        self.create_database(DATABASE)

    def create_database(self, name: str) -> str:
        """Create an empty database owned by `labeler`; returns its URL.

        Owned, because since PostgreSQL 15 only a database's owner may create tables in its
        public schema.
        """
        from psycopg import sql

        if not _DATABASE_NAME.fullmatch(name):
            raise ValueError(f"not a plain lowercase database name: {name!r}")
        with self.admin_connect() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(ROLE)
                )
            )
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, closing any connection a test left open to it."""
        from psycopg import sql

        with self.admin_connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        """Stop the server (if running) and remove its dir. Safe to call twice, or half-started."""
        if self.dir is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                # check=False: a failed stop must not hide the error that brought us here.
                stopped = self._cmd(
                    "pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30",
                    check=False,
                )  # fmt: skip
                if stopped.returncode != 0:
                    self._cmd(
                        "pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w",
                        check=False,
                    )  # fmt: skip
        except PostgresUnavailable as error:
            # Could not even run pg_ctl. Removing the dir still ends the server: postgres checks
            # its postmaster.pid every minute and shuts down once it is gone.
            warnings.warn(f"could not stop the test PostgreSQL server: {error}", stacklevel=2)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[PostgresServer]:
    """Start a server, yield it (its .url is the `labeler` database's URL), stop and remove it."""
    with PostgresServer(durable=durable) as server:
        yield server
