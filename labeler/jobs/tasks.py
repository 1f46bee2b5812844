"""What each background job does: engines run against the store (not through the file CLIs).

Each task reads its parameters from the run row, calls an engine with the run's reporter for
progress and cancellation, writes results to the store as it goes, and returns its metrics.

- zero-shot: scores go through the store's score cache after every batch, so a rerun resumes;
- training: the pool's human (and imported, and optionally accepted) labels train; the held-out
  items' human labels score the model, the same items zero-shot is scored on, and the model's
  held-out predictions are stored with the run so Evaluate compares like with like;
- prediction: scores in chunks through the score cache, so an interrupted run resumes;
- with `engine: "ray"` in its parameters, zero-shot and prediction score the texts the cache
  lacks on a Ray cluster first (`labeler.distributed.store_jobs`); the rest is the same;
- embed, live: the learning loop's cached embeddings and live model (`labeler.learning`; started
  by `labeler.jobs.learning`).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections import Counter
from typing import Any

import numpy as np

from ..db.store import Store
from ..errors import Cancelled, DataError, JobError
from ..text import text_key
from ..workspace import models_dir


def zeroshot_settings(params: dict[str, Any]):
    """ZeroShotSettings from a run's parameters (extra keys such as `sample` are ignored)."""
    from ..zeroshot.settings import ZeroShotSettings

    fields = {f.name for f in dataclasses.fields(ZeroShotSettings)}
    return ZeroShotSettings(**{k: v for k, v in params.items() if k in fields})


def select_items(store: Store, project_id: int, sample: int | None):
    """All items, or a fixed random sample of them (the same sample on every rerun)."""
    df = store.items.texts(project_id)
    if sample and sample < len(df):
        df = df.sample(n=sample, random_state=0).sort_values("id")
    return df


def zeroshot_task(store: Store, run: dict[str, Any], reporter) -> dict[str, Any]:
    from ..zeroshot.base import cached_result
    from ..zeroshot.load import describe_zeroshot, load_zeroshot

    params = run["params"]
    settings = zeroshot_settings(params)
    items = select_items(store, run["project_id"], params.get("sample"))
    texts = items["text"].tolist()
    if params.get("engine") == "ray":
        # the Ray workers load the model; here only its name and run key, from its config
        from ..distributed.workers import Job

        name, key = describe_zeroshot(settings)
        store.runs.update(run["id"], model=name, run_key=key)
        names = [f"zs_score_{lab}" for lab in settings.labels]
        job = Job("prelabel", "text", settings.batch_size, zeroshot=dict(settings.__dict__))
        fill_cache_on_ray(
            store, job, key, texts,
            lambda frame: frame[names].to_numpy().tolist(), params, reporter,
        )  # fmt: skip
        result = cached_result(store.scores, key, texts, settings.labels)
    else:
        reporter.progress(0, 0, message="Loading the model…", force=True)
        model = load_zeroshot(settings)
        store.runs.update(run["id"], model=model.display_name, run_key=model.run_key)

        def progress(done: int, total: int, rate: float, eta: float | None) -> None:
            reporter.progress(
                done, total, rate, eta, message=f"Scoring tweets with {model.display_name}"
            )

        result = model.score(
            texts, progress=progress, should_cancel=reporter.should_cancel, cache=store.scores
        )
    store.predictions.put(
        run["id"],
        zip(
            items["id"].tolist(), result.labels, result.confidence.tolist(), result.scores.tolist()
        ),
    )
    return {
        "items": len(items),
        "distribution": dict(Counter(result.labels)),
        "mean_confidence": float(result.confidence.mean()) if len(items) else None,
        "method": settings.method,
    }


PREDICT_CHUNK = 256


def fill_cache_on_ray(store, job, key, texts, columns, params, reporter) -> None:
    """Score on Ray the texts the score cache lacks under `key`, and cache them: the task then
    reads every text's scores from the cache."""
    from ..distributed.store_jobs import score_texts

    unique = {text_key(t): t for t in texts}
    cached = store.scores.get_scores(key, list(unique))
    todo = {k: t for k, t in unique.items() if k not in cached}

    def progress(done: int, total: int, rate: float, eta: float | None) -> None:
        reporter.progress(done, total, rate, eta, message="Scoring tweets on the Ray cluster")

    reporter.progress(0, len(todo), message="Starting Ray workers…", force=True)
    new = score_texts(job, key, todo, columns, params, progress, reporter.should_cancel)
    store.scores.put_scores(key, new)


