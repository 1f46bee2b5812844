"""The PostgreSQL test fixtures (tests/pg_server.py, conftest's pg_url/pg_db/db_url) behave like a
real lab server: password-checked TCP on 127.0.0.1, fresh separate databases, nothing left behind.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg")

pytestmark = pytest.mark.postgres


def test_url_connects_and_selects(pg_url):
    assert pg_url.startswith("postgresql://labeler:secret@127.0.0.1:")
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        user, database, listen = conn.execute(
            "SELECT current_user, current_database(), current_setting('listen_addresses')"
        ).fetchone()
    assert (user, database, listen) == ("labeler", "labeler", "127.0.0.1")


def test_sqlalchemy_takes_the_url(pg_url):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(pg_url)
    try:
        assert engine.dialect.driver == "psycopg"
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT 2")).scalar() == 2
    finally:
        engine.dispose()


def test_wrong_password_is_refused(pg_url):
    wrong = pg_url.replace(":secret@", ":not-the-password@")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=5)


def test_no_password_is_refused_even_for_the_superuser(pg_url):
    # Only the private Unix socket trusts the superuser: over TCP everyone needs a password.
    no_password = pg_url.replace("labeler:secret@", "postgres@")
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(no_password, connect_timeout=5)


def test_fsync_is_off_for_speed(pg_url):
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SHOW fsync").fetchone() == ("off",)


@pytest.fixture
def other_pg_db(pg_server):
    # A second fresh database in the same test, made the way pg_db makes its own.
    url = pg_server.create_database("test_other")
    yield url
    pg_server.drop_database("test_other")


def test_pg_db_databases_are_fresh_and_separate(pg_db, other_pg_db):
    assert pg_db != other_pg_db
    with psycopg.connect(pg_db) as conn:
        # Owned by labeler: since PostgreSQL 15 only the owner may create in the public schema.
        conn.execute("CREATE TABLE tweets (id integer PRIMARY KEY, text text)")
        conn.execute("INSERT INTO tweets VALUES (1, 'hello')")
    with psycopg.connect(other_pg_db) as conn:
        assert conn.execute("SELECT to_regclass('public.tweets')").fetchone() == (None,)


def test_pg_db_is_dropped_afterwards_even_with_a_connection_left_open(pg_server, pg_url):
    name = "test_left_open"
    url = pg_server.create_database(name)
    leaked = psycopg.connect(url)  # as a buggy test might leave it
    try:
        pg_server.drop_database(name)
        with psycopg.connect(pg_url) as conn:
            count = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name])
            assert count.fetchone() == (0,)
    finally:
        leaked.close()


def test_db_url_gives_each_engine(db_url, request):
    engine = request.node.callspec.id
    if engine == "sqlite":
        assert db_url.startswith("sqlite:///") and db_url.endswith("/labeler.sqlite")
    else:
        assert engine == "postgresql"
        assert db_url.startswith("postgresql://labeler:secret@127.0.0.1:")
        with psycopg.connect(db_url) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            assert tables.fetchone() == (0,)


def test_durable_server_stops_and_cleans_up_after_a_failure(pg_server):
    # pg_server: only run where the session's server could start. A second, durable one here.
    from pg_server import PostgresServer

    server = PostgresServer(durable=True)
    with pytest.raises(RuntimeError, match="boom"), server:
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SHOW fsync").fetchone() == ("on",)
        folder, port = Path(server.dir), server.port
        raise RuntimeError("boom")
    assert server.dir is None
    assert not folder.exists()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # nothing listens there any more


def test_missing_binaries_give_a_readable_reason(tmp_path):
    from pg_server import PostgresServer, PostgresUnavailable

    with pytest.raises(PostgresUnavailable, match="no initdb in"):
        PostgresServer(bindir=tmp_path).start()
