"""Sign-in and rosters: nobody labels under someone else's name.

The core (argon2 hashes, sessions stored as hashes that expire, roles with the global owner) on
SQLite and PostgreSQL; `python -m labeler user`; and the app through AppTest with
TWEET_LABELER_AUTH=password: a wrong password signs nobody in, and a forged `?annotator=` does not
change the name a label carries. The browser half (the cookie across a reload) is
tests/e2e/test_signin_browser.py.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from labeler.cli.main import main
from labeler.db.engine import DB_ENV
from labeler.db.schema import ROLES
from labeler.db.store import open_store
from labeler.db.users import SESSION_TTL_S, Users, token_hash
from labeler.errors import InputError, SettingsError, StoreError
from labeler.models.policy import auth_enabled
from labeler.team.auth import (
    AUTH_ENV,
    AuthMode,
    hash_password,
    sign_in,
    verify_password,
)
from tests.card_client import Browser

ROOT = Path(__file__).resolve().parents[1]
PW = "correct horse battery"
PW2 = "mallory's own password"


@pytest.fixture
def store(db_url):
    s = open_store(db_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def users(store) -> Users:
    return Users(store.db)


def rows(store, sql: str, **args) -> list:
    with store.db.read() as conn:
        return conn.execute(text(sql), args).all()


# -- the setting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        (None, AuthMode.OFF),
        ("", AuthMode.OFF),
        ("off", AuthMode.OFF),
        ("password", AuthMode.PASSWORD),
        (" Password ", AuthMode.PASSWORD),
        ("oidc", AuthMode.OIDC),
    ],
)
def test_the_setting_names_the_mode_and_off_is_the_default(monkeypatch, value, mode):
    if value is None:
        monkeypatch.delenv(AUTH_ENV, raising=False)
    else:
        monkeypatch.setenv(AUTH_ENV, value)
    assert AuthMode.from_env() is mode
    assert mode.signs_in is (mode is not AuthMode.OFF)
    assert auth_enabled() is mode.signs_in  # the model-folder policy agrees


def test_an_unknown_setting_is_a_sentence_naming_the_choices(monkeypatch):
    monkeypatch.setenv(AUTH_ENV, "ldap")
    with pytest.raises(SettingsError, match=r"'ldap' is not a sign-in mode.*off.*password.*oidc"):
        AuthMode.from_env()
    assert auth_enabled()  # the model policy stays strict meanwhile


# -- passwords ---------------------------------------------------------------------------------


def test_passwords_are_argon2_hashes_and_only_the_right_one_verifies():
    hashed = hash_password(PW)
    assert hashed.startswith("$argon2id$") and PW not in hashed
    assert hashed != hash_password(PW)  # salted
    assert verify_password(hashed, PW)
    assert not verify_password(hashed, PW + " ")
    assert not verify_password(hashed, "")
    assert not verify_password(None, PW)
    assert not verify_password("not-a-hash", PW)


@pytest.mark.parametrize("short", ["", "1234567", "       "[:7]])
def test_a_short_password_is_refused_with_the_rule(short):
    with pytest.raises(InputError, match="at least 8"):
        hash_password(short)


# -- people and sessions (both engines) ---------------------------------------------------------


def test_the_store_keeps_hashes_never_passwords_or_tokens(store, users):
    users.add("ana", hash_password(PW), owner=True)
    token = sign_in(users, "ana", PW)
    assert token
    dumped = " ".join(
        str(v) for table in ("users", "sessions") for r in rows(store, f"SELECT * FROM {table}")
        for v in r
    )  # fmt: skip
    assert PW not in dumped and token not in dumped
    ((stored,),) = rows(store, "SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$")
    ((kept, expires),) = rows(store, "SELECT token_hash, expires_at FROM sessions")
    assert kept == token_hash(token) and len(kept) == 64
    assert abs(expires - (time.time() + SESSION_TTL_S)) < 60  # 14 days


def test_a_wrong_password_or_unknown_name_signs_nobody_in(store, users):
    users.add("ana", hash_password(PW))
    users.add("nopass")  # no password yet: cannot sign in with any
    assert sign_in(users, "ana", PW2) is None
    assert sign_in(users, "ana", "") is None
    assert sign_in(users, "mallory", PW) is None
    assert sign_in(users, "nopass", "") is None
    assert sign_in(users, "", PW) is None
    assert rows(store, "SELECT * FROM sessions") == []
    token = sign_in(users, "ANA", PW)  # names ignore case; the session is ana's
    assert users.resolve_session(token) == "ana"


def test_sessions_expire_end_at_sign_out_and_at_a_password_change(store, users):
    users.add("ana", hash_password(PW))
    users.add("bo", hash_password(PW2))
    a, b, c = users.create_session("ana"), users.create_session("bo"), users.create_session("ana")
    assert users.resolve_session(a) == "ana" and users.resolve_session(b) == "bo"
    assert users.resolve_session("forged") is None and users.resolve_session(None) is None
    assert users.resolve_session(token_hash(a)) is None  # the stored hash is not a token
    with store.db.write() as conn:  # a's session ran out
        conn.execute(
            text("UPDATE sessions SET expires_at = :t WHERE token_hash = :h"),
            {"t": time.time() - 1, "h": token_hash(a)},
        )
    assert users.resolve_session(a) is None
    assert users.resolve_session(c) == "ana"
    users.end_session(b)
    assert users.resolve_session(b) is None
    users.set_password("ana", hash_password("a brand new one"))
    assert users.resolve_session(c) is None  # a reset signs the old browsers out
    assert sign_in(users, "ana", PW) is None and sign_in(users, "ana", "a brand new one")
    short = users.create_session("bo", ttl_s=-1)
    assert users.resolve_session(short) is None
    users.delete("bo")
    assert sign_in(users, "bo", PW2) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 65, "at most 64"),
        ("ana\nroot", "control characters"),
        ("ana\u200b", "control characters"),
    ],
)
def test_bad_names_are_refused(users, name, why):
    with pytest.raises(StoreError, match=why):
        users.add(name)


def test_a_name_is_taken_whatever_its_case(users):
    users.add(" Ana ")
    assert users.get("ana").name == "Ana"
    with pytest.raises(StoreError, match="exists already"):
        users.add("ANA")
    assert [u.name for u in users.all()] == ["Ana"]


# -- rosters -----------------------------------------------------------------------------------


def test_roles_come_from_the_roster_and_a_global_owner_owns_every_project(store, users):
    p = store.projects.create("P", ["A", "B"])
    q = store.projects.create("Q", ["A", "B"])
    users.add("boss", owner=True)
    users.add("ana")
    users.add("bo")
    users.add_member(p.id, "ANA", "annotator")  # written as the account spells it
    users.add_member(p.id, "bo", "adjudicator")
    assert users.roster(p.id) == [("bo", "adjudicator"), ("ana", "annotator")]
    assert users.role_of(p.id, "ana") == "annotator"
    assert users.role_of(q.id, "ana") is None
    assert users.role_of(p.id, "boss") == "owner" and users.role_of(q.id, "BOSS") == "owner"
    assert users.role_of(p.id, None) is None and users.role_of(p.id, "nobody") is None
    assert users.projects_of("ana") == {p.id} and users.projects_of("boss") is None
    assert users.projects_of(None) == set()
    users.set_role(p.id, "ana", "owner")
    users.add_member(p.id, "bo", "annotator")  # already there: the role changes
    assert users.roster(p.id) == [("ana", "owner"), ("bo", "annotator")]
    assert users.owners(p.id) == ["ana", "boss"] and users.owners(q.id) == ["boss"]
    users.remove_member(p.id, "Bo")
    assert users.role_of(p.id, "bo") is None and users.roster(p.id) == [("ana", "owner")]
    with pytest.raises(StoreError, match="Unknown role 'boss'"):
        users.add_member(p.id, "bo", "boss")
    with pytest.raises(StoreError, match="not on this project's roster"):
        users.set_role(q.id, "bo", "owner")
    with pytest.raises(StoreError, match="No project with id"):
        users.add_member(q.id + 99, "bo", "annotator")
    users.set_owner("boss", False)
    assert users.role_of(q.id, "boss") is None


# -- the command line ----------------------------------------------------------------------------


def cli(monkeypatch, capsys, args: list[str], stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["user", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_store(db_url, monkeypatch):
    monkeypatch.setenv(DB_ENV, db_url)
    s = open_store(db_url)
    try:
        yield s
    finally:
        s.close()


def test_cli_adds_people_sets_passwords_and_lists_them(cli_store, monkeypatch, capsys):
    users = Users(cli_store.db)
    project = cli_store.projects.create("Biden", ["A", "B"])
    code, out, _ = cli(
        monkeypatch, capsys, ["add", "ana", "--owner", "--password-stdin"], PW + "\n"
    )
    assert code == 0 and "added ana (owner of every project)" in out
    assert users.get("ana").is_owner and sign_in(users, "ana", PW)
    assert cli(monkeypatch, capsys, ["add", "bo", "--password-stdin", "--project", "biden"],
               PW2 + "\n")[0] == 0  # fmt: skip
    assert users.role_of(project.id, "bo") == "annotator"
    code, out, _ = cli(monkeypatch, capsys, ["role", "bo", "--project", str(project.id),
                                             "--role", "adjudicator"])  # fmt: skip
    assert code == 0 and users.role_of(project.id, "bo") == "adjudicator"
    session = users.create_session("bo")
    code, out, _ = cli(monkeypatch, capsys, ["passwd", "BO", "--password-stdin"], "new secret 1\n")
    assert code == 0 and "password of bo changed" in out
    assert sign_in(users, "bo", PW2) is None and sign_in(users, "bo", "new secret 1")
    assert users.resolve_session(session) is None
    code, out, _ = cli(monkeypatch, capsys, ["list"])
    assert code == 0
    assert out.splitlines() == ["ana\towner\tpassword set", "bo\tpassword set"]
    code, out, _ = cli(monkeypatch, capsys, ["list", "--project", "Biden"])
    assert "bo\tadjudicator" in out and "ana\towner (of every project)" in out
    assert cli(monkeypatch, capsys, ["add", "oidc@lab.example", "--no-password"])[0] == 0
    assert not users.get("oidc@lab.example").has_password


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (["add", "ana", "--password-stdin"], "short\n", "use at least 8"),
        (["add", "ana", "--password-stdin"], "", "standard input was empty"),
        (["add", "ana"], "", "No terminal to ask for the password"),
        (["add", "a\tb", "--password-stdin"], PW + "\n", "control characters"),
        (["add", "taken", "--password-stdin"], PW + "\n", "exists already"),
        (["add", "ana", "--password-stdin", "--project", "Nope"], PW + "\n", "No project named"),
        (["passwd", "nobody", "--password-stdin"], PW + "\n", "Nobody is named 'nobody'"),
        (["passwd", "taken", "--password-stdin"], "1234\n", "use at least 8"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2_and_changes_nothing(
    cli_store, monkeypatch, capsys, args, stdin, says
):
    users = Users(cli_store.db)
    users.add("taken", hash_password(PW))
    code, out, err = cli(monkeypatch, capsys, args, stdin)
    assert code == 2
    assert says in err and len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert [u.name for u in users.all()] == ["taken"]
    assert sign_in(users, "taken", PW)


def test_cli_roles_match_the_schema():
    from labeler.cli.user import ROLES as CLI_ROLES

    assert CLI_ROLES == ROLES


def test_python_m_labeler_user_reads_the_password_from_a_pipe(tmp_path):
    db = tmp_path / "labeler.sqlite"
    env = {"PATH": "/usr/bin:/bin", DB_ENV: f"sqlite:///{db}", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "labeler", "user", "add", "ana", "--owner", "--password-stdin"],
        input=PW + "\n", capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    store = open_store(db)
    try:
        assert sign_in(Users(store.db), "ana", PW)
    finally:
        store.close()


# -- the app (AppTest): the signed-in name is the only name --------------------------------------


@pytest.fixture
def signed_app(workspace, monkeypatch):
    """The app with sign-in by password on the sample project: ana (annotator) and mallory
    (annotator) on its roster, boss a global owner."""
    from streamlit.testing.v1 import AppTest

    from labeler.sample import ensure_sample

    monkeypatch.setenv(AUTH_ENV, "password")
    store = open_store(workspace / "labeler.sqlite")
    ensure_sample(store)
    (project,) = store.projects.all()
    users = Users(store.db)
    for name, pw in (("ana", PW), ("mallory", PW2)):
        users.add(name, hash_password(pw))
        users.add_member(project.id, name, "annotator")
    users.add("boss", hash_password(PW), owner=True)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["annotator"] = "mallory"  # a forged link
    at.run()
    assert not at.exception, at.exception
    yield at, store, project
    store.close()


def shown(elements) -> str:
    return " ".join(re.sub(r"\\(.)", r"\1", str(e.value)) for e in elements)


def through_app(at):
    """The next run starts at app.py, as every run of a real server does. (AppTest re-detects
    Streamlit's legacy pages/ folder on each run, so a run asked for the page the last one
    finished on executes that page file alone, without app.py's sign-in and sidebar.)"""
    at._page_hash, at._finished_page_script_hash = None, ""
    return at


def submit(at, name: str, password: str):
    at.text_input(key="auth_name").set_value(name)
    at.text_input(key="auth_password").set_value(password)
    through_app(at).button[0].click().run()  # the form's submit button
    assert not at.exception, at.exception
    return at


def test_app_shows_only_the_sign_in_form_and_refuses_a_wrong_password(signed_app):
    at, store, _ = signed_app
    assert [t.label for t in at.text_input] == ["Name", "Password"]
    assert not at.metric  # no page ran
    submit(at, "mallory", PW)  # ana's password, mallory's name
    assert "Wrong name or password" in shown(at.error)
    assert rows(store, "SELECT * FROM sessions") == []
    assert "auth_user" not in at.session_state


def test_app_labels_under_the_signed_in_name_whatever_the_link_says(signed_app):
    at, store, project = signed_app
    submit(at, "ana", PW)
    assert at.session_state["auth_user"] == "ana"
    assert "Signed in as ana" in shown(at.sidebar.text)
    assert not [t for t in at.text_input if t.key == "sidebar_annotator"]  # no name box
    at.switch_page("pages/annotate.py").run()
    assert not at.exception, at.exception
    Browser(at).label(project.labels[0])
    assert store.labels.history(project.id)["annotator"].tolist() == ["ana"]
    assert {r[0] for r in rows(store, "SELECT annotator FROM leases")} == {"ana"}
    through_app(at).run()  # app.py on Projects: the tweets ana's card held go back to the team
    assert not at.exception, at.exception
    assert rows(store, "SELECT annotator FROM leases") == []
    at.switch_page("pages/data.py").run()  # an annotator cannot change the data
    assert "Only the project's owner can import or change its tweets; ask boss" in shown(at.info)
    through_app(at).run()
    # ana's card holds tweets again (as it would had she signed out from Annotate): signing out
    # gives them back to the team
    sitting = at.session_state["ann_sitting"]
    store.queue.take(project.id, 4, hold=sitting["held"], annotator="ana", sitting=sitting["token"])
    sitting["leased"] = True
    assert rows(store, "SELECT annotator FROM leases")
    through_app(at).button(key="auth_sign_out").click().run()
    assert not at.exception, at.exception
    assert rows(store, "SELECT annotator FROM leases") == []
    assert [t.label for t in at.text_input] == ["Name", "Password"]
    assert rows(store, "SELECT * FROM sessions") == []


def test_app_shows_a_person_only_the_projects_on_their_roster(signed_app):
    at, store, project = signed_app
    other = store.projects.create("Other", ["A", "B"])
    at.query_params["project"] = str(other.id)  # a link to a project ana is not on
    submit(at, "ana", PW)
    assert at.selectbox(key="sidebar_project").options == [project.name]
    assert at.query_params["project"] in (str(project.id), [str(project.id)])


def test_oidc_mode_without_an_identity_provider_says_what_to_set_up(workspace, monkeypatch):
    """oidc cannot be exercised offline; without [auth] secrets the screen says what is missing
    and no page runs."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(AUTH_ENV, "oidc")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert not at.metric and not at.text_input  # no page, no password form
    through_app(at).button(key="auth_oidc").click().run()
    assert not at.exception, at.exception
    assert "not set up on this server" in shown(at.error)
    assert "auth_user" not in at.session_state


def test_an_unknown_mode_stops_every_page_with_the_sentence(workspace, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(AUTH_ENV, "yes")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert "'yes' is not a sign-in mode" in shown(at.error)
    assert not at.metric
