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

Restoring reads an upload, so it is bounded before anything is unpacked or written: from the
sizes the zip declares, the whole archive may unpack to at most MAX_UNPACKED_BYTES, the tables
read into memory to MAX_TABLES_BYTES, and no member over RATIO_FLOOR_BYTES may unpack to more
than MAX_RATIO times its compressed size (a zip bomb's 1000:1). Declared sizes can lie, so
every member is also read through a counter that stops at its declared size.
"""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import IO, Any

from .db import archive as archive_rows
from .db.projects import Project
from .db.store import Store
from .errors import InputError, LabelerError, StoreError
from .workspace import models_dir

FORMAT = "tweet-labeler-project"
VERSION = 1
TABLES = archive_rows.TABLES
# Limits of a restore (see the module docstring). JSON lines deflate 5-20:1, weights are stored.
MAX_UNPACKED_BYTES = 4 * 2**30
MAX_TABLES_BYTES = 1 * 2**30
MAX_RATIO = 200
RATIO_FLOOR_BYTES = 2**20
MAX_MEMBERS = 10_000
_CHUNK = 2**20


def _jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def slug(project: Project) -> str:
    """The project's name made safe for a file name: "Sample-four-day-work-week"."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in project.name)
    return "-".join(filter(None, safe.split("-"))) or "project"


def archive_name(project: Project) -> str:
    return f"{slug(project)}-{time.strftime('%Y%m%d')}.tweetlabeler.zip"


def export_project(store: Store, project_id: int, *, include_models: bool = False) -> bytes:
    """The project as zip bytes; live (unfinished) runs are left out."""
    project = store.projects.get(project_id)
    tables = archive_rows.dump(store.db, store.runs, store.predictions, project_id)
    items, annotations, runs = tables["items"], tables["annotations"], tables["runs"]
    predictions = tables["predictions"]
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
        for name, rows in tables.items():
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


def _size(n: int) -> str:
    return f"{n:,} bytes"


def check_limits(zf: zipfile.ZipFile) -> None:
    """Refuse an archive whose declared sizes pass the limits, before anything is unpacked."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InputError(
            f"The archive holds {len(infos):,} files; a project archive holds at most "
            f"{MAX_MEMBERS:,}. Nothing was restored."
        )
    total = tables = 0
    for info in infos:
        size, packed = info.file_size, max(info.compress_size, 1)
        if size > RATIO_FLOOR_BYTES and size > MAX_RATIO * packed:
            raise InputError(
                f"The archive member {info.filename!r} would unpack to {_size(size)}, "
                f"{size // packed:,} times its packed size; a restore allows at most {MAX_RATIO} "
                "times (a larger ratio is how a zip bomb fills a disk). Nothing was restored: "
                "choose an archive made by “Download the whole project”."
            )
        total += size
        if total > MAX_UNPACKED_BYTES:
            raise InputError(
                f"The archive would unpack to more than the {_size(MAX_UNPACKED_BYTES)} a restore "
                f"allows (reached at member {info.filename!r}, {_size(size)}). Nothing was "
                "restored: download the project without model folders, or copy those by hand."
            )
        if "/" not in info.filename:  # project.json and the tables are read into memory
            tables += size
            if tables > MAX_TABLES_BYTES:
                raise InputError(
                    f"The archive's tables would unpack to more than the "
                    f"{_size(MAX_TABLES_BYTES)} a restore reads into memory (reached at member "
                    f"{info.filename!r}, {_size(size)}). Nothing was restored; import such a "
                    "project's tweets from a file on the Data page instead."
                )


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dst: IO[bytes]) -> None:
    """Copy a member, stopping where it passes its declared size (headers can lie)."""
    left = info.file_size
    try:
        with zf.open(info) as src:
            while chunk := src.read(min(_CHUNK, left + 1)):
                left -= len(chunk)
                if left < 0:
                    raise InputError(
                        f"The archive member {info.filename!r} holds more than the "
                        f"{_size(info.file_size)} its header declares; the archive is damaged "
                        "or crafted. Nothing was restored."
                    )
                dst.write(chunk)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:  # a disk error stays itself
        raise InputError(
            f"The archive member {info.filename!r} is damaged ({exc}): its content does not match "
            f"its header (declared {_size(info.file_size)}). Nothing was restored."
        ) from None


def _read_member(zf: zipfile.ZipFile, name: str) -> bytes:
    buf = io.BytesIO()
    _copy_member(zf, zf.getinfo(name), buf)
    return buf.getvalue()


def _read_jsonl(zf: zipfile.ZipFile, name: str) -> list[dict[str, Any]]:
    try:
        data = _read_member(zf, f"{name}.jsonl")
    except KeyError:
        raise InputError(f"The archive has no {name}.jsonl: it is incomplete.") from None
    try:
        # only "\n" ends a line: a tweet may hold U+2028 or U+0085, which JSON writes raw and
        # str.splitlines() would break the line at
        return [json.loads(line) for line in data.decode("utf-8").split("\n") if line.strip()]
    except ValueError as exc:
        raise InputError(f"{name}.jsonl in the archive is damaged ({exc}).") from None


def read_manifest(data: bytes) -> dict[str, Any]:
    """project.json of an archive, checked (its limits too); raises InputError for anything else."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            check_limits(zf)
            manifest = json.loads(_read_member(zf, "project.json"))
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
        if store.projects.by_name(candidate) is None:
            return candidate
    raise StoreError(f"Too many projects named like {name!r}; rename some first.")


def restore_project(store: Store, data: bytes) -> Project:
    """Create a new project from archive bytes; returns it. Nothing is kept if it fails."""
    manifest = read_manifest(data)  # checks the limits before anything is unpacked
    settings = manifest.get("project") or {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        check_limits(zf)
        tables = {name: _read_jsonl(zf, name) for name in TABLES}
        project = store.projects.create(
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
            run_ids = archive_rows.load(store.db, project, tables)
            for old in manifest.get("models") or []:
                folder = models_dir() / f"project-{project.id}" / f"run-{run_ids[int(old)]}"
                written.append(folder)
                _extract_folder(zf, f"models/run-{int(old)}/", folder)
                store.runs.update(run_ids[int(old)], artifact_path=str(folder))
        except BaseException as exc:
            store.projects.delete(project.id)
            for folder in written:
                shutil.rmtree(folder, ignore_errors=True)
            if isinstance(exc, LabelerError | KeyboardInterrupt):
                raise
            raise InputError(
                f"The archive could not be restored ({type(exc).__name__}: {exc}); it may be "
                "damaged. Nothing was kept."
            ) from exc
    return store.projects.get(project.id)


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
        with open(target, "wb") as dst:
            _copy_member(zf, info, dst)


# ---------------------------------------------------------------------------------------------
# tables


def export_table(
    store: Store, project_id: int, what: str, fmt: str, *, spreadsheet_safe: bool = False
) -> bytes:
    """ "items" (labels, sources, zero-shot and model columns) or "history" as file bytes.

    CSV/TSV keep every text byte for byte unless `spreadsheet_safe` (see io.write.to_bytes)."""
    from .io.write import to_bytes

    if what == "items":
        df = store.export.frame(project_id)
    elif what == "history":
        df = store.labels.history(project_id)
    else:
        raise InputError(f"Nothing to export called {what!r}; use 'items' or 'history'.")
    return to_bytes(df, fmt, spreadsheet_safe=spreadsheet_safe)
