"""The live model: a light classifier on cached embeddings, refitted as people label, recorded as a
run of kind "live" like any model, and the choice of which run supplies suggestions.

A retrain reads the pool's gold labels only (`train_and_test(...).train`: human, imported and
adjudicated labels of pool items; held-out items never train and accepted suggestions are never
gold), their cached embeddings, picks the feature set by cross-validation, fits on all of them and
stores a prediction for every item with a vector, pool and held-out (held-out predictions let
Evaluate score the live model; they never train it). Its metrics hold the CV macro-F1 and the
newest zero-shot run's macro-F1 on the same pool gold items, over the same labels, and whether the
live model beats it: `suggestion_source` then names the source the card shows.

The trigger (`labels_due`, read on every key press) costs two indexed queries while no retrain is
due; the job itself is started by `labeler.jobs.learning.maybe_retrain` (the job runner sits above
this package: starting a job from here would make the two packages import each other).

Speed (bench/live_model.py: synthetic 384-dimensional embeddings and tweet-like texts; 2 shared
CPU cores, BLAS on one thread). At 10,000 labels, embeddings alone take 0.19 s to fit and 0.94 s
to cross-validate (5 folds); embeddings+tfidf take 4.7 s and 15 s. So TF-IDF is tried only up to
TFIDF_MAX_LABELS labels (`train_live` with both variants: 1.3 s at 1,000 labels) and the live
model is embeddings-only beyond: `train_live` 0.9 s at 10,000 labels, and a whole `retrain`
(cached embeddings read, CV, fit, 12,500 items predicted and written to SQLite) 1.1 s.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from sqlalchemy import text

from ..db.annotations import GOLD_SOURCES
from ..db.sql import frame
from ..db.store import Store
from ..errors import Cancelled
from . import classifier
from .embeddings import Encoder, frame_embeddings

__all__ = [
    "KEEP_FULL_RUNS",
    "LIVE_EVERY",
    "LiveFit",
    "LiveState",
    "OutOfFold",
    "Source",
    "fit_run",
    "labels_due",
    "live_state",
    "newest_live_run",
    "pool_gold_count",
    "retrain",
    "suggestion_source",
    "train_live",
    "zeroshot_f1",
]

LIVE_EVERY = 10  # retrain after this many new pool gold labels
TFIDF_MAX_LABELS = 1000  # above it, TF-IDF's CV alone would take seconds: embeddings only
KEEP_FULL_RUNS = 3  # older live runs keep only their labelled held-out predictions (Evaluate's)
_GOLD = ", ".join(f"'{s}'" for s in GOLD_SOURCES)


# -- the model on arrays ------------------------------------------------------------------------


@dataclass
class LiveFit:
    """A fitted live model (None with fewer than two labels in use) and how it was chosen."""

    model: classifier.LiveModel | None
    features: str | None
    cv: classifier.CVScore | None
    tried: tuple[str, ...]
    known: list[str]  # labels with a training example, in project order (CV scores over these)
    n: int


def train_live(
    embeddings: np.ndarray,
    texts: Sequence[str],
    y: Sequence[str],
    labels: Sequence[str],
    *,
    seed: int = 0,
) -> LiveFit:
    """Pick the features by CV (TF-IDF tried up to TFIDF_MAX_LABELS labels), fit on every label;
    the model predicts in `labels` order (0 for a label with no example)."""
    present = set(y)
    known = [lab for lab in labels if lab in present]
    if len(known) < 2:
        return LiveFit(None, None, None, (), known, len(y))
    if len(y) <= TFIDF_MAX_LABELS:
        tried = classifier.FEATURES
        features, cv = classifier.pick_features(embeddings, texts, y, known, seed=seed)
    else:
        tried = ("embeddings",)
        features = "embeddings"
        cv = classifier.cross_validate(embeddings, texts, y, known, features=features, seed=seed)
    model = classifier.fit(embeddings, texts, y, labels, features=features, seed=seed)
    return LiveFit(model, features, cv, tuple(tried), known, len(y))


# -- the store ----------------------------------------------------------------------------------


def pool_gold_count(store: Store, project_id: int) -> int:
    """Pool items with a gold label (what trains the live model)."""
    with store.db.read() as conn:
        return conn.execute(
            text(
                "SELECT COUNT(*) FROM items WHERE project_id=:p AND split='pool'"
                f" AND label IS NOT NULL AND label_source IN ({_GOLD})"
            ),
            {"p": project_id},
        ).scalar_one()


def newest_live_run(store: Store, project_id: int) -> dict[str, Any] | None:
    """The newest live run of any status: id, status, heartbeat, created_at, params, metrics (one
    indexed query)."""
    with store.db.read() as conn:
        row = conn.execute(
            text(
                "SELECT id, status, heartbeat, created_at, params, metrics FROM runs"
                " WHERE project_id=:p AND kind='live' ORDER BY id DESC LIMIT 1"
            ),
            {"p": project_id},
        ).first()
    if row is None:
        return None
    run = dict(row._mapping)
    for key in ("params", "metrics"):
        run[key] = json.loads(run[key]) if run[key] else {}
    return run


def _labels_of(run: dict[str, Any] | None) -> int:
    """The pool gold count a live run was started at (finished: the count it trained on)."""
    if run is None:
        return 0
    metrics = run.get("metrics") or {}
    if run["status"] == "done" and metrics.get("n_labels") is not None:
        return int(metrics["n_labels"])
    return int((run.get("params") or {}).get("n_labels", 0))


def labels_due(
    store: Store, project_id: int, newest: dict[str, Any] | None, every: int = LIVE_EVERY
) -> int | None:
    """The pool gold count when `every` or more were added since the newest live run `newest`
    (None: not due). Runs on every key press: first an index-only count of annotations since that
    run was created (a gold label needs one); the exact count only when that reaches `every`."""
    base = _labels_of(newest)
    since = newest["created_at"] if newest else None
    if newest is not None:
        with store.db.read() as conn:
            recent = conn.execute(
                text("SELECT COUNT(*) FROM annotations WHERE project_id=:p AND created_at>=:t"),
                {"p": project_id, "t": since},
            ).scalar_one()
        if recent < every:
            return None
    count = pool_gold_count(store, project_id)
    return count if count - base >= every else None


def zeroshot_f1(
    store: Store, project_id: int, zs_run: dict[str, Any], gold: pd.DataFrame, known: list[str]
) -> tuple[float | None, int]:
    """(macro-F1 over `known` labels, items compared) of a zero-shot run on the gold items
    `gold` (columns id, label): the items it scored, None when it scored none of them."""
    preds = frame(
        store.db,
        "SELECT p.item_id, p.label FROM predictions p JOIN items i ON i.id=p.item_id"
        " WHERE p.run_id=:run AND i.project_id=:p AND i.split='pool' AND i.label IS NOT NULL",
        {"run": zs_run["id"], "p": project_id},
    )
    both = gold[["id", "label"]].merge(
        preds, left_on="id", right_on="item_id", suffixes=("", "_zs")
    )
    if both.empty or len(known) < 2:
        return None, len(both)
    score = f1_score(
        both["label"], both["label_zs"], labels=known, average="macro", zero_division=0
    )
    return float(score), len(both)


Progress = Callable[[str], None]


def fit_run(
    store: Store,
    project_id: int,
    run_id: int,
    *,
    encoder: str | os.PathLike | Encoder | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Retrain into the recorded run `run_id`: predictions stored, metrics returned (the caller
    marks the run done with them). `cancel()` is asked before the fit and before the writes."""
    say = progress or (lambda message: None)

    def check() -> None:
        if cancel is not None and cancel():
            raise Cancelled("Live retrain cancelled; the previous live model stays in use.")

    started = time.perf_counter()
    project = store.projects.get(project_id)
    train = store.labels.train_and_test(project_id).train  # pool gold only, never held-out
    items = store.items.texts(project_id)
    say(f"Embedding {len(train):,} labelled tweets (cached ones are read back)…")
    ids, vectors = frame_embeddings(
        items, encoder=encoder, compute=items["id"].isin(train["id"]).to_numpy()
    )
    row = {int(i): r for r, i in enumerate(ids)}
    rows = [row[int(i)] for i in train["id"]]
    check()
    say(f"Fitting on {len(train):,} labels…")
    fit_started = time.perf_counter()
    fit = train_live(
        vectors[rows], train["text"].tolist(), train["label"].tolist(), project.labels, seed=seed
    )
    fit_s = time.perf_counter() - fit_started
    metrics: dict[str, Any] = {
        "n_labels": len(train),
        "counts": dict(Counter(train["label"])),
        "features": fit.features,
        "features_tried": list(fit.tried),
        "cv_macro_f1": fit.cv.macro_f1 if fit.cv else None,
        "cv_std": fit.cv.std if fit.cv else None,
        "folds": fit.cv.folds if fit.cv else 0,
        "labels": fit.known,
        "predicted": 0,
    }
    if fit.model is None:
        metrics["note"] = "Needs labels of at least two kinds in the pool."
    else:
        check()
        say("Predicting every tweet…")
        texts = items.set_index("id").loc[ids, "text"].tolist()
        proba = fit.model.predict_proba(vectors, texts)
        top = proba.argmax(axis=1)
        store.predictions.put(
            run_id,
            (
                (int(i), project.labels[j], float(p[j]), p.tolist())
                for i, j, p in zip(ids, top, proba, strict=True)
            ),
        )
        metrics["predicted"] = len(ids)
    zs = store.runs.latest(project_id, "zeroshot")
    zs_f1, zs_n = zeroshot_f1(store, project_id, zs, train, fit.known) if zs else (None, 0)
    metrics.update(
        zeroshot_run=zs["id"] if zs else None,
        zeroshot_method=(zs.get("metrics") or {}).get("method") if zs else None,
        zeroshot_macro_f1=zs_f1,
        zeroshot_n=zs_n,
        beats_zeroshot=_beats(metrics["cv_macro_f1"], zs_f1),
        fit_seconds=round(fit_s, 3),
        seconds=round(time.perf_counter() - started, 3),
    )
    _trim_old_runs(store, project_id, run_id)
    return metrics


