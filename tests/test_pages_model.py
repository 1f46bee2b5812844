"""The model half of the app (Train, Evaluate, Predict & export, Tokenizer) through AppTest.

One tiny model is trained from the Train page once per module (a background job, a few seconds);
the other tests read its run. Downloads are deferred (`st.download_button(data=callable)`): the
tests capture the callables Streamlit registers and call them, as a click in a browser would.
"""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from labeler.db.store import Store, open_store
from labeler.io.read import read_table
from labeler.jobs.runner import effective_status
from labeler.sample import create_sample_project

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["train", "evaluate", "export", "tokenizer"]
CUSTOM = "Custom: hub id or local folder"


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def texts_of(elements) -> list[str]:
    """What a person reads: Markdown's backslash escapes (ui.common.plain) removed."""
    return [re.sub(r"\\(.)", r"\1", str(e.value)) for e in elements]


def sklearn_scores(gold, pred, labels: list[str], probs=None) -> dict:
    """The scores a page should show, computed here with scikit-learn (independently of
    labeler.evaluation): rows of the confusion matrix are gold, columns predicted."""
    gold, pred = [str(g) for g in gold], [str(p) for p in pred]
    f1 = f1_score(gold, pred, labels=labels, average=None, zero_division=0)
    cm = confusion_matrix(gold, pred, labels=labels)
    rows = cm.sum(axis=1, keepdims=True)
    out = {
        "accuracy": accuracy_score(gold, pred),
        "macro_f1": f1_score(gold, pred, labels=labels, average="macro", zero_division=0),
        "mcc": matthews_corrcoef(gold, pred),
        "f1": dict(zip(labels, f1)),
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_normalized": np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0),
    }
    stance = [lab for lab in labels if lab.lower() in ("against", "favor")]
    if len(stance) == 2:
        out["stance_f1"] = float(np.mean([out["f1"][lab] for lab in stance]))
    if probs is not None and len(labels) == 2:
        is_pos, p_pos = [g == labels[1] for g in gold], np.asarray(probs)[:, 1]
        out["roc_fpr"] = roc_curve(is_pos, p_pos)[0].tolist()
        out["roc_auc"] = roc_auc_score(is_pos, p_pos)
        out["pr_precision"] = precision_recall_curve(is_pos, p_pos)[0].tolist()
        out["pr_auc"] = average_precision_score(is_pos, p_pos)
    return out


def frame(at: AppTest, *columns: str):
    """The first table showing these columns (a read-only st.dataframe keeps no key in AppTest)."""
    for df in at.dataframe:
        value = df.value
        if set(columns) <= set(value.columns):
            return value
    raise AssertionError(f"no table with columns {columns}")


def _array(value) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array {dtype, bdata (base64), shape}."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = [int(x) for x in str(value.get("shape", len(flat))).split(",")]
        return flat.reshape(shape)
    return np.asarray(value)


def _figure(at: AppTest, key: str) -> list[dict]:
    """The traces of the plotly chart drawn with this key."""
    (el,) = [e for e in at.get("plotly_chart") if (e.proto.id or "").endswith(key)]
    return json.loads(el.proto.spec)["data"]


def wait_for(store: Store, run_id: int, limit: float = 120) -> dict:
    deadline = time.time() + limit
    while effective_status(store.runs.get(run_id)) in ("queued", "running", "cancelling"):
        assert time.time() < deadline, f"run {run_id} still {store.runs.get(run_id)['status']}"
        time.sleep(0.3)
    return store.runs.get(run_id)


