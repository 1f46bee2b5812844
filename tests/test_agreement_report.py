"""A project's agreement as the Agreement page shows it (labeler/team/report.py, pages/agreement.py):
alpha over the store's codes, each coder scored on held-out items against gold formed without
them, models scored on held-out gold only, and the page itself through AppTest."""

from __future__ import annotations

import json
import re
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score
from streamlit.testing.v1 import AppTest
from test_store import items_frame

from labeler.db.store import Store, open_store
from labeler.team.report import (
    accuracy_statistic,
    data_version,
    macro_f1_statistic,
    project_agreement,
    scores,
)
from ui.charts import kappa_heatmap

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["AGAINST", "FAVOR", "NONE"]
DRAWS = 1000


def truth(k: int) -> str:
    return LABELS[k % 3]


def wrong(k: int) -> str:
    return LABELS[(k + 1) % 3]


@pytest.fixture
def store(db_url) -> Store:
    s = Store(db_url)
    yield s
    s.close()


def new_project(store: Store, name: str = "Team"):
    """A project with 80 tweets, about half held out: (project, held-out ids, pool ids)."""
    project = store.projects.create(name, LABELS, heldout_share=0.5)
    store.items.import_frame(project.id, items_frame([f"{name} tweet {i}" for i in range(80)]))
    items = store.items.texts(project.id)
    heldout = items.loc[items["split"] == "heldout", "id"].tolist()
    pool = items.loc[items["split"] == "pool", "id"].tolist()
    assert len(heldout) >= 17 and len(pool) >= 8
    return project, heldout, pool


def code_team(store: Store, heldout: list[int], pool: list[int]) -> None:
    """ana and ben always give the true label; cy always the wrong one on held-out items and the
    true one on pool items (so scoring coders on the pool would lift cy above 0).

    held-out 0-7: all three, adjudicated by "judge" (the true label); 8-11: ana and ben only;
    12-15: all three, not adjudicated. Pool 0-7: all three agree.
    """
    for k, item in enumerate(heldout[:16]):
        store.labels.add(item, truth(k), annotator="ana")
        if k < 8 or k >= 12:
            store.labels.add(item, wrong(k), annotator="cy")
        store.labels.add(item, truth(k), annotator="ben")
        if k < 8:
            store.team.adjudicate(item, truth(k), "judge")
    for k, item in enumerate(pool[:8]):
        for who in ("ana", "ben", "cy"):
            store.labels.add(item, truth(k), annotator=who)


def row(result, who: str) -> dict:
    table = result.people_vs_models
    (found,) = table[table["who"] == who].to_dict("records")
    return found


# -- the report over the store's codes -------------------------------------------------------


def test_alpha_is_the_packages_on_every_persons_codes(store):
    project, heldout, pool = new_project(store)
    code_team(store, heldout, pool)
    result = project_agreement(store, project.id, draws=DRAWS)
    codes = store.team.codes(project.id)
    wide = codes.pivot(index="annotator", columns="item_id", values="label")
    matrix = wide.apply(lambda col: col.map({lab: i for i, lab in enumerate(LABELS)}))
    matrix = matrix.to_numpy(dtype=float)
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    report = result.report
    assert report.alpha == pytest.approx(expected)
    assert report.n_items == 16 + 8 and report.n_codes == len(codes) == 12 * 3 + 4 * 2 + 8 * 3
    assert report.coders == result.coders == ["ana", "ben", "cy"]
    assert report.labels == LABELS
    assert report.pairwise_n == {"ana|ben": 24, "ana|cy": 20, "ben|cy": 20}
    assert report.alpha_ci[0] < report.alpha < report.alpha_ci[1]
    assert result.missing is None
    pair = result.pair("ana", "cy")
    assert int(np.trace(pair.to_numpy())) == 8 and int(pair.to_numpy().sum()) == 20


def test_each_coder_is_scored_on_heldout_items_against_gold_formed_without_them(store):
    project, heldout, pool = new_project(store)
    code_team(store, heldout, pool)
    result = project_agreement(store, project.id, draws=DRAWS)
    # ana: 0-7 (ben and cy disagree: the judge's decision), 8-11 (ben); 12-15 skipped
    ana = row(result, "ana")
    assert (ana["n"], ana["accuracy"], ana["macro_f1"], ana["kappa"]) == (12, 1.0, 1.0, 1.0)
    assert row(result, "ben")["n"] == 12 and row(result, "ben")["accuracy"] == 1.0
    # cy: 0-7 and 12-15 against ana and ben's unanimous label; never its own code, never the pool
    cy = row(result, "cy")
    assert (cy["n"], cy["accuracy"], cy["macro_f1"]) == (12, 0.0, 0.0)
    assert (cy["accuracy_low"], cy["accuracy_high"]) == (0.0, 0.0)
    assert ana["kind"] == "coder"


