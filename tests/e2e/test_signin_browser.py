"""Sign-in by password in a real headless Chromium (TWEET_LABELER_AUTH=password).

What AppTest cannot show: the session cookie the browser keeps (set by ui/auth.py's script), so
that a reload and a new tab stay signed in, and that signing out clears it. And, through the
whole stack, that a link with `?annotator=mallory` opened by ana labels as ana.
Screenshots land in artifacts/e2e/ (git-ignored).
"""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
from app_server import (  # noqa: E402  (tests/e2e)
    ARTIFACTS,
    CARD,
    app_server,
    idle,
    launch,
    require_browser,
)  # fmt: skip

COOKIE = "tweet_labeler_session"
PASSWORDS = {"ana": "ana's long password", "mallory": "mallory's long password"}

pytestmark = pytest.mark.e2e

playwright_api = require_browser()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app with sign-in on, on the sample project; ana and mallory annotate it."""
    from labeler.db.store import open_store
    from labeler.db.users import Users
    from labeler.sample import ensure_sample
    from labeler.team.auth import hash_password

    workspace = tmp_path_factory.mktemp("signin-workspace")
    db = workspace / "labeler.sqlite"
    store = open_store(f"sqlite:///{db}")
    ensure_sample(store)
    (project,) = store.projects.all()
    users = Users(store.db)
    for name, password in PASSWORDS.items():
        users.add(name, hash_password(password))
        users.add_member(project.id, name, "annotator")
    store.close()
    log_path = ARTIFACTS / "signin-server.log"
    with app_server(workspace, log_path, TWEET_LABELER_AUTH="password") as url:
        yield {"url": url, "db": db, "project": project, "log": log_path}


@pytest.fixture
def browser(server):
    with playwright_api.sync_playwright() as p:
        chromium = launch(p)
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            yield context, page
        except BaseException:
            print("--- server log (tail) ---\n" + server["log"].read_text()[-4000:])
            raise
        finally:
            chromium.close()


def query(server, sql: str, *args) -> list:
    with sqlite3.connect(server["db"]) as conn:
        return conn.execute(sql, args).fetchall()


def session_cookie(context) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == COOKIE), None)


def sign_in(page, name: str, password: str) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    idle(page)


def test_sign_in_survives_a_reload_and_sign_out_ends_it(browser, server):
    context, page = browser
    page.goto(server["url"])
    idle(page)
    page.get_by_label("Password", exact=True).wait_for()
    sign_in(page, "ana", PASSWORDS["mallory"])  # mallory's password does not sign ana in
    page.get_by_text("Wrong name or password.").wait_for()
    assert query(server, "SELECT COUNT(*) FROM sessions") == [(0,)]
    assert session_cookie(context) is None

    sign_in(page, "ana", PASSWORDS["ana"])
    page.get_by_text("Signed in as ana").wait_for()
    page.wait_for_function(f"() => document.cookie.includes('{COOKIE}=')")
    token = session_cookie(context)
    cookie = next(c for c in context.cookies() if c["name"] == COOKIE)
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    (stored,) = query(server, "SELECT token_hash FROM sessions")
    assert stored == (hashlib.sha256(token.encode()).hexdigest(),)  # only its hash is stored
    page.screenshot(path=str(ARTIFACTS / "signin-signed-in.png"), full_page=True)

    page.reload()
    idle(page)
    page.get_by_text("Signed in as ana").wait_for()
    assert page.get_by_label("Password", exact=True).count() == 0

    page.get_by_role("button", name="Sign out").click()
    idle(page)
    page.get_by_label("Password", exact=True).wait_for()
    page.wait_for_function(f"() => !document.cookie.includes('{COOKIE}=')")
    assert session_cookie(context) is None
    assert query(server, "SELECT COUNT(*) FROM sessions") == [(0,)]
    page.reload()  # and a reload after signing out asks again
    idle(page)
    page.get_by_label("Password", exact=True).wait_for()
    assert page.get_by_text("Signed in as").count() == 0


def test_a_forged_annotator_in_the_link_labels_as_the_signed_in_person(browser, server):
    context, page = browser
    page.goto(server["url"])
    idle(page)
    sign_in(page, "ana", PASSWORDS["ana"])
    page.wait_for_function(f"() => document.cookie.includes('{COOKIE}=')")
    before = query(server, "SELECT COALESCE(MAX(id), 0) FROM annotations")[0][0]
    # a new page load (new Streamlit session): signed in by the cookie, the link names mallory
    page.goto(f"{server['url']}/annotate?project={server['project'].id}&annotator=mallory")
    idle(page)
    page.get_by_text("Signed in as ana").wait_for()
    card = page.locator(CARD)
    shown = card.inner_text()
    card.click()  # focus the page, not a text box: keys reach the shortcuts
    page.keyboard.press("1")
    page.wait_for_function("([sel, old]) => document.querySelector(sel)?.innerText !== old",
                           arg=[CARD, shown])  # fmt: skip
    idle(page)
    made = query(
        server,
        "SELECT a.annotator, i.text FROM annotations a JOIN items i ON i.id = a.item_id"
        " WHERE a.id > ?",
        before,
    )
    assert made == [("ana", shown)]
    assert query(server, "SELECT COUNT(*) FROM annotations WHERE annotator = 'mallory'") == [(0,)]