def new_app(project_id: int | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if project_id is not None:
        at.query_params["project"] = str(project_id)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_models):
    """A workspace whose gold-labelled sample project has a model trained from the Train page."""
    ws = tmp_path_factory.mktemp("trained-ws")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWEET_LABELER_HOME", str(ws))
        at = new_app()
        store = open_store(ws / "labeler.sqlite")
        project = create_sample_project(store, with_labels=True)
        at.query_params["project"] = str(project.id)
        goto(at, "train")
        at.selectbox(key="tr_model").set_value(CUSTOM).run()
        at.text_input(key="tr_custom").set_value(str(tiny_models["base_bert"])).run()
        at.number_input(key="tr_epochs").set_value(1)
        at.number_input(key="tr_head").set_value(0)
        at.selectbox(key="tr_head_init").set_value("logistic")
        at.number_input(key="tr_average").set_value(2)
        at.number_input(key="tr_maxlen").set_value(32).run()
        assert "Will train from base-bert" in " ".join(texts_of(at.success))
        at.button(key="tr_start").click().run()
        assert not at.exception and not at.error, texts_of(at.error)
        (run,) = store.runs.list(project.id, "train")
        run = wait_for(store, run["id"])
        assert run["status"] == "done", run["error"]
        yield {"ws": ws, "at": at, "store": store, "project": project, "run": run}


