"""The FIRST VERSION's store, kept verbatim as the baseline bench/store_bench.py measures the new
store against (not used by the app). Its original docstring follows.

The workspace store: one SQLite file holding projects, items, labels, runs and scores.

Why SQLite, and why this shape:
- Every label is one committed transaction (WAL, synchronous=FULL): a label the UI acknowledged
  survives `kill -9` of the server and a power cut.
- Annotations are append-only. The current label is the newest row; undo appends a row that
  restores the label before it (recording which row it retracts), so history is never rewritten.
  `items.label` mirrors the newest row, written in the same transaction, so queues and counts
  stay index lookups at 100k items.
- A person's decision and a model's suggestion are stored apart (`annotations.source`), never merged.
- Each item is put once, at import, in the held-out share or the pool by a hash of its normalised
  text; held-out items are the test set for every model.
- Zero-shot scores are cached per (run key, exact text), so re-runs cost nothing and interrupted
  runs resume; per-run predictions keep every label's score for comparisons.

Connections are per thread (Streamlit serves each browser session on its own thread, jobs run in
their own processes); SQLite's busy timeout serialises writers.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from labeler.errors import StoreError
from labeler.text import is_heldout, norm_key, shuffle_rank, text_key

DEFAULT_TEMPLATE = "This tweet is {}."
SOURCES = ("human", "accepted-suggestion", "imported")
RUN_KINDS = ("zeroshot", "train", "predict")
ACTIVE = ("queued", "running")

# Each entry migrates the schema from version i to i+1; never edit one that has shipped.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE projects (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        guidelines TEXT NOT NULL DEFAULT '',
        labels TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        template TEXT NOT NULL,
        phrases TEXT NOT NULL,
        heldout_share REAL NOT NULL DEFAULT 0.2,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        text_key TEXT NOT NULL,
        norm_key INTEGER NOT NULL,
        ext_id TEXT,
        source_name TEXT,
        source_row INTEGER,
        extra TEXT,
        split TEXT NOT NULL CHECK (split IN ('heldout', 'pool')),
        shuffle INTEGER NOT NULL,
        label TEXT,
        label_source TEXT,
        annotator TEXT,
        labelled_at REAL,
        unsure INTEGER NOT NULL DEFAULT 0,
        review INTEGER NOT NULL DEFAULT 0,
        comment TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    );
    CREATE INDEX items_queue ON items(project_id, split, label, id);
    CREATE INDEX items_shuffle ON items(project_id, split, label, shuffle);
    CREATE INDEX items_label ON items(project_id, label);
    CREATE INDEX items_norm ON items(project_id, norm_key);
    CREATE TABLE annotations (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        label TEXT,
        source TEXT NOT NULL CHECK (source IN ('human', 'accepted-suggestion', 'imported')),
        annotator TEXT NOT NULL DEFAULT '',
        run_id INTEGER,
        retracts INTEGER REFERENCES annotations(id),
        created_at REAL NOT NULL
    );
    CREATE INDEX annotations_item ON annotations(item_id, id);
    CREATE INDEX annotations_project ON annotations(project_id, annotator, id);
    CREATE INDEX annotations_time ON annotations(project_id, created_at);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        project_id INTEGER REFERENCES projects(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'queued',
        done INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL DEFAULT 0,
        rate REAL,
        eta_s REAL,
        message TEXT NOT NULL DEFAULT '',
        error TEXT,
        heartbeat REAL,
        pid INTEGER,
        model TEXT,
        run_key TEXT,
        artifact_path TEXT,
        metrics TEXT,
        log TEXT,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL
    );
    CREATE INDEX runs_project ON runs(project_id, kind, id);
    CREATE TABLE predictions (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        score REAL NOT NULL,
        scores TEXT NOT NULL,
        PRIMARY KEY (run_id, item_id)
    ) WITHOUT ROWID;
    CREATE INDEX predictions_score ON predictions(run_id, score);
    CREATE INDEX predictions_item ON predictions(item_id);
    CREATE TABLE score_cache (
        run_key TEXT NOT NULL,
        text_key TEXT NOT NULL,
        scores TEXT NOT NULL,
        PRIMARY KEY (run_key, text_key)
    ) WITHOUT ROWID;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass
class Project:
    id: int
    name: str
    labels: list[str]
    guidelines: str = ""
    target: str = ""
    template: str = DEFAULT_TEMPLATE
    phrases: list[str] = field(default_factory=list)
    heldout_share: float = 0.2

    def hypothesis(self, phrase: str) -> str:
        """The NLI hypothesis for one label phrase, with the project's target filled in."""
        return self.template.replace("{target}", self.target).format(phrase)


