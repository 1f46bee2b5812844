"""Labels: who gave which label to which item, when and how. Append-only.

Every label is one committed transaction. The current label is the newest row; undo appends a row
that restores the label before it (recording which row it retracts), so history is never
rewritten. A person's decision and an accepted model suggestion are stored apart (`source`), and
`train_and_test` never lets an accepted suggestion become test gold.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import text

from ..errors import StoreError
from .engine import Database
from .projects import Projects
from .schema import SOURCES
from .sql import bulk_insert, frame, to_utc

GOLD_SOURCES = ("human", "imported")


class TrainTest(NamedTuple):
    """Pool items to train on and held-out items to test on, each: id, text, label, label_source."""

    train: pd.DataFrame
    test: pd.DataFrame


_MIRROR = text(
    "UPDATE items SET label=:label, label_source=:source, annotator=:who, labelled_at=:now,"
    " review=CASE WHEN :source='human' THEN 0 ELSE review END WHERE id=:item"
)
_INSERT = text(
    "INSERT INTO annotations (item_id, project_id, label, source, annotator, run_id, created_at)"
    " VALUES (:item, :project, :label, :source, :who, :run, :now)"
)
# The key-press path in driver SQL (see Database.raw_write); {m} is the driver's placeholder.
_ADD_SQLITE = (
    "SELECT i.project_id, p.labels FROM items i JOIN projects p ON p.id=i.project_id WHERE i.id=?",
    "INSERT INTO annotations (item_id, project_id, label, source, annotator, run_id, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)",
    "UPDATE items SET label=?, label_source=?, annotator=?, labelled_at=?,"
    " review=CASE WHEN ?='human' THEN 0 ELSE review END WHERE id=?",
)
# PostgreSQL: the same three steps in one round trip; a label outside the project's set is
# refused after the fact and the transaction rolled back.
_ADD_POSTGRES = (
    "WITH target AS (SELECT i.id, i.project_id, p.labels FROM items i"
    " JOIN projects p ON p.id=i.project_id WHERE i.id=%(item)s),"
    " ins AS (INSERT INTO annotations (item_id, project_id, label, source, annotator, run_id,"
    " created_at) SELECT id, project_id, %(label)s, %(source)s, %(who)s, %(run)s, %(now)s"
    " FROM target RETURNING id),"
    " upd AS (UPDATE items SET label=%(label)s, label_source=%(source)s, annotator=%(who)s,"
    " labelled_at=%(now)s, review=CASE WHEN %(source)s='human' THEN 0 ELSE review END"
    " WHERE id=(SELECT id FROM target))"
    " SELECT (SELECT id FROM ins), labels FROM target"
)
# this annotator's newest label still in effect, unless someone decided the item after it
_UNDO_TARGET = text(
    "SELECT a.id, a.item_id FROM annotations a"
    " WHERE a.project_id=:project AND a.annotator=:who AND a.retracts IS NULL"
    " AND a.source != 'imported'"
    " AND NOT EXISTS (SELECT 1 FROM annotations r WHERE r.retracts=a.id)"
    " AND NOT EXISTS (SELECT 1 FROM annotations n WHERE n.item_id=a.item_id"
    " AND n.id>a.id AND n.retracts IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM annotations r2 WHERE r2.retracts=n.id))"
    " ORDER BY a.id DESC LIMIT 1"
)


class Annotations:
    def __init__(self, db: Database, projects: Projects):
        self.db = db
        self.projects = projects

    def add(
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
        now = time.time()
        with self.db.raw_write() as cur:
            if self.db.dialect == "postgresql":
                cur.execute(
                    _ADD_POSTGRES,
                    {"item": item_id, "label": label, "source": source, "who": annotator,
                     "run": run_id, "now": now},
                )  # fmt: skip
                row = cur.fetchone()
                annotation_id, labels = (row[0], json.loads(row[1])) if row else (None, None)
            else:
                select, insert, mirror = _ADD_SQLITE
                row = cur.execute(select, (item_id,)).fetchone()
                labels = json.loads(row[1]) if row else None
                if labels is not None and label in labels:
                    cur.execute(insert, (item_id, row[0], label, source, annotator, run_id, now))
                    annotation_id = cur.lastrowid
                    cur.execute(mirror, (label, source, annotator, now, source, item_id))
            if labels is None:
                raise StoreError(f"No item with id {item_id}; it may have been deleted.")
            if label not in labels:  # raised inside the transaction: nothing is kept
                raise StoreError(f"{label!r} is not a label of this project ({', '.join(labels)}).")
            return annotation_id

    def undo(self, project_id: int, annotator: str = "") -> int | None:
        """Take back this annotator's newest label still in effect; returns the item id.

        Appends a row restoring what the item had before (or no label), marked as retracting the
        undone row: nothing is deleted, and undoing twice walks further back.
        """
        with self.db.write() as conn:
            target = conn.execute(_UNDO_TARGET, {"project": project_id, "who": annotator}).first()
            if target is None:
                return None
            before = conn.execute(
                text(
                    "SELECT label, source, annotator FROM annotations WHERE item_id=:item"
                    " AND id<:id ORDER BY id DESC LIMIT 1"
                ),
                {"item": target.item_id, "id": target.id},
            ).first()
            label = before.label if before else None
            source = before.source if before else "human"
            now = time.time()
            conn.execute(
                text(
                    "INSERT INTO annotations (item_id, project_id, label, source, annotator,"
                    " retracts, created_at) VALUES (:item, :project, :label, :source, :who,"
                    " :retracts, :now)"
                ),
                {
                    "item": target.item_id,
                    "project": project_id,
                    "label": label,
                    "source": source,
                    "who": annotator,
                    "retracts": target.id,
                    "now": now,
                },
            )
            conn.execute(
                text(
                    "UPDATE items SET label=:label, label_source=:source, annotator=:who,"
                    " labelled_at=:at WHERE id=:item"
                ),
                {
                    "label": label,
                    "source": source if label else None,
                    "who": before.annotator if label else None,
                    "at": now if label else None,
                    "item": target.item_id,
                },
            )
            return target.item_id

    def history(self, project_id: int) -> pd.DataFrame:
        """Every annotation ever made (who, when, what, source), oldest first."""
        df = frame(
            self.db,
            "SELECT a.id AS annotation_id, a.item_id, i.ext_id, i.text, a.label, a.source,"
            " a.annotator, a.created_at AS time_utc, a.retracts, a.run_id"
            " FROM annotations a JOIN items i ON i.id=a.item_id"
            " WHERE a.project_id=:p ORDER BY a.id",
            {"p": project_id},
        )
        df["time_utc"] = to_utc(df["time_utc"])
        return df

    def train_and_test(self, project_id: int, *, include_accepted: bool = False) -> TrainTest:
        """Pool items with a human (or imported, or optionally accepted) label to train on, and
        held-out items with a human or imported label to test on. Accepted suggestions are never
        test gold; held-out items never train."""
        sources = [*GOLD_SOURCES, *(["accepted-suggestion"] if include_accepted else [])]
        sql = (
            "SELECT id, text, label, label_source FROM items WHERE project_id=:p AND split=:split"
            " AND label IS NOT NULL AND label_source IN ({}) ORDER BY id"
        )

        def query(split: str, allowed: list[str]) -> pd.DataFrame:
            marks = ", ".join(f":s{i}" for i in range(len(allowed)))
            args = {"p": project_id, "split": split, **{f"s{i}": s for i, s in enumerate(allowed)}}
            return frame(self.db, sql.format(marks), args)

        return TrainTest(query("pool", sources), query("heldout", list(GOLD_SOURCES)))

    # -- suggestions and table edits -------------------------------------------------------
    def acceptable(self, project_id: int, run_id: int, threshold: float) -> int:
        """How many suggestions `accept_suggestions` would turn into labels right now."""
        with self.db.read() as conn:
            return conn.execute(
                text(
                    "SELECT COUNT(*) FROM predictions p JOIN items i ON i.id=p.item_id"
                    " WHERE p.run_id=:run AND i.project_id=:p AND i.split='pool'"
                    " AND i.label IS NULL AND p.score>=:t"
                ),
                {"run": run_id, "p": project_id, "t": threshold},
            ).scalar_one()

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
        now = time.time()
        with self.db.write() as conn:
            rows = conn.execute(
                text(
                    "SELECT p.item_id, p.label FROM predictions p JOIN items i ON i.id=p.item_id"
                    " WHERE p.run_id=:run AND i.project_id=:p AND i.split='pool'"
                    " AND i.label IS NULL AND p.score>=:t ORDER BY p.item_id"
                ),
                {"run": run_id, "p": project_id, "t": threshold},
            ).all()
            if not rows:
                return 0, 0
            bulk_insert(
                conn,
                "annotations",
                ("item_id", "project_id", "label", "source", "annotator", "run_id", "created_at"),
                [
                    (r[0], project_id, r[1], "accepted-suggestion", annotator, run_id, now)
                    for r in rows
                ],
            )
            conn.execute(
                text(
                    "UPDATE items SET label=:label, label_source='accepted-suggestion',"
                    " annotator=:who, labelled_at=:now WHERE id=:item"
                ),
                [{"label": r[1], "who": annotator, "now": now, "item": r[0]} for r in rows],
            )
            k = max(1, round(len(rows) * audit_share)) if audit_share > 0 else 0
            audit = random.Random(seed).sample([r[0] for r in rows], min(k, len(rows)))
            if audit:
                conn.execute(
                    text("UPDATE items SET review=1 WHERE id=:item"), [{"item": i} for i in audit]
                )
        return len(rows), len(audit)

    def apply_edits(
        self, project_id: int, edits: dict[int, str | None], *, annotator: str = ""
    ) -> int:
        """Labels from table mode, keyed by item id (never by row position), in one transaction."""
        project = self.projects.get(project_id)
        bad = sorted(
            {lab for lab in edits.values() if lab is not None and lab not in project.labels}
        )
        if bad:
            raise StoreError(f"Unknown label(s) {', '.join(bad)}; use {', '.join(project.labels)}.")
        now = time.time()
        changed = 0
        with self.db.write() as conn:
            for item_id, label in edits.items():
                current = conn.execute(
                    text("SELECT label FROM items WHERE id=:item AND project_id=:p"),
                    {"item": item_id, "p": project_id},
                ).first()
                if current is None or current[0] == label or label is None:
                    continue
                args: dict[str, Any] = {
                    "item": item_id,
                    "project": project_id,
                    "label": label,
                    "source": "human",
                    "who": annotator,
                    "run": None,
                    "now": now,
                }
                conn.execute(_INSERT, args)
                conn.execute(_MIRROR, args)
                changed += 1
        return changed
