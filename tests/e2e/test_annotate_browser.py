"""The Annotate page in a real headless Chromium: fast keys on the card, and the table.

AppTest runs no browser, and what goes wrong with fast keys happens between the browser and
Streamlit's runner: the card shows the next tweet itself (ui/card.js) while the server applies
the events behind it, and updates requested while a rerun runs are merged into one. Screenshots
land in artifacts/e2e/ (git-ignored).
"""

from __future__ import annotations

import random
import re
import sqlite3
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

WHO = "fast"
KEY_LABELS = {"1": "AGAINST", "2": "FAVOR", "3": "NONE"}
TRIES = 20
GAP_S = 0.030  # between key presses: faster than the card can be redrawn

# Registered before any page script, so it sees every key before the app's own listeners: which
# tweet was on the card when each label key went down.
RECORD_PRESSES = """
window.__presses = [];
window.addEventListener("keydown", (e) => {
  if (!/^[1-9]$/.test(e.key)) return;
  const card = document.querySelector(".st-key-ann_card .tweet");
  window.__presses.push({
    key: e.key, item: card ? Number(card.dataset.item) || null : null, t: performance.now(),
  });
}, true);
"""
NOTICE = "() => document.querySelector('.st-key-ann_card .notice')"
# presses refused so far, by the card (no tweet to show yet) or by the server (counted on the card)
REFUSED = "() => Number(document.querySelector('.st-key-ann_card .tl-card')?.dataset.refused || 0)"

pytestmark = pytest.mark.e2e

playwright_api = require_browser()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on the sample project, with a zero-shot run's suggestions for every tweet."""
    from labeler.db.store import open_store
    from labeler.sample import ensure_sample

    workspace = tmp_path_factory.mktemp("annotate-workspace")
    db = workspace / "labeler.sqlite"
    store = open_store(f"sqlite:///{db}")
    ensure_sample(store)
    (project,) = store.projects.all()
    ids = store.items.texts(project.id)["id"].tolist()
    run_id = store.runs.create(project.id, "zeroshot", {"labels": project.labels}, model="tiny")
    rng = random.Random(3)
    rows = []
    for i in ids:
        k = rng.randrange(3)
        scores = [0.1, 0.1, 0.1]
        scores[k] = 0.8
        rows.append((int(i), project.labels[k], 0.55 + 0.4 * rng.random(), scores))
    store.predictions.put(run_id, rows)
    store.runs.update(run_id, status="done")
    log_path = ARTIFACTS / "annotate-server.log"
    with app_server(workspace, log_path) as url:
        yield {"url": url, "db": db, "store": store, "project": project, "log": log_path}


@pytest.fixture
def page(server):
    with playwright_api.sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(RECORD_PRESSES)
        pg = context.new_page()
        pg.set_default_timeout(30_000)
        try:
            yield pg
        except BaseException:
            print("--- server log (tail) ---\n" + server["log"].read_text()[-4000:])
            raise
        finally:
            browser.close()


def settle(page, quiet_s: float = 0.4) -> None:
    """Idle, and the card's text unchanged for `quiet_s`: every press has been answered."""
    idle(page)
    text, since = page.locator(CARD).inner_text(), time.time()
    while time.time() - since < quiet_s:
        time.sleep(0.05)
        now = page.locator(CARD).inner_text()
        if now != text:
            text, since = now, time.time()
    idle(page)


def query(server, sql: str, *args):
    with sqlite3.connect(server["db"]) as conn:
        return conn.execute(sql, args).fetchall()


def open_card(page, server, who: str = WHO) -> None:
    page.goto(f"{server['url']}/annotate?project={server['project'].id}&annotator={who}")
    idle(page)
    page.locator(CARD).click()  # focus on the page, not a text box: keys reach the shortcuts


def judge(presses: list[dict], made: list[tuple[int, str]], refused: int) -> str:
    """'' when every label made is a press's label on the tweet on screen at that press, in press
    order, one label per press at most, every other press was refused, and no tweet was on
    screen for two presses (a labelled tweet never comes back); else what is wrong."""
    pressed = [(p["item"], KEY_LABELS[p["key"]]) for p in presses]
    on_screen = [item for item, _ in pressed if item is not None]
    if len(set(on_screen)) != len(on_screen):
        return f"a tweet was on screen for two presses: {on_screen}"
    i = 0
    for label in made:
        while i < len(pressed) and pressed[i] != label:
            i += 1
        if i == len(pressed):
            return f"label {label} is not a later press's label on the tweet then on screen"
        i += 1
    if len(made) + refused != len(pressed):
        return f"{len(pressed)} presses, {len(made)} labels, {refused} visibly refused"
    return ""


