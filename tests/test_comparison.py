"""Held-out reports and zero-shot comparisons equal scikit-learn's scores on the same items."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    classification_report,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    roc_auc_score,
    roc_curve,
)

from labeler.comparison import (
    compare_with_zeroshot,
    comparison_wide,
    errors_table,
    heldout_report,
    models_table,
    trained_models,
)
from labeler.db.store import Store

LABELS = ["NEG", "POS"]


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "db.sqlite")


def _scores(rng, n):
    p = rng.uniform(0.02, 0.98, n)
    return np.stack([1 - p, p], axis=1)


@pytest.fixture
def project(store):
    project = store.projects.create("Binary", LABELS, heldout_share=0.4)
    rng = np.random.default_rng(0)
    texts = [f"tweet number {i} about things {i * 7 % 13}" for i in range(200)]
    labels = [LABELS[int(x)] for x in rng.integers(0, 2, len(texts))]
    store.items.import_frame(project.id, pd.DataFrame({"text": texts, "label": labels}))
    items = store.items.texts(project.id)
    held = items[items["split"] == "heldout"]
    assert len(held) > 40
    # a finished model: predictions on the held-out items only (as run_training stores them)
    run = store.runs.create(project.id, "train", {"epochs": 1}, model="tiny")
    probs = _scores(rng, len(held))
    store.predictions.put(
        run,
        [
            (int(i), LABELS[int(p.argmax())], float(p.max()), p.tolist())
            for i, p in zip(held["id"], probs)
        ],
    )
    store.runs.update(
        run, status="done", artifact_path="/nowhere", metrics={"base_model": "tiny", "n_train": 1}
    )
    # zero-shot on every item but the first ten held-out ones
    zs = store.runs.create(project.id, "zeroshot", {"labels": LABELS}, model="nli")
    scored = items[~items["id"].isin(held["id"].head(10))]
    zprobs = _scores(rng, len(scored))
    store.predictions.put(
        zs,
        [
            (int(i), LABELS[int(p.argmax())], float(p.max()), p.tolist())
            for i, p in zip(scored["id"], zprobs)
        ],
    )
    store.runs.update(zs, status="done")
    # runs that never finished leave no model, even with a folder recorded
    for status in ("cancelled", "failed"):
        other = store.runs.create(project.id, "train", {}, model="tiny")
        store.runs.update(
            other, status=status, artifact_path="/half" if status == "failed" else None
        )
    return project, run, zs


def _expected(store, project, run_id, ids=None):
    """The scores, computed here with scikit-learn on the same items (independently of
    labeler.evaluation), and the ids of the items both sides scored."""
    gold = store.labels.train_and_test(project.id)[1].set_index("id")
    preds = store.predictions.frame(run_id).set_index("item_id")
    common = sorted(
        set(gold.index) & set(preds.index) & (set(ids) if ids is not None else set(gold.index))
    )
    y_true, y_pred = gold.loc[common, "label"].tolist(), preds.loc[common, "label"].tolist()
    p_pos = np.array([preds.at[i, "scores"] for i in common])[:, LABELS.index("POS")]
    is_pos = [y == "POS" for y in y_true]
    return {
        "accuracy": accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, labels=LABELS, average="macro", zero_division=0),
        "mcc": matthews_corrcoef(y_true, y_pred),
        "roc_auc": roc_auc_score(is_pos, p_pos),
        "pr_auc": average_precision_score(is_pos, p_pos),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=LABELS).tolist(),
        "report": classification_report(
            y_true, y_pred, labels=LABELS, output_dict=True, zero_division=0
        ),
        "fpr": roc_curve(is_pos, p_pos)[0].tolist(),
    }, common


def test_only_finished_runs_with_a_model_are_listed(store, project):
    _, run, _ = project
    assert [r["id"] for r in trained_models(store, project[0].id)] == [run]
    table = models_table(trained_models(store, project[0].id))
    assert table["model"].tolist() == [f"#{run}"] and table["base model"].tolist() == ["tiny"]


def test_heldout_report_equals_the_engine(store, project):
    project, run, _ = project
    report = heldout_report(store, project, run)
    want, common = _expected(store, project, run)
    got = report.metrics
    assert report.n_scored == len(common) == report.n_gold
    for key in ("accuracy", "macro_f1", "mcc", "roc_auc", "pr_auc"):
        assert got[key] == pytest.approx(want[key], abs=1e-12), key
    assert got["confusion_matrix"] == want["confusion_matrix"]  # rows gold, columns predicted
    for lab in LABELS:
        for key in ("precision", "recall"):
            assert got["per_class"][lab][key] == pytest.approx(want["report"][lab][key]), key
        assert got["per_class"][lab]["f1"] == pytest.approx(want["report"][lab]["f1-score"])
    assert got["roc_curve"]["fpr"] == pytest.approx(want["fpr"])


def test_a_fixed_gold_label_changes_the_report(store, project):
    project, run, _ = project
    before = heldout_report(store, project, run)
    item = before.items.iloc[0]
    other = "POS" if item["gold"] == "NEG" else "NEG"
    store.labels.add(int(item["id"]), other, annotator="ann")
    after = heldout_report(store, project, run)
    assert after.items.iloc[0]["gold"] == other
    assert after.metrics["accuracy"] != before.metrics["accuracy"]


def test_zero_shot_and_model_are_compared_on_the_same_items(store, project):
    project, run, zs = project
    runs = trained_models(store, project.id)
    long, facts = compare_with_zeroshot(store, project, runs)
    gold = store.labels.train_and_test(project.id)[1]
    assert facts["n_gold"] == len(gold)
    assert facts["zeroshot_scored"] == len(gold) - 10
    assert long["items"].tolist() == [len(gold) - 10] * 2
    zs_ids = set(store.predictions.frame(zs)["item_id"])
    model_want, common = _expected(store, project, run, zs_ids)
    zs_want, zs_common = _expected(store, project, zs, common)
    assert common == zs_common
    row = long.set_index("system")
    assert row.at["fine-tuned", "macro_f1"] == pytest.approx(model_want["macro_f1"], abs=1e-12)
    assert row.at["zero-shot", "macro_f1"] == pytest.approx(zs_want["macro_f1"], abs=1e-12)
    assert row.at["zero-shot", "mcc"] == pytest.approx(zs_want["mcc"], abs=1e-12)
    wide = comparison_wide(long)
    assert wide.loc[0, "items compared"] == len(common)
    assert wide.loc[0, "zero-shot macro-F1"] == pytest.approx(zs_want["macro_f1"])
    assert "zero-shot stance-F1" not in wide  # no AGAINST/FAVOR labels here


def test_without_zero_shot_the_model_stands_alone(store, project):
    project, run, zs = project
    store.runs.delete(zs)
    long, facts = compare_with_zeroshot(store, project, trained_models(store, project.id))
    assert facts["zeroshot_run"] is None
    assert long["system"].tolist() == ["fine-tuned"]


def test_errors_table_lists_mistakes_most_confident_first(store, project):
    project, run, _ = project
    report = heldout_report(store, project, run)
    errors = errors_table(report)
    wrong = report.items[report.items["gold"] != report.items["predicted"]]
    assert len(errors) == len(wrong) > 0
    assert errors["confidence"].is_monotonic_decreasing
    texts = store.items.texts(project.id).set_index("id")["text"]
    assert (errors["text"] == texts.loc[errors["item_id"]].to_numpy()).all()
    assert (errors["gold"] != errors["predicted"]).all()
    for _, row in errors.iterrows():
        scores = report.items.set_index("id").at[row["item_id"], "scores"]
        assert row["p_gold"] == pytest.approx(scores[LABELS.index(row["gold"])])
