"""Pages at scale: no page loads every item, and at 1M items what they show is still right.

Behaviour only; how long pages take at 100k and 1M is measured in bench/million.py.

- Every page of a realistic project (imported labels, a zero-shot run over every tweet, a
  finished prediction run, a trained model with held-out predictions) renders without calling a
  function that reads every item (`LOAD_ALL`): those would make a page at 1M items take seconds
  and the server's memory grow with the project.
- A 1M-item store (tests/million_store.py: the real schema and keys, built once and cached by
  pytest) shows the right counts on Projects and Data, serves the least-confident queue in
  order, and exports one row per item.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from labeler.db.export import Export
from labeler.db.items import Items
from labeler.db.runs import Predictions
from labeler.db.store import Store
from labeler.sample import create_sample_project
from labeler.text import is_heldout, norm_key
from tests.card_client import on_screen

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p.stem for p in (ROOT / "pages").glob("*.py"))
# pages that still load every item; each must be fixed in its own file, then taken off this list
STILL_LOADS_ALL: dict[str, str] = {}


def texts_of(at: AppTest) -> str:
    """Everything a person reads on the page, Markdown escapes removed, as one string."""
    kinds = (at.title, at.subheader, at.caption, at.markdown, at.info, at.success, at.warning)
    found = [str(e.value) for kind in kinds for e in kind]
    found += [f"{m.label}: {m.value}" for m in at.metric]
    return re.sub(r"\\(.)", r"\1", " ".join(found))


def open_page(project_id: int, page: str, order: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["project"] = str(project_id)
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    if order:
        at.selectbox(key="ann_order").set_value(order).run()
    assert not at.exception, at.exception
    return at


# -- no page loads every item ------------------------------------------------------------------


@pytest.fixture
def load_all_calls(monkeypatch) -> list[str]:
    """Records each call of a load-every-item function (they still work: jobs may use them)."""
    calls: list[str] = []

    def spy(name, original, whole=lambda *a, **k: True):
        def wrapper(*args, **kwargs):
            if whole(*args, **kwargs):
                calls.append(name)
            return original(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(Items, "texts", spy("Items.texts", Items.texts))
    monkeypatch.setattr(Export, "frame", spy("Export.frame", Export.frame))
    # a run's predictions are every item's for a zero-shot run; one split's labelled ones are few
    whole_run = lambda self, run_id, project_id=None, split=None, labelled=False: not labelled  # noqa: E731
    monkeypatch.setattr(
        Predictions, "frame", spy("Predictions.frame", Predictions.frame, whole_run)
    )
    return calls


@pytest.fixture(scope="module")
def realistic(tmp_path_factory):
    """The sample project with imported labels, a zero-shot run over every tweet, a finished
    prediction run and a trained model with predictions on the held-out tweets (built once: the
    pages only read it)."""
    workspace, tmp_path = tmp_path_factory.mktemp("workspace"), tmp_path_factory.mktemp("models")
    mp = pytest.MonkeyPatch()
    mp.setenv("TWEET_LABELER_HOME", str(workspace))
    store = Store(workspace / "labeler.sqlite")
    project = create_sample_project(store, with_labels=True)
    items = store.items.page(project.id, limit=10_000)
    labels = project.labels

    def scored(i: int) -> tuple[int, str, float, list[float]]:
        top = 0.4 + (i % 50) / 100
        rest = [(1 - top) / (len(labels) - 1)] * (len(labels) - 1)
        return int(i), labels[i % len(labels)], top, [top, *rest]

    for kind, rows in (("zeroshot", items), ("predict", items),
                       ("train", items[items["split"] == "heldout"])):  # fmt: skip
        run = store.runs.create(project.id, kind, {"labels": labels}, total=len(rows))
        store.predictions.put(run, [scored(i) for i in rows["id"]])
        folder = tmp_path / f"model-{run}"
        folder.mkdir()
        store.runs.update(
            run, status="done", done=len(rows), finished_at=time.time(), model="tiny",
            artifact_path=str(folder) if kind == "train" else None,
            metrics={"base_model": "tiny", "n_train": 100, "macro_f1": 0.5},
        )  # fmt: skip
    store.close()
    yield project.id
    mp.undo()


@pytest.fixture(scope="module")
def one_session(realistic) -> AppTest:
    """One person going from page to page (the app's first run is paid once)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["project"] = str(realistic)
    at.run()
    return at


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=STILL_LOADS_ALL[p]))
        if p in STILL_LOADS_ALL
        else p
        for p in PAGES
    ],
)
def test_no_page_loads_every_item(one_session, load_all_calls, page):
    at = one_session.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    assert texts_of(at)  # the page drew something
    assert load_all_calls == [], f"pages/{page}.py loaded every item: {load_all_calls}"


