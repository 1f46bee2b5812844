"""A whole project as one file, and back: move it to another install, or keep a backup.

The archive is a zip of plain, readable files (no pickle, nothing executed on restore):

- project.json: format name and version, the project's settings (labels, guidelines, target,
  template, phrases, held-out share) and counts;
- items.jsonl: every item with its split, current label and source, flags and imported columns;
- annotations.jsonl: the full, append-only label history (source, annotator, time, retractions);
- runs.jsonl and predictions.jsonl: finished zero-shot, training and prediction runs with their
  settings, metrics, loss log and per-item scores;
- score_cache.jsonl: the zero-shot scores cache for the project's texts (re-runs stay free);
- models/run-ID/...: trained model folders, only when asked for (they are large).

`restore_project` creates a new project (its name suffixed when taken) and writes everything in
one transaction, remapping ids; a damaged archive leaves nothing behind.
"""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import InputError, LabelerError, StoreError
from .store import ACTIVE, Project, Store
from .workspace import models_dir

FORMAT = "tweet-labeler-project"
VERSION = 1
ITEM_FIELDS = (
    "id", "text", "text_key", "norm_key", "ext_id", "source_name", "source_row", "extra", "split",
    "shuffle", "label", "label_source", "annotator", "labelled_at", "unsure", "review", "comment",
    "created_at",
)  # fmt: skip
ANNOTATION_FIELDS = (
    "id", "item_id", "label", "source", "annotator", "run_id", "retracts", "created_at",
)  # fmt: skip
RUN_FIELDS = (
    "id", "kind", "params", "status", "done", "total", "rate", "eta_s", "message", "error",
    "heartbeat", "model", "run_key", "artifact_path", "metrics", "log", "created_at",
    "started_at", "finished_at",
)  # fmt: skip
TABLES = ("items", "annotations", "runs", "predictions", "score_cache")


