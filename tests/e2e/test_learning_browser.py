"""The live model in a real headless Chromium: a person labels tweets on the card, the live model
retrains in the background, the card's suggestions switch from zero-shot to the live model once
cross-validation says it is better, and the Live model page shows its learning curve.

Fixture tweets carry their label in a keyword ("love" FAVOR, "hate" AGAINST, "meh" NONE), which
the live model's TF-IDF features separate; the encoder is a tiny random BERT
(TWEET_LABELER_ENCODER), and the zero-shot run always says NONE, so it cannot keep up.
"""

from __future__ import annotations

import os
import time

import pandas as pd
import pytest
from app_server import (  # noqa: E402  (tests/e2e)
    ARTIFACTS,
    CARD,
    app_server,
    idle,
    launch,
    require_browser,
)  # fmt: skip

LABELS = ["AGAINST", "FAVOR", "NONE"]
WORD = {"hate": "1", "love": "2", "meh": "3"}  # keyword -> the label's key on the card
SEEDED = 36  # pool labels a colleague gave before: enough for a learning curve of 3 sizes
POOL_LABELS = SEEDED + 6  # ana's labels on the card start the first retrain

pytestmark = pytest.mark.e2e
playwright_api = require_browser()


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_models):
    from labeler.db.store import open_store
    from labeler.learning.embeddings import project_embeddings

    workspace = tmp_path_factory.mktemp("learning-workspace")
    store = open_store(f"sqlite:///{workspace / 'labeler.sqlite'}")
    project = store.projects.create("Keywords", LABELS, heldout_share=0.2)
    texts = [
        f"I {word} the four day week, says worker {i}"
        for i in range(30)
        for word in ("love", "hate", "meh")
    ]
    store.items.import_frame(project.id, pd.DataFrame({"text": texts, "ext_id": range(len(texts))}))
    ids = store.items.texts(project.id)["id"].tolist()
    texts_of = store.items.texts(project.id)
    seeded = texts_of[texts_of["split"] == "pool"].tail(SEEDED)  # ana's queue starts at the top
    for item_id, text in zip(seeded["id"], seeded["text"], strict=True):
        word = next(w for w in WORD if f" {w} " in f" {text} ")
        store.labels.add(int(item_id), LABELS[int(WORD[word]) - 1], annotator="bob")
    # every tweet's vector up front, as the embedding job leaves them after an import: the live
    # model then scores every tweet from its first retrain
    saved = {k: os.environ.get(k) for k in ("TWEET_LABELER_HOME", "TWEET_LABELER_ENCODER")}
    os.environ.update(
        TWEET_LABELER_HOME=str(workspace), TWEET_LABELER_ENCODER=str(tiny_models["base_bert"])
    )
    try:
        project_embeddings(store, project.id)
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    run = store.runs.create(project.id, "zeroshot", {"labels": LABELS}, model="always NONE")
    store.predictions.put(run, [(int(i), "NONE", 0.9, [0.05, 0.05, 0.9]) for i in ids])
    store.runs.update(run, status="done")
    log_path = ARTIFACTS / "learning-server.log"
    env = {
        "TWEET_LABELER_ENCODER": str(tiny_models["base_bert"]),
        "TWEET_LABELER_LEARNING_JOBS": "1",
    }
    with app_server(workspace, log_path, **env) as url:
        yield {"url": url, "store": store, "project": project, "log": log_path}


def meta(page) -> str:
    """The card's suggestion line, or "" on a tweet without one (a held-out tweet)."""
    line = page.locator(".st-key-ann_card .meta").inner_text()
    return line if "suggestion: " in line else ""


def pool_labels(store, project_id: int) -> int:
    train = store.labels.train_and_test(project_id).train
    return len(train)


def newest_live(store, project_id: int) -> dict | None:
    runs = [r for r in store.runs.list(project_id) if r["kind"] == "live"]
    return runs[0] if runs else None


def test_suggestions_switch_to_the_live_model_and_the_curve_appears(server):
    store, project = server["store"], server["project"]
    with playwright_api.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1300, "height": 950})
        page.set_default_timeout(30_000)
        try:
            page.goto(f"{server['url']}/annotate?project={project.id}&annotator=ana")
            idle(page)
            first_line = ""
            while pool_labels(store, project.id) < POOL_LABELS:
                idle(page)
                text = page.locator(CARD).inner_text()
                first_line = first_line or meta(page)
                key = next(k for word, k in WORD.items() if f" {word} " in f" {text} ")
                page.locator(CARD).click()
                page.keyboard.press(key)
                deadline = time.time() + 20
                while time.time() < deadline:  # the card moves on to another tweet
                    idle(page, 0.1)
                    if page.locator(CARD).inner_text() != text:
                        break
            assert "zero-shot" in first_line, first_line  # before any retrain
            deadline = time.time() + 120
            while time.time() < deadline:  # the background retrains finish
                run = newest_live(store, project.id)
                if run and run["status"] == "done" and run["metrics"]["n_labels"] > SEEDED:
                    break
                time.sleep(0.5)
            assert run and run["status"] == "done", run and run.get("error")
            page.reload()
            idle(page)
            deadline = time.time() + 30
            line = ""
            while time.time() < deadline and "live model" not in line:
                idle(page)
                line = meta(page)
                if "live model" not in line:  # the next tweet may be a held-out one
                    page.locator(CARD).click()
                    page.keyboard.press("s")
            assert "live model" in line and "CV macro-F1" in line, line
            page.screenshot(path=str(ARTIFACTS / "learning-card.png"), full_page=True)

            page.goto(f"{server['url']}/learning?project={project.id}&annotator=ana")
            idle(page)
            page.get_by_text("Learning curve").first.wait_for()
            body = page.locator("[data-testid='stMain']").inner_text()
            assert "Suggestions now come from: live model" in body, body[:500]
            # plotly's bundle loads lazily: under load the chart paints after the script is idle
            page.locator("[data-testid='stPlotlyChart']").first.wait_for()
            assert "Traceback" not in body
            page.screenshot(path=str(ARTIFACTS / "learning-page.png"), full_page=True)
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "learning-failed.png"), full_page=True)
            print("--- server log (tail) ---\n" + server["log"].read_text()[-4000:])
            raise
        finally:
            browser.close()
