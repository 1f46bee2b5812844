"""Two people labelling one project at once, each in their own browser context.

What a team would notice: both shown the same single-coded tweet (double work, or one label
silently replacing the other), a second coder shown the first one's label or the model's
suggestion on a double-coded tweet (anchoring), and an Agreement page without alpha.
Screenshots land in artifacts/e2e/ (git-ignored).
"""

from __future__ import annotations

import random
import time

import pytest
from app_server import (  # noqa: E402  (tests/e2e)
    ARTIFACTS,
    CARD,
    app_server,
    idle,
    launch,
    require_browser,
)  # fmt: skip

ROUNDS = 10

pytestmark = pytest.mark.e2e
playwright_api = require_browser()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The sample project with a roster of two annotators, half the pool double-coded, and a
    zero-shot run's suggestions on every tweet."""
    from labeler.db.store import open_store
    from labeler.sample import ensure_sample

    workspace = tmp_path_factory.mktemp("team-workspace")
    store = open_store(f"sqlite:///{workspace / 'labeler.sqlite'}")
    ensure_sample(store)
    (project,) = store.projects.all()
    for name in ("ana", "ben"):
        store.users.add_member(project.id, name, "annotator")
    store.team.update(project.id, overlap_share=0.5, coders_per_item=2)
    ids = store.items.texts(project.id)["id"].tolist()
    run_id = store.runs.create(project.id, "zeroshot", {"labels": project.labels}, model="tiny")
    store.predictions.put(
        run_id, [(int(i), project.labels[0], 0.9, [0.9, 0.05, 0.05]) for i in ids]
    )
    store.runs.update(run_id, status="done")
    log_path = ARTIFACTS / "team-server.log"
    with app_server(workspace, log_path) as url:
        yield {"url": url, "store": store, "project": project, "log": log_path}


def card(page) -> str:
    idle(page)
    return page.locator(CARD).inner_text()


def meta(page) -> str:
    """The line under the tweet: id, suggestion or why none, the person's own label."""
    return page.locator(".st-key-ann_card .meta").inner_text()


def moved_on(page, before: str, timeout_s: float = 30.0) -> None:
    ident = before.split(" ")[0]
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        idle(page)
        if meta(page).split(" ")[0] != ident:
            return
        time.sleep(0.1)
    raise AssertionError(f"the card still shows {ident} after its label key")


def leased(store, who: str) -> set[int]:
    with store.db.read() as conn:
        rows = conn.exec_driver_sql("SELECT item_id FROM leases WHERE annotator=?", (who,))
        return {r[0] for r in rows}


def wait_for(check, what: str, timeout_s: float = 15.0) -> None:
    deadline = time.time() + timeout_s
    while not check():
        if time.time() > deadline:
            raise AssertionError(f"not within {timeout_s:.0f} s: {what}")
        time.sleep(0.2)


def test_two_people_never_share_a_single_coded_tweet_and_code_overlap_blind(server):
    store, project = server["store"], server["project"]
    team = store.team.settings(project.id)
    by_ext = {
        r["ext_id"]: int(r["id"])
        for r in store.items.page(project.id, limit=10_000)[["ext_id", "id"]].to_dict("records")
    }
    rng = random.Random(5)
    with playwright_api.sync_playwright() as p:
        browser = launch(p)
        pages = {}
        try:
            for who in ("ana", "ben"):
                context = browser.new_context(viewport={"width": 1300, "height": 950})
                page = context.new_page()
                page.set_default_timeout(30_000)
                page.goto(f"{server['url']}/annotate?project={project.id}&annotator={who}")
                pages[who] = page
            shown_together, blind_checked = [], 0
            for round_no in range(ROUNDS):
                lines = {who: (card(page), meta(page))[1] for who, page in pages.items()}
                # the sample repeats some texts on purpose: the card's #id names the tweet
                ids = {who: by_ext[line.split(" ")[0].lstrip("#")] for who, line in lines.items()}
                if ids["ana"] == ids["ben"]:
                    shown_together.append(ids["ana"])
                for who in pages:
                    item = store.items.get(ids[who])
                    line = lines[who]
                    if team.is_overlap(item):  # blind: no suggestion, no one else's label
                        assert "suggestion:" not in line and "gold:" not in line, line
                        blind_checked += 1
                    else:
                        assert "suggestion:" in line, line
                # both press a label key at about the same moment
                for who in rng.sample(list(pages), 2):
                    pages[who].locator(CARD).click()
                    pages[who].keyboard.press(rng.choice("12"))
                for who, page in pages.items():  # each card has moved on to another tweet
                    moved_on(page, lines[who])
                if round_no == 0:
                    for who, page in pages.items():
                        idle(page)
                        page.screenshot(path=str(ARTIFACTS / f"team-{who}.png"), full_page=True)
            for page in pages.values():
                idle(page)
            # the card moves on at once and the store follows a moment later
            wait_for(lambda: len(store.team.codes(project.id)) == 2 * ROUNDS, "every code stored")
            # every tweet on both screens at once was an overlap tweet (coded by both on purpose)
            assert all(team.is_overlap(store.items.get(i)) for i in shown_together)
            assert blind_checked > 0
            codes = store.team.codes(project.id)
            per_item = codes.groupby("item_id")["annotator"].apply(set)
            for item_id, coders in per_item.items():
                if coders == {"ana", "ben"}:  # coded by both: must be an overlap tweet
                    assert team.is_overlap(store.items.get(item_id)), item_id
            assert (per_item.apply(len) == 2).any(), "no tweet was double-coded"
            assert set(codes["annotator"]) == {"ana", "ben"}
            assert len(codes) == 2 * ROUNDS  # every press kept as that person's own code

            # ben opens the Projects page (app.py gives the card's tweets back there; the pages
            # with a project do it themselves): the tweets his card held go back to the team
            # at once (ana's card, still open, keeps hers)
            assert leased(store, "ben") and leased(store, "ana")
            pages["ben"].locator("[data-testid='stSidebarNav'] a", has_text="Projects").click()
            wait_for(lambda: not leased(store, "ben"), "ben's leases given back")
            assert leased(store, "ana")

            agreement = pages["ana"]
            agreement.goto(f"{server['url']}/agreement?project={project.id}&annotator=ana")
            idle(agreement)
            agreement.get_by_text("Krippendorff").first.wait_for()
            body = agreement.locator("[data-testid='stMain']").inner_text()
            assert "alpha" in body.lower() and "Traceback" not in body
            agreement.screenshot(path=str(ARTIFACTS / "team-agreement.png"), full_page=True)
        except BaseException:
            print("--- server log (tail) ---\n" + server["log"].read_text()[-4000:])
            raise
        finally:
            browser.close()
