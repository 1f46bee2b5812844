"""The labelling half of the app, page by page, through Streamlit's AppTest (no browser)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from labeler.card import AHEAD
from labeler.db.store import Store
from labeler.jobs.runner import effective_status
from labeler.workspace import SAMPLE_DATA
from tests.card_client import Browser, card_data, on_screen

ROOT = Path(__file__).resolve().parents[1]


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


def _data_page_of_new_project(app, store, name: str):
    project = store.projects.create(name, ["AGAINST", "FAVOR", "NONE"])
    app.query_params["project"] = str(project.id)
    return goto(app, "data"), project


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="data_upload").set_value((name, data, "text/csv")).run()
    assert not at.exception, at.exception
    return at


def test_reuploading_an_edited_file_of_the_same_size_imports_the_new_content(app, store):
    at, project = _data_page_of_new_project(app, store, "Edited")
    head = "".join(f"{i},filler tweet number {i:04d} about the week\n" for i in range(200))
    old = f"id,text\n{head}999,the last tweet says yes\n".encode()
    new = f"id,text\n{head}999,the last tweet says no!\n".encode()
    assert len(old) == len(new) and len(head) > 4096  # same size, same first 4 KB
    _upload(at, "t.csv", old)
    _upload(at, "t.csv", new)
    at.button(key="data_import").click().run()
    assert not at.exception
    texts = set(store.items.texts(project.id)["text"])
    assert "the last tweet says no!" in texts
    assert "the last tweet says yes" not in texts


def test_a_file_of_numbers_is_explained_and_not_imported(app, store):
    at, project = _data_page_of_new_project(app, store, "Numbers")
    _upload(at, "scores.csv", b"id,score,created_at\n1,0.5,2024-01-02\n2,0.75,2024-01-03\n3,-1,\n")
    shown = " ".join(texts_of(at.error))
    assert "No column of 'scores.csv' holds text" in shown
    assert "score holds numbers" in shown and "created_at holds dates" in shown
    assert "Choose the file that holds the tweets" in shown
    assert at.selectbox(key="data_text_col").value is None
    assert at.button(key="data_import").disabled  # nothing to import until a column is chosen
    assert store.items.count(project.id) == 0


def test_repeats_within_a_file_are_merged_and_never_called_already_in_the_project(app, store):
    at, project = _data_page_of_new_project(app, store, "Variants")
    csv = b"text\nhello world\n  hello world \nHello World\nbye now\nbye now\n"
    _upload(at, "v.csv", csv)
    at.button(key="data_import").click().run()
    assert not at.exception
    message = " ".join(texts_of(at.success))
    assert "Imported 3 tweets" in message
    rule = "Merged as repeats within this file (the exact same text, ignoring spaces around it)"
    assert f"{rule}: 2 rows." in message
    already = "Already in the project before this import (the same text, ignoring case and spacing)"
    assert f"{already}, not added again: 0 rows." in message
    assert store.items.count(project.id) == 3  # the case variant is a tweet of its own

    at.button(key="data_import").click().run()  # the same file again
    message = " ".join(texts_of(at.success))
    assert "Imported 0 tweets" in message and f"{rule}: 2 rows." in message
    assert f"{already}, not added again: 3 rows." in message
    assert store.items.count(project.id) == 3


def test_bad_upload_shows_a_sentence_not_a_traceback(app, store):
    at = goto(app, "data")
    at.file_uploader(key="data_upload").set_value(("t.csv", b"\x89PNG\r\n\x1a\n\0\0", "text/csv"))
    at.run()
    assert not at.exception
    assert at.error and "CSV" in at.error[0].value


def test_label_undo_unsure_and_comment_from_the_card(app, store):
    (project,) = store.projects.all()
    at = goto(app, "annotate")
    browser = Browser(at)
    first = on_screen(at)
    assert len(card_data(at)["items"]) == AHEAD  # the browser holds the next tweets too
    browser.label("FAVOR")
    assert store.items.get(first["id"])["label"] == "FAVOR"
    assert store.labels.history(project.id)["annotator"].tolist() == ["annotator"]
    data = card_data(at)
    assert first["id"] not in [it["id"] for it in data["items"]]
    assert "1 of 360 labelled" in data["progress"]
    second = on_screen(at)
    browser.send({"kind": "unsure", "id": second["id"], "value": True})
    browser.send({"kind": "comment", "id": second["id"], "text": "sarcasm?"})
    assert store.items.get(second["id"])["unsure"] == 1
    assert store.team.my_code(second["id"], "annotator")["comment"] == "sarcasm?"
    assert on_screen(at)["unsure"] and on_screen(at)["comment"] == "sarcasm?"
    browser.send({"kind": "undo"})
    assert store.items.get(first["id"])["label"] is None
    assert on_screen(at)["id"] == first["id"]  # the undone tweet comes back
    assert card_data(at)["note"] == "Undone: the tweet is back."


def test_labels_given_ahead_of_the_server_land_on_their_tweets_in_order(app, store):
    """Keys pressed faster than the server answers reach it together: each label goes to the
    tweet its event names, in the order pressed, and the card moves past all of them."""
    (project,) = store.projects.all()
    at = goto(app, "annotate")
    held = card_data(at)["items"]
    browser = Browser(at)
    browser.send(
        {"kind": "label", "id": held[0]["id"], "label": "NONE"},
        {"kind": "skip", "id": held[1]["id"]},
        {"kind": "label", "id": held[2]["id"], "label": "AGAINST"},
    )
    history = store.labels.history(project.id)
    assert history["item_id"].tolist() == [held[0]["id"], held[2]["id"]]
    assert history["label"].tolist() == ["NONE", "AGAINST"]
    assert store.items.get(held[1]["id"])["label"] is None
    assert on_screen(at)["id"] == held[3]["id"]
    for _ in range(4):  # the held-out share is drawn at random: several top-ups, not one
        shown = [it["id"] for it in card_data(at)["items"]]
        assert held[1]["id"] not in shown  # a skipped tweet stays out of this sitting
        browser.label("NONE")
    assert card_data(at)["refused"] == 0


def test_events_resent_are_applied_once(app, store):
    """The browser sends every event until the server acknowledges it: one label each."""
    (project,) = store.projects.all()
    at = goto(app, "annotate")
    browser = Browser(at)
    browser.label("FAVOR")
    browser.label("AGAINST")
    browser.send(resend=True)
    assert len(store.labels.history(project.id)) == 2
    assert card_data(at)["refused"] == 0


def test_events_on_tweets_the_card_was_not_sent_or_with_foreign_labels_are_refused(app, store):
    """A forged or stale event (a tweet this sitting does not hold, a label the project lacks,
    a malformed one) stores nothing, and the card counts it where the person sees it."""
    (project,) = store.projects.all()
    at = goto(app, "annotate")
    held = {it["id"] for it in card_data(at)["items"]}
    other = next(i for i in store.items.texts(project.id)["id"] if int(i) not in held)
    browser = Browser(at)
    browser.send({"kind": "label", "id": int(other), "label": "FAVOR"})
    assert card_data(at)["refused"] == 1
    browser.send({"kind": "label", "id": on_screen(at)["id"], "label": "MAYBE"})
    browser.send({"kind": "label", "id": str(on_screen(at)["id"]), "label": "FAVOR"})
    assert card_data(at)["refused"] == 3
    assert store.labels.history(project.id).empty
    browser.label("FAVOR")  # a good one still goes through
    assert len(store.labels.history(project.id)) == 1


def test_the_suggestion_is_a_note_and_every_label_button_looks_the_same(app, store):
    (project,) = store.projects.all()
    texts = store.items.texts(project.id, split="pool")
    run_id = store.runs.create(project.id, "zeroshot", {"labels": project.labels}, model="tiny")
    store.predictions.put(run_id, [(int(i), "FAVOR", 0.97, [0.0, 0.97, 0.03]) for i in texts["id"]])
    store.runs.update(run_id, status="done")
    at = goto(app, "annotate")
    at.text_input(key="ann_search").set_value(texts["text"].iloc[0]).run()
    assert "suggestion: FAVOR (97%)" in on_screen(at)["meta"]
    assert card_data(at)["labels"] == project.labels  # one kind of button each (ui/card.js)


def test_the_card_shows_names_ids_and_labels_literally(app, store):

    labels = ["**A**", "<i>B</i> [c](http://e.vil)"]
    project = store.projects.create("Markup", labels)
    store.items.import_frame(
        project.id,
        pd.DataFrame({"text": ["one tweet", "two tweet"], "ext_id": ["[x](http://e.vil)", "_y_"]}),
    )
    who = "<b>Eve</b> **bold** [me](http://e.vil)"
    app.query_params["project"] = str(project.id)
    app.session_state["annotator"] = who  # as the sidebar's name box or ?annotator= sets it
    at = goto(app, "annotate")
    shown = on_screen(at)
    # the card gets the strings as typed; ui/card.js puts them on the page as text only
    assert who in card_data(at)["progress"] and f"#{'[x](http://e.vil)'}" in shown["meta"]
    assert card_data(at)["labels"] == labels
    assert not [m for m in at.markdown if who in m.value]  # no Markdown element renders it raw
    Browser(at).label("**A**")
    assert store.items.get(shown["id"])["label"] == "**A**"


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
        assert on_screen(at)["text"] == text
        card = on_screen(at)["meta"]
        assert ("suggestion: FAVOR" in card) is shown, card
        assert ("held-out test item" in card) is not shown


def _open_table(at: AppTest) -> AppTest:
    at.session_state["ann_mode"] = "Table"
    at.run()
    assert not at.exception, at.exception
    return at


def _editor_key(at: AppTest) -> str:
    """The key of the table's editor as drawn (it names the rows it was drawn with)."""
    return at.session_state["ann_table_drawn"]["key"]


