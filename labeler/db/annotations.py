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
from collections import Counter
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import text

from ..errors import StoreError
from .counts import bucket, change
from .counts import rows as count_rows
from .engine import Database
from .gold import coders_needed, derive, overlap_cut, put_code
from .projects import Projects
from .schema import SOURCES
from .sql import bulk_insert, driver_sql, frame, to_utc, upsert

GOLD_SOURCES = ("human", "imported", "adjudicated")


class TrainTest(NamedTuple):
    """Pool items to train on and held-out items to test on, each: id, text, label, label_source."""

    train: pd.DataFrame
    test: pd.DataFrame


# The key-press path in driver SQL (Database.raw_write). PostgreSQL locks the item's row first:
# two coders labelling one overlap item at once then derive its gold one after the other.
_TARGET = (
    "SELECT i.project_id, p.labels, p.codebook_version FROM items i"
    " JOIN projects p ON p.id=i.project_id WHERE i.id=:item"
)
_APPEND = (
    "INSERT INTO annotations (item_id, project_id, label, source, annotator, run_id, retracts,"
    " codebook_version, created_at)"
    " VALUES (:item, :project, :label, :source, :who, :run, :retracts, :version, :now)"
)
_FREE_LEASE = "DELETE FROM leases WHERE item_id=:item AND annotator=:who"
# this annotator's newest code still in effect (an undo walks back through their own labels only)
_IN_EFFECT = (
    " a.retracts IS NULL AND a.source NOT IN ('adjudicated', 'imported')"
    " AND NOT EXISTS (SELECT 1 FROM annotations r WHERE r.retracts=a.id)"
)
_UNDO_TARGET = (
    "SELECT a.id, a.item_id FROM annotations a"
    f" WHERE a.project_id=:project AND a.annotator=:who AND{_IN_EFFECT}"
    " ORDER BY a.id DESC LIMIT 1"
)
_RESTORED = (
    "SELECT a.label, a.source, a.codebook_version FROM annotations a"
    " WHERE a.item_id=:item AND a.annotator=:who AND a.id<:id AND a.retracts IS NULL"
    " AND a.source != 'adjudicated'"
    " AND NOT EXISTS (SELECT 1 FROM annotations r WHERE r.retracts=a.id)"
    " ORDER BY a.id DESC LIMIT 1"
)


def _append(cur: Any, dialect: str, args: dict[str, Any]) -> int:
    """Insert one annotation row; returns its id."""
    if dialect == "postgresql":
        cur.execute(driver_sql(dialect, _APPEND + " RETURNING id"), args)
        return cur.fetchone()[0]
    cur.execute(_APPEND, args)
    return cur.lastrowid


