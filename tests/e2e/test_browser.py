"""The researcher's whole path in a real headless Chromium against a real server.

AppTest runs no browser: keyboard shortcuts, uploads, job polling, downloads and rendering only
show their bugs in one. Screenshots of each step land in artifacts/e2e/ (git-ignored); a failing
step saves one more and prints the server's log.
"""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from app_server import (  # noqa: E402  (tests/e2e)
    ARTIFACTS,
    CARD,
    ROOT,
    app_server,
    idle,
    launch,
    require_browser,
)  # fmt: skip

XSS = "<img src=x onerror=alert(1)> totally normal tweet about the #4DayWeek"

pytestmark = pytest.mark.e2e

playwright_api = require_browser()


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_models):
    workspace = tmp_path_factory.mktemp("e2e-workspace")
    log_path = ARTIFACTS / "server.log"
    nli = str(tiny_models["nli_bert"])
    with app_server(workspace, log_path, TWEET_LABELER_NLI_MODEL=nli) as url:
        yield {
            "url": url,
            "db": workspace / "labeler.sqlite",
            "log": log_path,
            "models": tiny_models,
        }


@pytest.fixture(scope="module")
def page(server):
    with playwright_api.sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, accept_downloads=True
        )
        pg = context.new_page()
        pg.dialogs = []
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
        pg.set_default_timeout(30_000)
        yield pg
        browser.close()


@contextmanager
def step(page, server, name: str):
    try:
        yield
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"), full_page=True)
        print(f"--- server log (tail) at step {name} ---\n" + server["log"].read_text()[-4000:])
        raise


def query(server, sql: str, *args):
    with sqlite3.connect(server["db"]) as conn:
        return conn.execute(sql, args).fetchall()


def card_text(page) -> str:
    return page.locator(CARD).inner_text(timeout=30_000)


def press_and_wait(page, key: str, before: str) -> str:
    page.keyboard.press(key)
    page.wait_for_function(  # "…": the card waits for the server (an undo on its way)
        "([sel, old]) => { const e = document.querySelector(sel);"
        " return e && e.innerText !== old && e.innerText !== '…'; }",
        arg=[CARD, before],
        timeout=15_000,
    )
    idle(page)
    return card_text(page)


def upload_file(tmp_path: Path) -> Path:
    with open(ROOT / "data" / "sample_tweets.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    path = tmp_path / "tweets.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["tweet_id", "text", "stance"])
        w.writerow(["x1", XSS, ""])
        for i, r in enumerate(rows):
            w.writerow([r["id"], r["text"], "" if i % 6 == 0 else r["stance"]])
    return path