def test_the_spy_records_a_whole_project_read(realistic, load_all_calls):
    store = Store()
    store.items.texts(realistic)
    store.predictions.frame(store.runs.latest(realistic, "zeroshot")["id"])
    assert load_all_calls == ["Items.texts", "Predictions.frame"]


# -- the Data page's figures from SQL equal pandas' on every item ------------------------------


def _imported(tmp_path, texts: list[str]) -> tuple[Store, int]:
    store = Store(tmp_path / "db.sqlite")
    project = store.projects.create("P", ["A", "B"])
    rows = pd.DataFrame({"text": texts, "source_row": range(len(texts))})
    store.items.import_frame(project.id, rows, skip_existing=False)  # merging off: repeats stay
    return store, project.id


def test_duplicate_texts_are_exact_repeats_as_pandas_counts_them(tmp_path):
    texts = ["same words", "same words", "Same  Words", "other", "same words", "x", "other"]
    store, pid = _imported(tmp_path, texts)
    every = store.items.texts(pid)
    assert store.items.duplicate_texts(pid) == every["text"].duplicated().sum() == 3


def test_tweet_lengths_are_every_items_or_a_uniform_sample_above_its_size(tmp_path):
    texts = [f"tweet {i} " + "x" * (i % 40) for i in range(400)]
    store, pid = _imported(tmp_path, texts)
    every = store.items.texts(pid)["text"].str.len()
    lengths, of = store.items.text_lengths(pid)
    assert of == 400 and sorted(lengths) == sorted(every)
    sample, of = store.items.text_lengths(pid, sample=100)
    assert of == 400 and 60 <= len(sample) <= 140  # a hash cut: about the size asked for
    assert set(sample) <= set(every) and abs(sample.median() - every.median()) <= 6
    again, _ = store.items.text_lengths(pid, sample=100)
    assert again.tolist() == sample.tolist()  # the same tweets every time


def test_a_runs_label_counts_and_score_bins_equal_pandas_on_every_prediction(db_url):
    from decimal import Decimal

    store = Store(db_url)
    project = store.projects.create("P", ["A", "B", "C"])
    rows = pd.DataFrame({"text": [f"t {i}" for i in range(60)]})
    store.items.import_frame(project.id, rows)
    run = store.runs.create(project.id, "zeroshot", {})
    ids = store.items.page(project.id, limit=100)["id"].tolist()
    scores = [0.0, 0.05, 0.049999, 0.5, 0.75, 0.95, 1.0] + [i / 61 for i in range(53)]
    store.predictions.put(
        run, [(i, "ABC"[k % 3], s, [s]) for k, (i, s) in enumerate(zip(ids, scores))]
    )
    every = store.predictions.frame(run)
    assert store.predictions.label_counts(run) == every["label"].value_counts().to_dict()
    bins = store.predictions.score_bins(run, bins=20)
    # exact decimal edges: 0.95 opens the last bin but one (numpy's float edges put it below)
    exact = [min(int(Decimal(str(x)) * 20), 19) for x in every["score"]]
    assert bins.tolist() == [exact.count(b) for b in range(20)]
    assert bins.index[1] == 0.05


@pytest.mark.parametrize("include", [False, True])
def test_train_page_counts_equal_the_sets_training_would_read(tmp_path, include):
    from labeler.training.plan import label_counts, training_problem

    store = Store(tmp_path / "db.sqlite")
    project = create_sample_project(store)
    items = store.items.page(project.id, where="all", limit=1000)
    for split in ("heldout", "pool"):  # people's labels, and a suggestion accepted on the card
        ids = items.loc[items["split"] == split, "id"].astype(int).tolist()
        for k, item in enumerate(ids[:9]):
            store.labels.add(item, project.labels[k % 3], annotator="ana")
        store.labels.add(ids[9], project.labels[0], annotator="ana", source="accepted-suggestion")
        assert store.items.get(ids[9])["label_source"] == "accepted-suggestion"
    train, test = store.labels.train_and_test(project.id, include_accepted=include)
    counts = label_counts(store, project, include).set_index("label")
    for lab in project.labels:
        assert counts.at[lab, "train (pool)"] == (train["label"] == lab).sum()
        assert counts.at[lab, "test (held-out)"] == (test["label"] == lab).sum()
    assert counts.loc["total"].tolist() == [len(train), len(test)]
    assert training_problem(store, project, include, counts.reset_index()) == training_problem(
        store, project, include
    )