def test_fast_keys_label_the_tweet_on_screen_or_are_refused_visibly(page, server):
    """20 tries of 5 label keys pressed 30 ms apart. Per try, read back from the store every human
    label made: each must be the label of a key pressed while its tweet was on the card, in the
    order pressed, and every press either made exactly one such label or was visibly refused
    (the notice on screen, counted by it); no press silently dropped or applied elsewhere."""
    open_card(page, server)
    rng = random.Random(11)
    verdicts, gaps, labelled, refused_total = [], [], 0, 0
    for attempt in range(TRIES):
        settle(page)
        (start,) = query(server, "SELECT COALESCE(MAX(id), 0) FROM annotations")[0]
        before = page.evaluate(REFUSED)
        page.evaluate("() => { window.__presses = []; }")
        keys = [rng.choice("123") for _ in range(5)]
        t0 = time.perf_counter()
        for n, key in enumerate(keys):  # paced on a clock: key n goes down at n * 30 ms
            time.sleep(max(0.0, t0 + n * GAP_S - time.perf_counter()))
            page.keyboard.press(key)
        visible = f"() => {{ const n = ({NOTICE})(); return !!n && !n.hidden; }}"
        shown = page.evaluate(visible)
        settle(page)  # the notice stays 2.5 s: long enough to see a refusal by the server too
        shown = shown or page.evaluate(visible)
        presses = page.evaluate("() => window.__presses")
        after = page.evaluate(REFUSED)
        refused = after - before
        made = query(
            server,
            "SELECT a.item_id, a.label FROM annotations a"
            " WHERE a.id > ? AND a.annotator = ? AND a.source = 'human' ORDER BY a.id",
            start,
            WHO,
        )
        why = judge(presses, [tuple(m) for m in made], refused)
        if len(presses) != len(keys):
            why = f"{len(presses)} of {len(keys)} presses recorded"
        elif refused and not shown:
            why = f"{refused} key(s) refused but no notice on screen"
        verdicts.append(why)
        gaps += [b["t"] - a["t"] for a, b in zip(presses, presses[1:])]
        labelled += len(made)
        refused_total += refused
        if attempt == 0:
            page.screenshot(path=str(ARTIFACTS / "annotate-fast-keys.png"), full_page=True)
    ok = sum(not v for v in verdicts)
    gaps.sort()
    print(
        f"fast keys: {ok}/{TRIES} tries as pressed; {TRIES * 5} presses -> {labelled} labels, "
        f"{refused_total} visibly refused; gap between presses median "
        f"{gaps[len(gaps) // 2]:.0f} ms, max {gaps[-1]:.0f} ms"
    )
    assert ok == TRIES, [f"try {i}: {v}" for i, v in enumerate(verdicts) if v]
    assert gaps[len(gaps) // 2] < 40  # the presses really came ~30 ms apart


def test_a_key_held_down_labels_one_tweet_and_its_repeats_are_refused_visibly(page, server):
    """Auto-repeat (a key held down) sends keydowns marked `repeat`: one label, on the tweet on
    screen, and the repeats refused on the card rather than labelling the tweets behind it."""
    open_card(page, server, who="holder")
    settle(page)
    shown = page.locator(CARD).get_attribute("data-item")
    before = page.evaluate(REFUSED)
    page.keyboard.down("2")
    page.evaluate(
        "() => { for (let i = 0; i < 3; i++) document.body.dispatchEvent(new KeyboardEvent("
        "'keydown', { key: '2', repeat: true, bubbles: true })); }"
    )
    page.keyboard.up("2")
    settle(page)
    made = query(server, "SELECT item_id, label FROM annotations WHERE annotator = 'holder'")
    assert made == [(int(shown), "FAVOR")]
    assert page.evaluate(REFUSED) - before == 3
    assert "3 keys ignored" in page.locator(".st-key-ann_card .notice").inner_text()


def grid_cell(page, col: int, row: int) -> str:
    """A cell's text from the data grid's accessibility table (the grid itself is a canvas)."""
    return page.locator(
        f"[data-testid='stDataFrame'] [data-testid='glide-cell-{col}-{row}']"
    ).inner_text()


def grid_cells(page, col: int, rows: int) -> list[str]:
    return [grid_cell(page, col, r) for r in range(rows)]


def stored_label(server, text: str) -> str:
    (label,) = query(server, "SELECT label FROM items WHERE text = ?", text)[0]
    return label or ""


def test_the_table_is_fresh_keeps_edits_on_their_tweets_and_shows_only_stored_labels(page, server):
    """Label on the card, open the table: the tweet is no longer 'unlabelled' there. Edit row 2,
    a colleague labels row 0 (the page shifts), Save: the label lands on row 2's tweet, and
    afterwards every label cell shows what is stored. Screenshots of the card and the table."""
    project = server["project"]
    open_card(page, server, who="tabler")  # its own name: the store is shared with other tests
    search = page.get_by_label("Text contains")
    search.fill("burnout")  # the card and the table show the same few tweets, in file order
    search.press("Enter")
    idle(page)
    page.locator(CARD).click()
    page.screenshot(path=str(ARTIFACTS / "annotate-card.png"), full_page=True)
    meta = page.get_by_text(re.compile(r"suggestion: |held-out test item")).first.inner_text()
    assert "suggestion: " in meta or "held-out test item" in meta  # the model's guess is a note
    styles = page.locator(".st-key-ann_card .labels button").evaluate_all(
        "bs => bs.map(b => b.className)"
    )
    assert styles == ["tl-button"] * 3  # and no label button looks already chosen
    labelled_on_card = page.locator(CARD).inner_text()
    page.keyboard.press("1")
    page.wait_for_function(
        "([sel, old]) => document.querySelector(sel)?.innerText !== old",
        arg=[CARD, labelled_on_card],
    )
    idle(page)

    page.get_by_role("radio", name="Table").click()  # the mode switch above the card
    idle(page)
    cell = "[data-testid='stDataFrame'] [data-testid='glide-cell-0-0']"
    page.locator(cell).wait_for(state="attached")
    time.sleep(0.5)
    headers = page.evaluate(
        "() => [...document.querySelectorAll(\"[data-testid='stDataFrame'] th\")]"
        ".map(t => t.innerText)"
    )
    assert headers[:2] == ["text", "label"], headers  # the label sits beside the whole tweet
    rows = grid_cells(page, 0, 4)
    assert labelled_on_card not in rows  # the table was redrawn after the card's label
    assert all(len(t) > 0 for t in rows)
    page.screenshot(path=str(ARTIFACTS / "annotate-table.png"), full_page=True)

    # edit row 2's label from the keyboard: focus row 0's text cell, go right and down twice
    save = page.get_by_role("button", name="Save 1 change(s)")
    for attempt in range(2):  # a grid still settling after its redraw can miss the first click
        box = page.locator("[data-testid='stDataFrame']").first.bounding_box()
        page.mouse.click(box["x"] + 40, box["y"] + 36 + 48)
        for key in ["ArrowRight", "ArrowDown", "ArrowDown", "Enter"]:
            page.keyboard.press(key)
        page.keyboard.type("FAVOR")
        page.keyboard.press("Enter")
        idle(page)
        try:
            save.wait_for(timeout=10_000)
            break
        except playwright_api.TimeoutError:
            if attempt:
                raise
            page.keyboard.press("Escape")
    edited = rows[2]
    assert grid_cell(page, 1, 2) == "FAVOR"
    # meanwhile a colleague labels row 0: the 'unlabelled' page shifts up by one
    (first_id,) = query(server, "SELECT id FROM items WHERE text = ?", rows[0])[0]
    server["store"].labels.add(first_id, "NONE", annotator="colleague")
    page.get_by_role("button", name="Save 1 change(s)").click()
    page.get_by_text("Saved 1 label(s).").wait_for()
    idle(page)
    page.locator(cell).wait_for(state="attached")
    time.sleep(0.5)
    page.screenshot(path=str(ARTIFACTS / "annotate-table-saved.png"), full_page=True)
    mine = query(
        server,
        "SELECT i.text, a.label FROM annotations a JOIN items i ON i.id = a.item_id"
        " WHERE a.annotator = 'tabler' AND i.project_id = ? AND i.text LIKE '%burnout%'",
        project.id,
    )
    assert sorted(mine) == sorted([(labelled_on_card, "AGAINST"), (edited, "FAVOR")])
    shown = grid_cells(page, 0, 2)
    assert edited not in shown and rows[0] not in shown  # both labelled: not 'unlabelled'
    for r, text in enumerate(shown):  # every label cell shows what is stored, nothing else
        assert grid_cell(page, 1, r) == stored_label(server, text), text