def _edit_rows(at: AppTest, rows: dict[int, str]) -> str:
    """What the browser sends after the person picked labels in the drawn table's rows; returns
    the key of the editor that holds these edits."""
    key = _editor_key(at)
    _browser_sends(at, key, rows)
    at.run()
    assert not at.exception, at.exception
    return key


def _browser_sends(at: AppTest, key: str, rows: dict[int, str]) -> None:
    """Before a run: the browser sends the row edits its editor holds with every rerun, for as
    long as that editor (its key) is on the page; a new editor starts without them."""
    if _editor_key(at) == key:
        at.session_state[key] = {
            "edited_rows": {row: {"label": label} for row, label in rows.items()},
            "added_rows": [],
            "deleted_rows": [],
        }


def _suggest_none(store: Store, project) -> int:
    ids = store.items.texts(project.id)["id"].tolist()
    run_id = store.runs.create(project.id, "zeroshot", {"labels": project.labels}, model="tiny")
    store.predictions.put(
        run_id,
        [(int(i), "NONE", 0.95 if k % 2 else 0.5, [0.0, 0.05, 0.95]) for k, i in enumerate(ids)],
    )
    store.runs.update(run_id, status="done")
    return run_id


def test_accept_suggestions_above_threshold_in_table_mode(app, store):
    (project,) = store.projects.all()
    run_id = _suggest_none(store, project)
    at = _open_table(goto(app, "annotate"))
    at.slider(key="ann_threshold").set_value(0.9).run()
    expected = store.labels.acceptable(project.id, run_id, 0.9)
    assert expected > 100
    assert f"{expected:,} unlabelled pool tweets" in " ".join(texts_of(at.markdown))
    at.button(key="ann_accept").click().run()
    stats = store.items.stats(project.id)
    assert stats["per_source"] == {"accepted-suggestion": expected}
    assert store.items.texts(project.id, split="heldout")["label"].isna().all()
    assert stats["review"] >= 1


