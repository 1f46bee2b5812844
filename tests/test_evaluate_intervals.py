"""Honest numbers on Evaluate: every score with a seeded bootstrap interval and n, a warning for a
label with too few test items, every model side by side on the same gold items, and a model
scored on an uploaded labelled file exactly as `python -m labeler evaluate` scores it."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    matthews_corrcoef,
    precision_recall_fscore_support,
    roc_auc_score,
)
from streamlit.testing.v1 import AppTest

from labeler.cli.main import main
from labeler.comparison import (
    comparable_runs,
    default_comparison,
    labelled_rows,
    score_labelled,
    side_by_side,
    unknown_labels,
)
from labeler.db.store import Store, open_store
from labeler.errors import DataError
from labeler.evaluation.intervals import (
    MIN_TEST_ITEMS,
    accuracy_statistic,
    average_precision_statistic,
    f1_swing,
    label_statistic,
    macro_f1_statistic,
    mcc_statistic,
    roc_auc_statistic,
    score_intervals,
    small_sample_warnings,
)
from labeler.evaluation.metrics import evaluate_with_intervals, metrics_to_json
from labeler.io.read import read_table
from labeler.models.classifier import load_classifier

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["AGAINST", "FAVOR", "NONE"]
DRAWS = 400


def noisy(n: int, error_rate: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n gold labels (cycling) and predictions wrong on exactly `error_rate` of them."""
    gold = np.array([LABELS[i % 3] for i in range(n)], dtype=object)
    pred = gold.copy()
    wrong = np.random.default_rng(seed).choice(n, int(round(error_rate * n)), replace=False)
    pred[wrong] = [LABELS[(LABELS.index(g) + 1) % 3] for g in gold[wrong]]
    return gold, pred


# -- intervals ----------------------------------------------------------------------------------


def test_intervals_contain_the_estimate_and_shrink_with_n():
    small, large = noisy(40, 0.25), noisy(400, 0.25)
    widths = []
    for gold, pred in (small, large):
        ivs = score_intervals(gold, pred, LABELS, stance_labels=("AGAINST", "FAVOR"), draws=DRAWS)
        want = {
            "accuracy": accuracy_score(gold, pred),
            "macro_f1": f1_score(gold, pred, labels=LABELS, average="macro", zero_division=0),
            "mcc": matthews_corrcoef(gold, pred),
        }
        for key, value in want.items():
            iv = ivs[key]
            assert iv.estimate == pytest.approx(value), key
            assert iv.low <= iv.estimate <= iv.high and iv.n == len(gold), key
        f1 = f1_score(gold, pred, labels=LABELS, average=None, zero_division=0)
        for lab, value in zip(LABELS, f1, strict=True):
            iv = ivs["per_label"][lab]["f1"]
            assert iv.estimate == pytest.approx(value) and iv.low <= value <= iv.high
        widths.append({k: ivs[k].high - ivs[k].low for k in want} | {
            f"f1 {lab}": ivs["per_label"][lab]["f1"].high - ivs["per_label"][lab]["f1"].low
            for lab in LABELS
        })  # fmt: skip
    for key in widths[0]:
        assert widths[1][key] < 0.6 * widths[0][key], key  # ~1/sqrt(10) as wide


def test_the_same_seed_gives_the_same_interval():
    gold, pred = noisy(60, 0.3)
    first = score_intervals(gold, pred, LABELS, draws=DRAWS, seed=5)
    again = score_intervals(gold, pred, LABELS, draws=DRAWS, seed=5)
    other = score_intervals(gold, pred, LABELS, draws=DRAWS, seed=6)
    assert first == again
    assert first["macro_f1"] != other["macro_f1"]
    assert first["per_label"]["FAVOR"]["recall"] != other["per_label"]["FAVOR"]["recall"]