def _beats(cv: float | None, zs: float | None) -> bool:
    """The live model beats zero-shot when CV says so: a CV score above zero-shot's on the same
    gold items (or zero-shot scored none of them)."""
    return cv is not None and (zs is None or cv > zs)


def _trim_old_runs(store: Store, project_id: int, keep_from: int) -> None:
    """A retrain every few labels would pile up a prediction per item per run: live runs older
    than the newest KEEP_FULL_RUNS keep only their labelled held-out predictions."""
    with store.db.read() as conn:
        old = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT id FROM runs WHERE project_id=:p AND kind='live' AND id<=:me"
                    " ORDER BY id DESC"
                ),
                {"p": project_id, "me": keep_from},
            ).all()[KEEP_FULL_RUNS:]
        ]
    if not old:
        return
    marks = ", ".join(str(int(r)) for r in old)
    with store.db.write() as conn:
        conn.execute(
            text(
                f"DELETE FROM predictions WHERE run_id IN ({marks}) AND item_id NOT IN ("
                "SELECT id FROM items WHERE project_id=:p AND split='heldout'"
                " AND label IS NOT NULL)"
            ),
            {"p": project_id},
        )


def retrain(
    store: Store,
    project_id: int,
    *,
    encoder: str | os.PathLike | Encoder | None = None,
    seed: int = 0,
) -> int:
    """Retrain now, in this process (the background job is `labeler.jobs.learning`); returns the
    new live run's id."""
    count = pool_gold_count(store, project_id)
    run_id = store.runs.create(
        project_id, "live", {"n_labels": count, "seed": seed, "encoder": _spec(encoder)}
    )
    store.runs.update(run_id, status="running", started_at=time.time(), heartbeat=time.time())
    try:
        metrics = fit_run(store, project_id, run_id, encoder=encoder, seed=seed)
    except BaseException as exc:
        store.runs.update(run_id, status="failed", error=str(exc), finished_at=time.time())
        raise
    store.runs.update(run_id, status="done", metrics=metrics, finished_at=time.time())
    return run_id


