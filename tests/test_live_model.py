"""The learning loop: embeddings computed once per (text, encoder), the live model refitted every
few gold labels (one retrain per project at a time, held-out items never train), and the
suggestion source switching only when cross-validation says the live model is better.

Most tests swap the sentence encoder for a keyword one (FAKE below: "love" -> FAVOR, "hate" ->
AGAINST, "meh" -> NONE) that counts every text it embeds; one test runs a tiny real encoder.
"""

from __future__ import annotations

import hashlib
import re
import time

import numpy as np
import pandas as pd
import pytest

from labeler.db.store import Store
from labeler.jobs import learning as learning_jobs
from labeler.jobs.runner import effective_status, run_job
from labeler.learning import classifier, embeddings, live
from labeler.suggestions import default_run_name, run_name, suggestion_runs

LABELS = ["AGAINST", "FAVOR", "NONE"]
WORD = {"AGAINST": "hate", "FAVOR": "love", "NONE": "meh"}
KEYWORDS = {"hate": 0, "love": 1, "meh": 2}


def tweets(n_per_label: int = 30, tag: str = "") -> list[tuple[str, str]]:
    """(text, the label its keyword says), interleaved by label."""
    return [
        (f"I {WORD[lab]} the four day week{tag}, post {i}", lab)
        for i in range(n_per_label)
        for lab in LABELS
    ]


class Fake:
    """A keyword encoder standing in for `embed_texts`: one dimension per keyword, the other words
    hashed into a few small ones; L2-normalised. Records every text it is asked to embed."""

    def __init__(self) -> None:
        self.calls = 0
        self.texts: list[str] = []

    def vector(self, text: str) -> np.ndarray:
        v = np.zeros(16, np.float32)
        for word in re.findall(r"[a-z]+", text.lower()):
            if word in KEYWORDS:
                v[KEYWORDS[word]] += 1.0
            else:
                v[3 + int(hashlib.md5(word.encode()).hexdigest(), 16) % 13] += 0.1
        return v / np.linalg.norm(v)

    def __call__(self, texts, *, encoder=None, batch_size=64, progress=None, cancel=None):
        self.calls += 1
        self.texts.extend(texts)
        if progress is not None:
            progress(len(texts), len(texts), 100.0, 0.0)
        return np.array([self.vector(t) for t in texts], np.float32).reshape(len(texts), 16)


@pytest.fixture
def fake(monkeypatch) -> Fake:
    encoder = Fake()
    monkeypatch.setattr(embeddings, "embed_texts", encoder)
    monkeypatch.setenv(learning_jobs.ENABLED_ENV, "1")  # whatever the suite's default
    return encoder


@pytest.fixture
def store(workspace, db_url) -> Store:
    """A project of 90 keyword tweets, about 30% held out, on each engine."""
    store = Store(db_url)
    project = store.projects.create("p", LABELS, heldout_share=0.3)
    store.items.import_frame(project.id, pd.DataFrame({"text": [t for t, _ in tweets()]}))
    return store


@pytest.fixture
def sqlite_store(workspace, tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path}/jobs.sqlite")
    project = store.projects.create("p", LABELS, heldout_share=0.3)
    store.items.import_frame(project.id, pd.DataFrame({"text": [t for t, _ in tweets()]}))
    return store


@pytest.fixture
def inline_jobs(monkeypatch) -> list[int]:
    """`maybe_retrain`'s and `ensure_embedding_job`'s job start, run in this process at once
    (through the runner's `run_job`); the started run ids are listed."""
    started: list[int] = []

    def start(store, project_id, kind, params, **_):
        run_id = store.runs.create(project_id, kind, params)
        store.runs.update(run_id, heartbeat=time.time())
        started.append(run_id)
        assert run_job(store, run_id) == "done"
        return run_id

    monkeypatch.setattr(learning_jobs, "start_job", start)
    return started


def said(text: str) -> str:
    return next(lab for lab, w in WORD.items() if f" {w} " in text)


def label(store: Store, split: str, n: int, *, wrong: bool = False, skip: int = 0) -> list[int]:
    """Label n unlabelled items of a split with their keyword's label (or a wrong one)."""
    df = store.items.texts(1, split=split)
    df = df[df["label"].isna()].iloc[skip : skip + n]
    for item_id, text in zip(df["id"], df["text"], strict=True):
        right = said(text)
        lab = LABELS[(LABELS.index(right) + 1) % 3] if wrong else right
        store.labels.add(int(item_id), lab, annotator="ana")
    return df["id"].tolist()