def test_each_statistic_is_sklearns_score_of_each_resample():
    """On any row of draw counts, the vectorised statistic equals scikit-learn's score with those
    counts as sample weights: items are resampled, never labels or draws."""
    rng = np.random.default_rng(3)
    gold = rng.choice(LABELS, 50).astype(object)
    pred = np.where(rng.random(50) < 0.6, gold, rng.choice(LABELS, 50)).astype(object)
    truth, score = gold == "FAVOR", np.round(rng.random(50), 1)  # ties included
    rows = rng.integers(0, 3, (4, 50)).astype(float)
    stats = {
        "accuracy": accuracy_statistic(gold, pred)(rows),
        "macro": macro_f1_statistic(gold, pred, LABELS)(rows),
        "mcc": mcc_statistic(gold, pred)(rows),
        "auc": roc_auc_statistic(truth, score)(rows),
        "ap": average_precision_statistic(truth, score)(rows),
    }
    for k, w in enumerate(rows):
        assert stats["accuracy"][k] == pytest.approx(accuracy_score(gold, pred, sample_weight=w))
        assert stats["macro"][k] == pytest.approx(
            f1_score(gold, pred, labels=LABELS, average="macro", sample_weight=w, zero_division=0)
        )
        assert stats["mcc"][k] == pytest.approx(matthews_corrcoef(gold, pred, sample_weight=w))
        assert stats["auc"][k] == pytest.approx(roc_auc_score(truth, score, sample_weight=w))
        assert stats["ap"][k] == pytest.approx(
            average_precision_score(truth, score, sample_weight=w)
        )
        p, r, f, _ = precision_recall_fscore_support(
            gold, pred, labels=LABELS, sample_weight=w, zero_division=0
        )
        for j, lab in enumerate(LABELS):
            for name, want in (("precision", p[j]), ("recall", r[j]), ("f1", f[j])):
                got = label_statistic(gold, pred, lab, name)(w[None])[0]
                assert got == pytest.approx(want), (lab, name)


def test_the_report_gets_low_and_high_columns_and_json():
    gold, pred = noisy(45, 0.2)
    m = evaluate_with_intervals(gold, pred, LABELS, draws=DRAWS)
    table = m["report_table"]
    assert list(table.index) == LABELS
    for lab in LABELS:
        row = table.loc[lab]
        assert row["F1"] == pytest.approx(m["per_class"][lab]["f1"])
        for score in ("precision", "recall", "F1"):
            assert row[f"{score} low"] <= row[score] <= row[f"{score} high"]
        assert row["support"] == 15
    shown = json.loads(json.dumps(metrics_to_json(m), allow_nan=False))
    assert shown["intervals"]["accuracy"]["n"] == 45


# -- small samples ------------------------------------------------------------------------------


def test_a_label_under_30_test_items_is_named_with_its_count_and_what_to_do():
    gold = ["AGAINST"] * 30 + ["NONE"] * 29 + ["FAVOR"] * 8
    pred = list(gold)
    pred[-2:] = ["NONE", "NONE"]  # two FAVOR tweets missed: tp 6, fn 2
    pred[0] = "FAVOR"  # one false FAVOR: fp 1
    warnings = small_sample_warnings(gold, pred, LABELS)
    assert len(warnings) == 2  # no headline: 67 items in all; AGAINST has 30
    favor = next(w for w in warnings if w.startswith("FAVOR:"))
    swing = f1_swing(6, 1, 2)
    # F1 = 2tp / (2tp + fp + fn) = 12/15; one item changed: a false FAVOR more or fewer (12/16,
    # 12/14), a FAVOR tweet missed or found (10/14, 14/16)
    assert swing == pytest.approx(12 / 15 - 10 / 14)
    assert favor.startswith(f"FAVOR: 8 held-out tweets. Its F1 can move by ±{swing:.2f}")
    assert "interleaved on Annotate" in favor and "held-out share" in favor
    assert any(w.startswith("NONE: 29 held-out tweets.") for w in warnings)
    assert not any(w.startswith("AGAINST") for w in warnings)
    few = small_sample_warnings(["FAVOR"] * 8 + ["NONE"] * 4, ["FAVOR"] * 12, LABELS)
    assert few[0].startswith("Only 12 held-out tweets scored: one error more or fewer moves "
                             f"accuracy by {1 / 12:.3f}")  # fmt: skip
    assert any(w.startswith("AGAINST: no held-out tweets") for w in few)
    assert MIN_TEST_ITEMS == 30


# -- side by side -------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "db.sqlite")


def truth(k: int) -> str:
    return LABELS[k % 3]


def guess(k: int, run: int) -> str:
    return truth(k) if (k * (run + 3)) % 5 else LABELS[(k + 1) % 3]


def put(store: Store, project_id: int, kind: str, items: dict[int, int], **extra) -> int:
    """A finished run of `kind` predicting items {position: item id}."""
    run = store.runs.create(project_id, kind, {"labels": LABELS}, model="tiny")
    rows = [(i, guess(k, run), 0.8, [0.1, 0.1, 0.8]) for k, i in items.items()]
    store.predictions.put(run, rows)
    store.runs.update(run, status="done", **extra)
    return run