def _spec(encoder: str | os.PathLike | Encoder | None) -> str | None:
    """The encoder as a run's parameter: a name or folder (a loaded Encoder: the default's None)."""
    return None if encoder is None or isinstance(encoder, Encoder) else str(encoder)


# -- what the rest of the app reads ---------------------------------------------------------------


@dataclass
class OutOfFold:
    """Each pool gold label's probabilities from models that never saw it (project label order)."""

    item_ids: np.ndarray
    given: list[str]
    proba: np.ndarray
    labels: list[str]
    features: str


@dataclass
class LiveState:
    """The newest finished live model of a project (run None: none yet)."""

    store: Store
    project_id: int
    run: dict[str, Any] | None
    metrics: dict[str, Any] = field(default_factory=dict)

    def oof(
        self, *, encoder: str | os.PathLike | Encoder | None = None, seed: int | None = None
    ) -> OutOfFold | None:
        """Out-of-fold probabilities of today's pool gold labels with the newest run's features
        (None without a live model, or with a label too rare to cross-validate)."""
        if self.run is None or not self.metrics.get("features"):
            return None
        project = self.store.projects.get(self.project_id)
        train = self.store.labels.train_and_test(self.project_id).train
        if train.empty:
            return None
        ids, vectors = frame_embeddings(train, encoder=encoder or self.run["params"].get("encoder"))
        train = train.set_index("id").loc[ids]
        y = train["label"].tolist()
        known = [lab for lab in project.labels if lab in set(y)]
        seed = self.run["params"].get("seed", 0) if seed is None else seed
        features = self.metrics["features"]
        proba = classifier.out_of_fold_proba(
            vectors, train["text"].tolist(), y, known, features=features, seed=seed
        )
        if proba is None:
            return None
        full = np.zeros((len(y), len(project.labels)))
        for j, lab in enumerate(known):
            full[:, project.labels.index(lab)] = proba[:, j]
        return OutOfFold(np.asarray(ids), y, full, list(project.labels), features)