@dataclass
class ImportReport:
    imported: int = 0
    heldout: int = 0
    labelled: int = 0
    already_in_project: int = 0
    unknown_labels: dict[str, int] = field(default_factory=dict)


def _now() -> float:
    return time.time()


def _project_from_row(row: sqlite3.Row) -> Project:
    return Project(
        id=row["id"],
        name=row["name"],
        labels=json.loads(row["labels"]),
        guidelines=row["guidelines"],
        target=row["target"],
        template=row["template"],
        phrases=json.loads(row["phrases"]),
        heldout_share=row["heldout_share"],
    )


def validate_project_fields(
    name: str, labels: Sequence[str], template: str, phrases: Sequence[str], heldout_share: float
) -> None:
    """Raise StoreError saying what to fix when a project's settings cannot work."""
    from labeler.errors import SettingsError

    if not name.strip():
        raise SettingsError("The project needs a name.")
    clean = [lab.strip() for lab in labels]
    if len(clean) < 2 or any(not lab for lab in clean):
        raise SettingsError(
            f"A project needs at least two non-empty labels (got {len(clean)}: "
            f"{', '.join(map(repr, clean)) or 'none'}); give them separated by commas, "
            "e.g. AGAINST, FAVOR, NONE."
        )
    dupes = sorted({lab for lab in clean if clean.count(lab) > 1})
    if dupes:
        raise SettingsError(f"Labels must be distinct; repeated: {', '.join(dupes)}.")
    if len(clean) > 20:
        raise SettingsError(f"{len(clean)} labels is more than the 20 the app supports.")
    if "{}" not in template:
        raise SettingsError(
            f"Template {template!r} has no {{}} placeholder for the label phrase; "
            "write it like 'This tweet is {}.'"
        )
    if len(phrases) != len(clean):
        raise SettingsError(
            f"There are {len(clean)} labels but {len(phrases)} phrases; give one phrase per label."
        )
    if not 0.0 <= heldout_share < 1.0:
        raise SettingsError(
            f"Held-out share {heldout_share} is outside [0, 1); 0.2 keeps one tweet in five for testing."
        )