def test_the_whole_loop(page, server, tmp_path):
    url = server["url"]
    with step(page, server, "01-home"):
        page.goto(url)
        idle(page)
        form = page.locator("[data-testid='stForm']").first  # the "New project" tab
        form.get_by_label("Name", exact=True).fill("E2E stance")
        form.get_by_label("Target", exact=True).fill("a four-day work week")
        form.get_by_role("button", name="Save").click()
        idle(page)
        page.get_by_role("heading", name="E2E stance").wait_for()
        (pid,) = query(server, "SELECT id FROM projects WHERE name='E2E stance'")[0]

    with step(page, server, "02-data"):
        page.goto(f"{url}/data?project={pid}")
        idle(page)
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
            str(upload_file(tmp_path))
        )
        page.get_by_text("Preview of tweets.csv").wait_for()
        idle(page)
        page.get_by_role("button", name="Import", exact=True).click()
        page.get_by_text("Imported 361 tweets").wait_for()
        idle(page)

    with step(page, server, "03-prelabel"):
        page.goto(f"{url}/prelabel?project={pid}")
        idle(page)
        page.get_by_role("button", name="Start pre-labelling").click()
        page.get_by_text("Results of run").wait_for(timeout=120_000)
        idle(page)
        assert query(server, "SELECT COUNT(*) FROM predictions")[0][0] == 361

    with step(page, server, "04-annotate-xss"):
        page.goto(f"{url}/annotate?project={pid}")
        idle(page)
        search = page.get_by_label("Text contains")
        search.fill("onerror")
        search.press("Enter")
        idle(page)
        assert card_text(page) == XSS  # shown literally
        assert page.dialogs == []
        assert page.locator(".st-key-ann_card img").count() == 0
        search.fill("")
        search.press("Enter")
        idle(page)
        page.locator(CARD).click()  # focus off the text box, so keys reach the shortcuts

    with step(page, server, "05-keyboard"):
        shown = card_text(page)
        labelled = []
        for key in ["1", "2", "3", "1", "2"]:
            labelled.append(shown)
            shown = press_and_wait(page, key, shown)
        shown = press_and_wait(page, "z", shown)  # undo: the fifth tweet comes back
        assert shown == labelled[-1]
        human = query(server, "SELECT i.text, i.label FROM items i WHERE i.label_source='human'")
        assert sorted(t for t, _ in human) == sorted(labelled[:4])

    with step(page, server, "06-refresh"):
        counter_before = page.get_by_text("labelled", exact=False).first.inner_text()
        page.reload()
        idle(page)
        page.locator(CARD).wait_for()
        assert page.get_by_text("labelled", exact=False).first.inner_text() == counter_before
        assert query(server, "SELECT COUNT(*) FROM items WHERE label_source='human'")[0][0] == 4

    with step(page, server, "07-two-fast-presses"):
        first = card_text(page)
        second = press_and_wait(page, "1", first)
        page.keyboard.press("2")
        page.wait_for_function(
            "([sel, old]) => document.querySelector(sel).innerText !== old", arg=[CARD, second]
        )
        deadline = time.time() + 15
        while True:  # the card moves on at once; the labels reach the store a moment later
            got = dict(
                query(server, "SELECT text, label FROM items WHERE text IN (?, ?)", first, second)
            )
            if None not in got.values() or time.time() > deadline:
                break
            time.sleep(0.1)
        assert got == {first: "AGAINST", second: "FAVOR"}

    with step(page, server, "08-accept"):
        page.get_by_role("radio", name="Table").click()  # Annotate's mode switch
        slider = page.get_by_role("slider")
        slider.focus()
        page.keyboard.press("Home")  # the lowest threshold, 0.50: the tiny model's scores reach it
        idle(page)
        button = page.get_by_role("button", name="Accept", exact=False)
        button.click()
        page.get_by_text("queued for your audit").wait_for()
        accepted = query(
            server, "SELECT COUNT(*) FROM items WHERE label_source='accepted-suggestion'"
        )
        assert accepted[0][0] > 0
        heldout_accepted = query(
            server,
            "SELECT COUNT(*) FROM items WHERE split='heldout' AND label_source="
            "'accepted-suggestion'",
        )
        assert heldout_accepted[0][0] == 0

    export_and_train_steps(page, server, pid)


def export_and_train_steps(page, server, pid) -> None:
    """Train, evaluate and export: the model half of the loop."""
    url = server["url"]
    with step(page, server, "09-train"):
        page.goto(f"{url}/train?project={pid}")
        idle(page)
        page.get_by_label("Base model").click()
        page.get_by_role("option", name="Custom", exact=False).click()
        idle(page)
        page.get_by_label("Hub id or folder of an encoder").fill(str(server["models"]["base_bert"]))
        page.keyboard.press("Enter")
        idle(page)
        epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
        epochs.fill("1")
        epochs.press("Enter")
        idle(page)
        page.get_by_role("button", name="Start training").click()
        seen = set()
        deadline = time.time() + 180
        while time.time() < deadline:
            bars = page.locator("[data-testid='stProgress']")
            if bars.count():
                try:
                    seen.add(bars.first.inner_text(timeout=1000))
                except Exception:
                    pass
            status = query(server, "SELECT status FROM runs WHERE kind='train' ORDER BY id DESC")
            if status and status[0][0] in ("done", "failed", "cancelled"):
                break
            time.sleep(0.2)
        ((status, error),) = query(server, "SELECT status, error FROM runs WHERE kind='train'")
        assert status == "done", error
        assert len(seen) >= 2, seen  # the bar moved at least twice
        idle(page)

    with step(page, server, "10-evaluate"):
        page.goto(f"{url}/evaluate?project={pid}")
        idle(page)
        page.locator("[data-testid='stPlotlyChart']").first.wait_for()
        page.get_by_text("Macro-F1", exact=False).first.wait_for()
        page.get_by_role("heading", name="Per label").wait_for()  # the classification report
        assert page.locator("[data-testid='stDataFrame']").count() >= 1
        page.locator(".st-key-ev_confusion .js-plotly-plot").wait_for()  # the confusion chart

    with step(page, server, "11-export"):
        page.goto(f"{url}/export?project={pid}")
        idle(page)
        page.get_by_role("tab", name="Download").click()
        button = page.locator(".st-key-ex_dl_items button")
        with page.expect_download() as info:
            button.click()
        data = Path(info.value.path()).read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(data)))
        assert len(rows) == 361
        stored = dict(query(server, "SELECT text, label FROM items WHERE project_id=?", pid))
        assert {r["text"]: (r["label"] or None) for r in rows} == stored
        shutil.copy(info.value.path(), ARTIFACTS / "export.csv")