@pytest.fixture
def tapp(trained, monkeypatch) -> AppTest:
    """A fresh session on the trained workspace, on its project."""
    monkeypatch.setenv("TWEET_LABELER_HOME", str(trained["ws"]))
    return new_app(trained["project"].id)


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """file name -> the callable a click on its download button runs."""
    seen: dict = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        seen[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return seen


# -- preconditions ------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["train", "evaluate", "export"])
def test_every_page_says_what_to_do_without_a_project(app, store, page):
    for p in store.projects.all():
        store.projects.delete(p.id)
    at = goto(app, page)
    assert "No project yet" in " ".join(texts_of(at.info))


def test_tokenizer_needs_no_project_and_shows_cls_and_sep(app, store):
    for p in store.projects.all():
        store.projects.delete(p.id)
    at = goto(app, "tokenizer")
    table = frame(at, "token", "id")
    assert table["token"].iloc[0] == "[CLS]" and table["token"].iloc[-1] == "[SEP]"
    assert table["id"].iloc[:3].tolist() == [101, 17709, 2080]  # the notebook's "elm ##o"
    at.text_area(key="tk_text").set_value("<b>**bold**</b> #fourdayweek").run()
    assert not at.markdown or all("<b>" not in m.value for m in at.markdown)
    assert "##week" in frame(at, "token", "id")["token"].tolist()


def test_pages_of_a_project_without_labels_or_model(app, store):
    at = goto(app, "train")
    assert "No labelled pool tweets" in " ".join(texts_of(at.warning))
    assert not [b for b in at.button if b.key == "tr_start"]  # it stops before the settings
    at = goto(app, "evaluate")
    assert "No trained model yet: train one on the Train page" in " ".join(texts_of(at.info))
    at = goto(app, "export")
    assert "No trained model yet" in " ".join(texts_of(at.info))
    keys = {b.key for b in at.download_button}
    assert {"ex_dl_items", "ex_dl_history", "ex_dl_project"} <= keys
    at = goto(app, "tokenizer")
    assert len(at.selectbox(key="tk_model").options) == 2  # bundled and custom only


def test_one_labelled_class_is_explained_and_blocks_training(app, store):
    (project,) = store.projects.all()
    pool = store.items.texts(project.id, split="pool")["id"].tolist()
    for item in pool[:3]:
        store.labels.add(int(item), "FAVOR", annotator="ana")
    at = goto(app, "train")
    assert "at least two labels" in " ".join(texts_of(at.warning))
    assert at.button(key="tr_start").disabled


def test_an_unavailable_hub_model_is_explained_before_starting(app, store):
    project = create_sample_project(store, with_labels=True)
    app.query_params["project"] = str(project.id)
    at = goto(app, "train")
    at.selectbox(key="tr_model").set_value("bert-base-uncased").run()
    assert "HF_HUB_OFFLINE is set" in " ".join(texts_of(at.error))
    assert "bundled" in " ".join(texts_of(at.info))
    assert at.button(key="tr_start").disabled
    at.selectbox(key="tr_model").set_value("bundled:all-MiniLM-L6-v2").run()
    assert "all-MiniLM-L6-v2 (bundled)" in " ".join(texts_of(at.success))
    assert "Estimated time" in " ".join(texts_of(at.info))
    assert not at.button(key="tr_start").disabled


# -- training -----------------------------------------------------------------------------------


def test_training_started_from_the_page_lists_the_model(trained, tapp):
    store, run = trained["store"], trained["run"]
    at = goto(tapp, "train")
    models = frame(at, "model", "macro-F1")
    assert models["model"].tolist() == [f"#{run['id']}"]
    assert models["train size"].tolist() == [run["metrics"]["n_train"]]
    assert models["macro-F1"].iloc[0] == pytest.approx(run["metrics"]["macro_f1"])
    assert models["base model"].tolist() == ["base-bert"]
    assert run["params"]["epochs"] == 1 and run["params"]["head_epochs"] == 0
    assert run["params"]["head_init"] == "logistic" and run["params"]["average_epochs"] == 2
    assert run["params"]["max_length"] == 32 and run["params"]["include_accepted"] is False
    assert Path(run["artifact_path"], "README.md").is_file()
    assert any("tr_loss_chart" in (e.proto.id or "") for e in at.get("plotly_chart"))
    # a run that did not finish leaves no model, even with a folder recorded
    failed = store.runs.create(trained["project"].id, "train", {}, model="x")
    store.runs.update(failed, status="failed", error="boom", artifact_path="/half/written")
    at.run()
    assert len(frame(at, "model", "macro-F1")) == 1
    assert f"Run #{failed} failed: boom" in " ".join(texts_of(at.error))
    store.runs.delete(failed)


def test_a_live_run_shows_progress_and_cancel_and_leaves_no_model(trained, tapp):
    store, project = trained["store"], trained["project"]
    live = store.runs.create(project.id, "train", {"epochs": 3}, total=40, model="x")
    log = [{"step": s, "epoch": s / 20, "loss": 1.0 / s, "phase": "fine-tune"} for s in (1, 2, 3)]
    store.runs.update(
        live, status="running", heartbeat=time.time(), done=3, rate=9.5, message="fine-tune",
        log=log,
    )  # fmt: skip
    try:
        at = goto(tapp, "train")
        assert at.button(key=f"job_cancel_train_{live}")  # the job panel's cancel
        assert at.button(key="tr_start").disabled  # one training at a time
        loss = _figure(at, "tr_loss_chart")
        assert _array(loss[0]["y"]).tolist() == [1.0, 0.5, 1 / 3]
        # what the engine does on cancel: no artifact, status cancelled
        store.runs.update(live, status="cancelled", finished_at=time.time())
        at.run()
        assert f"Run #{live} was cancelled" in " ".join(texts_of(at.info))
        assert frame(at, "model", "macro-F1")["model"].tolist() == [f"#{trained['run']['id']}"]
    finally:
        store.runs.delete(live)


# -- evaluation ---------------------------------------------------------------------------------


def test_evaluate_shows_the_engines_numbers(trained, tapp):
    store, project, run = trained["store"], trained["project"], trained["run"]
    at = goto(tapp, "evaluate")
    gold = store.labels.train_and_test(project.id)[1].set_index("id")
    preds = store.predictions.frame(run["id"]).set_index("item_id").loc[gold.index]
    want = sklearn_scores(gold["label"], preds["label"], project.labels)
    for key in ("accuracy", "macro_f1", "mcc"):
        assert want[key] == pytest.approx(run["metrics"][key], abs=1e-9)  # the engine's, at train
    shown = texts_of(at.metric)
    assert shown[:3] == [f"{want[k]:.3f}" for k in ("accuracy", "macro_f1", "mcc")]
    assert shown[3] == f"{want['stance_f1']:.3f}"
    report = frame(at, "precision", "F1")
    for lab in project.labels:
        assert report.at[lab, "F1"] == pytest.approx(want["f1"][lab])
    fig = _figure(at, "ev_confusion")
    assert _array(fig[0]["z"]).tolist() == want["confusion_matrix"]
    assert fig[0]["x"] == fig[0]["y"] == project.labels
    at.toggle(key="ev_normalize").set_value(True).run()
    z = _array(_figure(at, "ev_confusion")[0]["z"])
    assert z == pytest.approx(want["confusion_matrix_normalized"])
    errors = at.dataframe(key="ev_errors").value
    assert len(errors) == int((gold["label"] != preds["label"]).sum())
    assert errors["confidence"].is_monotonic_decreasing


def test_zero_shot_and_model_side_by_side(trained, tapp):
    store, project, run = trained["store"], trained["project"], trained["run"]
    held = store.labels.train_and_test(project.id)[1]
    zs = store.runs.create(project.id, "zeroshot", {"labels": project.labels}, model="nli")
    some = held["id"].tolist()[:30]  # zero-shot scored only part of the gold items
    store.predictions.put(zs, [(int(i), "NONE", 0.8, [0.1, 0.1, 0.8]) for i in some])
    store.runs.update(zs, status="done")
    try:
        at = goto(tapp, "evaluate")
        caption = " ".join(texts_of(at.caption))
        assert f"{len(held)} held-out tweets carry a human label" in caption
        assert "scored 30 of them" in caption
        table = frame(at, "items compared")
        assert table["items compared"].tolist() == [30]
        gold = held.set_index("id").loc[some, "label"]
        model = store.predictions.frame(run["id"]).set_index("item_id").loc[some, "label"]
        want_zs = sklearn_scores(gold, ["NONE"] * 30, project.labels)
        want_model = sklearn_scores(gold, model, project.labels)
        assert table["zero-shot macro-F1"].iloc[0] == pytest.approx(want_zs["macro_f1"])
        assert table["model macro-F1"].iloc[0] == pytest.approx(want_model["macro_f1"])
        bars = {t["name"]: _array(t["y"]).tolist() for t in _figure(at, "ev_compare_chart")}
        assert bars["zero-shot"] == pytest.approx([want_zs["macro_f1"]])
        assert bars["fine-tuned"] == pytest.approx([want_model["macro_f1"]])
    finally:
        store.runs.delete(zs)


def test_a_binary_task_gets_roc_and_pr_curves(app, store):
    import pandas as pd

    project = store.projects.create("Bots", ["human", "bot"], heldout_share=0.5)
    texts = [f"tweet {i} {'buy now' if i % 3 else 'hello'}" for i in range(80)]
    labels = ["bot" if i % 3 else "human" for i in range(80)]
    store.items.import_frame(project.id, pd.DataFrame({"text": texts, "label": labels}))
    held = store.items.texts(project.id, split="heldout")
    rng = np.random.default_rng(1)
    run = store.runs.create(project.id, "train", {}, model="tiny")
    rows = []
    for i, lab in zip(held["id"], held["label"]):
        p_bot = float(np.clip(rng.normal(0.7 if lab == "bot" else 0.35, 0.2), 0.01, 0.99))
        rows.append((int(i), "bot" if p_bot >= 0.5 else "human", max(p_bot, 1 - p_bot),
                     [1 - p_bot, p_bot]))  # fmt: skip
    store.predictions.put(run, rows)
    store.runs.update(run, status="done", artifact_path="/gone", metrics={"base_model": "tiny"})
    app.query_params["project"] = str(project.id)
    at = goto(app, "evaluate")
    gold = store.labels.train_and_test(project.id)[1]
    scores = np.array([r[3] for r in rows])
    want = sklearn_scores(gold["label"], [r[1] for r in rows], project.labels, probs=scores)
    roc = _figure(at, "ev_roc")
    assert _array(roc[0]["x"]).tolist() == pytest.approx(want["roc_fpr"])
    specs = json.dumps([e.proto.spec for e in at.get("plotly_chart")])
    assert f"AUC {want['roc_auc']:.3f}" in specs and f"AP {want['pr_auc']:.3f}" in specs
    pr = _figure(at, "ev_pr")
    assert _array(pr[0]["y"]).tolist() == pytest.approx(want["pr_precision"])
    assert "Stance F1" not in [m.label for m in at.metric]  # no AGAINST/FAVOR labels here


def test_a_misclassified_tweet_opens_on_annotate(trained, tapp):
    at = goto(tapp, "evaluate")
    errors = at.dataframe(key="ev_errors").value
    at.session_state["ev_errors"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert errors["text"].iloc[0] in texts_of(at.code)  # shown as code, never markdown
    at.button(key="ev_fix").click().run()
    assert not at.exception
    assert at.session_state["ann_search"] == errors["text"].iloc[0]
    assert at.text_input(key="ann_search").value == errors["text"].iloc[0]


# -- predict and export -------------------------------------------------------------------------


def test_predict_the_project_in_the_background(trained, tapp):
    store, project = trained["store"], trained["project"]
    at = goto(tapp, "export")
    at.radio(key="ex_scope").set_value("all").run()
    at.button(key="ex_predict").click().run()
    assert not at.exception and not at.error, texts_of(at.error)
    run = wait_for(store, store.runs.list(project.id, "predict")[0]["id"])
    assert run["status"] == "done", run["error"]
    assert len(store.predictions.frame(run["id"])) == store.items.count(project.id)
    at.run()
    assert f"run #{run['id']}" in " ".join(texts_of(at.caption))
    assert "pred_label" in store.export.frame(project.id)


def test_predict_on_a_ray_cluster_is_a_choice_passed_to_the_job(trained, tapp, monkeypatch):
    from labeler.jobs import runner

    started = []
    monkeypatch.setattr(runner, "start_job", lambda *a, **k: started.append(a[3]))
    monkeypatch.setenv("TWEET_LABELER_RAY_ADDRESS", "auto")
    at = goto(tapp, "export")
    at.radio(key="ex_scope").set_value("all").run()
    at.radio(key="ex_engine").set_value("ray").run()
    assert any("Ray cluster at auto" in c.value for c in at.caption)
    at.button(key="ex_predict").click().run()
    assert not at.exception
    assert started[-1].get("engine") == "ray" and started[-1].get("actors", 0) is None


def test_label_an_uploaded_file(trained, tapp, downloads):
    at = goto(tapp, "export")
    csv = "id,tweet\n1,four day week now\n2,<script>x</script> no way\n3,bakery owners worry\n"
    at.file_uploader(key="ex_upload").set_value(("mine.csv", csv.encode(), "text/csv")).run()
    assert at.selectbox(key="ex_text_col").value == "tweet"
    at.button(key="ex_file_go").click().run()
    assert not at.exception and not at.error, texts_of(at.error)
    data = downloads["mine-labelled.csv"]()
    out = read_table(data, "out.csv")
    assert out["tweet"].tolist() == ["four day week now", "<script>x</script> no way",
                                     "bakery owners worry"]  # fmt: skip
    assert set(out["pred_label"]) <= set(trained["project"].labels)
    scores = out[[f"pred_score_{lab}" for lab in trained["project"].labels]].astype(float)
    assert scores.sum(axis=1).to_numpy() == pytest.approx(1.0, abs=1e-5)


def test_an_edited_file_of_the_same_name_is_labelled_afresh(trained, tapp, downloads):
    at = goto(tapp, "export")
    first = "id,tweet\n1,four day week now\n"
    at.file_uploader(key="ex_upload").set_value(("mine.csv", first.encode(), "text/csv")).run()
    at.button(key="ex_file_go").click().run()
    assert "mine-labelled.csv" in downloads
    edited = "id,tweet\n1,four day week now\n2,and a second tweet\n"
    at.file_uploader(key="ex_upload").set_value(("mine.csv", edited.encode(), "text/csv")).run()
    # the old result belongs to the old file: nothing to download until this one is labelled
    assert not [b for b in at.get("download_button") if "labelled" in str(b.proto.label)]
    at.button(key="ex_file_go").click().run()
    assert len(read_table(downloads["mine-labelled.csv"](), "x.csv")) == 2


def test_a_file_of_numbers_is_never_labelled_by_default(trained, tapp):
    at = goto(tapp, "export")
    numbers = "id,score\n1,0.5\n2,0.7\n"
    at.file_uploader(key="ex_upload").set_value(("n.csv", numbers.encode(), "text/csv")).run()
    assert "holds text to label" in " ".join(texts_of(at.error))
    assert at.selectbox(key="ex_text_col").value is None
    assert at.button(key="ex_file_go").disabled


@pytest.mark.parametrize("fmt", ["csv", "tsv", "xlsx", "jsonl", "parquet"])
def test_download_labels_in_each_format(trained, tapp, downloads, fmt):
    store, project = trained["store"], trained["project"]
    at = goto(tapp, "export")
    at.selectbox(key="ex_fmt").set_value(fmt).run()
    name = [n for n in downloads if n.endswith(f"-labels.{fmt}")][-1]
    table = read_table(downloads[name](), name)
    want = store.export.frame(project.id)
    assert len(table) == len(want) == 360
    assert table["label"].tolist() == want["label"].tolist()
    history = next(n for n in downloads if n.endswith(f"-history.{fmt}"))
    assert len(read_table(downloads[history](), history)) == len(store.labels.history(project.id))


def test_csv_download_is_exact_unless_made_safe_for_spreadsheets(app, store, downloads):
    import pandas as pd

    project = store.projects.create("Formulas", ["A", "B"])
    texts = ["=1+1", "+1 555 0100", "-2 degrees", "@user hi", "\tindented", "plain tweet"]
    store.items.import_frame(
        project.id, pd.DataFrame({"text": texts, "source_row": range(1, len(texts) + 1)})
    )
    app.query_params["project"] = str(project.id)
    at = goto(app, "export")
    at.selectbox(key="ex_fmt").set_value("csv").run()
    choice = at.radio(key="ex_csv_for")
    assert choice.value == "exact"
    said = " ".join(texts_of(at.caption))
    assert "Exact keeps every tweet byte for byte" in said
    assert "For spreadsheets puts a ' before every cell that starts with =, +, -, @" in said
    exact = [n for n in downloads if n.endswith("-labels.csv")][-1]
    assert sorted(read_table(downloads[exact](), exact)["text"]) == sorted(texts)

    choice.set_value("spreadsheet").run()
    assert not at.exception
    safe = [n for n in downloads if n.endswith("-labels-for-spreadsheets.csv")][-1]
    got = read_table(downloads[safe](), safe)["text"].tolist()
    assert sorted(got) == sorted(["'" + t for t in texts[:-1]] + ["plain tweet"])
    history = [n for n in downloads if n.endswith("-history-for-spreadsheets.csv")]
    assert history


def test_model_zip_loads_with_the_pipeline(trained, tapp, downloads, tmp_path):
    import zipfile

    from transformers import pipeline

    at = goto(tapp, "export")
    assert at.download_button(key="ex_dl_model")
    name = next(n for n in downloads if n.endswith(f"-model-{trained['run']['id']}.zip"))
    zip_path = tmp_path / "model.zip"
    zip_path.write_bytes(downloads[name]())
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(tmp_path)
    folder = tmp_path / f"run-{trained['run']['id']}"
    assert (folder / "README.md").is_file()
    out = pipeline("text-classification", model=str(folder))("four day week now")
    assert out[0]["label"] in trained["project"].labels


def test_restore_a_project_from_its_archive(trained, tapp, downloads):
    store, project = trained["store"], trained["project"]
    at = goto(tapp, "export")
    name = next(n for n in downloads if n.endswith(".tweetlabeler.zip"))
    data = downloads[name]()
    assert json.loads(__import__("zipfile").ZipFile(__import__("io").BytesIO(data)).read(
        "project.json"))["counts"]["items"] == 360  # fmt: skip
    at.file_uploader(key="ex_restore").set_value((name, data, "application/zip")).run()
    at.button(key="ex_restore_go").click().run()
    assert not at.exception and not at.error, texts_of(at.error)
    new = store.projects.by_name(f"{project.name} (restored)")
    assert new is not None
    assert f"Restored as “{new.name}” with 360 tweets." in texts_of(at.success)
    old_items, new_items = store.items.texts(project.id), store.items.texts(new.id)
    assert new_items[["text", "split", "label", "label_source"]].equals(
        old_items[["text", "split", "label", "label_source"]]
    )
    assert len(store.labels.history(new.id)) == len(store.labels.history(project.id))
    at.button(key="ex_open_restored").click().run()
    assert at.query_params["project"] in (str(new.id), [str(new.id)])
    store.projects.delete(new.id)


def test_bad_archive_is_a_sentence(trained, tapp):
    at = goto(tapp, "export")
    at.file_uploader(key="ex_restore").set_value(("x.zip", b"not a zip", "application/zip"))
    at.run()
    at.button(key="ex_restore_go").click().run()
    assert not at.exception
    assert "not a Tweet Labeler project archive" in " ".join(texts_of(at.error))


def test_tokenizer_of_a_trained_model(trained, tapp):
    at = goto(tapp, "tokenizer")
    options = at.selectbox(key="tk_model").options
    mine = next(o for o in options if o.startswith(f"Model #{trained['run']['id']}"))
    at.selectbox(key="tk_model").set_value(mine).run()
    table = frame(at, "token", "id")
    assert table["token"].iloc[0] == "[CLS]" and table["token"].iloc[-1] == "[SEP]"
    assert "##l" in table["token"].tolist()  # the tiny vocabulary spells "elmo" letter by letter
    assert int(texts_of(at.metric)[3].replace(",", "")) < 1000


def test_a_one_tweet_test_set_is_too_few_to_score(app, store):
    import pandas as pd

    project = store.projects.create("One", ["AGAINST", "FAVOR", "NONE"], heldout_share=0.5)
    texts = [f"tweet {i} on the four day week" for i in range(20)]
    store.items.import_frame(project.id, pd.DataFrame({"text": texts}))
    (held, *_) = store.items.texts(project.id, split="heldout")["id"].tolist()
    store.labels.add(int(held), "FAVOR", annotator="ana")
    run = store.runs.create(project.id, "train", {}, model="tiny")
    store.predictions.put(run, [(int(held), "AGAINST", 0.6, [0.6, 0.3, 0.1])])
    store.runs.update(run, status="done", artifact_path="/gone", metrics={"base_model": "tiny"})
    zs = store.runs.create(project.id, "zeroshot", {"labels": project.labels}, model="nli")
    store.predictions.put(zs, [(int(held), "NONE", 0.5, [0.2, 0.3, 0.5])])
    store.runs.update(zs, status="done")
    app.query_params["project"] = str(project.id)
    at = goto(app, "evaluate")
    shown = " ".join(texts_of(at.info))
    assert "Only 1 held-out tweet" in shown and "too few" in shown
    assert "Label more held-out tweets on Annotate" in shown
    assert not at.get("plotly_chart")  # no bars, no matrix drawn from one tweet
    assert not at.metric


def test_a_reload_during_training_shows_the_running_runs_settings(trained, tapp, tiny_models):
    store, project = trained["store"], trained["project"]
    params = {
        "model": str(tiny_models["base_distilbert"]), "epochs": 3, "learning_rate": 1e-4,
        "batch_size": 8, "max_length": 64, "warmup": 0.2, "weight_decay": 0.05,
        "head_epochs": 1, "head_learning_rate": 1e-3, "class_weights": False, "seed": 7,
        "include_accepted": True,
    }  # fmt: skip
    live = store.runs.create(project.id, "train", params, total=40, model="base-distilbert")
    store.runs.update(live, status="running", heartbeat=time.time(), done=3)
    try:
        at = goto(tapp, "train")  # a fresh session: what a browser reload gets
        assert f"Run #{live} is training now" in " ".join(texts_of(at.info))
        assert at.selectbox(key="tr_model").value == CUSTOM
        assert at.text_input(key="tr_custom").value == params["model"]
        assert at.toggle(key="tr_include").value is True
        shown = {
            key: at.number_input(key=key).value
            for key in ("tr_epochs", "tr_lr", "tr_batch", "tr_maxlen", "tr_warmup", "tr_head",
                        "tr_head_lr", "tr_wd", "tr_seed")
        }  # fmt: skip
        assert shown == {
            "tr_epochs": 3, "tr_lr": 1e-4, "tr_batch": 8, "tr_maxlen": 64, "tr_warmup": 0.2,
            "tr_head": 1, "tr_head_lr": 1e-3, "tr_wd": 0.05, "tr_seed": 7,
        }  # fmt: skip
        assert at.toggle(key="tr_cw").value is False
        assert at.button(key="tr_start").disabled
    finally:
        store.runs.delete(live)