def train_settings(params: dict[str, Any]):
    from ..training.settings import TrainSettings

    fields = {f.name for f in dataclasses.fields(TrainSettings)}
    return TrainSettings(**{k: v for k, v in params.items() if k in fields})


def model_folder(project_id: int, run_id: int):
    return models_dir() / f"project-{project_id}" / f"run-{run_id}"


def run_training(store: Store, run: dict[str, Any], reporter) -> dict[str, Any]:
    from ..models.classifier import predict
    from ..training.run import train_classifier

    params = run["params"]
    project = store.projects.get(run["project_id"])
    settings = train_settings(params)
    train, test = store.labels.train_and_test(
        project.id, include_accepted=params.get("include_accepted")
    )
    if train.empty:
        raise DataError(
            "No labelled pool tweets to train on: label some on Annotate (held-out tweets are the "
            "test set and never train)."
        )
    log: list[dict[str, Any]] = []
    started = time.time()

    def progress(p) -> None:
        if p.loss is not None:
            log.append(
                {"step": p.step, "epoch": round(p.epoch, 3), "loss": p.loss, "phase": p.phase}
            )
        loss = f", loss {p.loss:.3f}" if p.loss is not None else ""
        reporter.progress(
            p.step,
            p.total_steps,
            p.samples_per_s,
            p.eta_s,
            message=f"{p.phase}: epoch {p.epoch:.1f}{loss}",
            log=log,
        )

    known = set(train["label"])
    test = test[test["label"].isin(known)]  # a label with no training example cannot be predicted
    out = model_folder(project.id, run["id"])
    result = train_classifier(
        train["text"].tolist(),
        train["label"].tolist(),
        settings,
        out,
        eval_texts=test["text"].tolist() if len(test) else None,
        eval_labels=test["label"].tolist() if len(test) else None,
        progress=progress,
        should_cancel=reporter.should_cancel,
        label_order=[lab for lab in project.labels if lab in known],
    )
    try:
        if len(test):
            preds = predict(result.model_dir, test["text"].tolist())
            store.predictions.put(
                run["id"],
                zip(
                    test["id"].tolist(),
                    preds.labels,
                    preds.probs.max(axis=1).tolist(),
                    _in_project_order(preds.probs, preds.label_names, project.labels),
                ),
            )
    except BaseException:  # a model without its held-out scores is never listed: no folder left
        shutil.rmtree(result.model_dir, ignore_errors=True)
        raise
    store.runs.update(
        run["id"],
        artifact_path=str(result.model_dir),
        model=result.base_model,
        log=result.log or log,
    )
    metrics = dict(result.metrics or {})
    metrics.update(
        n_train=len(train),
        n_test=len(test),
        train_counts=result.train_counts,
        base_model=result.base_model,
        seconds=round(time.time() - started, 1),
        labels=result.labels,
    )
    return metrics


def _in_project_order(probs: np.ndarray, names: list[str], labels: list[str]) -> list[list[float]]:
    """Scores as columns of the project's labels (0 for a label the model never saw)."""
    index = {n: j for j, n in enumerate(names)}
    return [[float(row[index[lab]]) if lab in index else 0.0 for lab in labels] for row in probs]