def test_side_by_side_uses_only_items_every_model_scored_and_never_suggestions(store):
    project = store.projects.create("Side", LABELS, heldout_share=0.5)
    store.items.import_frame(project.id, pd.DataFrame({"text": [f"t {i}" for i in range(160)]}))
    held = store.items.texts(project.id, split="heldout")["id"].tolist()
    assert len(held) >= 60
    held = held[:60]
    for k, item in enumerate(held[:50]):
        store.labels.add(item, truth(k), annotator="ana")
    for k in range(50, 55):  # held-out gold from accepted suggestions: never a model's gold
        store.labels.add(held[k], truth(k), annotator="model", source="accepted-suggestion")
    every = dict(enumerate(held))
    zs = put(store, project.id, "zeroshot", {k: i for k, i in every.items() if k >= 5})
    live = put(store, project.id, "live", {k: i for k, i in every.items() if k % 7})
    model = put(store, project.id, "train", every, artifact_path="/m", metrics={"base_model": "b"})
    old = put(store, project.id, "zeroshot", dict(list(every.items())[:3]))
    runs = comparable_runs(store, project.id)
    assert [r["id"] for r in runs] == [zs, old, live, model]
    assert default_comparison(runs) == [old, live, model]  # the newest zero-shot run
    chosen = [r for r in runs if r["id"] in (zs, live, model)]
    result = side_by_side(store, project, chosen, draws=DRAWS)
    common = [k for k in range(50) if k >= 5 and k % 7]  # human gold, scored by all three
    assert result.item_ids == [held[k] for k in common]
    assert result.n_gold == 50 and result.coverage == {
        zs: 45,
        live: 42,
        model: 50,
    }  # live: not k % 7 == 0
    table = result.table.set_index("run")
    assert table["n"].tolist() == [len(common)] * 3
    assert table.at[live, "model"] == f"Live model run #{live}"
    assert table["kind"].tolist() == ["zero-shot", "live model", "fine-tuned"]
    gold = [truth(k) for k in common]
    for run in (zs, live, model):
        pred = [guess(k, run) for k in common]
        row = table.loc[run]
        assert row["accuracy"] == pytest.approx(accuracy_score(gold, pred))
        assert row["macro_f1"] == pytest.approx(
            f1_score(gold, pred, labels=LABELS, average="macro", zero_division=0)
        )
        assert row["mcc"] == pytest.approx(matthews_corrcoef(gold, pred))
        assert row["accuracy_low"] <= row["accuracy"] <= row["accuracy_high"]
    assert not set(result.item_ids) & set(held[50:])


# -- an uploaded labelled file ------------------------------------------------------------------

WORDS = "the policy tweet workers news school music weather bosses wages prices".split()
KEYWORDS = {"favor": ["good", "great"], "against": ["bad", "awful"], "none": ["love", "hate"]}


def write_csv(path: Path, n: int, seed: int, labels=("against", "favor", "none")) -> Path:
    rnd = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "tweet", "stance"])
        for i in range(n):
            label = labels[i % len(labels)]
            words = rnd.sample(WORDS, 3) + [rnd.choice(KEYWORDS[label])]
            w.writerow([i, " ".join(words), label])
    return path


@pytest.fixture(scope="module")
def cli_model(tiny_models, tmp_path_factory):
    """A tiny model trained by `python -m labeler train`, and a labelled file it never saw,
    scored by `python -m labeler evaluate`."""
    import torch

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("ev-cli")
    model = root / "model"
    train = write_csv(root / "train.csv", 30, seed=1)
    args = ["--text-col", "tweet", "--label-col", "stance"]
    fast = ["--epochs", "1", "--head-epochs", "1", "--lr", "3e-3", "--batch-size", "8"]
    assert main(["train", str(train), "-o", str(model), *args, "--model",
                 str(tiny_models["base_bert"]), "--seed", "3", *fast]) == 0  # fmt: skip
    test = write_csv(root / "test.csv", 24, seed=9)
    assert main(["evaluate", str(model), str(test), *args, "-o", str(root / "m.json")]) == 0
    return model, test, json.loads((root / "m.json").read_text())


def test_an_uploaded_file_scores_as_the_cli_does(cli_model):
    model, test, want = cli_model
    df = read_table(test.read_bytes(), test.name)
    rows = labelled_rows(df, "tweet", "stance", test.name)
    seen = []
    m = score_labelled(load_classifier(model), rows, progress=lambda d, n: seen.append((d, n)),
                       draws=DRAWS)  # fmt: skip
    assert m["accuracy"] == pytest.approx(want["accuracy"])
    assert m["macro_f1"] == pytest.approx(want["macro_f1"])
    assert m["confusion_matrix"] == want["confusion_matrix"]
    assert seen[-1] == (24, 24)
    iv = m["intervals"]["accuracy"]
    assert iv.n == 24 and iv.low <= m["accuracy"] <= iv.high
    assert m["warnings"][0].startswith("Only 24 rows scored")
    assert any(w.startswith("favor: 8 rows.") for w in m["warnings"])