# -- embeddings once ----------------------------------------------------------------------------


def test_a_real_encoder_gives_normalised_vectors_in_input_order(workspace, tiny_models):
    texts = ["a long tweet about the four day week and the economy", "short", "yes yes yes"]
    enc = str(tiny_models["base_bert"])
    seen = []
    matrix = embeddings.embed_texts(
        texts, encoder=enc, batch_size=2, progress=lambda *a: seen.append(a)
    )
    assert matrix.dtype == np.float32 and matrix.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
    alone = np.vstack([embeddings.embed_texts([t], encoder=enc) for t in texts])
    np.testing.assert_allclose(matrix, alone, atol=1e-5)  # sorted by length, returned in order
    assert seen[-1][:2] == (3, 3)
    key = embeddings.encoder_key(enc)
    assert (
        key == embeddings.encoder_key(enc) != embeddings.encoder_key(tiny_models["base_distilbert"])
    )


def test_the_cache_means_a_second_call_and_a_second_project_compute_nothing(
    store, fake, monkeypatch
):
    ids, first = embeddings.project_embeddings(store, 1)
    assert len(ids) == 90 and first.shape == (90, 16)
    assert sorted(fake.texts) == sorted(store.items.texts(1)["text"])  # each text once
    calls = fake.calls
    monkeypatch.setattr(embeddings, "_CACHES", {})  # a restart: the index is read from disk
    ids_again, again = embeddings.project_embeddings(store, 1)
    assert fake.calls == calls and np.array_equal(ids, ids_again)
    np.testing.assert_array_equal(first, again)
    other = store.projects.create("same tweets", LABELS)
    texts = [t for t, _ in tweets()]
    store.items.import_frame(other.id, pd.DataFrame({"text": [*texts, "a new meh tweet"]}))
    other_ids, other_vectors = embeddings.project_embeddings(store, other.id)
    assert fake.texts[-1:] == ["a new meh tweet"] and len(fake.texts) == 91  # only the new one
    assert len(other_ids) == 91
    np.testing.assert_array_equal(other_vectors[:90], first)
    texts_again = ["a new meh tweet", texts[0], "one more love"]
    np.testing.assert_array_equal(embeddings.embed_cached(texts_again)[:2], other_vectors[[90, 0]])
    assert fake.texts[-1:] == ["one more love"] and len(fake.texts) == 92
    root = embeddings.embeddings_dir() / embeddings.encoder_key(None)
    assert len(list(root.glob("*.keys.npy"))) == 3 and len(embeddings.cache_for()) == 92


def test_the_cache_merges_its_shards_and_another_reader_follows(tmp_path, monkeypatch):
    monkeypatch.setattr(embeddings, "MAX_SHARDS", 3)
    writer, reader = embeddings.EmbeddingCache(tmp_path), embeddings.EmbeddingCache(tmp_path)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(8, 4)).astype(np.float32)
    keys = [f"{i:040x}" for i in range(8)]
    for i in range(0, 8, 2):
        assert writer.put(keys[i : i + 2], vectors[i : i + 2]) == 2
        if i == 2:
            assert reader.get(keys)[0].sum() == 4  # the reader's index holds two shards
    assert writer.put(keys[:2], vectors[:2] + 1) == 0  # cached already: kept as it was
    assert len(list(tmp_path.glob("*.keys.npy"))) == 1  # four shards merged into one
    found, matrix = reader.get([keys[5], "f" * 40, keys[0]])
    assert found.tolist() == [True, False, True]
    np.testing.assert_array_equal(matrix[[0, 2]], vectors[[5, 0]])
    assert not matrix[1].any()


def test_the_embed_job_runs_through_the_runner_and_reports_progress(store, fake):
    run_id = store.runs.create(1, "embed", {"encoder": None})
    assert run_job(store, run_id) == "done"
    run = store.runs.get(run_id)
    assert run["metrics"]["computed"] == 90 and run["done"] == run["total"] == 90
    assert learning_jobs.ensure_embedding_job(store, 1) is None  # all cached: nothing to start
    assert fake.calls == 1