def test_a_coders_own_decision_is_never_their_gold(store):
    project, heldout, _ = new_project(store, "Own decision")
    a, b = heldout[:2]
    for item in (a, b):  # ana, ben and cy all disagree
        store.labels.add(item, "AGAINST", annotator="ana")
        store.labels.add(item, "FAVOR", annotator="ben")
        store.labels.add(item, "NONE", annotator="cy")
    store.team.adjudicate(a, "NONE", "cy")  # cy decides its own item: not gold for cy
    store.team.adjudicate(b, "AGAINST", "judge")
    result = project_agreement(store, project.id, draws=DRAWS)
    cy = row(result, "cy")
    assert (cy["n"], cy["accuracy"]) == (1, 0.0)
    assert row(result, "ana")["n"] == 2  # cy's decision on a is gold for ana and ben
    assert row(result, "ana")["accuracy"] == 0.5


def test_intervals_are_sklearns_scores_resampled_with_a_seed(store):
    project, heldout, pool = new_project(store)
    code_team(store, heldout, pool)
    store.labels.add(heldout[12], truth(12), annotator="cy")  # cy now right once
    first = project_agreement(store, project.id, draws=DRAWS, seed=7)
    again = project_agreement(store, project.id, draws=DRAWS, seed=7)
    assert first.people_vs_models.equals(again.people_vs_models)
    cy = row(first, "cy")
    assert cy["n"] == 12 and cy["accuracy"] == pytest.approx(1 / 12)
    assert cy["accuracy_low"] <= cy["accuracy"] <= cy["accuracy_high"] < 1
    # the vectorised statistics equal scikit-learn's on the full data (a matrix of ones)
    rng = np.random.default_rng(1)
    gold = rng.choice(LABELS, 50).astype(object)
    pred = np.where(rng.random(50) < 0.6, gold, rng.choice(LABELS, 50)).astype(object)
    pred[:3] = "EXTRA"  # a label only the predictions use counts in the macro average
    ones = np.ones((1, 50))
    assert accuracy_statistic(gold, pred)(ones)[0] == pytest.approx(accuracy_score(gold, pred))
    assert macro_f1_statistic(gold, pred)(ones)[0] == pytest.approx(
        f1_score(gold, pred, average="macro", zero_division=0)
    )
    seven = scores(gold, pred, draws=DRAWS, seed=7)
    assert seven == scores(gold, pred, draws=DRAWS, seed=7)  # the same seed, the same interval
    assert seven != scores(gold, pred, draws=DRAWS, seed=8)
    assert seven["macro_f1_low"] < seven["macro_f1"] < seven["macro_f1_high"]


