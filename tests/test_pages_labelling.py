"""The labelling half of the app, page by page, through Streamlit's AppTest (no browser)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labeler.db.store import Store, open_store
from labeler.jobs.runner import effective_status
from labeler.workspace import SAMPLE_DATA

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def app(workspace) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def store(app, workspace) -> Store:
    return open_store(workspace / "labeler.sqlite")


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def texts_of(elements) -> list[str]:
    """What a person reads: Markdown's backslash escapes (ui.common.plain) removed."""
    return [re.sub(r"\\(.)", r"\1", str(e.value)) for e in elements]


def test_empty_workspace_opens_on_the_sample_project(app, store):
    (project,) = store.projects.all()
    assert project.name.startswith("Sample")
    assert store.items.count(project.id) == 360
    assert "360" in texts_of(app.metric)


@pytest.mark.parametrize("page", ["data", "prelabel", "annotate", "home"])
def test_every_page_says_what_to_do_without_a_project(app, store, page):
    for p in store.projects.all():
        store.projects.delete(p.id)
    at = goto(app, page)
    shown = " ".join(texts_of(at.info))
    if page == "home":
        assert "Next:" not in shown  # no overview without a project; the form is there
        assert at.text_input  # the new-project form
    else:
        assert "No project yet" in shown


@pytest.mark.parametrize("page", ["prelabel", "annotate"])
def test_pages_of_an_empty_project_point_to_data(app, store, page):
    empty = store.projects.create("Empty", ["A", "B"])
    app.query_params["project"] = str(empty.id)
    at = goto(app, page)
    assert "has no tweets yet" in " ".join(texts_of(at.info))


def test_create_project_from_the_form(app, store):
    at = app
    form_inputs = [t for t in at.text_input if t.label == "Name"]
    form_inputs[0].set_value("Biden stance")
    [t for t in at.text_input if t.label.startswith("Labels")][0].set_value("AGAINST, FAVOR")
    [t for t in at.text_input if t.label == "Target"][0].set_value("Joe Biden")
    [b for b in at.button if b.label == "Save"][0].click().run()
    assert not at.exception
    created = store.projects.by_name("Biden stance")
    assert created is not None and created.labels == ["AGAINST", "FAVOR"]
    assert created.target == "Joe Biden"
    assert at.query_params["project"] in (str(created.id), [str(created.id)])


def test_create_project_with_one_label_explains_instead_of_failing(app, store):
    at = app
    [t for t in at.text_input if t.label == "Name"][0].set_value("Bad")
    [t for t in at.text_input if t.label.startswith("Labels")][0].set_value("ONLY")
    [b for b in at.button if b.label == "Save"][0].click().run()
    assert not at.exception
    assert "at least two" in " ".join(texts_of(at.error))
    assert store.projects.by_name("Bad") is None


def test_import_an_upload_with_labels_reports_counts(app, store):
    project = store.projects.create("Upload", ["AGAINST", "FAVOR", "NONE"])
    app.query_params["project"] = str(project.id)
    at = goto(app, "data")
    csv = (
        b"id,Tweet,Stance\n1,hello world,FAVOR\n2,,AGAINST\n3,hello world,FAVOR\n4,<b>x</b>,NONE\n"
    )
    at.file_uploader(key="data_upload").set_value(("t.csv", csv, "text/csv")).run()
    assert at.selectbox(key="data_text_col").value == "Tweet"
    assert at.selectbox(key="data_label_col").value == "Stance"
    at.button(key="data_import").click().run()
    assert not at.exception
    message = " ".join(texts_of(at.success))
    assert "Imported 2 tweets" in message and "skipped empty: 1" in message
    assert store.items.count(project.id) == 2
    assert store.items.stats(project.id)["per_source"] == {"imported": 2}


def test_bad_upload_shows_a_sentence_not_a_traceback(app, store):
    at = goto(app, "data")
    at.file_uploader(key="data_upload").set_value(("t.csv", b"\x89PNG\r\n\x1a\n\0\0", "text/csv"))
    at.run()
    assert not at.exception
    assert at.error and "CSV" in at.error[0].value


def _card_item(at: AppTest, store: Store) -> dict:
    sitting = at.session_state["ann_sitting"]
    return store.items.get(sitting["current"])


def test_label_undo_unsure_from_the_card(app, store):
    (project,) = store.projects.all()
    at = goto(app, "annotate")
    first = _card_item(at, store)
    at.button(key=f"ann_label_{first['id']}_1").click().run()  # FAVOR, key 2
    assert store.items.get(first["id"])["label"] == "FAVOR"
    assert store.labels.history(project.id)["annotator"].tolist() == ["annotator"]
    second = _card_item(at, store)
    assert second["id"] != first["id"]
    assert "1 of 360 labelled" in at.markdown[0].value
    at.toggle(key="ann_unsure").set_value(True).run()
    assert store.items.get(second["id"])["unsure"] == 1
    at.button(key="ann_undo").click().run()
    assert store.items.get(first["id"])["label"] is None
    assert _card_item(at, store)["id"] == first["id"]  # the undone tweet comes back