# -- 1M items ----------------------------------------------------------------------------------

N = 1_000_000
CACHE_ENV = "TWEET_LABELER_TEST_CACHE"


@pytest.fixture(scope="module")
def million(tmp_path_factory):
    """A copy of the cached 1M-item store as the workspace's store: built once per builder and
    schema version (~25 s of CPU) into CACHE_ENV's folder (default: the system's temp folder);
    copying it takes about a second."""
    import million_store

    migrations = sorted((ROOT / "labeler/db/migrations/versions").glob("*.py"))
    schema = b"".join(p.read_bytes() for p in migrations)
    digest = hashlib.sha1(million_store.fingerprint() + schema + str(N).encode()).hexdigest()
    # outside the checkout: the mutation check's private copies reuse it too
    cache = Path(os.environ.get(CACHE_ENV, Path(tempfile.gettempdir()) / "tweet-labeler-million"))
    cache.mkdir(parents=True, exist_ok=True)
    stored, facts = cache / f"{digest[:16]}.sqlite", cache / f"{digest[:16]}.json"
    if not (stored.is_file() and facts.is_file()):
        building = cache / f"building-{os.getpid()}.sqlite"
        built = million_store.build(building, N)
        facts.write_text(json.dumps({k: v for k, v in vars(built).items() if k != "path"}))
        building.rename(stored)  # last: a half-built file is never taken for a store
        building.with_name(building.name + ".writelock").unlink(missing_ok=True)
    home = tmp_path_factory.mktemp("million")
    shutil.copyfile(stored, home / "labeler.sqlite")
    mp = pytest.MonkeyPatch()
    mp.setenv("TWEET_LABELER_HOME", str(home))
    yield million_store.Million(path=home / "labeler.sqlite", **json.loads(facts.read_text()))
    mp.undo()


@pytest.mark.slow
def test_projects_page_counts_a_million(million):
    text = texts_of(open_page(million.project_id, "home"))
    assert "Tweets: 1,000,000" in text
    assert f"Labelled: {million.labelled:,}" in text
    assert f"Held-out labelled: {million.heldout_labelled:,} / {million.heldout:,}" in text


@pytest.mark.slow
def test_data_page_counts_a_million_and_shows_the_first_rows(million):
    at = open_page(million.project_id, "data")
    text = texts_of(at)
    assert "In this project: 1,000,000 tweets" in text
    assert f"Held out (test set): {million.heldout:,}" in text
    assert f"Labelled: {million.labelled:,}" in text
    assert "Duplicate texts: 0" in text
    assert "of the 1,000,000 tweets" in text  # lengths from a sample, and it says so
    (table,) = at.dataframe
    assert table.value["id"].tolist() == list(range(1, 501))


def _pool_unlabelled_from_the_top(n: int, k: int) -> list[int]:
    """The k least confident unlabelled pool items, by the builder's rules (score falls with
    the id): what the least-confident queue must serve, computed without the store."""
    import million_store

    out, i = [], n
    while len(out) < k:
        txt = million_store.tweet(i)
        if i % million_store.LABEL_EVERY and not is_heldout(norm_key(txt), 0.2):
            out.append(i)
        i -= 1
    return out


@pytest.mark.slow
def test_least_confident_queue_at_a_million(million):
    store = Store(million.path)
    expected = _pool_unlabelled_from_the_top(N, 5)
    served, pool = [], []
    while len(pool) < 5:
        item = store.queue.next(
            million.project_id, order="least-confident", run_id=million.run_id, exclude=served
        )
        served.append(item["id"])
        if item["split"] == "pool":
            pool.append(item["id"])
        else:
            assert item["label"] is None  # held-out: blind, unlabelled, interleaved
    assert pool == expected
    at = open_page(million.project_id, "annotate", order="least-confident")
    first = store.queue.next(million.project_id, order="least-confident", run_id=million.run_id)
    assert on_screen(at)["meta"].startswith(f"#{first['ext_id']}")  # the tweet the queue serves


@pytest.mark.slow
def test_export_has_one_row_per_item_at_a_million(million):
    table = Store(million.path).export.frame(million.project_id)
    assert len(table) == N
    assert table["label"].notna().sum() == million.labelled
    assert table["zs_label"].notna().sum() == 20_000  # the run scored a sample
