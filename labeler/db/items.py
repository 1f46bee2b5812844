"""Items: the tweets of a project, how they are imported, counted, listed and flagged.

Import rules live here: labels already in a file are matched to the project's labels ignoring
case and stored as annotations with source `imported`; other values are counted, not stored; the
held-out split is decided once per item by its normalised text; a text the project already holds
(same normalised form) is not added twice. Large imports commit in chunks so that a person
labelling at the same time never waits long for the write lock (a rerun skips what landed).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import pandas as pd
from sqlalchemy import text

from ..errors import StoreError
from ..text import is_heldout, norm_key, shuffle_rank, text_key
from .counts import add_duplicates, add_pool, bucket, change
from .counts import rows as count_rows
from .engine import Database
from .filters import filter_sql
from .projects import Projects
from .sql import bulk_insert, expand, frame, reserve_ids

IMPORT_CHUNK = 20_000  # ~0.3 s of write lock: a label waits at most that long
LENGTH_SAMPLE = 50_000  # the Data page's tweet lengths: of more items, a uniform sample
ITEM_COLUMNS = (
    "id",
    "project_id",
    "text",
    "text_key",
    "norm_key",
    "ext_id",
    "source_name",
    "source_row",
    "extra",
    "split",
    "shuffle",
    "label",
    "label_source",
    "annotator",
    "labelled_at",
    "created_at",
    "coders",
)
IMPORTED_COLUMNS = ("item_id", "project_id", "label", "source", "annotator", "created_at")
CODE_COLUMNS = ("item_id", "annotator", "project_id", "label", "source", "updated_at")


@dataclass
class ImportReport:
    imported: int = 0
    heldout: int = 0
    labelled: int = 0
    already_in_project: int = 0
    unknown_labels: dict[str, int] = field(default_factory=dict)


def _buckets(added: Counter[tuple[str, str | None]]) -> Counter:
    """(split, label) -> items, as counts.py's buckets (an imported label's source: imported)."""
    out: Counter = Counter()
    for (split, label), n in added.items():
        out[bucket(split, label, "imported" if label else None)] += n
    return out


def _midnight() -> float:
    return time.mktime(time.localtime()[:3] + (0, 0, 0, 0, 0, -1))


class Items:
    def __init__(self, db: Database, projects: Projects):
        self.db = db
        self.projects = projects

    # -- import ----------------------------------------------------------------------------
    def import_frame(
        self,
        project_id: int,
        items: pd.DataFrame,
        *,
        source_name: str = "",
        annotator: str = "import",
        skip_existing: bool = True,
    ) -> ImportReport:
        """Add prepared rows (columns text, ext_id, source_row, label, extra).

        Labels already in the file become annotations with source 'imported'; values outside the
        project's label set are counted and not stored as labels. With `skip_existing`, texts the
        project already holds are not added again (adding more data later is safe).
        """
        project = self.projects.get(project_id)
        known = set(project.labels)
        by_folded = {lab.casefold(): lab for lab in project.labels}
        report = ImportReport()
        now = time.time()
        with self.db.read() as conn:
            held = set(
                conn.execute(
                    text("SELECT norm_key FROM items WHERE project_id=:p"), {"p": project_id}
                ).scalars()
            )
        existing = held if skip_existing else set()
        n = len(items)
        texts = items["text"].tolist()
        # Column by column, rows zipped per chunk in C rather than built one list at a time
        # (~15% less CPU for a 200k import).
        nkeys = [norm_key(t) for t in texts]
        keep = [i for i, k in enumerate(nkeys) if k not in existing] if existing else range(n)
        report.already_in_project = n - len(keep)
        if len(keep) < n:
            texts, nkeys = [texts[i] for i in keep], [nkeys[i] for i in keep]
        tkeys = [text_key(t) for t in texts]
        share = project.heldout_share
        splits = ["heldout" if is_heldout(k, share) else "pool" for k in nkeys]
        report.heldout = splits.count("heldout")

        def column(name: str, convert: Any = None) -> list[Any]:
            if name not in items:
                return [None] * len(keep)
            values = items[name].tolist()
            values = [values[i] for i in keep] if len(keep) < n else values
            return [convert(v) for v in values] if convert else values

        extras = column("extra", lambda e: json.dumps(e, ensure_ascii=False) if e else None)
        source_rows = column("source_row", lambda r: None if r is None else int(r))
        labels = column("label", lambda v: self._known_label(v, known, by_folded, report))
        labelled = [lab is not None for lab in labels]
        label_sources = ["imported" if ok else None for ok in labelled]
        shuffles = [shuffle_rank(k) for k in tkeys]
        # the columns after id, in ITEM_COLUMNS order; rows are zipped per chunk with its ids
        columns = [
            repeat(project_id),
            texts,
            tkeys,
            nkeys,
            column("ext_id"),
            repeat(source_name),
            source_rows,
            extras,
            splits,
            shuffles,
            labels,
            label_sources,
            [annotator if ok else None for ok in labelled],
            [now if ok else None for ok in labelled],
            repeat(now),
            repeat(0),  # coders: people labelling here (an imported label is not one)
        ]
        repeats = self._repeats(project_id, tkeys, nkeys, held)
        for start in range(0, len(texts), IMPORT_CHUNK):
            end = min(start + IMPORT_CHUNK, len(texts))
            if start:
                self.db.yield_writers()
            with self.db.write() as conn:
                ids = reserve_ids(conn, "items", end - start)
                part = [c if isinstance(c, repeat) else c[start:end] for c in columns]
                chunk = list(zip(ids, *part))
                imported = [
                    (i, project_id, lab, "imported", annotator, now)
                    for i, lab in zip(ids, labels[start:end])
                    if lab
                ]
                codes = [(i, annotator, p, lab, s, t) for i, p, lab, s, _, t in imported]
                bulk_insert(conn, "items", ITEM_COLUMNS, chunk)
                bulk_insert(conn, "annotations", IMPORTED_COLUMNS, imported)
                bulk_insert(conn, "codes", CODE_COLUMNS, codes)
                added = Counter(zip(splits[start:end], labels[start:end]))
                change(conn, self.db.dialect, project_id, _buckets(added))
                add_duplicates(conn, project_id, sum(repeats[start:end]))
                pool = [r for r, sp in zip(shuffles[start:end], splits[start:end]) if sp == "pool"]
                add_pool(conn, project_id, pool)
                self.projects.touch(conn, project_id)
            report.labelled += len(imported)
        report.imported = len(texts)
        if self.db.dialect == "postgresql" and len(texts) >= 1000:
            # fresh statistics now, not at autovacuum's leisure: without them the planner
            # scans for the queue's first unlabelled item (measured: 13 ms -> 0.2 ms)
            with self.db.write() as conn:
                conn.exec_driver_sql("ANALYZE items")
                conn.exec_driver_sql("ANALYZE annotations")
        return report

    @staticmethod
    def _known_label(
        value: Any, known: set[str], by_folded: dict[str, str], report: ImportReport
    ) -> str | None:
        """A file's label as the project spells it; None for no label, or one the project does not
        have (counted in the report)."""
        if value is None or (isinstance(value, float) and value != value):
            return None
        label = str(value).strip()
        if label not in known:
            label = by_folded.get(label.casefold(), label)
        if label not in known:
            report.unknown_labels[label] = report.unknown_labels.get(label, 0) + 1
            return None
        return label

    def _repeats(
        self, project_id: int, tkeys: list[str], nkeys: list[int], held: set[int]
    ) -> list[bool]:
        """Per new row: does an earlier item (the project's, or a row before it) have its exact
        text? Only rows whose normalised text the project holds are looked up (items_norm)."""
        seen: set[str] = set()
        maybe = sorted(set(nkeys) & held)
        with self.db.read() as conn:
            for start in range(0, len(maybe), 500):
                args: dict[str, Any] = {"p": project_id}
                keys = expand("k", maybe[start : start + 500], args)
                sql = f"SELECT text_key FROM items WHERE project_id=:p AND norm_key IN {keys}"
                seen.update(conn.execute(text(sql), args).scalars())
        repeats = []
        for key in tkeys:
            repeats.append(key in seen)
            seen.add(key)
        return repeats

    # -- reads -----------------------------------------------------------------------------
    def get(self, item_id: int) -> dict[str, Any]:
        with self.db.read() as conn:
            row = conn.execute(text("SELECT * FROM items WHERE id=:id"), {"id": item_id}).first()
        if row is None:
            raise StoreError(f"No item with id {item_id}.")
        return dict(row._mapping)

    def counts(self, project_id: int) -> list[tuple[str, str, str, int]]:
        """(split, label, label source, items) of the project, '' for no label: a few rows of
        `item_counts` (counts.py), where counting `items` reads every labelled row."""
        with self.db.read() as conn:
            return count_rows(conn, project_id)

    def count(self, project_id: int) -> int:
        return sum(n for *_, n in self.counts(project_id))

    def count_labelled(self, project_id: int) -> int:
        return sum(n for _, label, _, n in self.counts(project_id) if label)

    def stats(self, project_id: int, annotator: str | None = None) -> dict[str, Any]:
        """Counts the pages show: items, labelled, held-out, per label and source, today."""
        p = {"p": project_id}
        with self.db.read() as conn:
            total, labelled, heldout, heldout_labelled, unsure, review = conn.execute(
                text(
                    "SELECT COUNT(*), COUNT(label),"
                    " SUM(CASE WHEN split='heldout' THEN 1 ELSE 0 END),"
                    " SUM(CASE WHEN split='heldout' AND label IS NOT NULL THEN 1 ELSE 0 END),"
                    " SUM(unsure), SUM(review) FROM items WHERE project_id=:p"
                ),
                p,
            ).one()
            per_label = dict(
                conn.execute(
                    text(
                        "SELECT label, COUNT(*) FROM items WHERE project_id=:p"
                        " AND label IS NOT NULL GROUP BY label"
                    ),
                    p,
                ).all()
            )
            per_source = dict(
                conn.execute(
                    text(
                        "SELECT label_source, COUNT(*) FROM items WHERE project_id=:p"
                        " AND label IS NOT NULL GROUP BY label_source"
                    ),
                    p,
                ).all()
            )
            today = self._today(conn, project_id, annotator)
        return {
            "items": total or 0,
            "labelled": labelled or 0,
            "heldout": int(heldout or 0),
            "heldout_labelled": int(heldout_labelled or 0),
            "unsure": int(unsure or 0),
            "review": int(review or 0),
            "per_label": per_label,
            "per_source": per_source,
            "today": today,
        }

    def overview(self, project_id: int) -> dict[str, Any]:
        """The Projects and Data pages' counts: items, labelled, held-out (labelled), per label,
        from `counts` (a few rows, whatever the project's size)."""
        out: dict[str, Any] = {"items": 0, "labelled": 0, "heldout": 0, "heldout_labelled": 0}
        per_label: dict[str, int] = {}
        for split, label, _, n in self.counts(project_id):
            out["items"] += n
            out["heldout"] += n if split == "heldout" else 0
            if label:
                out["labelled"] += n
                out["heldout_labelled"] += n if split == "heldout" else 0
                per_label[label] = per_label.get(label, 0) + n
        return {**out, "per_label": per_label}

    def duplicate_texts(self, project_id: int) -> int:
        """Items whose exact text an earlier item of the project has (pandas' `duplicated()`),
        as each import counted them (`projects.duplicate_texts`, counts.py)."""
        with self.db.read() as conn:
            found = conn.execute(
                text("SELECT duplicate_texts FROM projects WHERE id=:p"), {"p": project_id}
            ).scalar()
        return int(found or 0)

    def text_lengths(self, project_id: int, sample: int = LENGTH_SAMPLE) -> tuple[pd.Series, int]:
        """Characters per tweet: of every item, or of a uniform sample of about `sample` items
        above that size (those whose normalised-text hash falls below a cut: items_norm finds
        them, the same ones every time). Returns (lengths, how many items they stand for)."""
        total = self.count(project_id)
        args: dict[str, Any] = {"p": project_id}
        sql = "SELECT LENGTH(text) FROM items WHERE project_id=:p"
        if total > sample:
            sql += " AND norm_key < :cut"
            args["cut"] = int(-(2**63) + sample / total * 2**64)
        lengths = frame(self.db, sql, args).iloc[:, 0]
        return lengths.rename("length").astype(int), total

    def progress(
        self, project_id: int, annotator: str | None = None, *, items: int | None = None
    ) -> dict[str, int]:
        """The annotation card's counter, from `counts` and indexes only (it runs on every key
        press). `items`: the project's item count when the caller has it."""
        counted = self.counts(project_id)
        with self.db.read() as conn:
            mine = conn.execute(
                text(
                    "SELECT COUNT(*) FROM codes WHERE project_id=:p AND annotator=:who"
                    " AND label IS NOT NULL AND source='human'"
                ),
                {"p": project_id, "who": annotator or ""},
            ).scalar_one()
            today = self._today(conn, project_id, annotator or "")
        return {
            "items": sum(n for *_, n in counted) if items is None else items,
            "labelled": sum(n for _, label, _, n in counted if label),
            "heldout_labelled": sum(
                n for split, label, _, n in counted if label and split == "heldout"
            ),
            "today": today,
            "mine": mine,
        }

    def _today(self, conn: Any, project_id: int, annotator: str | None) -> int:
        sql = (
            "SELECT COUNT(*) FROM annotations WHERE project_id=:p AND created_at>=:since"
            " AND source='human' AND retracts IS NULL"
        )
        args: dict[str, Any] = {"p": project_id, "since": _midnight()}
        if annotator is not None:
            sql += " AND annotator=:who"
            args["who"] = annotator
        return conn.execute(text(sql), args).scalar_one()

    def texts(self, project_id: int, *, split: str | None = None) -> pd.DataFrame:
        """id, text, text_key, split, label of every item, for background jobs and engines.
        Never while a page renders (1M items: seconds and GBs; tests/test_million.py checks):
        pages count in SQL (`overview`) and read pages of rows (`page`, `gold`)."""
        sql = "SELECT id, text, text_key, split, label, label_source FROM items WHERE project_id=:p"
        args: dict[str, Any] = {"p": project_id}
        if split:
            sql += " AND split=:split"
            args["split"] = split
        return frame(self.db, sql + " ORDER BY id", args)

    def gold(
        self, project_id: int, sources: Sequence[str], *, split: str | None = None
    ) -> pd.DataFrame:
        """id, text, label, label_source of the items (of one split) whose current label came
        from one of `sources`, by id: what `texts` filtered would give, without reading the rest
        (`label >= ''` is `IS NOT NULL` for labels, as a range SQLite's label indexes serve)."""
        marks = ", ".join(f":s{i}" for i in range(len(sources))) or "NULL"
        args: dict[str, Any] = {"p": project_id, **{f"s{i}": s for i, s in enumerate(sources)}}
        sql = (
            "SELECT id, text, label, label_source FROM items WHERE project_id=:p"
            f" AND label >= '' AND label_source IN ({marks})"
        )
        if split:
            sql += " AND split=:split"
            args["split"] = split
        # sorted here: ORDER BY id in SQL makes SQLite walk every row in id order instead
        gold = frame(self.db, sql, args)
        return gold.sort_values("id", ignore_index=True)

    def page(
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
        filt, args = filter_sql(
            self.db.dialect, where, label, search, run_id if where == "disagree" else None
        )
        pred_cols, pred_join = "", ""
        if run_id is not None:
            pred_cols = ", p.label AS suggestion, p.score AS confidence"
            pred_join = " LEFT JOIN predictions p ON p.item_id=i.id AND p.run_id=:page_run"
            args["page_run"] = run_id
        args.update(project=project_id, limit=limit, offset=offset)
        extra = ""
        if split:
            extra += " AND i.split=:split"
            args["split"] = split
        if min_score is not None:
            extra += " AND p.score>=:min_score"
            args["min_score"] = min_score
        sql = (
            "SELECT i.id, i.ext_id, i.text, i.split, i.label, i.label_source, i.annotator,"
            f" i.unsure, i.comment{pred_cols} FROM items i{pred_join}"
            f" WHERE i.project_id=:project{filt}{extra} ORDER BY i.id LIMIT :limit OFFSET :offset"
        )
        return frame(self.db, sql, args)

    # -- flags -----------------------------------------------------------------------------
    def set_unsure(self, item_id: int, unsure: bool) -> None:
        with self.db.write() as conn:
            conn.execute(
                text("UPDATE items SET unsure=:u WHERE id=:id"), {"u": int(unsure), "id": item_id}
            )

    def set_comment(self, item_id: int, comment: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                text("UPDATE items SET comment=:c WHERE id=:id"), {"c": comment, "id": item_id}
            )
