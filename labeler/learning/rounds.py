"""What each live retrain adds beside the model, for the queue and the Live model page:

- suspect labels: out-of-fold probabilities -> cleanlab -> each flagged label's quality score on
  the run's predictions (`suspect`, low = most suspect), the Annotate "suspect labels" queue;
- the diverse order: cluster-balanced uncertainty over the unlabelled pool (`diverse_rank`);
- the stopping signal: the run's predictions on a fixed stop set of pool tweets, compared with
  the previous retrains' (stabilising predictions);
- the learning curve: cross-validated macro-F1 against the number of gold labels, its fitted law
  and projection, and the labels short of examples.

Each is computed in the live job, after the model, and kept in the run's metrics or prediction
keys, so pages only read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..db.store import Store
from .curve import learning_curve, short_labels
from .embeddings import frame_embeddings
from .live import LiveState
from .stopping import stop_set, stop_signal
from .strategies import diverse_ranks
from .suspects import find_suspects

CURVE_MAX_LABELS = 2_000  # a curve past this samples the labels: the job stays a few seconds
PAST_ROUNDS = 10  # live runs the stop signal looks back on
STOP_SET = 500  # fixed pool tweets whose predictions the stop signal compares


def after_fit(store: Store, project_id: int, run_id: int, metrics: dict[str, Any]) -> dict:
    """The round's extras as metrics to merge into the run's (suspect and diverse keys are
    written to the run's predictions here)."""
    if not metrics.get("features") or not metrics.get("predicted"):
        return {}
    run = store.runs.get(run_id)
    out: dict[str, Any] = {}
    out.update(_suspects(store, project_id, run, metrics))
    out.update(_diverse(store, project_id, run))
    out.update(_stopping(store, project_id, run_id))
    out.update(_curve(store, project_id, run, metrics))
    return out


def _encoder(run: dict) -> str | None:
    return (run.get("params") or {}).get("encoder")


def _suspects(store: Store, project_id: int, run: dict, metrics: dict) -> dict:
    oof = LiveState(store, project_id, run, metrics).oof()
    if oof is None:
        store.predictions.set_keys(run["id"], "suspect", {})
        return {"suspects": 0}
    found = find_suspects(oof.given, oof.proba, oof.labels)
    flagged = found[found["issue"]]
    quality = {int(oof.item_ids[i]): float(q) for i, q in flagged["label_quality"].items()}
    store.predictions.set_keys(run["id"], "suspect", quality)
    return {"suspects": len(quality)}


def _diverse(store: Store, project_id: int, run: dict) -> dict:
    run_id = run["id"]
    preds = store.predictions.frame(run_id, project_id=project_id, split="pool")
    todo = store.items.texts(project_id, split="pool")
    todo = todo[todo["label"].isna() & todo["id"].isin(preds["item_id"])]
    if todo.empty:
        store.predictions.set_keys(run_id, "diverse_rank", {})
        return {}
    ids, vectors = frame_embeddings(todo, encoder=_encoder(run), compute=False)
    proba = np.asarray(preds.set_index("item_id").loc[ids, "scores"].tolist())
    ranks = diverse_ranks(proba, vectors, seed=0)
    store.predictions.set_keys(run_id, "diverse_rank", dict(zip(map(int, ids), ranks.tolist())))
    return {"diverse_ranked": len(ids)}


def _stopping(store: Store, project_id: int, run_id: int) -> dict:
    pool = store.items.texts(project_id, split="pool")["id"].tolist()
    chosen = [int(i) for i in stop_set(pool, size=STOP_SET, seed=0)]
    preds = store.predictions.frame(run_id, project_id=project_id, split="pool")
    now = preds.set_index("item_id")["label"].reindex(chosen)
    history = [
        r for r in store.runs.list(project_id)
        if r["kind"] == "live" and r["status"] == "done" and r["id"] < run_id
    ][:PAST_ROUNDS]  # fmt: skip
    rounds = []
    for r in reversed(history):  # oldest first
        kept = (r.get("metrics") or {}).get("stop_predictions") or {}
        rounds.append([kept.get(str(i)) for i in chosen])
    current = [None if isinstance(v, float) else v for v in now.tolist()]
    rounds.append(current)
    comparable = [r for r in rounds if None not in r]
    signal = stop_signal(comparable) if len(comparable) >= 2 else None
    return {
        "stop_predictions": {str(i): v for i, v in zip(chosen, current, strict=True)},
        "stop_kappas": list(signal.kappas) if signal else [],
        "stop_stable": bool(signal and signal.stable),
        "stop_message": signal.message
        if signal
        else ("The stopping signal needs two retrains that predicted the same fixed tweets."),
    }


def _curve(store: Store, project_id: int, run: dict, metrics: dict) -> dict:
    project = store.projects.get(project_id)
    train = store.labels.train_and_test(project_id).train
    if len(train) > CURVE_MAX_LABELS:
        train = train.sample(n=CURVE_MAX_LABELS, random_state=0)
    ids, vectors = frame_embeddings(train, encoder=_encoder(run), compute=False)
    train = train.set_index("id").loc[ids]
    y = train["label"].tolist()
    known = [lab for lab in project.labels if lab in set(y)]
    curve = learning_curve(
        vectors, train["text"].tolist(), y, known, features=metrics["features"], seed=0
    )
    return {
        "curve": curve.to_dict(),
        "projection": curve.projection().message,
        "short_labels": short_labels(train["label"].tolist(), project.labels),
    }