def test_after_accepting_the_page_offers_only_what_is_left(app, store):
    (project,) = store.projects.all()
    run_id = _suggest_none(store, project)
    at = _open_table(goto(app, "annotate"))
    at.slider(key="ann_threshold").set_value(0.9).run()
    expected = store.labels.acceptable(project.id, run_id, 0.9)
    assert at.button(key="ann_accept").label == f"Accept {expected:,} suggestions"
    at.button(key="ann_accept").click().run()
    assert f"Accepted {expected:,}" in " ".join(texts_of(at.success))
    assert at.button(key="ann_accept").label == "Accept 0 suggestions"
    assert at.button(key="ann_accept").disabled
    assert "0 unlabelled pool tweets" in " ".join(texts_of(at.markdown))


def test_table_mode_edits_are_saved_by_item_id(app, store):
    (project,) = store.projects.all()
    at = _open_table(goto(app, "annotate"))
    page_ids = store.items.page(project.id, where="unlabelled", limit=50)["id"].tolist()
    _edit_rows(at, {2: "AGAINST"})
    at.button(key="ann_save_table").click().run()
    assert store.items.get(page_ids[2])["label"] == "AGAINST"
    assert store.items.count_labelled(project.id) == 1


def test_table_edits_land_on_the_rows_as_drawn_when_the_page_shifts(app, store):
    """Edit row 2; a colleague labels row 0, so the 'unlabelled' page shifts up by one; Save must
    still label the tweet that row 2 showed, not the one that moved into row 2."""
    (project,) = store.projects.all()
    at = _open_table(goto(app, "annotate"))
    page_ids = store.items.page(project.id, where="unlabelled", limit=50)["id"].tolist()
    edits = {2: "AGAINST", 4: "FAVOR"}
    edited = _edit_rows(at, edits)
    store.labels.add(page_ids[0], "NONE", annotator="colleague")
    _browser_sends(at, edited, edits)
    at.run()  # any rerun before Save (another widget, a fragment...) re-reads the page
    assert at.button(key="ann_save_table").label == "Save 2 change(s)"
    _browser_sends(at, edited, edits)
    at.button(key="ann_save_table").click().run()
    assert not at.exception
    assert store.items.get(page_ids[2])["label"] == "AGAINST"
    assert store.items.get(page_ids[4])["label"] == "FAVOR"
    assert store.items.get(page_ids[3])["label"] is None
    assert store.items.get(page_ids[5])["label"] is None
    assert store.items.count_labelled(project.id) == 3
    assert at.button(key="ann_save_table").label == "Save 0 change(s)"