def live_state(store: Store, project_id: int) -> LiveState:
    run = store.runs.latest(project_id, "live")
    return LiveState(store, project_id, run, dict((run or {}).get("metrics") or {}))


@dataclass(frozen=True)
class Source:
    """Which run supplies suggestions ("live", "zeroshot" or None) and a line for the card."""

    kind: str | None
    run: dict[str, Any] | None
    description: str


def _zs_name(zs: dict[str, Any]) -> str:
    method = (zs.get("metrics") or {}).get("method") or (zs.get("params") or {}).get("method")
    if method == "embedding":
        return "zero-shot (embedding similarity)"
    return f"zero-shot (NLI, {zs.get('model') or 'model'})"


def _f1(x: float, std: float | None = None) -> str:
    return f"{x:.2f}" + (f" ± {std:.2f}" if std is not None else "")


def suggestion_source(store: Store, project_id: int) -> Source:
    """The newest live run when its CV macro-F1 beats the newest zero-shot run's macro-F1 on the
    same pool gold items, else the newest zero-shot run (else a live run, the only source)."""
    live = store.runs.latest(project_id, "live")
    m = (live or {}).get("metrics") or {}
    if live is not None and not m.get("features"):
        live = None  # too few kinds of labels yet: a run without a model
    zs = store.runs.latest(project_id, "zeroshot")
    if live is None:
        if zs is None:
            return Source(None, None, "no suggestions yet: run zero-shot on Pre-label, or label "
                          f"{LIVE_EVERY} tweets of two kinds for the live model")  # fmt: skip
        return Source("zeroshot", zs, _zs_name(zs))
    n, cv, std = m["n_labels"], m.get("cv_macro_f1"), m.get("cv_std")
    zs_f1, zs_n = m.get("zeroshot_macro_f1"), m.get("zeroshot_n", 0)
    if zs is not None and m.get("zeroshot_run") != zs["id"]:  # a newer zero-shot run since
        gold = store.labels.train_and_test(project_id).train
        zs_f1, zs_n = zeroshot_f1(store, project_id, zs, gold, m.get("labels") or [])
    live_line = f"live model, {n:,} labels, " + (
        f"CV macro-F1 {_f1(cv, std)}" if cv is not None else "too few per label to cross-validate"
    )
    if zs is None:
        return Source("live", live, live_line)
    covered = m.get("predicted", 0) >= store.items.count(project_id)
    if _beats(cv, zs_f1) and not covered:  # tweets still being embedded have no live score
        return Source(
            "zeroshot", zs, f"{_zs_name(zs)}; the live model ({_f1(cv, std)}) takes over once "
            "every tweet has its embedding (the next retrain after the embedding job)",
        )  # fmt: skip
    if _beats(cv, zs_f1):
        versus = f"; {_zs_name(zs)} {_f1(zs_f1)}" if zs_f1 is not None else ""
        return Source("live", live, live_line + versus)
    live_part = _f1(cv, std) if cv is not None else "not cross-validated yet"
    if zs_f1 is None:
        compared = ", which has scored none of the labelled tweets"
    else:
        compared = f", macro-F1 {_f1(zs_f1)} on the same {zs_n:,} labels"
    return Source(
        "zeroshot",
        zs,
        f"{_zs_name(zs)}{compared}; the live model ({live_part}) has not beaten it yet",
    )
