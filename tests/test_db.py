"""The store's engines and migrations: what a lab notices when it upgrades, moves to a server,
or gives the app a wrong URL."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine

from labeler.db.copy import copy_store
from labeler.db.engine import DB_ENV, redact
from labeler.db.migrate import HEAD, MIGRATIONS
from labeler.db.schema import POSTGRES_ONLY_INDEXES, TABLES, metadata
from labeler.db.store import Store
from labeler.errors import StoreError

FIXTURES = Path(__file__).parent / "fixtures"
LABELS = ["AGAINST", "FAVOR", "NONE"]


def rows(store: Store, sql: str) -> list[dict]:
    with store.db.read() as conn:
        return [dict(r._mapping) for r in conn.exec_driver_sql(sql)]


@pytest.fixture
def v1_copy(tmp_path) -> Path:
    """A copy of the workspace the first version wrote (the fixture itself stays untouched)."""
    path = tmp_path / "labeler.sqlite"
    shutil.copy(FIXTURES / "v1_workspace.sqlite", path)
    return path


def test_first_version_workspace_opens_with_every_row_intact(v1_copy):
    expected = json.loads((FIXTURES / "v1_workspace_expected.json").read_text())
    store = Store(v1_copy)
    for table in expected:
        got = rows(store, f"SELECT * FROM {table} ORDER BY 1, 2")
        want = expected[table]
        assert len(got) == len(want), table
        for old, new in zip(want, got, strict=True):
            assert {k: new[k] for k in old} == old, table  # every old column, value for value
    assert {r["codebook_version"] for r in rows(store, "SELECT * FROM annotations")} == {None}
    sources = {r["source"] for r in expected["annotations"]}
    assert sources == {"human", "imported", "accepted-suggestion"}
    assert any(r["retracts"] for r in expected["annotations"])  # the fixture holds an undo
    # each person's code in effect is rebuilt from the history: their newest row not undone
    undone = {r["retracts"] for r in expected["annotations"] if r["retracts"]}
    want_codes = {}
    for r in sorted(expected["annotations"], key=lambda r: r["id"]):
        if not r["retracts"] and r["id"] not in undone:
            want_codes[(r["item_id"], r["annotator"])] = r["label"]
    got_codes = {
        (r["item_id"], r["annotator"]): r["label"] for r in rows(store, "SELECT * FROM codes")
    }
    assert got_codes == want_codes and len(got_codes) >= 3


def test_migrated_workspace_keeps_working(v1_copy):
    store = Store(v1_copy)
    project = store.projects.by_name("Four-day week")
    before = store.items.stats(project.id)
    assert before["per_source"] == {"accepted-suggestion": 2, "human": 3, "imported": 2}
    item = store.queue.next(project.id, where="unlabelled")
    store.labels.add(item["id"], "FAVOR", annotator="ana")
    assert store.labels.undo(project.id, "ana") == item["id"]
    assert store.items.get(item["id"])["label"] is None
    report = store.items.import_frame(project.id, pd.DataFrame({"text": ["a brand new tweet"]}))
    assert report.imported == 1
    assert store.projects.create("Third", LABELS).id == 3  # ids continue after the old ones
    export = store.export.frame(project.id)
    assert (
        export.loc[export["text"] == "Productivity will collapse, mark my words", "label"].item()
        == "AGAINST"
    )
    assert store.scores.get_scores("rk1", [store.items.get(1)["text_key"]])
    # a first-version app refuses the upgraded file instead of writing into it
    assert sqlite3.connect(v1_copy).execute("PRAGMA user_version").fetchone()[0] > 1


def test_head_constant_matches_the_migrations():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # SQLite can't reflect lower(name)
def test_migrations_build_exactly_the_declared_schema(db_url):
    """What Alembic created equals schema.py, column for column and index for index."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = Store(db_url)

    def declared_here(obj, name, type_, reflected, compare_to) -> bool:
        return not (
            type_ == "index" and name in POSTGRES_ONLY_INDEXES and store.db.dialect != "postgresql"
        )

    with store.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": declared_here})
        diff = compare_metadata(context, metadata)
    assert diff == []
    store.close()


