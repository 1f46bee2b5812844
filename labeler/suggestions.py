"""Which scores stand behind a suggestion: zero-shot runs, a trained model's predictions, the live
model's runs; by default the source `labeler.learning.live.suggestion_source` picks by CV."""

from __future__ import annotations

from typing import Any

from .db.store import Store
from .learning.live import KEEP_FULL_RUNS, Source, suggestion_source


def run_name(run: dict[str, Any]) -> str | None:
    """The name a run is listed under, None for a run that cannot suggest (a training run's own
    scores cover the held-out items only; a live run without a model covers none)."""
    if run["kind"] == "zeroshot":
        return f"Zero-shot run #{run['id']} ({run.get('model') or 'model'})"
    if run["kind"] == "predict":
        return f"Predictions run #{run['id']} ({run.get('model') or 'model'})"
    metrics = run.get("metrics") or {}
    if run["kind"] == "live" and metrics.get("features"):
        return f"Live model run #{run['id']} ({metrics.get('n_labels', 0):,} labels)"
    return None


def suggestion_runs(store: Store, project_id: int) -> dict[str, dict[str, Any]]:
    """Finished runs whose scores can order the queue and suggest labels, newest first:
    {"Live model run #12 (140 labels)": run, "Zero-shot run #3 (model)": run, ...}; of the live
    runs, the newest KEEP_FULL_RUNS (older ones keep only their held-out predictions)."""
    out: dict[str, dict[str, Any]] = {}
    live_runs = 0
    for run in store.runs.list(project_id):
        name = run_name(run) if run["status"] == "done" else None
        if name is None:
            continue
        if run["kind"] == "live":  # older ones are superseded, their pool predictions dropped
            live_runs += 1
            if live_runs > KEEP_FULL_RUNS:
                continue
        out[name] = run
    return out


def default_source(store: Store, project_id: int) -> tuple[str | None, Source]:
    """(the name of the run that suggests by default, the source with its line for the card):
    the newest live run when its CV macro-F1 beats zero-shot's on the same labels, else the
    newest zero-shot run."""
    source = suggestion_source(store, project_id)
    return (run_name(source.run) if source.run else None), source


def default_run_name(store: Store, project_id: int) -> str | None:
    """The name (a key of `suggestion_runs`) of the run that suggests by default."""
    return default_source(store, project_id)[0]