def test_ensure_embedding_job_starts_one_when_tweets_lack_vectors(store, fake, inline_jobs):
    first = learning_jobs.ensure_embedding_job(store, 1)
    assert first == inline_jobs[0] and store.runs.get(first)["metrics"]["computed"] == 90
    store.items.import_frame(1, pd.DataFrame({"text": ["meh, one more"]}))
    assert learning_jobs.ensure_embedding_job(store, 1) is not None
    assert fake.texts[-1] == "meh, one more"


# -- the live model -------------------------------------------------------------------------------


def test_the_live_model_retrains_every_n_labels_and_not_before(store, fake, inline_jobs):
    assert learning_jobs.LIVE_EVERY == 10
    for n in range(1, 10):
        label(store, "pool", 1)
        assert not learning_jobs.maybe_retrain(store, 1), f"retrained after {n} labels"
    label(store, "pool", 1)
    assert learning_jobs.maybe_retrain(store, 1)
    embed, first = (store.runs.get(r) for r in inline_jobs)  # tweets without vectors: embedded
    assert (embed["kind"], embed["metrics"]["computed"], fake.calls) == ("embed", 90, 1)
    assert first["kind"] == "live" and first["metrics"]["n_labels"] == 10
    assert store.predictions.count(first["id"]) == 90  # every item, pool and held-out
    for n in range(1, 10):
        label(store, "pool", 1)
        assert not learning_jobs.maybe_retrain(store, 1), f"retrained {n} labels after the last"
    label(store, "pool", 1)
    assert learning_jobs.maybe_retrain(store, 1) and len(inline_jobs) == 3  # nothing to embed
    assert store.runs.get(inline_jobs[2])["metrics"]["n_labels"] == 20
    assert not learning_jobs.maybe_retrain(store, 1)
    label(store, "heldout", 12)  # held-out labels never train: they never make a retrain due
    assert not learning_jobs.maybe_retrain(store, 1) and len(inline_jobs) == 3


def test_one_live_job_per_project_at_a_time(store, fake, monkeypatch):
    embeddings.project_embeddings(store, 1)
    running = store.runs.create(1, "live", {"n_labels": 0})
    store.runs.update(running, status="running", heartbeat=time.time())
    label(store, "pool", 12)
    assert not learning_jobs.maybe_retrain(store, 1)
    assert [r["id"] for r in store.runs.list(1, "live")] == [running]
    store.runs.update(running, status="failed")
    # two coders' key presses start two retrains at once: the later run steps aside unstarted
    ours: list[int] = []

    def racing_start(store, project_id, kind, params, **_):
        other = store.runs.create(project_id, kind, params)  # the other session's, a moment sooner
        store.runs.update(other, heartbeat=time.time())
        ours.append(store.runs.create(project_id, kind, params))
        store.runs.update(ours[0], heartbeat=time.time())
        return ours[0]

    monkeypatch.setattr(learning_jobs, "start_job", racing_start)
    assert not learning_jobs.maybe_retrain(store, 1)
    assert store.runs.get(ours[0])["status"] == "cancelling"
    assert run_job(store, ours[0]) == "cancelled" and store.predictions.count(ours[0]) == 0
    assert effective_status(store.runs.get(ours[0] - 1)) == "queued"


def test_held_out_labels_never_train(store, fake, monkeypatch):
    embeddings.project_embeddings(store, 1)
    pool = label(store, "pool", 30)
    heldout = label(store, "heldout", 15, wrong=True)  # contradicting labels: they must not teach
    fits: list[list[str]] = []
    original = classifier.fit

    def spy(embeddings_, texts, y, labels, **kw):
        fits.append(list(texts))
        return original(embeddings_, texts, y, labels, **kw)

    monkeypatch.setattr(classifier, "fit", spy)
    run_id = live.retrain(store, 1)
    texts = store.items.texts(1).set_index("id")["text"]
    assert max(len(f) for f in fits) == len(pool) == store.runs.get(run_id)["metrics"]["n_labels"]
    trained = {t for f in fits for t in f}
    assert trained == set(texts[pool]) and not trained & set(texts[heldout])
    preds = store.predictions.frame(run_id).set_index("item_id")
    assert set(heldout) <= set(preds.index)  # held-out items are predicted, for Evaluate
    assert [preds.loc[i, "label"] for i in heldout] == [said(texts[i]) for i in heldout]