def _jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def _rows(store: Store, sql: str, args: Iterable[Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in store.conn.execute(sql, tuple(args))]


def slug(project: Project) -> str:
    """The project's name made safe for a file name: "Sample-four-day-work-week"."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in project.name)
    return "-".join(filter(None, safe.split("-"))) or "project"


def archive_name(project: Project) -> str:
    return f"{slug(project)}-{time.strftime('%Y%m%d')}.tweetlabeler.zip"


def export_project(store: Store, project_id: int, *, include_models: bool = False) -> bytes:
    """The project as zip bytes; live (unfinished) runs are left out."""
    project = store.project(project_id)
    items = _rows(store, f"SELECT {', '.join(ITEM_FIELDS)} FROM items WHERE project_id=?"
                  " ORDER BY id", [project_id])  # fmt: skip
    for item in items:
        item["extra"] = json.loads(item["extra"]) if item["extra"] else None
    annotations = _rows(
        store,
        f"SELECT {', '.join(ANNOTATION_FIELDS)} FROM annotations WHERE project_id=? ORDER BY id",
        [project_id],
    )
    runs = [
        {k: r.get(k) for k in RUN_FIELDS}
        for r in reversed(store.runs(project_id))
        if r["status"] not in (*ACTIVE, "cancelling")
    ]
    predictions: list[dict[str, Any]] = []
    for run in runs:
        df = store.predictions(run["id"])
        predictions += [
            {"run_id": run["id"], "item_id": int(i), "label": lab, "score": float(s), "scores": sc}
            for i, lab, s, sc in zip(df["item_id"], df["label"], df["score"], df["scores"])
        ]
    cache: list[dict[str, Any]] = []
    for key in sorted({r["run_key"] for r in runs if r["kind"] == "zeroshot" and r["run_key"]}):
        cache += [
            {"run_key": r["run_key"], "text_key": r["text_key"], "scores": json.loads(r["scores"])}
            for r in _rows(
                store,
                "SELECT run_key, text_key, scores FROM score_cache WHERE run_key=? AND text_key IN"
                " (SELECT text_key FROM items WHERE project_id=?)",
                [key, project_id],
            )
        ]
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "project": {
            k: getattr(project, k)
            for k in ("name", "labels", "guidelines", "target", "template", "phrases")
        }
        | {"heldout_share": project.heldout_share},
        "counts": {
            "items": len(items),
            "annotations": len(annotations),
            "runs": len(runs),
            "predictions": len(predictions),
        },
        "models": [],
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, rows in (
            ("items", items),
            ("annotations", annotations),
            ("runs", runs),
            ("predictions", predictions),
            ("score_cache", cache),
        ):
            zf.writestr(f"{name}.jsonl", _jsonl(rows))
        if include_models:
            for run in runs:
                folder = Path(run["artifact_path"] or "")
                if run["kind"] == "train" and run["status"] == "done" and folder.is_dir():
                    _add_folder(zf, folder, f"models/run-{run['id']}")
                    manifest["models"].append(run["id"])
        zf.writestr("project.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return buf.getvalue()


def _add_folder(zf: zipfile.ZipFile, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            # Weights do not compress: storing them saves time and nothing else.
            how = zipfile.ZIP_STORED if path.suffix in (".safetensors", ".bin") else None
            zf.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}", compress_type=how)


def zip_model_folder(folder: str | Path) -> bytes:
    """A trained model folder as zip bytes; unzipped, `pipeline(model=FOLDER)` loads it."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise InputError(f"'{folder}' is not a model folder (no config.json); train a model again.")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        _add_folder(zf, folder, folder.name)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# restore


def _read_jsonl(zf: zipfile.ZipFile, name: str) -> list[dict[str, Any]]:
    try:
        text = zf.read(f"{name}.jsonl").decode("utf-8")
    except KeyError:
        raise InputError(f"The archive has no {name}.jsonl: it is incomplete.") from None
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise InputError(f"{name}.jsonl in the archive is damaged ({exc}).") from None


def read_manifest(data: bytes) -> dict[str, Any]:
    """project.json of an archive, checked; raises InputError for anything else."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            manifest = json.loads(zf.read("project.json"))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise InputError(
            "This file is not a Tweet Labeler project archive (a zip with project.json); choose "
            "a file made by “Download the whole project”."
        ) from None
    if manifest.get("format") != FORMAT:
        raise InputError("This zip is not a Tweet Labeler project archive (unknown format).")
    if int(manifest.get("version", 0)) > VERSION:
        raise InputError(
            f"The archive was written by a newer Tweet Labeler (format {manifest['version']}, "
            f"this one reads up to {VERSION}); upgrade the app to restore it."
        )
    return manifest


def free_name(store: Store, name: str) -> str:
    """`name`, or "name (restored)", "name (restored 2)", ... whichever is not taken."""
    candidates = [name, f"{name} (restored)"] + [f"{name} (restored {k})" for k in range(2, 1000)]
    for candidate in candidates:
        if store.project_by_name(candidate) is None:
            return candidate
    raise StoreError(f"Too many projects named like {name!r}; rename some first.")


def restore_project(store: Store, data: bytes) -> Project:
    """Create a new project from archive bytes; returns it. Nothing is kept if it fails."""
    manifest = read_manifest(data)
    settings = manifest.get("project") or {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        tables = {name: _read_jsonl(zf, name) for name in TABLES}
        project = store.create_project(
            free_name(store, str(settings.get("name") or "Restored project")),
            settings.get("labels") or [],
            guidelines=settings.get("guidelines", ""),
            target=settings.get("target", ""),
            template=settings.get("template", "This tweet is {}."),
            phrases=settings.get("phrases"),
            heldout_share=float(settings.get("heldout_share", 0.2)),
        )
        written: list[Path] = []
        try:
            run_ids = _write_tables(store, project, tables)
            for old in manifest.get("models") or []:
                folder = models_dir() / f"project-{project.id}" / f"run-{run_ids[int(old)]}"
                written.append(folder)
                _extract_folder(zf, f"models/run-{int(old)}/", folder)
                store.update_run(run_ids[int(old)], artifact_path=str(folder))
        except BaseException as exc:
            store.delete_project(project.id)
            for folder in written:
                shutil.rmtree(folder, ignore_errors=True)
            if isinstance(exc, LabelerError | KeyboardInterrupt):
                raise
            raise InputError(
                f"The archive could not be restored ({type(exc).__name__}: {exc}); it may be "
                "damaged. Nothing was kept."
            ) from exc
    return store.project(project.id)


def _extract_folder(zf: zipfile.ZipFile, prefix: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for info in zf.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        rel = PurePosixPath(info.filename[len(prefix) :])
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise InputError(f"The archive holds an unsafe path {info.filename!r}; not restored.")
        target = folder.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)


def _write_tables(store: Store, project: Project, t: dict[str, list[dict]]) -> dict[int, int]:
    """Insert items, annotations, runs, predictions and cache rows; returns old -> new run ids."""
    labels = set(project.labels)
    bad = sorted({r["label"] for r in t["annotations"] if r["label"] and r["label"] not in labels})
    if bad:
        raise InputError(f"The archive's labels {bad} are not among its project's labels.")
    pid = project.id
    with store.transaction() as conn:
        start = conn.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()[0] + 1
        item_ids = {int(r["id"]): start + k for k, r in enumerate(t["items"])}
        cols = ITEM_FIELDS[1:]
        conn.executemany(
            f"INSERT INTO items (id, project_id, {', '.join(cols)}) VALUES"
            f" ({', '.join('?' * (len(cols) + 2))})",
            [
                (item_ids[int(r["id"])], pid)
                + tuple(
                    json.dumps(r[c], ensure_ascii=False) if c == "extra" and r[c] else r[c]
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
            status = "stopped" if r["status"] in (*ACTIVE, "cancelling") else r["status"]
            values = {k: r.get(k) for k in RUN_FIELDS[1:]}
            values.update(params=params, status=status, artifact_path=None)
            for key in ("params", "metrics", "log"):
                values[key] = None if values[key] is None else json.dumps(values[key])
            cur = conn.execute(
                f"INSERT INTO runs (project_id, {', '.join(values)}) VALUES"
                f" ({', '.join('?' * (len(values) + 1))})",
                (pid, *values.values()),
            )
            run_ids[int(r["id"])] = cur.lastrowid
        start = conn.execute("SELECT COALESCE(MAX(id), 0) FROM annotations").fetchone()[0] + 1
        ann_ids = {int(r["id"]): start + k for k, r in enumerate(t["annotations"])}

        def remap(mapping: dict[int, int], value: Any) -> Any:
            return None if value is None else mapping.get(int(value))

        conn.executemany(
            "INSERT INTO annotations (id, item_id, project_id, label, source, annotator, run_id,"
            " retracts, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (ann_ids[int(r["id"])], item_ids[int(r["item_id"])], pid, r["label"], r["source"],
                 r["annotator"], remap(run_ids, r["run_id"]), remap(ann_ids, r["retracts"]),
                 r["created_at"])
                for r in t["annotations"]
            ],
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO predictions (run_id, item_id, label, score, scores) VALUES (?,?,?,?,?)",
            [
                (run_ids[int(r["run_id"])], item_ids[int(r["item_id"])], r["label"], r["score"],
                 json.dumps(r["scores"]))
                for r in t["predictions"]
            ],
        )  # fmt: skip
        conn.executemany(
            "INSERT OR IGNORE INTO score_cache (run_key, text_key, scores) VALUES (?,?,?)",
            [(r["run_key"], r["text_key"], json.dumps(r["scores"])) for r in t["score_cache"]],
        )
    return run_ids


# ---------------------------------------------------------------------------------------------
# tables


def export_table(store: Store, project_id: int, what: str, fmt: str) -> bytes:
    """ "items" (labels, sources, zero-shot and model columns) or "history" as file bytes."""
    from . import io as table_io

    if what == "items":
        df = store.export_items(project_id)
    elif what == "history":
        df = store.history(project_id)
    else:
        raise InputError(f"Nothing to export called {what!r}; use 'items' or 'history'.")
    return table_io.to_bytes(df, fmt)
