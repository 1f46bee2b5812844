"""Background jobs: progress while running, cancel, stale jobs shown as stopped, limits, resume."""

from __future__ import annotations

import os
import signal
import time

import pytest

from labeler.db.store import Store
from labeler.errors import JobError
from labeler.jobs.runner import Reporter, cancel_job, effective_status, run_job, start_job

LABELS = ["AGAINST", "FAVOR", "NONE"]


@pytest.fixture
def store(workspace, db_url) -> Store:
    """A project of 120 tweets on each engine (jobs get the database URL from their parent)."""
    import pandas as pd

    store = Store(db_url)
    project = store.projects.create("p", LABELS, heldout_share=0.0)
    texts = [f"tweet number {i} about the four day week #{i % 7}" for i in range(120)]
    store.items.import_frame(project.id, pd.DataFrame({"text": texts}))
    return store


def zs_params(model) -> dict:
    return {"model": str(model), "labels": LABELS, "method": "nli", "batch_size": 8}


def wait(store: Store, run_id: int, timeout: float = 90) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        run = store.runs.get(run_id)
        if effective_status(run) not in ("queued", "running", "cancelling"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still {store.runs.get(run_id)['status']}")


def test_zeroshot_job_reports_progress_and_stores_every_prediction(store, tiny_models):
    reporter_updates = []
    original = Reporter.progress

    def spy(self, done, total, *a, **k):
        reporter_updates.append((done, total))
        return original(self, done, total, *a, **k)

    Reporter.progress = spy
    try:
        run_id = store.runs.create(1, "zeroshot", zs_params(tiny_models["nli_bert"]))
        assert run_job(store, run_id) == "done"
    finally:
        Reporter.progress = original
    run = store.runs.get(run_id)
    assert run["done"] == run["total"] == 120
    assert len(reporter_updates) >= 4  # several updates even for a run of a second or two
    preds = store.predictions.frame(run_id)
    assert len(preds) == 120 and set(preds["label"]) <= set(LABELS)
    assert run["metrics"]["items"] == 120


def test_second_run_reuses_cached_scores(store, tiny_models):
    first = store.runs.create(1, "zeroshot", zs_params(tiny_models["nli_bert"]))
    run_job(store, first)
    second = store.runs.create(1, "zeroshot", zs_params(tiny_models["nli_bert"]))
    started = time.perf_counter()
    run_job(store, second)
    a, b = store.predictions.frame(first), store.predictions.frame(second)
    assert a["label"].tolist() == b["label"].tolist()
    assert store.runs.get(second)["rate"] == 0.0  # nothing was scored again
    assert time.perf_counter() - started < 30


def test_failed_job_shows_a_sentence(store):
    run_id = store.runs.create(1, "zeroshot", {"model": "/nonexistent/model", "labels": LABELS})
    assert run_job(store, run_id) == "failed"
    error = store.runs.get(run_id)["error"]
    assert "does not exist" in error and "Traceback" not in error


def test_one_job_of_a_kind_per_project_and_a_server_cap(store, monkeypatch):
    live = store.runs.create(1, "zeroshot", {"labels": LABELS})
    store.runs.update(live, status="running", heartbeat=time.time())
    with pytest.raises(JobError, match="already running in this project"):
        start_job(store, 1, "zeroshot", {})
    other = store.projects.create("q", LABELS)
    monkeypatch.setenv("TWEET_LABELER_MAX_JOBS", "1")
    with pytest.raises(JobError, match="limit is 1"):
        start_job(store, other.id, "zeroshot", {})


def test_job_without_heartbeat_is_stopped_and_blocks_nothing(store):
    dead = store.runs.create(1, "zeroshot", {"labels": LABELS})
    store.runs.update(dead, status="running", heartbeat=time.time() - 3600)
    assert effective_status(store.runs.get(dead)) == "stopped"
    fresh = start_job(store, 1, "zeroshot", {"labels": LABELS, "model": "/nonexistent"})
    assert wait(store, fresh)["status"] == "failed"


def test_cancel_stops_a_running_job_and_keeps_its_scores(store, tiny_models):
    import pandas as pd

    more = [f"another tweet {i} on shorter weeks" for i in range(2000)]  # long enough to cancel
    store.items.import_frame(1, pd.DataFrame({"text": more}))
    params = {**zs_params(tiny_models["nli_bert"]), "batch_size": 1}
    run_id = start_job(store, 1, "zeroshot", params)
    deadline = time.time() + 60
    while store.runs.get(run_id)["done"] < 5 and time.time() < deadline:
        time.sleep(0.1)
    cancel_job(store, run_id)
    run = wait(store, run_id)
    assert run["status"] == "cancelled"
    assert 0 < run["done"] < 2120
    kept = store.scores.count()
    assert kept >= run["done"] - 1


def test_killed_job_resumes_where_it_stopped(store, tiny_models):
    params = {**zs_params(tiny_models["nli_bert"]), "batch_size": 1}
    run_id = start_job(store, 1, "zeroshot", params)
    deadline = time.time() + 60
    while store.runs.get(run_id)["done"] < 10 and time.time() < deadline:
        time.sleep(0.1)
    os.killpg(os.getpgid(store.runs.get(run_id)["pid"]), signal.SIGKILL)
    time.sleep(0.3)
    scored_before = store.scores.count()
    assert scored_before >= 10
    store.runs.update(run_id, heartbeat=time.time() - 3600)  # what a dead job looks like later
    assert effective_status(store.runs.get(run_id)) == "stopped"
    again = start_job(store, 1, "zeroshot", params)
    run = wait(store, again)
    assert run["status"] == "done"
    progress_at_start = scored_before  # the new run counted the cached texts as done at once
    assert run["done"] == 120 and progress_at_start >= 10
    assert len(store.predictions.frame(again)) == 120