def zeroshot_run(store: Store, *, right: bool) -> int:
    """A finished zero-shot run predicting every item's keyword label (right) or a wrong one,
    and the pool gold labels as they are (right) or all wrong."""
    gold = store.labels.train_and_test(1).train.set_index("id")["label"]
    run_id = store.runs.create(1, "zeroshot", {"method": "embedding"}, model="zs")
    rows = []
    for item_id, text in store.items.texts(1)[["id", "text"]].itertuples(index=False):
        lab = gold.get(item_id, said(text))
        if not right:
            lab = LABELS[(LABELS.index(lab) + 1) % 3]
        scores = [0.8 if x == lab else 0.1 for x in LABELS]
        rows.append((int(item_id), lab, 0.8, scores))
    store.predictions.put(run_id, rows)
    store.runs.update(run_id, status="done", metrics={"method": "embedding"})
    return run_id


def test_suggestions_switch_source_only_when_cv_says_so(store, fake):
    embeddings.project_embeddings(store, 1)
    source = live.suggestion_source(store, 1)
    assert source.kind is None and "no suggestions yet" in source.description
    label(store, "pool", 24)
    label(store, "pool", 6, wrong=True, skip=0)  # some noise: the live model is good, not perfect
    perfect = zeroshot_run(store, right=True)
    run_id = live.retrain(store, 1)
    m = store.runs.get(run_id)["metrics"]
    assert m["zeroshot_run"] == perfect and m["zeroshot_macro_f1"] == 1.0
    assert 0.3 < m["cv_macro_f1"] < 1.0 and not m["beats_zeroshot"]
    source = live.suggestion_source(store, 1)
    assert (source.kind, source.run["id"]) == ("zeroshot", perfect)
    assert "has not beaten it yet" in source.description and "30 labels" in source.description
    assert default_run_name(store, 1) == f"Zero-shot run #{perfect} (zs)"
    assert f"Live model run #{run_id} (30 labels)" in suggestion_runs(store, 1)

    wrong = zeroshot_run(store, right=False)  # a newer zero-shot run, wrong on every gold label
    source = live.suggestion_source(store, 1)
    assert (source.kind, source.run["id"]) == ("live", run_id)
    assert source.description.startswith("live model, 30 labels, CV macro-F1 0.")
    assert default_run_name(store, 1) == run_name(store.runs.get(run_id))
    again = live.retrain(store, 1)
    m = store.runs.get(again)["metrics"]
    assert (m["zeroshot_run"], m["zeroshot_macro_f1"], m["beats_zeroshot"]) == (wrong, 0.0, True)


def test_out_of_fold_probabilities_on_demand(store, fake):
    pool = label(store, "pool", 30)
    assert live.live_state(store, 1).oof() is None  # no live model yet
    live.retrain(store, 1)
    oof = live.live_state(store, 1).oof()
    assert sorted(oof.item_ids.tolist()) == sorted(pool) and oof.proba.shape == (30, 3)
    np.testing.assert_allclose(oof.proba.sum(axis=1), 1.0, atol=1e-6)
    assert oof.labels == LABELS and oof.given == [
        said(t) for t in store.items.texts(1).set_index("id").loc[oof.item_ids, "text"]
    ]


def test_old_live_runs_keep_only_their_labelled_heldout_predictions(store, fake):
    embeddings.project_embeddings(store, 1)
    label(store, "pool", 12)
    heldout = label(store, "heldout", 6)
    runs = [live.retrain(store, 1) for _ in range(live.KEEP_FULL_RUNS + 1)]
    assert sorted(store.predictions.frame(runs[0])["item_id"]) == sorted(heldout)  # for Evaluate
    assert all(store.predictions.count(r) == 90 for r in runs[1:])
    listed = [r["id"] for r in suggestion_runs(store, 1).values()]
    assert listed == runs[:0:-1]  # the newest three, newest first


def test_the_retrain_job_runs_through_the_job_runner(sqlite_store, fake):
    """A real background process: embeddings cached beforehand, so it loads no encoder."""
    store = sqlite_store
    embeddings.project_embeddings(store, 1)
    label(store, "pool", 10)
    assert learning_jobs.maybe_retrain(store, 1)
    run = store.runs.list(1, "live")[0]
    deadline = time.time() + 60
    while effective_status(run) in ("queued", "running") and time.time() < deadline:
        time.sleep(0.2)
        run = store.runs.get(run["id"])
    assert run["status"] == "done", run.get("error")
    assert run["metrics"]["n_labels"] == 10 and store.predictions.count(run["id"]) == 90
    assert not learning_jobs.maybe_retrain(store, 1)