# suggestions a bulk accept may turn into labels: unlabelled, uncoded, undisputed pool items
# outside the overlap set (:cut is -1 when nobody else codes it)
_ACCEPTABLE = (
    "i.project_id=:p AND i.split='pool' AND i.label IS NULL AND i.coders=0 AND i.disputed=0"
    " AND i.shuffle>=:cut AND p.score>=:t"
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
        if source not in SOURCES or source == "adjudicated":
            raise StoreError(
                f"Unknown label source {source!r}; use one of {', '.join(SOURCES[:3])}"
                " (decisions on disputed items go through adjudicate)."
            )
        now = time.time()
        dialect = self.db.dialect
        lock = " FOR UPDATE OF i" if dialect == "postgresql" else ""
        with self.db.raw_write() as cur:
            cur.execute(driver_sql(dialect, _TARGET + lock), {"item": item_id})
            row = cur.fetchone()
            if row is None:
                raise StoreError(f"No item with id {item_id}; it may have been deleted.")
            project_id, labels, version = row[0], json.loads(row[1]), row[2]
            if label not in labels:
                raise StoreError(f"{label!r} is not a label of this project ({', '.join(labels)}).")
            args = {"item": item_id, "project": project_id, "label": label, "source": source,
                    "who": annotator, "run": run_id, "retracts": None, "version": version,
                    "now": now}  # fmt: skip
            annotation_id = _append(cur, dialect, args)
            put_code(cur, dialect, item=item_id, who=annotator, project=project_id, label=label,
                     source=source, version=version, now=now)  # fmt: skip
            cur.execute(driver_sql(dialect, _FREE_LEASE), {"item": item_id, "who": annotator})
            derive(cur, dialect, item_id, human=source == "human")
            return annotation_id

    def undo(self, project_id: int, annotator: str = "") -> int | None:
        """Take back this annotator's newest label still in effect; returns the item id.

        Appends a row restoring their own code before it (or none), marked as retracting the
        undone row: nothing is deleted, undoing twice walks further back, and another coder's
        code on the same item is never touched.
        """
        dialect = self.db.dialect
        with self.db.raw_write() as cur:
            who = {"project": project_id, "who": annotator}
            cur.execute(driver_sql(dialect, _UNDO_TARGET), who)
            target = cur.fetchone()
            if target is None:
                return None
            target_id, item_id = target
            cur.execute(
                driver_sql(dialect, _RESTORED), {"item": item_id, "who": annotator, "id": target_id}
            )
            before = cur.fetchone()
            label, source, version = before if before else (None, "human", None)
            now = time.time()
            args = {"item": item_id, "project": project_id, "label": label, "source": source,
                    "who": annotator, "run": None, "retracts": target_id, "version": version,
                    "now": now}  # fmt: skip
            _append(cur, dialect, args)
            put_code(cur, dialect, item=item_id, who=annotator, project=project_id, label=label,
                     source=source, version=version, now=now)  # fmt: skip
            derive(cur, dialect, item_id)
            return item_id

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

    def train_and_test_counts(
        self, project_id: int, *, include_accepted: bool = False
    ) -> tuple[dict[str, int], dict[str, int]]:
        """Per label, how many items `train_and_test` would return (train, test), from the
        project's `item_counts` (counts.py): the Train page shows them without counting every
        labelled item (1M items, 600k labelled: 0.8 s)."""
        sources = {*GOLD_SOURCES, *(["accepted-suggestion"] if include_accepted else [])}
        with self.db.read() as conn:
            counted = count_rows(conn, project_id)
        train: dict[str, int] = {}
        test: dict[str, int] = {}
        for split, label, source, n in counted:
            if not label or source not in sources:
                continue
            if split == "pool":
                train[label] = train.get(label, 0) + n
            elif split == "heldout" and source in GOLD_SOURCES:
                test[label] = test.get(label, 0) + n
        return train, test

    # -- suggestions and table edits -------------------------------------------------------
    def acceptable(self, project_id: int, run_id: int, threshold: float) -> int:
        """How many suggestions `accept_suggestions` would turn into labels right now."""
        with self.db.read() as conn:
            return conn.execute(
                text(
                    "SELECT COUNT(*) FROM predictions p JOIN items i ON i.id=p.item_id"
                    f" WHERE p.run_id=:run AND {_ACCEPTABLE}"
                ),
                {"run": run_id, "p": project_id, "t": threshold, "cut": self._cut(project_id)},
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
        source 'accepted-suggestion'; held-out items, items a person has coded and, in a team,
        the overlap set (coded by several people, blind) are never touched. A random `audit_share`
        (at least one) is flagged for human review. Returns (accepted, queued for audit)."""
        now = time.time()
        with self.db.write() as conn:
            rows = conn.execute(
                text(
                    "SELECT p.item_id, p.label FROM predictions p JOIN items i ON i.id=p.item_id"
                    f" WHERE p.run_id=:run AND {_ACCEPTABLE} ORDER BY p.item_id"
                ),
                {"run": run_id, "p": project_id, "t": threshold, "cut": self._cut(project_id)},
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
            upsert(
                conn,
                "codes",
                ("item_id", "annotator", "project_id", "label", "source", "updated_at"),
                ("item_id", "annotator"),
                [(r[0], annotator, project_id, r[1], "accepted-suggestion", now) for r in rows],
            )
            # every accepted item was an unlabelled pool item (`_ACCEPTABLE`)
            moved = Counter({bucket("pool", None, None): -len(rows)})
            moved.update(bucket("pool", r[1], "accepted-suggestion") for r in rows)
            change(conn, self.db.dialect, project_id, moved)
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
        """Labels from table mode, keyed by item id (never by row position); each is one label."""
        project = self.projects.get(project_id)
        bad = sorted(
            {lab for lab in edits.values() if lab is not None and lab not in project.labels}
        )
        if bad:
            raise StoreError(f"Unknown label(s) {', '.join(bad)}; use {', '.join(project.labels)}.")
        changed = 0
        for item_id, label in edits.items():
            code = self._code_of(item_id, annotator, project_id)
            if label is None or code is False or code == label:  # False: not this project's
                continue
            self.add(item_id, label, annotator=annotator)
            changed += 1
        return changed

    def _code_of(self, item_id: int, annotator: str, project_id: int) -> str | None | bool:
        """This person's code on an item of this project (False: no such item here)."""
        with self.db.read() as conn:
            row = conn.execute(
                text(
                    "SELECT i.id, c.label FROM items i LEFT JOIN codes c ON c.item_id=i.id"
                    " AND c.annotator=:who WHERE i.id=:item AND i.project_id=:p"
                ),
                {"item": item_id, "who": annotator, "p": project_id},
            ).first()
        return False if row is None else row[1]

    def _cut(self, project_id: int) -> int:
        """The overlap set's shuffle cut while a team codes it (k > 1), else -1 (no overlap)."""
        with self.db.read() as conn:
            share, k, roster = conn.execute(
                text(
                    "SELECT overlap_share, coders_per_item, (SELECT COUNT(*) FROM members m"
                    " WHERE m.project_id=p.id AND m.role='annotator') FROM projects p"
                    " WHERE p.id=:p"
                ),
                {"p": project_id},
            ).one()
        return overlap_cut(share) if coders_needed(k, roster) > 1 else -1