def test_a_click_for_a_stale_item_labels_that_item_not_the_current_one(app, store):
    from ui.annotate_card import _on_label

    at = goto(app, "annotate")
    shown = _card_item(at, store)
    at.button(key=f"ann_label_{shown['id']}_0").click().run()
    current = _card_item(at, store)
    # A second press that still carries the first tweet's id (it was on screen when pressed):
    _on_label(store, shown["id"], "NONE", "annotator", False)
    assert store.items.get(current["id"])["label"] is None
    assert store.items.get(shown["id"])["label"] == "NONE"
    # and the button drawn for the old tweet no longer exists, so a late click reaches nothing
    assert not [b for b in at.button if b.key == f"ann_label_{shown['id']}_0"]


def test_heldout_tweets_show_no_suggestion(app, store):
    (project,) = store.projects.all()
    texts = store.items.texts(project.id)
    run_id = store.runs.create(project.id, "zeroshot", {"labels": project.labels}, model="tiny")
    store.predictions.put(run_id, [(int(i), "FAVOR", 0.99, [0.0, 0.99, 0.01]) for i in texts["id"]])
    store.runs.update(run_id, status="done")
    at = goto(app, "annotate")
    for split, shown in (("pool", True), ("heldout", False)):
        text = texts[texts["split"] == split]["text"].iloc[0]
        at.text_input(key="ann_search").set_value(text).run()
        card = " ".join(texts_of(at.markdown))
        assert ("suggestion: **FAVOR**" in card) is shown, card
        assert ("held-out test item" in card) is not shown


def test_accept_suggestions_above_threshold_in_table_mode(app, store):
    (project,) = store.projects.all()
    ids = store.items.texts(project.id)["id"].tolist()
    run_id = store.runs.create(project.id, "zeroshot", {"labels": project.labels}, model="tiny")
    store.predictions.put(
        run_id,
        [(int(i), "NONE", 0.95 if k % 2 else 0.5, [0.0, 0.05, 0.95]) for k, i in enumerate(ids)],
    )
    store.runs.update(run_id, status="done")
    at = goto(app, "annotate")
    at.slider(key="ann_threshold").set_value(0.9).run()
    expected = store.labels.acceptable(project.id, run_id, 0.9)
    assert expected > 100
    assert f"{expected:,} unlabelled pool tweets" in " ".join(texts_of(at.markdown))
    at.button(key="ann_accept").click().run()
    stats = store.items.stats(project.id)
    assert stats["per_source"] == {"accepted-suggestion": expected}
    assert store.items.texts(project.id, split="heldout")["label"].isna().all()
    assert stats["review"] >= 1


def test_table_mode_edits_are_saved_by_item_id(app, store):
    (project,) = store.projects.all()
    at = goto(app, "annotate")
    page_ids = store.items.page(project.id, where="unlabelled", limit=50)["id"].tolist()
    at.session_state["ann_table"] = {
        "edited_rows": {2: {"label": "AGAINST"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at.button(key="ann_save_table").click().run()
    assert store.items.get(page_ids[2])["label"] == "AGAINST"
    assert store.items.count_labelled(project.id) == 1


def test_prelabel_job_runs_in_the_background_and_shows_results(
    app, store, tiny_models, monkeypatch
):
    (project,) = store.projects.all()
    monkeypatch.setenv("TWEET_LABELER_NLI_MODEL", str(tiny_models["nli_bert"]))
    at = goto(app, "prelabel")
    assert at.selectbox(key="pl_model").value == str(tiny_models["nli_bert"])
    at.number_input(key="pl_sample").set_value(60).run()
    at.button(key="pl_start").click().run()
    assert not at.exception
    run = store.runs.list(project.id, "zeroshot")[0]
    deadline = time.time() + 90
    while (
        effective_status(store.runs.get(run["id"])) in ("queued", "running")
        and time.time() < deadline
    ):
        time.sleep(0.5)
    run = store.runs.get(run["id"])
    assert run["status"] == "done", run["error"]
    assert run["done"] == run["total"] == 60
    at.run()
    assert any("Results of run" in h.value for h in at.subheader)
    assert len(store.predictions.frame(run["id"])) == 60


def test_sample_file_is_the_bundled_one():
    assert SAMPLE_DATA.is_file()
