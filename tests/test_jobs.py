"""Background jobs: progress while running, cancel, stale jobs shown as stopped, limits, resume.

Resume and cancel are checked by what the engine does, not only by the run's counters: a restarted
job feeds the model only the texts the score cache lacks (counted at the model's forward pass), a
cancelled one stops within a bound and keeps exactly the texts it finished, with the right scores.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from tiny_models import varied_texts

from labeler.db.store import Store
from labeler.errors import Cancelled, JobError
from labeler.jobs import tasks
from labeler.jobs.runner import Reporter, cancel_job, effective_status, run_job, start_job
from labeler.text import text_key

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


# A cancel is seen at the job's next check (the reporter asks the store at most every 0.3 s) and
# the job stops before its next batch: with batches of one pair, well within this.
CANCEL_BOUND_S = 3.0


class Killed(BaseException):
    """Stands for SIGKILL inside the process: nothing catches it and the run stays 'running'."""


class Forwards:
    """Every premise the NLI model is fed in this process (one per (tweet, hypothesis) pair);
    `hook(calls)` runs before each forward pass, to cancel, kill or slow the job at a set point."""

    def __init__(self) -> None:
        self.premises: list[str] = []
        self.calls = 0
        self.hook = None


@pytest.fixture
def forwards(monkeypatch) -> Forwards:
    from labeler.zeroshot.nli import NLIZeroShot

    record = Forwards()
    original = NLIZeroShot._forward

    def spy(self, premises, hypotheses):
        record.calls += 1
        if record.hook is not None:
            record.hook(record.calls)
        record.premises.extend(premises)
        return original(self, premises, hypotheses)

    monkeypatch.setattr(NLIZeroShot, "_forward", spy)
    return record


def finished_texts(forwards: Forwards) -> set[str]:
    """Texts all of whose pairs (one per label) the model has been fed."""
    return {t for t, n in Counter(forwards.premises).items() if n == len(LABELS)}


def texts_and_keys(store: Store, project_id: int = 1) -> tuple[list[str], list[str]]:
    texts = store.items.texts(project_id)["text"].tolist()
    return texts, [text_key(t) for t in texts]


def fresh_scores(params: dict, texts: list[str]) -> np.ndarray:
    """What one uninterrupted run scores (no cache): resumed or kept scores must equal it."""
    from labeler.zeroshot.load import load_zeroshot

    return load_zeroshot(tasks.zeroshot_settings(params)).score(texts).scores


def assert_resume_scores_only_uncached(
    store: Store, params: dict, run_key: str, forwards: Forwards
) -> None:
    """Restart a stopped zero-shot job with `params` (in this process, to watch its model): the
    model sees only the texts the cache lacks, each pair once; the cache gets only those; the
    results equal an uninterrupted run's."""
    texts, keys = texts_and_keys(store)
    cached = store.scores.get_scores(run_key, keys)
    assert 0 < len(cached) < len(texts), f"{len(cached)} of {len(texts)} cached: no resume to test"
    written: list[str] = []
    put_scores = store.scores.put_scores

    def spy(key, scores):
        written.extend(scores)
        return put_scores(key, scores)

    store.scores.put_scores = spy
    forwards.premises.clear()
    again = store.runs.create(1, "zeroshot", params)
    try:
        assert run_job(store, again) == "done"
    finally:
        del store.scores.put_scores
    todo = {t for t, k in zip(texts, keys, strict=True) if k not in cached}
    assert set(forwards.premises) == todo  # no cached text went through the model again
    assert len(forwards.premises) == len(todo) * len(LABELS)  # each uncached pair once
    assert not set(written) & set(cached), "cached scores were written again"
    assert set(written) | set(cached) == set(keys)
    run = store.runs.get(again)
    assert run["run_key"] == run_key and run["done"] == run["total"] == len(texts)
    preds = store.predictions.frame(again)
    assert len(preds) == len(texts)
    scores = np.array(preds["scores"].tolist())
    np.testing.assert_allclose(scores, fresh_scores(params, texts), atol=1e-5)


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


