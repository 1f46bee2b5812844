"""Which scores stand behind a suggestion: the newest zero-shot run or the newest model's predictions."""

from __future__ import annotations

from typing import Any

from .db.store import Store


def suggestion_runs(store: Store, project_id: int) -> dict[str, dict[str, Any]]:
    """Finished runs whose scores can order the queue and suggest labels, newest first:
    {"Zero-shot (model)": run, "Model #3 (base)": run}."""
    out: dict[str, dict[str, Any]] = {}
    for run in store.runs.list(project_id):
        if run["status"] != "done" or run["kind"] not in ("zeroshot", "predict", "train"):
            continue
        if run["kind"] == "zeroshot":
            name = f"Zero-shot run #{run['id']} ({run.get('model') or 'model'})"
        elif run["kind"] == "predict":
            name = f"Predictions run #{run['id']} ({run.get('model') or 'model'})"
        else:
            continue  # a training run's own scores cover the held-out items only
        out[name] = run
    return out
