"""`python -m labeler import / export / copy-store`: files into a project and back out, on SQLite
and PostgreSQL, and the workspace onto a server; every failure is one line, exit code 2, no file
written and no password shown."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from labeler.cli.main import main
from labeler.db.store import Store
from labeler.io.read import read_table
from labeler.io.write import write_table

ROOT = Path(__file__).resolve().parents[1]
LABELS = "AGAINST,FAVOR,NONE"
FORMATS = ["csv", "tsv", "xlsx", "jsonl", "parquet"]

# Texts that break naive writers and readers. Import strips leading/trailing whitespace (the
# Data page's rule, in io.prepare), so those are compared stripped; everything inside survives.
HARD_TEXTS = [
    "tab\tinside\tthe text",
    "windows line\r\nbreak and a bare\rreturn",
    "line\u2028separator and paragraph\u2029separator",
    "emoji 🏳️‍🌈 and 👍🏽 and a ZWJ family 👨‍👩‍👧",
    "   leading and trailing spaces   ",
    "=SUM(A1:A2)",
    '"quoted" and \'single\' and ""doubled""',
    "comma, semicolon; pipe | and a backslash \\ at the end\\",
    "+1 -1 @mention #hashtag https://example.com/a?b=c&d=e",
    "accents: naïve café Zürich ĳ ß and RTL עברית",
    "Excel's own escapes written literally: _x000D_ and _x005F_x0041_",
]

# Known io bug: labeler/io/write.py puts a raw "\r" in the sheet's XML, which XML parsers (and
# Excel) read as "\n"; Excel's own files store it as _x000D_, which io's reader must then unescape.


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def line_of(out: str, prefix: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(prefix))


def assert_one_error_line(err: str) -> None:
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


@pytest.fixture
def env_db(db_url, workspace, monkeypatch) -> str:
    """The store every command uses (TWEET_LABELER_DB), per engine, in a fresh workspace."""
    monkeypatch.setenv("TWEET_LABELER_DB", db_url)
    return db_url


def write_tweets(path: Path, rows: list[dict]) -> Path:
    write_table(pd.DataFrame(rows, dtype=object), path)
    return path


def test_import_creates_the_project_and_reports_what_the_store_holds(env_db, tmp_path, capsys):
    data = write_tweets(
        tmp_path / "tweets.csv",
        [
            {"id": "007", "tweet": "Biden is doing great", "stance": "favor"},  # case ignored
            {"id": "008", "tweet": "Worst president ever", "stance": "AGAINST"},
            {"id": "009", "tweet": "   ", "stance": "NONE"},  # empty text: rejected
            {"id": "010", "tweet": "Biden is doing great", "stance": "FAVOR"},  # repeat
            {"id": "011", "tweet": "No idea what to think", "stance": "maybe"},  # unknown label
            {"id": "012", "tweet": "Weather is nice today", "stance": ""},
        ]
        + [
            {"id": f"1{i:02d}", "tweet": f"filler tweet number {i}", "stance": ""}
            for i in range(20)
        ],
    )
    code, out, err = run_cli(capsys, "import", data, "--project", "Biden", "--labels", LABELS)
    assert code == 0, err
    assert "project 'Biden' created with labels AGAINST, FAVOR, NONE" in out
    # columns guessed as the Data page does
    assert "text column 'tweet', id column 'id', label column 'stance'" in out
    assert "read 26 rows" in out
    merged = line_of(out, "merged:")
    assert merged.startswith("merged: 1 row (1 repeated within the file: ")
    assert "; 0 already in the project before this import: " in merged
    rejected = line_of(out, "rejected:")
    assert "1 empty row" in rejected and "'maybe' x1" in rejected

    store = Store(env_db)
    try:
        project = store.projects.by_name("Biden")
        stats = store.items.stats(project.id)
        assert project.labels == ["AGAINST", "FAVOR", "NONE"]
        assert stats["items"] == 24 and stats["labelled"] == 2
        assert line_of(out, "added:") == (
            f"added: 24 tweets ({stats['heldout']} held out for testing, 2 labelled from the file)"
        )
        assert f"now holds {stats['items']} tweets, {stats['labelled']} labelled" in out
        exported = store.export.frame(project.id)
    finally:
        store.close()
    assert exported["id"].tolist()[:2] == ["007", "008"]  # ids exactly as written
    assert exported.set_index("id").loc["007", "label"] == "FAVOR"


@pytest.mark.parametrize("fmt", FORMATS)
def test_import_then_export_keeps_every_text(env_db, tmp_path, capsys, fmt):
    rows = [{"id": f"{i:03d}", "text": t} for i, t in enumerate(HARD_TEXTS)]
    data = write_tweets(tmp_path / f"in.{fmt}", rows)
    code, out, err = run_cli(capsys, "import", data, "--project", "Hard", "--labels", "A,B")
    assert code == 0, err
    assert f"added: {len(HARD_TEXTS)} tweets" in out

    out_file = tmp_path / f"out.{fmt}"
    code, out, err = run_cli(capsys, "export", "--project", "Hard", "-o", out_file)
    assert code == 0, err
    assert out.strip() == f"wrote {len(HARD_TEXTS)} rows of project 'Hard' to {out_file}"
    back = read_table(out_file)
    assert back["id"].tolist() == [r["id"] for r in rows]
    got, expected = back["text"].tolist(), HARD_TEXTS
    assert [t.encode() for t in got] == [t.encode() for t in expected]


def test_second_file_merges_texts_the_project_already_holds(env_db, tmp_path, capsys):
    first = write_tweets(
        tmp_path / "a.csv", [{"text": t} for t in ("one tweet", "two tweets", "three tweets")]
    )
    second = write_tweets(
        tmp_path / "b.jsonl",
        [{"text": t} for t in ("one tweet", "  TWO   tweets ", "four tweets", "four tweets")],
    )
    assert run_cli(capsys, "import", first, "--project", "P", "--labels", "X,Y")[0] == 0
    code, out, err = run_cli(capsys, "import", second, "--project", "p")  # name: any case
    assert code == 0, err
    assert "project 'P' has labels X, Y" in out
    assert line_of(out, "added:").startswith("added: 1 tweet (")
    assert line_of(out, "merged:") == (
        "merged: 3 rows (1 repeated within the file: the exact same text, ignoring spaces around "
        "it; 2 already in the project before this import: the same text, ignoring case and "
        "spacing)"
    )
    assert "now holds 4 tweets" in out
    store = Store(env_db)
    try:
        assert store.items.count(store.projects.by_name("P").id) == 4
    finally:
        store.close()


def test_variants_within_one_file_are_repeats_not_already_in_the_project(env_db, tmp_path, capsys):
    texts = ("hello world", "  hello world ", "HELLO WORLD", "bye now")
    data = write_tweets(tmp_path / "v.csv", [{"text": t} for t in texts])
    code, out, err = run_cli(capsys, "import", data, "--project", "V", "--labels", "A,B")
    assert code == 0, err
    assert line_of(out, "added:").startswith("added: 3 tweets (")  # the case variant is its own
    assert line_of(out, "merged:") == (
        "merged: 1 row (1 repeated within the file: the exact same text, ignoring spaces around "
        "it; 0 already in the project before this import: the same text, ignoring case and "
        "spacing)"
    )


def test_a_file_of_numbers_is_refused_naming_its_columns(env_db, tmp_path, capsys):
    data = tmp_path / "scores.csv"
    data.write_bytes(b"id,score,created_at\n1,0.5,2024-01-02\n2,0.75,2024-01-03\n3,-1,\n")
    code, out, err = run_cli(capsys, "import", data, "--project", "N", "--labels", "A,B")
    assert code == 2, out
    assert_one_error_line(err)
    assert "No column of 'scores.csv' holds text" in err
    assert "score holds numbers" in err and "created_at holds dates" in err
    assert "--text-col" in err
    store = Store(env_db)
    try:
        assert store.projects.by_name("N") is None
    finally:
        store.close()


def test_import_argument_mistakes_are_one_line_and_change_nothing(env_db, tmp_path, capsys):
    data = write_tweets(tmp_path / "t.csv", [{"tweet": "a tweet", "stance": "X"}])
    code, _, err = run_cli(capsys, "import", data, "--project", "New")
    assert code == 2 and "--labels" in err and "New" in err
    assert_one_error_line(err)
    code, _, err = run_cli(
        capsys, "import", data, "--project", "New", "--labels", "X,Y", "--text-col", "body"
    )
    assert code == 2
    assert "The text column 'body' is not in" in err and "tweet, stance" in err
    assert_one_error_line(err)
    store = Store(env_db)
    try:
        assert store.projects.all() == []  # neither mistake created the project
    finally:
        store.close()
    assert run_cli(capsys, "import", data, "--project", "New", "--labels", "X,Y")[0] == 0
    code, _, err = run_cli(capsys, "import", data, "--project", "New", "--labels", "X,Z")
    assert code == 2 and "has the labels X, Y, not X, Z" in err
    assert_one_error_line(err)


def test_export_of_an_unknown_project_writes_nothing(env_db, tmp_path, capsys):
    data = write_tweets(tmp_path / "t.csv", [{"text": "a tweet"}])
    assert run_cli(capsys, "import", data, "--project", "Known", "--labels", "X,Y")[0] == 0
    out_file = tmp_path / "out.csv"
    code, out, err = run_cli(capsys, "export", "--project", "Unknown", "-o", out_file)
    assert code == 2 and out == ""
    assert "No project named 'Unknown'" in err and "'Known'" in err
    assert_one_error_line(err)
    code, _, err = run_cli(capsys, "export", "--project", "Known", "-o", tmp_path / "out.docx")
    assert code == 2 and "cannot tell which format to write" in err
    assert_one_error_line(err)
    assert list(tmp_path.glob("out*")) == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.postgres
def test_wrong_password_is_one_line_without_the_password(
    pg_url, workspace, tmp_path, monkeypatch, capsys
):
    assert ":secret@" in pg_url
    bad = pg_url.replace(":secret@", ":Hunter2-wrong@")
    out_file = tmp_path / "out.csv"
    data = write_tweets(tmp_path / "t.csv", [{"text": "a tweet"}])
    monkeypatch.delenv("TWEET_LABELER_DB", raising=False)
    assert run_cli(capsys, "import", data, "--project", "Local", "--labels", "X,Y")[0] == 0
    code, out, err = run_cli(capsys, "copy-store", "--to", bad)
    assert code == 2 and "refused the user name or password" in err
    assert_one_error_line(err)
    assert "Hunter2" not in out + err

    monkeypatch.setenv("TWEET_LABELER_DB", bad)
    code, out, err = run_cli(capsys, "export", "--project", "P", "-o", out_file)
    assert code == 2 and "refused the user name or password" in err
    assert_one_error_line(err)
    assert "Hunter2" not in out + err and not out_file.exists()

    code, out, err = run_cli(capsys, "import", data, "--project", "P", "--labels", "X,Y")
    assert code == 2 and "refused the user name or password" in err
    assert_one_error_line(err)
    assert "Hunter2" not in out + err


def test_unreachable_server_and_bad_urls_fail_fast(workspace, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TWEET_LABELER_DB", raising=False)
    nowhere = f"postgresql://labeler:S3cretPw@127.0.0.1:{free_port()}/labeler"
    out_file = tmp_path / "out.parquet"
    start = time.monotonic()
    code, out, err = run_cli(capsys, "copy-store", "--to", nowhere)
    # an empty workspace has no store to copy: said before any connection is tried
    assert code == 2 and "no store to copy" in err
    assert_one_error_line(err)
    data = write_tweets(tmp_path / "t.csv", [{"text": "a tweet"}])
    assert run_cli(capsys, "import", data, "--project", "P", "--labels", "X,Y")[0] == 0
    code, out, err = run_cli(capsys, "copy-store", "--to", nowhere)
    assert code == 2 and "Cannot reach PostgreSQL at" in err
    assert_one_error_line(err)
    assert "S3cretPw" not in out + err
    assert time.monotonic() - start < 20

    monkeypatch.setenv("TWEET_LABELER_DB", nowhere)
    start = time.monotonic()
    code, out, err = run_cli(capsys, "export", "--project", "P", "-o", out_file)
    assert time.monotonic() - start < 10
    assert code == 2 and "Cannot reach PostgreSQL at" in err
    assert_one_error_line(err)
    assert "S3cretPw" not in out + err and not out_file.exists()

    monkeypatch.setenv("TWEET_LABELER_DB", "mysql://root:S3cretPw@localhost/db")
    code, out, err = run_cli(capsys, "export", "--project", "P", "-o", out_file)
    assert code == 2 and "Unsupported database 'mysql'" in err
    assert_one_error_line(err)
    assert "S3cretPw" not in out + err and not out_file.exists()


@pytest.mark.postgres
def test_copy_store_moves_a_sqlite_workspace_onto_postgresql(
    workspace, pg_db, tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("TWEET_LABELER_DB", raising=False)
    data = write_tweets(
        tmp_path / "t.csv",
        [
            {"id": f"{i}", "text": t, "label": "A" if i % 2 else ""}
            for i, t in enumerate(HARD_TEXTS)
        ],
    )
    assert run_cli(capsys, "import", data, "--project", "One", "--labels", "A,B")[0] == 0
    assert run_cli(capsys, "import", data, "--project", "Two", "--labels", "A,B,C")[0] == 0
    local = Store(None)
    try:
        one = local.projects.by_name("One")
        item = local.items.page(one.id, limit=1).iloc[0]
        local.labels.add(int(item["id"]), "B", annotator="ana")  # a human label, too
        expected = {p.name: local.export.frame(p.id) for p in local.projects.all()}
    finally:
        local.close()

    code, out, err = run_cli(capsys, "copy-store", "--to", pg_db)
    assert code == 0, err
    assert out.startswith(
        f"copied sqlite:///{workspace}/labeler.sqlite -> postgresql://labeler:***@"
    )
    assert "secret" not in out + err
    counts = {
        line.split()[0]: int(line.split()[1].replace(",", ""))
        for line in out.splitlines()
        if line.startswith("  ")
    }
    assert counts["projects"] == 2 and counts["items"] == 2 * len(HARD_TEXTS)
    assert "trained model folders stay on this disk" in out

    monkeypatch.setenv("TWEET_LABELER_DB", pg_db)
    for name, frame in expected.items():
        out_file = tmp_path / f"{name}.parquet"
        code, out, err = run_cli(capsys, "export", "--project", name, "-o", out_file)
        assert code == 0, err
        pd.testing.assert_frame_equal(
            read_table(out_file), read_table_of(frame, tmp_path / f"{name}-local.parquet")
        )

    # a second copy onto the same server would mix rows: refused, one line
    monkeypatch.delenv("TWEET_LABELER_DB")
    code, _, err = run_cli(capsys, "copy-store", "--to", pg_db)
    assert code == 2 and "already holds projects" in err
    assert_one_error_line(err)


def read_table_of(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    write_table(frame, path)
    return read_table(path)


def test_keyboard_interrupt_is_one_line_and_exit_130(workspace, tmp_path, monkeypatch, capsys):
    from labeler.io import prepare

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(prepare, "prepare_items", interrupted)
    data = write_tweets(tmp_path / "t.csv", [{"text": "a tweet"}])
    code, _, err = run_cli(capsys, "import", data, "--project", "P", "--labels", "X,Y")
    assert code == 130 and err.startswith("interrupted:") and err.count("\n") == 1


def test_python_dash_m_labeler_import_and_export(workspace, tmp_path):
    data = write_tweets(tmp_path / "t.tsv", [{"text": t} for t in HARD_TEXTS])
    env = {**os.environ, "TWEET_LABELER_HOME": str(workspace)}
    env.pop("TWEET_LABELER_DB", None)

    def labeler(*argv):
        return subprocess.run(
            [sys.executable, "-m", "labeler", *map(str, argv)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    proc = labeler("import", data, "--project", "Sub", "--labels", "A,B")
    assert proc.returncode == 0, proc.stderr
    assert f"added: {len(HARD_TEXTS)} tweets" in proc.stdout
    assert (workspace / "labeler.sqlite").is_file()
    out_file = tmp_path / "out.parquet"
    proc = labeler("export", "--project", "Sub", "-o", out_file)
    assert proc.returncode == 0, proc.stderr
    assert read_table(out_file)["text"].tolist() == HARD_TEXTS
    proc = labeler("export", "--project", "Nope", "-o", tmp_path / "nope.csv")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: No project named 'Nope'")
    assert not (tmp_path / "nope.csv").exists()