class Store:
    """All reads and writes of one workspace's SQLite file."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._migrate()

    # -- connection -------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA cache_size=-65536")  # 64 MB: bulk imports keep indexes in memory
            self._local.conn = conn
            self._local.pid = os.getpid()
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: one writer at a time, all or nothing."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _migrate(self) -> None:
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer Tweet Labeler (schema {version}, this one "
                    f"knows {SCHEMA_VERSION}); upgrade the app or point TWEET_LABELER_HOME elsewhere."
                )
            for step in MIGRATIONS[version:]:
                for statement in filter(str.strip, step.split(";")):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- projects ---------------------------------------------------------------------------
    def create_project(
        self,
        name: str,
        labels: Sequence[str],
        *,
        guidelines: str = "",
        target: str = "",
        template: str = DEFAULT_TEMPLATE,
        phrases: Sequence[str] | None = None,
        heldout_share: float = 0.2,
    ) -> Project:
        labels = [lab.strip() for lab in labels]
        phrases = [p.strip() for p in phrases] if phrases else [lab.lower() for lab in labels]
        validate_project_fields(name, labels, template, phrases, heldout_share)
        try:
            with self.transaction() as conn:
                cur = conn.execute(
                    "INSERT INTO projects (name, guidelines, labels, target, template, phrases,"
                    " heldout_share, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        name.strip(),
                        guidelines,
                        json.dumps(labels),
                        target.strip(),
                        template,
                        json.dumps(phrases),
                        heldout_share,
                        _now(),
                        _now(),
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise StoreError(
                f"A project named {name.strip()!r} exists already; pick another name."
            ) from exc
        return self.project(cur.lastrowid)

    def project(self, project_id: int) -> Project:
        row = self.conn.execute("SELECT * FROM projects WHERE id=?", (project_id,)).fetchone()
        if row is None:
            raise StoreError(f"No project with id {project_id}; it may have been deleted.")
        return _project_from_row(row)

    def project_by_name(self, name: str) -> Project | None:
        row = self.conn.execute("SELECT * FROM projects WHERE name=?", (name,)).fetchone()
        return _project_from_row(row) if row else None

    def projects(self) -> list[Project]:
        rows = self.conn.execute("SELECT * FROM projects ORDER BY updated_at DESC, id DESC")
        return [_project_from_row(r) for r in rows]

    def update_project(self, project_id: int, **changes: Any) -> Project:
        """Change name, guidelines, target, template, phrases or held-out share (labels are fixed
        once items carry them, to keep history meaningful; add labels by creating a project)."""
        current = self.project(project_id)
        allowed = {"name", "guidelines", "target", "template", "phrases", "heldout_share", "labels"}
        unknown = set(changes) - allowed
        if unknown:
            raise StoreError(f"Cannot change {', '.join(sorted(unknown))} of a project.")
        merged = {**current.__dict__, **changes}
        if (
            "labels" in changes
            and changes["labels"] != current.labels
            and self.count_labelled(project_id)
        ):
            raise StoreError(
                "This project already has labels; its label set can no longer change. "
                "Create a new project for a different label set."
            )
        if "labels" in changes and "phrases" not in changes:
            merged["phrases"] = [lab.lower() for lab in merged["labels"]]
        validate_project_fields(
            merged["name"],
            merged["labels"],
            merged["template"],
            merged["phrases"],
            merged["heldout_share"],
        )
        try:
            with self.transaction() as conn:
                conn.execute(
                    "UPDATE projects SET name=?, guidelines=?, labels=?, target=?, template=?,"
                    " phrases=?, heldout_share=?, updated_at=? WHERE id=?",
                    (
                        merged["name"].strip(),
                        merged["guidelines"],
                        json.dumps(merged["labels"]),
                        merged["target"],
                        merged["template"],
                        json.dumps(merged["phrases"]),
                        merged["heldout_share"],
                        _now(),
                        project_id,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"A project named {merged['name']!r} exists already.") from exc
        return self.project(project_id)

    def delete_project(self, project_id: int) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM projects WHERE id=?", (project_id,))

    # -- items ------------------------------------------------------------------------------
    def import_items(
        self,
        project_id: int,
        items: pd.DataFrame,
        *,
        source_name: str = "",
        annotator: str = "import",
        skip_existing: bool = True,
    ) -> ImportReport:
        """Add prepared rows (columns text, ext_id, source_row, label, extra) in one transaction.

        Labels already in the file become annotations with source 'imported'; values outside the
        project's label set are counted and not stored as labels. With `skip_existing`, texts the
        project already holds are not added again (adding more data later is safe).
        """
        project = self.project(project_id)
        known = set(project.labels)
        by_folded = {lab.casefold(): lab for lab in project.labels}
        report = ImportReport()
        now = _now()
        with self.transaction() as conn:
            existing: set[int] = set()
            if skip_existing:
                existing = {
                    r[0]
                    for r in conn.execute(
                        "SELECT norm_key FROM items WHERE project_id=?", (project_id,)
                    )
                }
            start = conn.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()[0] + 1
            rows, labelled = [], []
            columns = {
                c: items[c].tolist() if c in items else None
                for c in ("text", "ext_id", "source_row", "label", "extra")
            }
            n = len(items)
            for i in range(n):
                text = columns["text"][i]
                nkey = norm_key(text)
                if nkey in existing:
                    report.already_in_project += 1
                    continue
                item_id = start + len(rows)
                tkey = text_key(text)
                split = "heldout" if is_heldout(nkey, project.heldout_share) else "pool"
                extra = columns["extra"][i] if columns["extra"] else None
                label = columns["label"][i] if columns["label"] else None
                if label is not None and not (isinstance(label, float) and label != label):
                    label = str(label).strip()
                    if label not in known:
                        label = by_folded.get(label.casefold(), label)
                    if label not in known:
                        report.unknown_labels[label] = report.unknown_labels.get(label, 0) + 1
                        label = None
                else:
                    label = None
                rows.append(
                    (
                        item_id,
                        project_id,
                        text,
                        tkey,
                        nkey,
                        None if columns["ext_id"] is None else columns["ext_id"][i],
                        source_name,
                        None if columns["source_row"] is None else int(columns["source_row"][i]),
                        json.dumps(extra, ensure_ascii=False) if extra else None,
                        split,
                        shuffle_rank(tkey),
                        label,
                        "imported" if label else None,
                        annotator if label else None,
                        now if label else None,
                        now,
                    )
                )
                if label:
                    labelled.append((item_id, project_id, label, "imported", annotator, now))
                if split == "heldout":
                    report.heldout += 1
                existing.add(nkey)
            conn.executemany(
                "INSERT INTO items (id, project_id, text, text_key, norm_key, ext_id, source_name,"
                " source_row, extra, split, shuffle, label, label_source, annotator, labelled_at,"
                " created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            conn.executemany(
                "INSERT INTO annotations (item_id, project_id, label, source, annotator, created_at)"
                " VALUES (?,?,?,?,?,?)",
                labelled,
            )
            conn.execute("UPDATE projects SET updated_at=? WHERE id=?", (now, project_id))
        report.imported = len(rows)
        report.labelled = len(labelled)
        return report

    def item(self, item_id: int) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM items WHERE id=?", (item_id,)).fetchone()
        if row is None:
            raise StoreError(f"No item with id {item_id}.")
        return dict(row)

    def count_items(self, project_id: int) -> int:
        return self.conn.execute(
            "SELECT COUNT(*) FROM items WHERE project_id=?", (project_id,)
        ).fetchone()[0]

    def count_labelled(self, project_id: int) -> int:
        return self.conn.execute(
            "SELECT COUNT(*) FROM items WHERE project_id=? AND label IS NOT NULL", (project_id,)
        ).fetchone()[0]

    def stats(self, project_id: int, annotator: str | None = None) -> dict[str, Any]:
        """Counts the pages show: items, labelled, held-out, per label and source, today."""
        conn = self.conn
        total, labelled, heldout, heldout_labelled, unsure, review = conn.execute(
            "SELECT COUNT(*), COUNT(label), SUM(split='heldout'),"
            " SUM(split='heldout' AND label IS NOT NULL), SUM(unsure), SUM(review)"
            " FROM items WHERE project_id=?",
            (project_id,),
        ).fetchone()
        per_label = {
            r[0]: r[1]
            for r in conn.execute(
                "SELECT label, COUNT(*) FROM items WHERE project_id=? AND label IS NOT NULL"
                " GROUP BY label",
                (project_id,),
            )
        }
        per_source = {
            r[0]: r[1]
            for r in conn.execute(
                "SELECT label_source, COUNT(*) FROM items WHERE project_id=? AND label IS NOT NULL"
                " GROUP BY label_source",
                (project_id,),
            )
        }
        midnight = time.mktime(time.localtime()[:3] + (0, 0, 0, 0, 0, -1))
        today_sql = (
            "SELECT COUNT(*) FROM annotations WHERE project_id=? AND created_at>=?"
            " AND source='human' AND retracts IS NULL"
        )
        args: list[Any] = [project_id, midnight]
        if annotator is not None:
            today_sql += " AND annotator=?"
            args.append(annotator)
        today = conn.execute(today_sql, args).fetchone()[0]
        return {
            "items": total or 0,
            "labelled": labelled or 0,
            "heldout": heldout or 0,
            "heldout_labelled": heldout_labelled or 0,
            "unsure": unsure or 0,
            "review": review or 0,
            "per_label": per_label,
            "per_source": per_source,
            "today": today,
        }

    def progress_counts(self, project_id: int, annotator: str | None = None) -> dict[str, int]:
        """The annotation card's counter, from indexes only (it runs on every key press)."""
        conn = self.conn
        items = conn.execute(
            "SELECT COUNT(*) FROM items WHERE project_id=?", (project_id,)
        ).fetchone()[0]
        labelled = conn.execute(
            "SELECT COUNT(*) FROM items WHERE project_id=? AND label IS NOT NULL", (project_id,)
        ).fetchone()[0]
        heldout_labelled = conn.execute(
            "SELECT COUNT(*) FROM items WHERE project_id=? AND split='heldout'"
            " AND label IS NOT NULL",
            (project_id,),
        ).fetchone()[0]
        midnight = time.mktime(time.localtime()[:3] + (0, 0, 0, 0, 0, -1))
        today = conn.execute(
            "SELECT COUNT(*) FROM annotations WHERE project_id=? AND created_at>=?"
            " AND source='human' AND retracts IS NULL AND annotator=?",
            (project_id, midnight, annotator or ""),
        ).fetchone()[0]
        return {
            "items": items,
            "labelled": labelled,
            "heldout_labelled": heldout_labelled,
            "today": today,
        }

    # -- labelling --------------------------------------------------------------------------
    def label(
        self,
        item_id: int,
        label: str,
        *,
        annotator: str = "",
        source: str = "human",
        run_id: int | None = None,
    ) -> int:
        """Record one label as its own committed transaction; returns the annotation id."""
        if source not in SOURCES:
            raise StoreError(f"Unknown label source {source!r}; use one of {', '.join(SOURCES)}.")
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT i.project_id, p.labels FROM items i JOIN projects p ON p.id=i.project_id"
                " WHERE i.id=?",
                (item_id,),
            ).fetchone()
            if row is None:
                raise StoreError(f"No item with id {item_id}; it may have been deleted.")
            labels = json.loads(row["labels"])
            if label not in labels:
                raise StoreError(f"{label!r} is not a label of this project ({', '.join(labels)}).")
            now = _now()
            cur = conn.execute(
                "INSERT INTO annotations (item_id, project_id, label, source, annotator, run_id,"
                " created_at) VALUES (?,?,?,?,?,?,?)",
                (item_id, row["project_id"], label, source, annotator, run_id, now),
            )
            conn.execute(
                "UPDATE items SET label=?, label_source=?, annotator=?, labelled_at=?,"
                " review=CASE WHEN ?='human' THEN 0 ELSE review END WHERE id=?",
                (label, source, annotator, now, source, item_id),
            )
            return cur.lastrowid

    def undo(self, project_id: int, annotator: str = "") -> int | None:
        """Take back this annotator's newest label still in effect; returns the item id.

        Appends a row restoring what the item had before (or no label), marked as retracting the
        undone row: nothing is deleted, and undoing twice walks further back.
        """
        with self.transaction() as conn:
            target = conn.execute(
                "SELECT a.id, a.item_id FROM annotations a"
                " WHERE a.project_id=? AND a.annotator=? AND a.retracts IS NULL"
                " AND a.source != 'imported'"
                " AND NOT EXISTS (SELECT 1 FROM annotations r WHERE r.retracts=a.id)"
                # never clobber a newer decision someone made on the same item
                " AND NOT EXISTS (SELECT 1 FROM annotations n WHERE n.item_id=a.item_id"
                " AND n.id>a.id AND n.retracts IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM annotations r2 WHERE r2.retracts=n.id))"
                " ORDER BY a.id DESC LIMIT 1",
                (project_id, annotator),
            ).fetchone()
            if target is None:
                return None
            before = conn.execute(
                "SELECT label, source, annotator FROM annotations WHERE item_id=? AND id<?"
                " ORDER BY id DESC LIMIT 1",
                (target["item_id"], target["id"]),
            ).fetchone()
            label = before["label"] if before else None
            source = before["source"] if before else "human"
            now = _now()
            conn.execute(
                "INSERT INTO annotations (item_id, project_id, label, source, annotator, retracts,"
                " created_at) VALUES (?,?,?,?,?,?,?)",
                (target["item_id"], project_id, label, source, annotator, target["id"], now),
            )
            conn.execute(
                "UPDATE items SET label=?, label_source=?, annotator=?, labelled_at=? WHERE id=?",
                (
                    label,
                    source if label else None,
                    before["annotator"] if label else None,
                    now if label else None,
                    target["item_id"],
                ),
            )
            return target["item_id"]

    def set_unsure(self, item_id: int, unsure: bool) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE items SET unsure=? WHERE id=?", (int(unsure), item_id))

    def set_comment(self, item_id: int, comment: str) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE items SET comment=? WHERE id=?", (comment, item_id))

    def history(self, project_id: int) -> pd.DataFrame:
        """Every annotation ever made (who, when, what, source), oldest first."""
        return pd.read_sql_query(
            "SELECT a.id AS annotation_id, a.item_id, i.ext_id, i.text, a.label, a.source,"
            " a.annotator, datetime(a.created_at, 'unixepoch') AS time_utc, a.retracts,"
            " a.run_id FROM annotations a JOIN items i ON i.id=a.item_id"
            " WHERE a.project_id=? ORDER BY a.id",
            self.conn,
            params=(project_id,),
        )

    # -- queues and pages -------------------------------------------------------------------
    def next_item(
        self,
        project_id: int,
        *,
        order: str = "loaded",
        run_id: int | None = None,
        exclude: Iterable[int] = (),
        heldout_share: float | None = None,
        seed: int = 0,
        where: str = "unlabelled",
        label: str | None = None,
        search: str = "",
    ) -> dict[str, Any] | None:
        """The next item to show, by queue `order`: loaded, random, least-confident, by-label.

        Held-out items are interleaved at random in the project's share, so the test set fills as
        the person works; they never take a model's order (they are labelled blind). `exclude`
        holds ids skipped in this sitting.
        """
        share = self.project(project_id).heldout_share if heldout_share is None else heldout_share
        labelled = self.count_labelled(project_id)
        want_heldout = random.Random(f"{seed}:{labelled}:{len(tuple(exclude))}").random() < share
        exclude = tuple(exclude)
        first = ("heldout", "pool") if want_heldout else ("pool", "heldout")
        for split in first:
            found = self._next_in_split(
                project_id, split, order, run_id, exclude, where, label, search
            )
            if found is not None:
                return found
        return None

    def _filter_sql(
        self, where: str, label: str | None, search: str, run_id: int | None
    ) -> tuple[str, list[Any]]:
        clauses, args = [], []
        if where == "unlabelled":
            clauses.append("i.label IS NULL")
        elif where == "labelled":
            clauses.append("i.label IS NOT NULL")
        elif where == "unsure":
            clauses.append("i.unsure=1")
        elif where == "review":
            clauses.append("i.review=1")
        elif where == "disagree":
            if run_id is None:
                clauses.append("0")
            else:
                clauses.append(
                    "i.label IS NOT NULL AND EXISTS (SELECT 1 FROM predictions p WHERE"
                    " p.run_id=? AND p.item_id=i.id AND p.label != i.label)"
                )
                args.append(run_id)
        elif where != "all":
            raise StoreError(f"Unknown filter {where!r}.")
        if label:
            clauses.append("i.label=?")
            args.append(label)
        if search.strip():
            clauses.append("i.text LIKE ? ESCAPE '\\'")
            escaped = search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args.append(f"%{escaped}%")
        return (" AND " + " AND ".join(clauses)) if clauses else "", args

    def _next_in_split(
        self, project_id, split, order, run_id, exclude, where, label, search
    ) -> dict[str, Any] | None:
        filt, fargs = self._filter_sql(where, label, search, run_id)
        excl = ""
        if exclude:
            excl = f" AND i.id NOT IN ({','.join('?' * len(exclude))})"
        base_args = [project_id, split, *fargs, *exclude]
        model_order = order in ("least-confident", "by-label") and run_id is not None
        if split == "heldout" or not model_order:
            key = "i.shuffle" if order == "random" or split == "heldout" else "i.id"
            sql = (
                f"SELECT i.* FROM items i WHERE i.project_id=? AND i.split=?{filt}{excl}"
                f" ORDER BY {key} LIMIT 1"
            )
            row = self.conn.execute(sql, base_args).fetchone()
        else:
            key = "p.score ASC" if order == "least-confident" else "p.label, p.score DESC"
            sql = (
                "SELECT i.* FROM predictions p JOIN items i ON i.id=p.item_id"
                f" WHERE p.run_id=? AND i.project_id=? AND i.split=?{filt}{excl}"
                f" ORDER BY {key} LIMIT 1"
            )
            row = self.conn.execute(sql, [run_id, *base_args]).fetchone()
            if row is None:  # items the model has not scored come after the scored ones
                sql = (
                    f"SELECT i.* FROM items i WHERE i.project_id=? AND i.split=?{filt}{excl}"
                    " AND NOT EXISTS (SELECT 1 FROM predictions p WHERE p.run_id=? AND"
                    " p.item_id=i.id) ORDER BY i.id LIMIT 1"
                )
                row = self.conn.execute(sql, [*base_args, run_id]).fetchone()
        return dict(row) if row else None

    def items_page(
        self,
        project_id: int,
        *,
        where: str = "all",
        label: str | None = None,
        search: str = "",
        split: str | None = None,
        run_id: int | None = None,
        min_score: float | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> pd.DataFrame:
        """A page of items with their current label and, given a run, its suggestion."""
        filt, fargs = self._filter_sql(
            where, label, search, run_id if where == "disagree" else None
        )
        pred_cols, pred_join, args = "", "", []
        if run_id is not None:
            pred_cols = ", p.label AS suggestion, p.score AS confidence"
            pred_join = " LEFT JOIN predictions p ON p.item_id=i.id AND p.run_id=?"
            args.append(run_id)
        args += [project_id, *fargs]
        split_sql = ""
        if split:
            split_sql = " AND i.split=?"
            args.append(split)
        score_sql = ""
        if min_score is not None:
            score_sql = " AND p.score>=?"
            args.append(min_score)
        sql = (
            "SELECT i.id, i.ext_id, i.text, i.split, i.label, i.label_source, i.annotator,"
            f" i.unsure, i.comment{pred_cols} FROM items i{pred_join}"
            f" WHERE i.project_id=?{filt}{split_sql}{score_sql} ORDER BY i.id LIMIT ? OFFSET ?"
        )
        return pd.read_sql_query(sql, self.conn, params=[*args, limit, offset])

    def texts(self, project_id: int, *, split: str | None = None) -> pd.DataFrame:
        """id, text, text_key, split, label of every item (for engines and charts)."""
        sql = "SELECT id, text, text_key, split, label, label_source FROM items WHERE project_id=?"
        args: list[Any] = [project_id]
        if split:
            sql += " AND split=?"
            args.append(split)
        return pd.read_sql_query(sql + " ORDER BY id", self.conn, params=args)

    def training_data(
        self, project_id: int, *, include_accepted: bool = False
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(train, test): pool items with a human (or imported, or optionally accepted) label, and
        held-out items with a human or imported label. Accepted suggestions are never test gold."""
        sources = ["human", "imported"] + (["accepted-suggestion"] if include_accepted else [])
        q = (
            "SELECT id, text, label, label_source FROM items WHERE project_id=? AND split=?"
            f" AND label IS NOT NULL AND label_source IN ({','.join('?' * len(sources))})"
            " ORDER BY id"
        )
        train = pd.read_sql_query(q, self.conn, params=[project_id, "pool", *sources])
        gold = ["human", "imported"]
        q_test = (
            "SELECT id, text, label, label_source FROM items WHERE project_id=? AND split=?"
            " AND label IS NOT NULL AND label_source IN (?, ?) ORDER BY id"
        )
        test = pd.read_sql_query(q_test, self.conn, params=[project_id, "heldout", *gold])
        return train, test

    # -- suggestions ------------------------------------------------------------------------
    def acceptable(self, project_id: int, run_id: int, threshold: float) -> int:
        """How many suggestions `accept_suggestions` would turn into labels right now."""
        return self.conn.execute(
            "SELECT COUNT(*) FROM predictions p JOIN items i ON i.id=p.item_id WHERE p.run_id=?"
            " AND i.project_id=? AND i.split='pool' AND i.label IS NULL AND p.score>=?",
            (run_id, project_id, threshold),
        ).fetchone()[0]

    def accept_suggestions(
        self,
        project_id: int,
        run_id: int,
        threshold: float,
        *,
        annotator: str = "",
        audit_share: float = 0.05,
        seed: int = 0,
    ) -> tuple[int, int]:
        """Turn every unlabelled pool item's suggestion at or above `threshold` into a label with
        source 'accepted-suggestion'; held-out items are never touched. A random `audit_share`
        (at least one) is flagged for human review. Returns (accepted, queued for audit)."""
        now = _now()
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT p.item_id, p.label FROM predictions p JOIN items i ON i.id=p.item_id"
                " WHERE p.run_id=? AND i.project_id=? AND i.split='pool' AND i.label IS NULL"
                " AND p.score>=? ORDER BY p.item_id",
                (run_id, project_id, threshold),
            ).fetchall()
            if not rows:
                return 0, 0
            conn.executemany(
                "INSERT INTO annotations (item_id, project_id, label, source, annotator, run_id,"
                " created_at) VALUES (?,?,?,'accepted-suggestion',?,?,?)",
                [(r[0], project_id, r[1], annotator, run_id, now) for r in rows],
            )
            conn.executemany(
                "UPDATE items SET label=?, label_source='accepted-suggestion', annotator=?,"
                " labelled_at=? WHERE id=?",
                [(r[1], annotator, now, r[0]) for r in rows],
            )
            k = max(1, round(len(rows) * audit_share)) if audit_share > 0 else 0
            audit = random.Random(seed).sample([r[0] for r in rows], min(k, len(rows)))
            conn.executemany("UPDATE items SET review=1 WHERE id=?", [(i,) for i in audit])
        return len(rows), len(audit)

    def apply_edits(
        self, project_id: int, edits: dict[int, str | None], *, annotator: str = ""
    ) -> int:
        """Labels from table mode, keyed by item id (never by row position), in one transaction."""
        project = self.project(project_id)
        bad = sorted(
            {lab for lab in edits.values() if lab is not None and lab not in project.labels}
        )
        if bad:
            raise StoreError(f"Unknown label(s) {', '.join(bad)}; use {', '.join(project.labels)}.")
        now = _now()
        changed = 0
        with self.transaction() as conn:
            for item_id, label in edits.items():
                cur = conn.execute(
                    "SELECT label FROM items WHERE id=? AND project_id=?", (item_id, project_id)
                ).fetchone()
                if cur is None or cur[0] == label or label is None:
                    continue
                conn.execute(
                    "INSERT INTO annotations (item_id, project_id, label, source, annotator,"
                    " created_at) VALUES (?,?,?,'human',?,?)",
                    (item_id, project_id, label, annotator, now),
                )
                conn.execute(
                    "UPDATE items SET label=?, label_source='human', annotator=?, labelled_at=?,"
                    " review=0 WHERE id=?",
                    (label, annotator, now, item_id),
                )
                changed += 1
        return changed

    # -- runs -------------------------------------------------------------------------------
    def create_run(
        self,
        project_id: int | None,
        kind: str,
        params: dict[str, Any],
        *,
        total: int = 0,
        model: str | None = None,
        run_key: str | None = None,
    ) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO runs (project_id, kind, params, total, model, run_key, created_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (project_id, kind, json.dumps(params), total, model, run_key, _now()),
            )
            return cur.lastrowid

    def update_run(self, run_id: int, **fields: Any) -> None:
        """Progress, heartbeat, status, results: one short transaction."""
        for key in ("params", "metrics", "log"):
            if key in fields and not isinstance(fields[key], str | None):
                fields[key] = json.dumps(fields[key])
        if not fields:
            return
        cols = ", ".join(f"{k}=?" for k in fields)
        with self.transaction() as conn:
            conn.execute(f"UPDATE runs SET {cols} WHERE id=?", (*fields.values(), run_id))

    def run(self, run_id: int) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"No run with id {run_id}.")
        return _run_dict(row)

    def runs(self, project_id: int, kind: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM runs WHERE project_id=?", [project_id]
        if kind:
            sql += " AND kind=?"
            args.append(kind)
        return [_run_dict(r) for r in self.conn.execute(sql + " ORDER BY id DESC", args)]

    def latest_run(self, project_id: int, kind: str, status: str = "done") -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT * FROM runs WHERE project_id=? AND kind=? AND status=? ORDER BY id DESC LIMIT 1",
            (project_id, kind, status),
        ).fetchone()
        return _run_dict(row) if row else None

    def delete_run(self, run_id: int) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM runs WHERE id=?", (run_id,))

    # -- predictions and the zero-shot cache --------------------------------------------------
    def put_predictions(
        self, run_id: int, rows: Iterable[tuple[int, str, float, Sequence[float]]]
    ) -> None:
        """(item_id, label, score, scores in label order) for one run; replaces earlier rows."""
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO predictions (run_id, item_id, label, score, scores)"
                " VALUES (?,?,?,?,?)",
                [
                    (run_id, i, lab, float(s), json.dumps([round(float(x), 6) for x in sc]))
                    for i, lab, s, sc in rows
                ],
            )

    def predictions(self, run_id: int) -> pd.DataFrame:
        """item_id, label, score, scores (list in the run's label order)."""
        df = pd.read_sql_query(
            "SELECT item_id, label, score, scores FROM predictions WHERE run_id=? ORDER BY item_id",
            self.conn,
            params=(run_id,),
        )
        df["scores"] = [json.loads(s) for s in df["scores"]]
        return df

    def prediction(self, run_id: int, item_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT label, score, scores FROM predictions WHERE run_id=? AND item_id=?",
            (run_id, item_id),
        ).fetchone()
        if row is None:
            return None
        return {"label": row[0], "score": row[1], "scores": json.loads(row[2])}

    def get_scores(self, run_key: str, text_keys: list[str]) -> dict[str, list[float]]:
        """Cached zero-shot scores for these exact texts under this run key."""
        found: dict[str, list[float]] = {}
        for start in range(0, len(text_keys), 500):
            chunk = text_keys[start : start + 500]
            rows = self.conn.execute(
                f"SELECT text_key, scores FROM score_cache WHERE run_key=? AND text_key IN"
                f" ({','.join('?' * len(chunk))})",
                (run_key, *chunk),
            )
            found.update((r[0], json.loads(r[1])) for r in rows)
        return found

    def put_scores(self, run_key: str, scores: dict[str, list[float]]) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO score_cache (run_key, text_key, scores) VALUES (?,?,?)",
                [(run_key, k, json.dumps([float(x) for x in v])) for k, v in scores.items()],
            )

    # -- export -----------------------------------------------------------------------------
    def export_items(self, project_id: int) -> pd.DataFrame:
        """Every item with its human label and source, plus the newest zero-shot and prediction
        run's label and per-label scores, plus the columns kept from the imported file."""
        project = self.project(project_id)
        df = pd.read_sql_query(
            "SELECT id AS item_id, ext_id, text, split, label, label_source, annotator,"
            " datetime(labelled_at, 'unixepoch') AS labelled_at_utc, unsure, comment, extra,"
            " source_name, source_row FROM items WHERE project_id=? ORDER BY id",
            self.conn,
            params=(project_id,),
        )
        for kind, prefix in (("zeroshot", "zs"), ("predict", "pred")):
            run = self.latest_run(project_id, kind)
            if run is None:
                continue
            labels = run["params"].get("labels") or project.labels
            preds = self.predictions(run["id"]).set_index("item_id")
            df[f"{prefix}_label"] = df["item_id"].map(preds["label"])
            df[f"{prefix}_score"] = df["item_id"].map(preds["score"])
            matrix = preds["scores"].to_dict()
            for j, lab in enumerate(labels):
                df[f"{prefix}_score_{lab}"] = [
                    matrix[i][j] if i in matrix else None for i in df["item_id"]
                ]
        extras = [json.loads(e) if e else {} for e in df.pop("extra")]
        if any(extras):
            extra_df = pd.DataFrame(extras, index=df.index)
            extra_df = extra_df[[c for c in extra_df.columns if c not in df.columns]]
            df = pd.concat([df, extra_df], axis=1)
        return df


def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for key in ("params", "metrics", "log"):
        out[key] = json.loads(out[key]) if out.get(key) else ({} if key == "params" else None)
    return out


def open_store(path: str | os.PathLike | None = None) -> Store:
    """The workspace's store (TWEET_LABELER_HOME/labeler.sqlite unless a path is given)."""
    if path is None:
        from labeler.workspace import database_path

        path = database_path()
    return Store(path)
