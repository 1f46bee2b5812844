"""A project's rows as plain dicts, and back: what a project archive holds.

`dump` reads a project's items, annotations, finished runs, their predictions and its zero-shot
cache; `load` writes such rows into a new project in one transaction, giving them fresh ids (so an
archive restores beside the project it came from), and returns old -> new run ids.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from ..errors import InputError
from .counts import recount
from .engine import Database
from .gold import rebuild_codes
from .projects import Project
from .runs import LIVE, Predictions, Runs
from .sql import bulk_insert, reserve_ids, upsert

ITEM_FIELDS = (
    "id", "text", "text_key", "norm_key", "ext_id", "source_name", "source_row", "extra", "split",
    "shuffle", "label", "label_source", "annotator", "labelled_at", "unsure", "review", "comment",
    "created_at",
)  # fmt: skip
ANNOTATION_FIELDS = (
    "id", "item_id", "label", "source", "annotator", "run_id", "retracts", "codebook_version",
    "created_at",
)  # fmt: skip
RUN_FIELDS = (
    "id", "kind", "params", "status", "done", "total", "rate", "eta_s", "message", "error",
    "heartbeat", "model", "run_key", "artifact_path", "metrics", "log", "created_at",
    "started_at", "finished_at",
)  # fmt: skip
TABLES = ("items", "annotations", "runs", "predictions", "score_cache")


def _rows(db: Database, sql: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), args)]


def dump(db: Database, runs: Runs, predictions: Predictions, project_id: int) -> dict[str, list]:
    p = {"p": project_id}
    items = _rows(
        db, f"SELECT {', '.join(ITEM_FIELDS)} FROM items WHERE project_id=:p ORDER BY id", p
    )
    for item in items:
        item["extra"] = json.loads(item["extra"]) if item["extra"] else None
    annotations = _rows(
        db,
        f"SELECT {', '.join(ANNOTATION_FIELDS)} FROM annotations WHERE project_id=:p ORDER BY id",
        p,
    )
    finished = [
        {k: r.get(k) for k in RUN_FIELDS}
        for r in reversed(runs.list(project_id))
        if r["status"] not in LIVE
    ]
    preds: list[dict[str, Any]] = []
    for run in finished:
        df = predictions.frame(run["id"])
        preds += [
            {"run_id": run["id"], "item_id": int(i), "label": lab, "score": float(s), "scores": sc}
            for i, lab, s, sc in zip(df["item_id"], df["label"], df["score"], df["scores"])
        ]
    cache: list[dict[str, Any]] = []
    for key in sorted({r["run_key"] for r in finished if r["kind"] == "zeroshot" and r["run_key"]}):
        cache += [
            {"run_key": r["run_key"], "text_key": r["text_key"], "scores": json.loads(r["scores"])}
            for r in _rows(
                db,
                "SELECT run_key, text_key, scores FROM score_cache WHERE run_key=:key AND text_key"
                " IN (SELECT text_key FROM items WHERE project_id=:p)",
                {"key": key, **p},
            )
        ]
    return {
        "items": items,
        "annotations": annotations,
        "runs": finished,
        "predictions": preds,
        "score_cache": cache,
    }


def load(db: Database, project: Project, t: dict[str, list[dict]]) -> dict[int, int]:
    """Insert items, annotations, runs, predictions and cache rows; returns old -> new run ids."""
    labels = set(project.labels)
    bad = sorted({r["label"] for r in t["annotations"] if r["label"] and r["label"] not in labels})
    if bad:
        raise InputError(f"The archive's labels {bad} are not among its project's labels.")
    pid = project.id
    with db.write() as conn:
        new_items = reserve_ids(conn, "items", len(t["items"]))
        item_ids = {int(r["id"]): new for r, new in zip(t["items"], new_items, strict=True)}
        cols = ITEM_FIELDS[1:]
        bulk_insert(
            conn,
            "items",
            ("id", "project_id", *cols),
            [
                (item_ids[int(r["id"])], pid)
                + tuple(
                    json.dumps(r[c], ensure_ascii=False) if c == "extra" and r[c] else r.get(c)
                    for c in cols
                )
                for r in t["items"]
            ],
        )
        run_ids: dict[int, int] = {}
        for r in t["runs"]:
            params = dict(r.get("params") or {})
            if "model_run" in params and int(params["model_run"]) in run_ids:
                params["model_run"] = run_ids[int(params["model_run"])]
            status = "stopped" if r["status"] in LIVE else r["status"]
            values = {k: r.get(k) for k in RUN_FIELDS[1:]}
            values.update(params=params, status=status, artifact_path=None)
            for key in ("params", "metrics", "log"):
                values[key] = None if values[key] is None else json.dumps(values[key])
            run_ids[int(r["id"])] = conn.execute(
                text(
                    f"INSERT INTO runs (project_id, {', '.join(values)}) VALUES"
                    f" (:project_id, {', '.join(':' + k for k in values)}) RETURNING id"
                ),
                {"project_id": pid, **values},
            ).scalar_one()
        new_anns = reserve_ids(conn, "annotations", len(t["annotations"]))
        ann_ids = {int(r["id"]): new for r, new in zip(t["annotations"], new_anns, strict=True)}

        def remap(mapping: dict[int, int], value: Any) -> Any:
            return None if value is None else mapping.get(int(value))

        bulk_insert(
            conn,
            "annotations",
            ("id", "item_id", "project_id", "label", "source", "annotator", "run_id", "retracts",
             "codebook_version", "created_at"),
            [
                (ann_ids[int(r["id"])], item_ids[int(r["item_id"])], pid, r["label"], r["source"],
                 r["annotator"], remap(run_ids, r["run_id"]), remap(ann_ids, r["retracts"]),
                 r.get("codebook_version"), r["created_at"])
                for r in t["annotations"]
            ],
        )  # fmt: skip
        bulk_insert(
            conn,
            "predictions",
            ("run_id", "item_id", "label", "score", "scores"),
            [
                (run_ids[int(r["run_id"])], item_ids[int(r["item_id"])], r["label"], r["score"],
                 json.dumps(r["scores"]))
                for r in t["predictions"]
            ],
        )  # fmt: skip
        upsert(
            conn,
            "score_cache",
            ("run_key", "text_key", "scores"),
            ("run_key", "text_key"),
            [(r["run_key"], r["text_key"], json.dumps(r["scores"])) for r in t["score_cache"]],
        )
        rebuild_codes(conn, pid)  # each person's code in effect, from the restored history
        recount(conn, pid)  # the restored items' counts per split, label and source
    return run_ids