def test_labels_the_model_does_not_know_are_a_sentence(cli_model):
    model, _, _ = cli_model
    df = pd.DataFrame({"tweet": ["a", "b", "c", "d"], "stance": ["favor", "PRO", "PRO", " "]})
    rows = labelled_rows(df, "tweet", "stance", "f.csv")
    assert rows.skipped == 1 and rows.gold == ["favor", "PRO", "PRO"]
    clf = load_classifier(model)
    message = unknown_labels(rows.gold, clf.label_names, "stance")
    assert message.startswith("The column 'stance' holds 1 label the model does not know: "
                              "'PRO' (2 rows). The model knows 'against', 'favor', 'none'.")  # fmt: skip
    with pytest.raises(DataError, match="'PRO' \\(2 rows\\)"):
        score_labelled(clf, rows)
    with pytest.raises(DataError, match="no labelled rows"):
        labelled_rows(df.assign(stance=""), "tweet", "stance", "f.csv")


# -- the page -----------------------------------------------------------------------------------


def texts_of(elements) -> list[str]:
    return [re.sub(r"\\(.)", r"\1", str(e.value)) for e in elements]


def frames(at: AppTest, *columns: str) -> list[pd.DataFrame]:
    """Every table showing these columns, in page order (a read-only st.dataframe keeps no key
    in AppTest)."""
    return [df.value for df in at.dataframe if set(columns) <= set(df.value.columns)]


@pytest.fixture
def page_project(workspace, cli_model):
    """A project whose 8 FAVOR held-out tweets are too few, a fine-tuned model whose folder is
    the CLI's tiny model, a zero-shot and a live-model run."""
    store = open_store(workspace / "labeler.sqlite")
    project = store.projects.create("Eval", LABELS, heldout_share=0.5)
    store.items.import_frame(project.id, pd.DataFrame({"text": [f"t {i}" for i in range(200)]}))
    held = store.items.texts(project.id, split="heldout")["id"].tolist()[:72]
    assert len(held) == 72
    gold = ["FAVOR" if k < 8 else ("AGAINST" if k % 2 else "NONE") for k in range(72)]
    for item, lab in zip(held, gold, strict=True):
        store.labels.add(item, lab, annotator="ana")
    runs = {}
    for kind in ("zeroshot", "live", "train"):
        extra = {"artifact_path": str(cli_model[0]), "metrics": {"base_model": "tiny"}}
        runs[kind] = put(store, project.id, kind, dict(enumerate(held)),
                         **(extra if kind == "train" else {}))  # fmt: skip
    return store, project, runs


def test_the_page_shows_intervals_warnings_and_scores_an_upload(page_project, cli_model):
    store, project, runs = page_project
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["project"] = str(project.id)
    at.run()
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception, at.exception
    captions = " ".join(texts_of(at.caption))
    assert "95% interval" in captions and "· n 72" in captions
    warned = " ".join(texts_of(at.warning))
    assert "FAVOR: 8 held-out tweets. Its F1 can move by ±" in warned
    assert "interleaved on Annotate" in warned and "AGAINST:" not in warned
    (report,) = frames(at, "F1 low", "support")
    assert {"F1 low", "F1 high", "precision low", "recall high"} <= set(report.columns)
    (side,) = frames(at, "model", "kind", "n", "macro-F1 low")
    assert side["model"].tolist()[1] == f"Live model run #{runs['live']}"
    assert side["n"].tolist() == [72, 72, 72]
    assert (side["macro-F1 low"] <= side["macro-F1"]).all()
    # score the tiny model on an uploaded labelled file: the CLI's numbers
    model, test, want = cli_model
    at.file_uploader(key="ev_upload").set_value((test.name, test.read_bytes(), "text/csv")).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="ev_file_text").value == "tweet"
    assert at.selectbox(key="ev_file_label").value == "stance"
    at.button(key="ev_file_go").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts_of(at.error)
    upload = frames(at, "F1 low", "support")[1]
    assert upload["support"].sum() == 24
    metrics = texts_of(at.metric)
    assert f"{want['accuracy']:.3f}" in metrics[4:]  # after the held-out model's four cards
    assert "Only 24 rows scored" in " ".join(texts_of(at.warning))