def test_unknown_sources_and_run_kinds_are_refused_in_python(db_url):
    store = Store(db_url)
    p = store.projects.create("p", LABELS)
    store.items.import_frame(p.id, pd.DataFrame({"text": ["x"]}))
    with pytest.raises(StoreError, match="Unknown label source 'oracle'"):
        store.labels.add(1, "FAVOR", source="oracle")
    with pytest.raises(StoreError, match="Unknown run kind 'magic'"):
        store.runs.create(p.id, "magic", {})
    assert rows(store, "SELECT COUNT(*) AS n FROM annotations") == [{"n": 0}]


def test_import_then_export_keeps_every_text_byte_for_byte(db_url):
    texts = [
        "plain",
        "  leading and trailing spaces  ",
        "tab\there\r\nCRLF and\nnewline",
        "line\u2028separator and \u2029paragraph",
        "emoji 🙌🏽 and ZWJ 👩‍👩‍👧",
        "=SUM(A1) +1 -1 @x",
        "<b>not html</b> *not markdown* [link](x)",
        "combining e\u0301 vs \u00e9",
        "'quotes' \"double\" `back`",
        "\u202eright-to-left override",
    ]
    store = Store(db_url)
    p = store.projects.create("bytes", LABELS)
    store.items.import_frame(p.id, pd.DataFrame({"text": texts}), skip_existing=False)
    out = store.export.frame(p.id)["text"].tolist()
    assert [t.encode("utf-8") for t in out] == [t.encode("utf-8") for t in texts]


def test_copy_moves_a_laptop_workspace_onto_postgresql(v1_copy, pg_db):
    laptop = Store(v1_copy)
    server = Store(pg_db)
    counts = copy_store(laptop, server)
    assert counts == {t: len(rows(laptop, f"SELECT * FROM {t}")) for t in TABLES}
    for table in TABLES:
        assert rows(server, f"SELECT * FROM {table} ORDER BY 1, 2") == rows(
            laptop, f"SELECT * FROM {table} ORDER BY 1, 2"
        )
    # sequences moved past the copied ids: new rows get fresh ids
    assert server.projects.create("New on the server", LABELS).id == 3
    item = server.items.import_frame(1, pd.DataFrame({"text": ["fresh"]}))
    assert item.imported == 1
    with pytest.raises(StoreError, match="already holds projects"):
        copy_store(laptop, server)


# -- URLs and errors a person reads ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_wrong_password_is_one_clear_line_without_the_password(pg_url):
    bad = pg_url.replace(":secret@", ":hunter2-wrong@")
    with pytest.raises(StoreError) as caught:
        Store(bad)
    message = str(caught.value)
    assert "refused the user name or password" in message
    assert "hunter2-wrong" not in message and "***" in message


def test_unreachable_server_fails_fast_and_says_where(monkeypatch):
    url = f"postgresql://labeler:topsecret@127.0.0.1:{_free_port()}/labeler"
    started = time.monotonic()
    with pytest.raises(StoreError, match="Cannot reach PostgreSQL") as caught:
        Store(url)
    assert time.monotonic() - started < 10
    assert "topsecret" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u:p@h/db", "Unsupported database 'mysql'"),
        ("postgresql://u:p@host:notaport/db", "not a database URL"),
    ],
)
def test_bad_urls_are_refused_with_advice(url, message):
    with pytest.raises(StoreError, match=message) as caught:
        Store(url)
    assert ":p@" not in str(caught.value)


def test_redact_hides_only_the_password():
    assert redact("postgresql://ana:s3cr3t@db.lab:5432/tweets") == (
        "postgresql://ana:***@db.lab:5432/tweets"
    )


def test_env_var_puts_the_default_store_on_postgresql(pg_db, monkeypatch, workspace):
    monkeypatch.setenv(DB_ENV, pg_db)
    store = Store()
    assert store.db.dialect == "postgresql" and store.path is None
    store.projects.create("on the server", LABELS)
    assert not (workspace / "labeler.sqlite").exists()
    check = create_engine(pg_db.replace("postgresql://", "postgresql+psycopg://"))
    with check.connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM projects").scalar() == "on the server"
    check.dispose()


def test_app_says_why_the_store_cannot_open_without_a_traceback(monkeypatch, workspace):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(DB_ENV, f"postgresql://ana:hunter2@127.0.0.1:{_free_port()}/lab")
    at = AppTest.from_file(str(Path(__file__).parents[1] / "app.py"), default_timeout=30).run()
    assert not at.exception
    shown = at.error[0].value.replace("\\", "")
    assert "The store cannot be opened: Cannot reach PostgreSQL" in shown
    assert "hunter2" not in shown and "ana:***@127.0.0.1" in shown
