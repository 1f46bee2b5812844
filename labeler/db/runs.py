"""Runs (zero-shot, training, prediction jobs), their per-item predictions, and the score cache.

A run row carries a job's parameters, progress, heartbeat, status and results. Predictions keep
every label's score per (run, item), so every model is compared on the same items. The zero-shot
cache keeps scores per (run key, exact text): reruns cost nothing and interrupted runs resume.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, text

from ..errors import StoreError
from .engine import Database
from .schema import RUN_KINDS
from .schema import runs as runs_table
from .sql import frame, upsert

_JSON = ("params", "metrics", "log")
_COLUMNS = {c.name for c in runs_table.columns} - {"id"}
LIVE = ("queued", "running", "cancelling")


def _run_dict(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for key in _JSON:
        out[key] = json.loads(out[key]) if out.get(key) else ({} if key == "params" else None)
    return out


class Runs:
    def __init__(self, db: Database):
        self.db = db

    def create(
        self,
        project_id: int | None,
        kind: str,
        params: dict[str, Any],
        *,
        total: int = 0,
        model: str | None = None,
        run_key: str | None = None,
    ) -> int:
        if kind not in RUN_KINDS:
            raise StoreError(f"Unknown run kind {kind!r}; use one of {', '.join(RUN_KINDS)}.")
        with self.db.write() as conn:
            return conn.execute(
                text(
                    "INSERT INTO runs (project_id, kind, params, total, model, run_key, created_at)"
                    " VALUES (:p, :kind, :params, :total, :model, :key, :now) RETURNING id"
                ),
                {
                    "p": project_id,
                    "kind": kind,
                    "params": json.dumps(params),
                    "total": total,
                    "model": model,
                    "key": run_key,
                    "now": time.time(),
                },
            ).scalar_one()

    def update(self, run_id: int, **fields: Any) -> None:
        """Progress, heartbeat, status, results: one short transaction."""
        unknown = set(fields) - _COLUMNS
        if unknown:
            raise StoreError(f"Runs have no field(s) {', '.join(sorted(unknown))}.")
        for key in _JSON:
            if key in fields and not isinstance(fields[key], str | None):
                fields[key] = json.dumps(fields[key])
        if not fields:
            return
        sets = ", ".join(f"{k}=:{k}" for k in fields)
        with self.db.write() as conn:
            conn.execute(
                text(f"UPDATE runs SET {sets} WHERE id=:run_id"), {**fields, "run_id": run_id}
            )

    def beat(self, run_id: int) -> None:
        """The heartbeat of a live job: proof that its process is still working."""
        self.update(run_id, heartbeat=time.time())

    def get(self, run_id: int) -> dict[str, Any]:
        with self.db.read() as conn:
            row = conn.execute(text("SELECT * FROM runs WHERE id=:id"), {"id": run_id}).first()
        if row is None:
            raise StoreError(f"No run with id {run_id}.")
        return _run_dict(row)

    def list(self, project_id: int, kind: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM runs WHERE project_id=:p", {"p": project_id}
        if kind:
            sql += " AND kind=:kind"
            args["kind"] = kind
        with self.db.read() as conn:
            return [_run_dict(r) for r in conn.execute(text(sql + " ORDER BY id DESC"), args)]

    def with_status(self, statuses: Sequence[str], kind: str | None = None) -> list[dict[str, Any]]:
        """Runs of every project in one of these statuses (the job runner's server-wide view)."""
        sql = "SELECT * FROM runs WHERE status IN :statuses"
        args: dict[str, Any] = {"statuses": list(statuses)}
        if kind:
            sql += " AND kind=:kind"
            args["kind"] = kind
        stmt = text(sql + " ORDER BY id").bindparams(bindparam("statuses", expanding=True))
        with self.db.read() as conn:
            return [_run_dict(r) for r in conn.execute(stmt, args)]

    def latest(self, project_id: int, kind: str, status: str = "done") -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(
                text(
                    "SELECT * FROM runs WHERE project_id=:p AND kind=:kind AND status=:status"
                    " ORDER BY id DESC LIMIT 1"
                ),
                {"p": project_id, "kind": kind, "status": status},
            ).first()
        return _run_dict(row) if row else None

    def delete(self, run_id: int) -> None:
        with self.db.write() as conn:
            conn.execute(text("DELETE FROM runs WHERE id=:id"), {"id": run_id})


def queue_keys(scores: Sequence[float]) -> tuple[float | None, float | None]:
    """(margin between the two most likely labels, entropy in nats) of one item's scores."""
    p = sorted((float(x) for x in scores), reverse=True)
    if not p:
        return None, None
    margin = p[0] - (p[1] if len(p) > 1 else 0.0)
    entropy = -sum(x * math.log(x) for x in p if x > 0)
    return margin, entropy


class Predictions:
    def __init__(self, db: Database):
        self.db = db

    def put(self, run_id: int, rows: Iterable[tuple[int, str, float, Sequence[float]]]) -> None:
        """(item_id, label, score, scores in label order) for one run; replaces earlier rows.
        The queue's keys (margin, entropy) are computed here, once, from the scores."""
        values = []
        for i, lab, s, sc in rows:
            margin, entropy = queue_keys(sc)
            values.append(
                (run_id, i, lab, float(s), json.dumps([round(float(x), 6) for x in sc]),
                 margin, entropy)
            )  # fmt: skip
        with self.db.write() as conn:
            upsert(
                conn,
                "predictions",
                ("run_id", "item_id", "label", "score", "scores", "margin", "entropy"),
                ("run_id", "item_id"),
                values,
            )

    def set_keys(self, run_id: int, column: str, values: dict[int, float]) -> None:
        """Write a per-item key computed elsewhere (`diverse_rank` or `suspect`) for one run;
        items not given get NULL (out of that queue)."""
        if column not in ("diverse_rank", "suspect"):
            raise StoreError(f"Unknown prediction key {column!r}.")
        with self.db.write() as conn:
            conn.execute(text(f"UPDATE predictions SET {column}=NULL WHERE run_id=:run"),
                         {"run": run_id})  # fmt: skip
            if values:
                conn.execute(
                    text(f"UPDATE predictions SET {column}=:v WHERE run_id=:run AND item_id=:item"),
                    [{"v": v, "run": run_id, "item": int(i)} for i, v in values.items()],
                )

    def frame(
        self,
        run_id: int,
        *,
        project_id: int | None = None,
        split: str | None = None,
        labelled: bool = False,
    ) -> pd.DataFrame:
        """item_id, label, score, scores (list in the run's label order); optionally only one
        split's items (a zero-shot run scores 1M items: Evaluate reads the held-out few), and
        only items with a label (what a model is scored on)."""
        sql = "SELECT p.item_id, p.label, p.score, p.scores FROM predictions p"
        args: dict[str, Any] = {"run": run_id}
        if split is not None or labelled:
            sql += " JOIN items i ON i.id=p.item_id"
            sql += " AND i.label IS NOT NULL" if labelled else ""
        if split is not None:
            sql += " AND i.project_id=:p AND i.split=:split"
            args.update(p=project_id, split=split)
        df = frame(self.db, sql + " WHERE p.run_id=:run ORDER BY p.item_id", args)
        df["scores"] = [json.loads(s) for s in df["scores"]]
        return df

    def label_counts(self, run_id: int) -> dict[str, int]:
        """How many items the run gave each label (the Predict page's chart), counted in SQL."""
        with self.db.read() as conn:
            rows = conn.execute(
                text("SELECT label, COUNT(*) FROM predictions WHERE run_id=:run GROUP BY label"),
                {"run": run_id},
            ).all()
        return {label: n for label, n in rows}

    def score_bins(self, run_id: int, bins: int = 20) -> pd.Series:
        """How many items' top score falls in each of `bins` equal bins of [0, 1] (a score of 1
        in the last), indexed by the bins' left edges: the confidence chart, counted in SQL."""
        # SQLite's CAST truncates (floor, for scores >= 0); PostgreSQL's rounds, so it floors.
        # 1e-9: a score on an edge (0.95 * 20 = 18.999...) goes up, as numpy and plotly put it
        edge = "score * :bins + 1e-9"
        floor = f"FLOOR({edge})" if self.db.dialect == "postgresql" else edge
        with self.db.read() as conn:
            rows = conn.execute(
                text(
                    f"SELECT CASE WHEN score >= 1 THEN :last ELSE CAST({floor} AS INTEGER) END,"
                    " COUNT(*) FROM predictions WHERE run_id=:run GROUP BY 1"
                ),
                {"run": run_id, "bins": bins, "last": bins - 1},
            ).all()
        counts = pd.Series(0, index=[k / bins for k in range(bins)], dtype=int)
        for b, n in rows:
            counts.iloc[max(0, min(int(b), bins - 1))] += n
        return counts

    def get(self, run_id: int, item_id: int) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(
                text(
                    "SELECT label, score, scores FROM predictions WHERE run_id=:run AND item_id=:item"
                ),
                {"run": run_id, "item": item_id},
            ).first()
        if row is None:
            return None
        return {"label": row.label, "score": row.score, "scores": json.loads(row.scores)}

    def count(self, run_id: int) -> int:
        with self.db.read() as conn:
            return conn.execute(
                text("SELECT COUNT(*) FROM predictions WHERE run_id=:run"), {"run": run_id}
            ).scalar_one()


class ScoreCache:
    """The zero-shot engine's `ScoreCache`, kept in the store: scores per (run key, exact text)."""

    def __init__(self, db: Database):
        self.db = db

    def get_scores(self, run_key: str, text_keys: list[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        stmt = text(
            "SELECT text_key, scores FROM score_cache WHERE run_key=:key AND text_key IN :keys"
        ).bindparams(bindparam("keys", expanding=True))
        with self.db.read() as conn:
            for start in range(0, len(text_keys), 500):
                chunk = text_keys[start : start + 500]
                rows = conn.execute(stmt, {"key": run_key, "keys": chunk})
                found.update((r[0], json.loads(r[1])) for r in rows)
        return found

    def put_scores(self, run_key: str, scores: dict[str, list[float]]) -> None:
        values = [(run_key, k, json.dumps([float(x) for x in v])) for k, v in scores.items()]
        with self.db.write() as conn:
            upsert(
                conn,
                "score_cache",
                ("run_key", "text_key", "scores"),
                ("run_key", "text_key"),
                values,
            )

    def count(self) -> int:
        with self.db.read() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM score_cache")).scalar_one()