def kill_group(pid: int | None) -> None:
    """End a job process this test started (and its children), if it still runs."""
    if pid:
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def assert_kept_scores_are_right(store: Store, params: dict, run_key: str) -> set[str]:
    """The scores a stopped job kept are those an uninterrupted run gives; returns their keys."""
    texts, keys = texts_and_keys(store)
    kept = store.scores.get_scores(run_key, keys)
    done = [(t, k) for t, k in zip(texts, keys, strict=True) if k in kept]
    assert done, "nothing was kept"
    sample = done[:: max(1, len(done) // 40)]  # up to ~40 of them, spread out
    expected = fresh_scores(params, [t for t, _ in sample])
    np.testing.assert_allclose([kept[k] for _, k in sample], expected, atol=1e-5)
    return set(kept)


def test_cancel_stops_a_running_job_and_keeps_its_scores(store, tiny_models):
    import pandas as pd

    more = [f"another tweet {i} on shorter weeks" for i in range(2000)]  # long enough to cancel
    store.items.import_frame(1, pd.DataFrame({"text": more}))
    params = {**zs_params(tiny_models["nli_bert"]), "batch_size": 1}
    run_id = start_job(store, 1, "zeroshot", params)
    try:
        deadline = time.time() + 60
        while store.runs.get(run_id)["done"] < 5 and time.time() < deadline:
            time.sleep(0.1)
        cancel_job(store, run_id)
        asked = time.time()
        run = wait(store, run_id, timeout=CANCEL_BOUND_S + 2)  # + the poll and a busy machine
        stopped_after = time.time() - asked
    finally:
        kill_group(store.runs.get(run_id)["pid"])  # only if it ignored the cancel
    assert run["status"] == "cancelled" and "cancelled after" in run["message"]
    assert stopped_after < CANCEL_BOUND_S + 2
    assert 0 < run["done"] < 2120
    kept = assert_kept_scores_are_right(store, params, run["run_key"])
    assert run["done"] <= len(kept) < 2120
    time.sleep(0.5)
    assert store.scores.count() == len(kept)  # nothing written after it said it stopped


def test_cancel_in_process_stops_within_a_bound_and_keeps_what_it_finished(
    store, tiny_models, forwards
):
    params = {**zs_params(tiny_models["nli_bert"]), "batch_size": 1}
    run_id = store.runs.create(1, "zeroshot", params)
    asked: list[float] = []

    def cancel_then_slow(calls: int) -> None:
        # Pairs go longest first across all tweets, so a tweet finishes with its shortest pair:
        # cancel once ten have finished, then make the rest slow (1 s and more) to cut short.
        if not asked and len(finished_texts(forwards)) >= 10:
            cancel_job(store, run_id)
            asked.append(time.perf_counter())
        if asked:
            time.sleep(0.01)

    forwards.hook = cancel_then_slow
    assert run_job(store, run_id) == "cancelled"
    assert time.perf_counter() - asked[0] < 1.0  # 0.3 s between checks, one pair per batch
    forwards.hook, finished = None, finished_texts(forwards)
    run = store.runs.get(run_id)
    assert "cancelled after" in run["message"] and run["done"] < 120
    # Kept: exactly the tweets all of whose pairs went through, each scored right.
    kept = assert_kept_scores_are_right(store, params, run["run_key"])
    assert kept == {text_key(t) for t in finished} and 10 <= len(kept) < 120
    assert not store.predictions.frame(run_id).shape[0]  # a cancelled run lists no predictions


def test_killed_job_resumes_where_it_stopped(store, tiny_models, forwards):
    import pandas as pd

    more = [f"one more tweet {i} on the week" for i in range(400)]  # not done before the kill
    store.items.import_frame(1, pd.DataFrame({"text": more}))
    params = {**zs_params(tiny_models["nli_bert"]), "batch_size": 1}
    run_id = start_job(store, 1, "zeroshot", params)
    try:
        deadline = time.time() + 60
        while store.runs.get(run_id)["done"] < 10 and time.time() < deadline:
            time.sleep(0.05)
    finally:
        kill_group(store.runs.get(run_id)["pid"])
    time.sleep(0.3)
    run = store.runs.get(run_id)
    assert run["status"] == "running"  # killed: it never said it stopped
    store.runs.update(run_id, heartbeat=time.time() - 3600)  # what a dead job looks like later
    assert effective_status(store.runs.get(run_id)) == "stopped"
    # The batch size is not part of the run key: resume in bigger batches, it is quicker.
    resume = {**params, "batch_size": 32}
    assert_resume_scores_only_uncached(store, resume, run["run_key"], forwards)


def test_crashed_job_resumes_scoring_only_uncached_texts(store, tiny_models, forwards):
    # As the test above, in one process (seconds instead of a subprocess's start-up).
    params = zs_params(tiny_models["nli_distilbert"])  # batches of 8 pairs
    run_id = store.runs.create(1, "zeroshot", params)

    def die(calls: int) -> None:
        if calls == 20:
            raise Killed

    forwards.hook = die
    with pytest.raises(Killed):
        run_job(store, run_id)
    forwards.hook = None
    run = store.runs.get(run_id)
    assert run["status"] == "running"
    assert_resume_scores_only_uncached(store, params, run["run_key"], forwards)


# -- prediction -----------------------------------------------------------------------------------


class ScriptedReporter:
    """A job reporter whose cancel answers are scripted: True from the `cancel_at`-th check."""

    def __init__(self, cancel_at: int | None = None):
        self.cancel_at = cancel_at
        self.checks = 0
        self.reports: list[tuple[int, int]] = []

    def progress(self, done, total, *a, **k) -> None:
        self.reports.append((done, total))

    def should_cancel(self) -> bool:
        self.checks += 1
        return self.cancel_at is not None and self.checks >= self.cancel_at


def pipeline_probs(model: Path, texts: list[str]) -> np.ndarray:
    """The text-classification pipeline's probabilities, as columns of the project's LABELS."""
    from transformers import pipeline

    pipe = pipeline("text-classification", model=str(model), top_k=None)
    rows = [{d["label"]: d["score"] for d in out} for out in pipe(texts)]
    return np.array([[row[lab] for lab in LABELS] for row in rows])


def test_prediction_cancel_keeps_finished_chunks_and_resume_predicts_only_the_rest(
    store, stance_model, monkeypatch
):
    import pandas as pd

    from labeler.models import classifier

    project = store.projects.create("predict", LABELS, heldout_share=0.0)
    store.items.import_frame(project.id, pd.DataFrame({"text": varied_texts(120)}))
    monkeypatch.setattr(tasks, "PREDICT_CHUNK", 16)
    fed: list[str] = []
    predict = classifier.predict

    def spy(clf, texts, *a, **k):
        fed.extend(texts)
        return predict(clf, texts, *a, **k)

    monkeypatch.setattr(classifier, "predict", spy)
    source = store.runs.create(project.id, "train", {})
    store.runs.update(source, status="done", artifact_path=str(stance_model), model="tiny")
    params = {"model_run": source, "scope": "all"}
    texts, keys = texts_and_keys(store, project.id)
    assert len(set(keys)) == len(keys) == 120
    key = f"model:{stance_model}"

    first = store.runs.create(project.id, "predict", params)
    reporter = ScriptedReporter(cancel_at=3)  # cancel asked before the third chunk
    with pytest.raises(Cancelled):
        tasks.run_prediction(store, store.runs.get(first), reporter)
    assert fed == texts[:32]  # two chunks, then it stopped
    kept = store.scores.get_scores(key, keys)
    assert set(kept) == set(keys[:32])  # ...and kept both

    fed.clear()
    again = store.runs.create(project.id, "predict", params)
    reporter = ScriptedReporter()
    tasks.run_prediction(store, store.runs.get(again), reporter)
    assert reporter.reports[0] == (32, 120)  # the kept texts count as done at once
    assert fed == texts[32:]  # only the rest went through the model
    preds = store.predictions.frame(again)
    scores = np.array(preds["scores"].tolist())
    expected = pipeline_probs(stance_model, texts)
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    assert preds["label"].tolist() == [LABELS[j] for j in expected.argmax(axis=1)]
    assert len(set(preds["label"])) == 3  # labels vary: a mix-up of rows or columns shows