def run_prediction(store: Store, run: dict[str, Any], reporter) -> dict[str, Any]:
    from ..models.classifier import load_classifier, predict

    params = run["params"]
    project = store.projects.get(run["project_id"])
    source = store.runs.get(int(params["model_run"]))
    if source["status"] != "done" or not source.get("artifact_path"):
        raise JobError(f"Model run #{source['id']} has no saved model; train one first.")
    clf = load_classifier(source["artifact_path"])
    store.runs.update(
        run["id"],
        model=f"model #{source['id']} ({source.get('model')})",
        run_key=f"model:{source['artifact_path']}",
    )
    items = store.items.texts(project.id)
    if params.get("scope", "unlabelled") == "unlabelled":
        items = items[items["label"].isna()]
    key = f"model:{source['artifact_path']}"
    texts = items["text"].tolist()
    if params.get("engine") == "ray":
        from ..distributed.workers import Job

        def in_project_order(frame) -> list[list[float]]:
            cols = [c for c in frame.columns if c.startswith("pred_score_")]
            names = [c.removeprefix("pred_score_") for c in cols]
            return _in_project_order(frame[cols].to_numpy(), names, project.labels)

        job = Job("predict", "text", 64, model_dir=source["artifact_path"])
        fill_cache_on_ray(store, job, key, texts, in_project_order, params, reporter)
    keys = [text_key(t) for t in texts]
    cached = store.scores.get_scores(key, list(dict.fromkeys(keys)))
    todo = [i for i, k in enumerate(keys) if k not in cached]
    total, done, started = len(texts), len(texts) - len(todo), time.perf_counter()
    reporter.progress(done, total, message="Predicting", force=True)
    for start in range(0, len(todo), PREDICT_CHUNK):
        if reporter.should_cancel():
            raise Cancelled("Prediction cancelled; finished tweets are kept and a rerun resumes.")
        chunk = todo[start : start + PREDICT_CHUNK]
        preds = predict(clf, [texts[i] for i in chunk])
        new = {
            keys[i]: _in_project_order(preds.probs[j : j + 1], preds.label_names, project.labels)[0]
            for j, i in enumerate(chunk)
        }
        store.scores.put_scores(key, new)
        cached.update(new)
        done += len(chunk)
        rate = (done - (total - len(todo))) / max(time.perf_counter() - started, 1e-6)
        reporter.progress(
            done, total, rate, (total - done) / rate if rate else None, message="Predicting"
        )
    rows = []
    for item_id, k in zip(items["id"].tolist(), keys):
        scores = cached[k]
        j = int(np.argmax(scores))
        rows.append((item_id, project.labels[j], float(scores[j]), scores))
    store.predictions.put(run["id"], rows)
    return {"items": len(rows), "model_run": source["id"]}


def embed_task(store: Store, run: dict[str, Any], reporter) -> dict[str, Any]:
    """Embed every tweet of the project the cache lacks (labeler.learning.embeddings)."""
    from ..learning import embeddings

    encoder, project_id = run["params"].get("encoder"), run["project_id"]
    missing = embeddings.missing_count(store, project_id, encoder)
    reporter.progress(0, missing, message="Loading the sentence encoder…", force=True)

    def progress(done: int, total: int, rate: float, eta: float | None) -> None:
        reporter.progress(done, total, rate, eta, message="Embedding tweets")

    ids, _ = embeddings.project_embeddings(
        store, project_id, encoder=encoder, progress=progress, cancel=reporter.should_cancel
    )
    reporter.progress(missing, missing, message="Embedded.", force=True)
    return {"items": len(ids), "computed": missing, "encoder": embeddings.encoder_key(encoder)}


def live_task(store: Store, run: dict[str, Any], reporter) -> dict[str, Any]:
    """Refit the live model on the pool's gold labels (labeler.learning.live); a run cancelled
    as it starts (the later of two started at once, labeler.jobs.learning) does nothing."""
    from ..learning.live import fit_run
    from ..learning.rounds import after_fit

    if reporter.should_cancel():
        raise Cancelled("Skipped: another live run is already retraining this project.")
    params = run["params"]
    metrics = fit_run(
        store,
        run["project_id"],
        run["id"],
        encoder=params.get("encoder"),
        seed=int(params.get("seed", 0)),
        progress=lambda message: reporter.progress(0, 0, message=message, force=True),
        cancel=reporter.should_cancel,
    )
    reporter.progress(0, 0, message="Suspect labels, queue order, learning curve…", force=True)
    metrics.update(after_fit(store, run["project_id"], run["id"], metrics))
    return metrics


TASKS = {
    "zeroshot": zeroshot_task,
    "train": run_training,
    "predict": run_prediction,
    "embed": embed_task,
    "live": live_task,
}
