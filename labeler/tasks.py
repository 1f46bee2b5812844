"""What each background job does: engines run against the store (not through the file CLIs).

Each task reads its parameters from the run row, calls an engine with the run's reporter for
progress and cancellation, writes results to the store as it goes, and returns its metrics.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from .store import Store


def zeroshot_settings(params: dict[str, Any]):
    """ZeroShotSettings from a run's parameters (extra keys such as `sample` are ignored)."""
    from .zeroshot import ZeroShotSettings

    fields = {f.name for f in dataclasses.fields(ZeroShotSettings)}
    return ZeroShotSettings(**{k: v for k, v in params.items() if k in fields})


def select_items(store: Store, project_id: int, sample: int | None):
    """All items, or a fixed random sample of them (the same sample on every rerun)."""
    df = store.texts(project_id)
    if sample and sample < len(df):
        df = df.sample(n=sample, random_state=0).sort_values("id")
    return df


def zeroshot_task(store: Store, run: dict[str, Any], reporter) -> dict[str, Any]:
    from .zeroshot import load_zeroshot

    params = run["params"]
    settings = zeroshot_settings(params)
    reporter.progress(0, 0, message="Loading the model…", force=True)
    model = load_zeroshot(settings)
    store.update_run(run["id"], model=model.display_name, run_key=model.run_key)
    items = select_items(store, run["project_id"], params.get("sample"))

    def progress(done: int, total: int, rate: float, eta: float | None) -> None:
        reporter.progress(
            done, total, rate, eta, message=f"Scoring tweets with {model.display_name}"
        )

    result = model.score(
        items["text"].tolist(), progress=progress, should_cancel=reporter.should_cancel, cache=store
    )
    store.put_predictions(
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


def train_task(store: Store, run: dict[str, Any], reporter) -> dict[str, Any]:
    from .training_jobs import run_training

    return run_training(store, run, reporter)


def predict_task(store: Store, run: dict[str, Any], reporter) -> dict[str, Any]:
    from .training_jobs import run_prediction

    return run_prediction(store, run, reporter)


TASKS = {"zeroshot": zeroshot_task, "train": train_task, "predict": predict_task}