def test_after_a_save_the_table_shows_what_is_stored_and_offers_nothing_more(app, store):
    """Rows that stay on the page after a Save ('all'): the editor starts afresh, so the browser
    cannot replay its old row edits onto what the page shows now."""
    (project,) = store.projects.all()
    at = goto(app, "annotate")
    at.selectbox(key="ann_where").set_value("all").run()
    at = _open_table(at)
    page_ids = at.dataframe[0].value["id"].tolist()
    edited = _edit_rows(at, {2: "AGAINST"})
    _browser_sends(at, edited, {2: "AGAINST"})
    at.button(key="ann_save_table").click().run()
    assert store.items.get(page_ids[2])["label"] == "AGAINST"
    _browser_sends(at, edited, {2: "AGAINST"})
    at.run()
    assert at.button(key="ann_save_table").label == "Save 0 change(s)"
    shown = at.dataframe[0].value.set_index("id")["label"]
    stored = {i: store.items.get(i)["label"] for i in page_ids}
    assert {i: (None if pd.isna(v) else v) for i, v in shown.items()} == stored


def test_heldout_rows_of_the_table_show_no_suggestion(app, store):
    (project,) = store.projects.all()
    _suggest_none(store, project)
    at = _open_table(goto(app, "annotate"))
    rows = at.dataframe[0].value
    held = rows[rows["split"] == "heldout"]
    assert len(held) and held["suggestion"].isna().all() and held["confidence"].isna().all()
    assert rows[rows["split"] == "pool"]["suggestion"].notna().all()


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


def test_prelabel_offers_the_ray_engine_and_passes_it_to_the_job(
    app, store, tiny_models, monkeypatch
):
    from labeler.jobs import runner

    started = []
    monkeypatch.setattr(runner, "start_job", lambda *a, **k: started.append(a[3]))
    monkeypatch.setenv("TWEET_LABELER_NLI_MODEL", str(tiny_models["nli_bert"]))
    at = goto(app, "prelabel")
    at.button(key="pl_start").click().run()
    assert "engine" not in started[-1]  # this machine unless chosen
    at.radio(key="pl_engine").set_value("ray").run()
    assert any("private Ray on this machine" in c.value for c in at.caption)
    at.number_input(key="pl_actors").set_value(3).run()
    at.button(key="pl_start").click().run()
    assert not at.exception
    assert (started[-1].get("engine"), started[-1].get("actors")) == ("ray", 3)


def test_sample_file_is_the_bundled_one():
    assert SAMPLE_DATA.is_file()


def test_a_created_project_clears_the_form_and_says_so(app, store):
    at = app
    [t for t in at.text_input if t.label == "Name"][0].set_value("Biden stance")
    [t for t in at.text_input if t.label.startswith("Labels")][0].set_value("AGAINST, FAVOR")
    [t for t in at.text_area if t.label == "Guidelines"][0].set_value("Stance toward Biden.")
    [b for b in at.button if b.label == "Save"][0].click().run()
    assert not at.exception
    created = store.projects.by_name("Biden stance")
    assert created is not None
    assert "Created project “Biden stance”" in " ".join(texts_of(at.success))
    new_form = [
        t for t in [*at.text_input, *at.text_area] if t.proto.form_id.startswith("home_new")
    ]
    values = {t.label: t.value for t in new_form}
    assert values["Name"] == ""  # ready for the next project, not this one again
    assert values["Labels (comma-separated)"] == "AGAINST, FAVOR, NONE"
    assert values["Guidelines"] == ""
    at.run()  # the message is said once
    assert "Created project" not in " ".join(texts_of(at.success))


def test_a_project_with_imported_labels_is_told_to_train_not_to_pre_label(app, store):
    from labeler.overview import next_step, project_overview
    from labeler.sample import create_sample_project

    project = create_sample_project(store, with_labels=True)  # every tweet's label imported
    stats = project_overview(store, project.id)
    assert stats["prelabelled"] == 0 and stats["labelled"] == 360
    assert store.items.stats(project.id)["per_source"] == {"imported": 360}
    assert next_step(stats).stage == "train"
    app.query_params["project"] = str(project.id)
    at = goto(app, "home")
    shown = " ".join(texts_of(at.info))
    assert "**Next:** Fine-tune a classifier" in shown
    assert "pre-label" not in shown.lower()
    # without enough labels pre-labelling still comes first
    stats = {**stats, "per_label": {"AGAINST": 3, "FAVOR": 2}}
    assert next_step(stats).stage == "prelabel"
    assert next_step({**stats, "prelabelled": 5}).stage == "annotate"