def test_models_are_scored_on_heldout_gold_only_never_on_accepted_suggestions(store):
    project, heldout, pool = new_project(store)
    code_team(store, heldout, pool)
    # held-out 16: gold from an accepted suggestion (no person's label): never a model's gold
    store.labels.add(heldout[16], truth(16), annotator="model", source="accepted-suggestion")
    assert store.items.get(heldout[16])["label_source"] == "accepted-suggestion"
    run = store.runs.create(project.id, "zeroshot", {"labels": LABELS}, model="tiny-nli")
    guesses = {item: truth(k) if k < 6 or k >= 12 else wrong(k) for k, item in
               enumerate(heldout[:17])}  # fmt: skip
    guesses |= {item: wrong(k) for k, item in enumerate(pool[:8])}  # pool: gold, never scored
    store.predictions.put(run, [(i, lab, 0.9, [0.9, 0.05, 0.05]) for i, lab in guesses.items()])
    store.runs.update(run, status="done")
    result = project_agreement(store, project.id, draws=DRAWS)
    zs = row(result, f"Zero-shot run #{run} (tiny-nli)")
    gold = [truth(k) for k in range(12)]  # 0-7 adjudicated, 8-11 agreed; 12-15 disputed
    pred = [guesses[heldout[k]] for k in range(12)]
    assert zs["kind"] == "zero-shot" and zs["n"] == 12 == result.n_heldout_gold
    assert zs["accuracy"] == pytest.approx(accuracy_score(gold, pred)) == 0.5
    assert zs["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))
    assert zs["kappa"] == pytest.approx(cohen_kappa_score(gold, pred))
    assert result.models_missing is None
    shown = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert [r["who"] for r in shown["people_vs_models"]][-1] == zs["who"]


def test_a_project_without_shared_items_explains_instead_of_raising(store):
    project, heldout, _ = new_project(store, "Alone")
    result = project_agreement(store, project.id, draws=DRAWS)
    assert result.report is None and result.people_vs_models.empty
    assert result.missing.startswith("Agreement needs items coded by at least two people; 0")
    assert "roster on the Team page" in result.missing
    store.labels.add(heldout[0], "FAVOR", annotator="ana")  # one coder
    result = project_agreement(store, project.id, draws=DRAWS)
    assert "(1 codes from 1 person)" in result.missing
    assert row(result, "ana")["n"] == 0 and "No held-out item" not in (result.models_missing or "")
    before = data_version(store, project.id)
    store.labels.add(heldout[0], "FAVOR", annotator="ben")
    assert data_version(store, project.id) != before
    assert project_agreement(store, project.id, draws=DRAWS).missing is None


def test_the_kappa_heatmap_names_each_pairs_kappa_and_shared_items():
    coders = ["ana", "ben", "<b>cy</b>"]
    kappa = {"ana|ben": 0.71, "<b>cy</b>|ana": -0.2, "<b>cy</b>|ben": None}
    shared = {"ana|ben": 40, "<b>cy</b>|ana": 12, "<b>cy</b>|ben": 7}
    trace = kappa_heatmap(coders, kappa, shared).data[0]
    assert [list(r) for r in trace.text] == [
        ["", "κ 0.71 · n 40", "κ -0.20 · n 12"],
        ["κ 0.71 · n 40", "", "κ undefined · n 7"],
        ["κ -0.20 · n 12", "κ undefined · n 7", ""],
    ]
    assert list(trace.x)[2] == "&lt;b&gt;cy&lt;/b&gt;"
    assert (trace.zmin, trace.zmax) == (-1, 1)


# -- the page ----------------------------------------------------------------------------------


def show(at: AppTest, project_id: int) -> AppTest:
    at.query_params["project"] = str(project_id)
    at.switch_page("pages/agreement.py").run()
    assert not at.exception, at.exception
    return at


def texts_of(elements) -> list[str]:
    return [re.sub(r"\\(.)", r"\1", str(e.value)) for e in elements]


def test_the_page_shows_alpha_beside_the_heldout_table(app, workspace):
    store = open_store(workspace / "labeler.sqlite")
    project, heldout, pool = new_project(store)
    code_team(store, heldout, pool)
    expected = project_agreement(store, project.id)
    at = show(app, project.id)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Krippendorff's alpha"] == f"{expected.report.alpha:.3f}"
    low, high = expected.report.alpha_ci
    assert metrics["95% interval"] == f"{low:.2f} to {high:.2f}"
    assert expected.report.reading in [t.value for t in at.text]
    (table,) = [d.value for d in at.dataframe]  # read-only tables keep no key in AppTest
    assert table["who"].tolist() == ["ana", "ben", "cy"] and table["n"].tolist() == [12, 12, 12]
    assert any("held-out items only" in c for c in texts_of(at.caption))
    at.selectbox(key="agr_pair_b").set_value("ana").run()
    assert "Pick two different coders" in " ".join(texts_of(at.info))
    store.labels.add(heldout[8], truth(8), annotator="cy")  # a new label: recomputed
    at.run()
    assert {m.label: m.value for m in at.metric}["Krippendorff's alpha"] == (
        f"{project_agreement(store, project.id).report.alpha:.3f}"
    )


def test_the_page_explains_an_empty_project(app, workspace):
    store = open_store(workspace / "labeler.sqlite")
    project = store.projects.create("Nobody yet", LABELS)
    at = show(app, project.id)
    assert "Agreement needs items coded by at least two people; 0 so far" in " ".join(
        texts_of(at.info)
    )
    assert not at.metric


def test_the_page_shows_hostile_coder_label_and_model_names_as_text(app, workspace):
    from test_no_markup import ANNOTATOR, CELL, MODEL, assert_no_markup

    from ui.charts import label_alpha_bars, pair_confusion_heatmap

    store = open_store(workspace / "labeler.sqlite")
    labels = ["A*B", "<b>F</b>", "NONE"]
    project = store.projects.create("Hostile", labels, heldout_share=0.5)
    store.items.import_frame(project.id, items_frame([f"hostile tweet {i}" for i in range(30)]))
    items = store.items.texts(project.id, split="heldout")["id"].tolist()
    for k, item in enumerate(items[:8]):
        store.labels.add(item, labels[k % 3], annotator=ANNOTATOR)
        store.labels.add(item, labels[k % 2], annotator=CELL)
    run = store.runs.create(project.id, "zeroshot", {"labels": labels}, model=MODEL)
    store.predictions.put(run, [(i, labels[0], 0.9, [0.9, 0.05, 0.05]) for i in items[:8]])
    store.runs.update(run, status="done")
    at = show(app, project.id)
    assert_no_markup(at)
    (table,) = [d.value for d in at.dataframe]
    assert f"Zero-shot run #{run} ({MODEL})" in table["who"].tolist()
    result = project_agreement(store, project.id, draws=100)
    figures = [
        label_alpha_bars(result.report.per_label, result.report.alpha),
        pair_confusion_heatmap(result.pair(ANNOTATOR, CELL), ANNOTATOR, CELL),
        kappa_heatmap(result.coders, result.report.pairwise_kappa, result.report.pairwise_n),
    ]
    for fig in figures:
        layout = fig.layout
        shown = [str(layout.title.text), str(layout.xaxis.title.text), str(layout.yaxis.title.text)]
        shown += [str(v) for t in fig.data for v in [*(t.x or []), *(t.y or [])]]
        assert not any("<" in s for s in shown), shown
