"""What each live retrain leaves for the queue and the Live model page: suspect labels (most
suspect first), the diverse order, the stopping signal and the learning curve.

Runs the live job in-process with the keyword encoder of tests/test_live_model.py."""

from __future__ import annotations

import pandas as pd
import pytest
from test_live_model import LABELS, Fake, label, said, tweets

from labeler.db.store import Store
from labeler.jobs import learning as learning_jobs
from labeler.jobs.runner import run_job
from labeler.learning import embeddings, rounds


@pytest.fixture
def store(workspace, db_url, monkeypatch) -> Store:
    monkeypatch.setattr(embeddings, "embed_texts", Fake())
    monkeypatch.setenv(learning_jobs.ENABLED_ENV, "1")
    store = Store(db_url)
    project = store.projects.create("p", LABELS, heldout_share=0.2)
    texts = [t for t, _ in tweets(n_per_label=40)]
    store.items.import_frame(project.id, pd.DataFrame({"text": texts}))
    embeddings.project_embeddings(store, project.id)
    return store


def retrain(store: Store) -> dict:
    run_id = store.runs.create(1, "live", {"seed": 0})
    assert run_job(store, run_id) == "done", store.runs.get(run_id).get("error")
    return store.runs.get(run_id)


def test_flipped_labels_come_first_in_the_suspect_queue(store):
    label(store, "pool", 45)
    flipped = label(store, "pool", 5, wrong=True)
    run = retrain(store)
    assert run["metrics"]["suspects"] >= 5
    shown, seen = [], []
    while (
        item := store.queue.next(1, where="suspect", run_id=run["id"], exclude=seen)
    ) is not None:
        seen.append(item["id"])
        shown.append(item["id"])
    assert set(shown[:5]) == set(flipped)  # most suspect first: the five wrong labels
    with store.db.read() as conn:
        quality = dict(
            conn.exec_driver_sql(
                f"SELECT item_id, suspect FROM predictions WHERE run_id={int(run['id'])}"
                " AND suspect IS NOT NULL"
            ).all()
        )
    assert [quality[i] for i in shown] == sorted(quality.values())  # in the queue's order
    live_label = store.predictions.get(run["id"], shown[0])["label"]
    assert live_label == said(store.items.get(shown[0])["text"])  # the model's label beside it


def test_the_diverse_order_covers_the_unlabelled_pool(store):
    label(store, "pool", 30)
    run = retrain(store)
    todo = store.items.texts(1, split="pool")
    todo = todo[todo["label"].isna()]
    assert run["metrics"]["diverse_ranked"] == len(todo)
    store.projects.update(1, heldout_share=0.0)  # the queue draws no held-out tweet first
    first = store.queue.next(1, order="diverse", run_id=run["id"])
    assert first is not None and first["label"] is None and first["split"] == "pool"
    with store.db.read() as conn:
        (rank,) = conn.exec_driver_sql(
            f"SELECT diverse_rank FROM predictions WHERE run_id={int(run['id'])}"
            f" AND item_id={int(first['id'])}"
        ).one()
    assert rank == 0  # the queue asks the diverse order's first tweet first


def test_the_queue_orders_by_margin_and_entropy(store):
    store.projects.update(1, heldout_share=0.0)  # the queue draws no held-out tweet first
    pool = store.items.texts(1, split="pool")["id"].tolist()[:3]
    run = store.runs.create(1, "zeroshot", {"labels": LABELS})
    scores = {  # top 0.7 / 0.5 / 0.45; margins 0.5 / 0.02 / 0.05; entropies 0.80 / 0.78 / 1.01
        pool[0]: [0.7, 0.2, 0.1],
        pool[1]: [0.5, 0.48, 0.02],
        pool[2]: [0.4, 0.15, 0.45],
    }
    store.predictions.put(run, [(i, LABELS[int(max(range(3), key=s.__getitem__))], max(s), s)
                                for i, s in scores.items()])  # fmt: skip
    store.runs.update(run, status="done")
    assert store.queue.next(1, order="margin", run_id=run)["id"] == pool[1]
    assert store.queue.next(1, order="entropy", run_id=run)["id"] == pool[2]
    assert store.queue.next(1, order="least-confident", run_id=run)["id"] == pool[2]


def test_the_stop_signal_compares_retrains_on_the_same_tweets(store, monkeypatch):
    monkeypatch.setattr(rounds, "STOP_SET", 20)  # a sample of the pool, not all of it
    label(store, "pool", 30)
    first = retrain(store)["metrics"]
    assert first["stop_kappas"] == [] and "two retrains" in first["stop_message"]
    label(store, "pool", 10)
    second = retrain(store)["metrics"]
    assert set(second["stop_predictions"]) == set(first["stop_predictions"])
    assert len(second["stop_kappas"]) == 1 and second["stop_kappas"][0] > 0.9  # separable: stable


def test_the_learning_curve_and_short_labels_are_kept_with_the_run(store):
    label(store, "pool", 40)
    metrics = retrain(store)["metrics"]
    curve = metrics["curve"]
    assert curve["n_labels"] == 40 and len(curve["points"]) >= 2
    assert max(p["n"] for p in curve["points"]) <= 40
    assert isinstance(metrics["projection"], str) and metrics["projection"]
    counts = pd.Series([said(t) for t in store.labels.train_and_test(1).train["text"]])
    assert metrics["short_labels"] == {
        lab: int(counts.eq(lab).sum()) for lab in LABELS if counts.eq(lab).sum() < 30
    }
