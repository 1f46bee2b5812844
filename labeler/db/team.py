"""The coding team's side of a project: overlap settings, each coder's codes and notes, progress
per person, the disputed items and the adjudicator's decisions.

Gold labels themselves are derived in `gold.py`, inside each label's transaction.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import text

from ..errors import StoreError
from .counts import overlap_items
from .engine import Database
from .gold import coders_needed, derive, overlap_cut
from .sql import driver_sql, frame, to_utc

MAX_CODERS = 10
# the project's disputed items (a small partial index, items_disputed) and, with the decided
# ones, the items of its decisions (annotations_decisions): never every item or every code
_DISPUTED = "SELECT id FROM items WHERE project_id=:p AND disputed=1"
_DECIDED = "SELECT item_id FROM annotations WHERE project_id=:p AND source='adjudicated'"


@dataclass(frozen=True)
class TeamSettings:
    overlap_share: float  # of the pool; every held-out item is in the overlap set too
    coders_per_item: int  # k: coders per overlap item
    blind_suggestions: bool  # overlap items hide the model's suggestion (anchoring)
    codebook_version: int
    roster_coders: int  # the roster's annotators

    @property
    def needed(self) -> int:
        """Coders each overlap item needs now (k, capped by the roster; 1 for a person alone)."""
        return coders_needed(self.coders_per_item, self.roster_coders)

    @property
    def cut(self) -> int:
        return overlap_cut(self.overlap_share)

    def is_overlap(self, item: dict[str, Any]) -> bool:
        return item["split"] == "heldout" or item["shuffle"] < self.cut

    def hides_suggestion(self, item: dict[str, Any]) -> bool:
        """Held-out items never show one; overlap items don't while several people code them."""
        if item["split"] == "heldout":
            return True
        return self.blind_suggestions and self.needed > 1 and self.is_overlap(item)


def _midnight() -> float:
    now = time.localtime()
    return time.mktime((now.tm_year, now.tm_mon, now.tm_mday, 0, 0, 0, 0, 0, -1))


_NOTE = (
    "INSERT INTO codes (item_id, annotator, project_id, unsure, comment, updated_at)"
    " SELECT id, :who, project_id, :unsure, :comment, :now FROM items WHERE id=:item"
    " ON CONFLICT (item_id, annotator) DO UPDATE SET {sets}"
)


class Team:
    def __init__(self, db: Database):
        self.db = db

    # -- settings --------------------------------------------------------------------------
    def settings(self, project_id: int) -> TeamSettings:
        with self.db.read() as conn:
            row = conn.execute(
                text(
                    "SELECT overlap_share, coders_per_item, blind_suggestions, codebook_version,"
                    " (SELECT COUNT(*) FROM members m WHERE m.project_id=p.id"
                    " AND m.role='annotator') AS roster FROM projects p WHERE p.id=:p"
                ),
                {"p": project_id},
            ).first()
        if row is None:
            raise StoreError(f"No project with id {project_id}; it may have been deleted.")
        return TeamSettings(
            float(row.overlap_share), int(row.coders_per_item), bool(row.blind_suggestions),
            int(row.codebook_version), int(row.roster),
        )  # fmt: skip

    def update(
        self,
        project_id: int,
        *,
        overlap_share: float | None = None,
        coders_per_item: int | None = None,
        blind_suggestions: bool | None = None,
    ) -> TeamSettings:
        current = self.settings(project_id)
        share = current.overlap_share if overlap_share is None else float(overlap_share)
        k = current.coders_per_item if coders_per_item is None else int(coders_per_item)
        blind = current.blind_suggestions if blind_suggestions is None else blind_suggestions
        if not 0.0 <= share <= 1.0:
            raise StoreError(f"The overlap share must be between 0 and 1, not {share}.")
        if not 1 <= k <= MAX_CODERS:
            raise StoreError(f"Coders per overlap item must be 1 to {MAX_CODERS}, not {k}.")
        with self.db.write() as conn:
            conn.execute(
                text(
                    "UPDATE projects SET overlap_share=:s, coders_per_item=:k,"
                    " blind_suggestions=:b WHERE id=:p"
                ),
                {"s": share, "k": k, "b": int(blind), "p": project_id},
            )
        return self.settings(project_id)

    # -- codes and notes -------------------------------------------------------------------
    def codes(self, project_id: int, *, split: str | None = None) -> pd.DataFrame:
        """item_id, split, annotator, label, source, codebook_version: the code in effect of
        every person labelling here (imported labels and accepted model suggestions are not a
        coder's independent judgement and are left out; export still shows imported ones)."""
        args: dict[str, Any] = {"p": project_id}
        sql = (
            "SELECT c.item_id, i.split, c.annotator, c.label, c.source, c.codebook_version"
            " FROM codes c JOIN items i ON i.id=c.item_id WHERE c.project_id=:p"
            " AND c.label IS NOT NULL AND c.source='human'"
        )
        if split:
            sql += " AND i.split=:split"
            args["split"] = split
        return frame(self.db, sql + " ORDER BY c.item_id, c.annotator", args)

    def my_code(self, item_id: int, annotator: str) -> dict[str, Any] | None:
        """One person's label, unsure flag and comment on an item (None: nothing yet)."""
        with self.db.read() as conn:
            row = conn.execute(
                text(
                    "SELECT label, source, unsure, comment FROM codes"
                    " WHERE item_id=:item AND annotator=:who"
                ),
                {"item": item_id, "who": annotator},
            ).first()
        return dict(row._mapping) if row else None

    def set_note(
        self,
        item_id: int,
        annotator: str,
        *,
        unsure: bool | None = None,
        comment: str | None = None,
    ) -> None:
        """A person's own unsure flag or comment (never seen by the other coders of the item);
        the item's columns keep the newest one, for filters and export."""
        args = {"item": item_id, "who": annotator, "now": time.time(),
                "unsure": int(bool(unsure)), "comment": comment or ""}  # fmt: skip
        given = [c for c, v in (("unsure", unsure), ("comment", comment)) if v is not None]
        if not given:
            return
        sets = ", ".join(f"{c}=excluded.{c}" for c in given)
        mirror = ", ".join(f"{c}=:{c}" for c in given)
        with self.db.raw_write() as cur:
            cur.execute(driver_sql(self.db.dialect, _NOTE.format(sets=sets)), args)
            cur.execute(
                driver_sql(self.db.dialect, f"UPDATE items SET {mirror} WHERE id=:item"), args
            )

    # -- progress --------------------------------------------------------------------------
    def progress(self, project_id: int) -> pd.DataFrame:
        """Per person on the roster or with codes: codes given, today, overlap items coded and
        their share of the overlap set."""
        s = self.settings(project_id)
        args = {"p": project_id, "cut": s.cut, "midnight": _midnight()}
        people = frame(
            self.db,
            "SELECT c.annotator, COUNT(*) AS codes,"
            " SUM(CASE WHEN c.updated_at>=:midnight THEN 1 ELSE 0 END) AS today,"
            " SUM(CASE WHEN i.split='heldout' OR i.shuffle<:cut THEN 1 ELSE 0 END) AS overlap"
            " FROM codes c JOIN items i ON i.id=c.item_id WHERE c.project_id=:p"
            " AND c.label IS NOT NULL AND c.source='human' GROUP BY c.annotator",
            args,
        )
        roster = frame(
            self.db, "SELECT name AS annotator, role FROM members WHERE project_id=:p", args
        )
        with self.db.read() as conn:  # the held-out items and the pool below the cut
            overlap_total = overlap_items(conn, project_id, s.cut)
        out = roster.merge(people, on="annotator", how="outer")
        for column in ("codes", "today", "overlap"):
            out[column] = pd.to_numeric(out[column]).fillna(0).astype(int)
        out["role"] = out["role"].fillna("(not on the roster)")
        out["overlap_share"] = out["overlap"] / overlap_total if overlap_total else 0.0
        out.attrs["overlap_items"] = int(overlap_total)
        return out.sort_values(["codes", "annotator"], ascending=[False, True], ignore_index=True)

    # -- adjudication ----------------------------------------------------------------------
    def disputes(self, project_id: int, *, include_decided: bool = False) -> pd.DataFrame:
        """Items whose coders disagree (oldest first), one row per code: item_id, ext_id, text,
        split, annotator, label, unsure, comment."""
        which = (
            f"(i.disputed=1 OR i.label_source='adjudicated') AND i.id IN ({_DISPUTED}"
            f" UNION {_DECIDED})"
            if include_decided
            else f"i.id IN ({_DISPUTED})"
        )
        return frame(
            self.db,
            "SELECT i.id AS item_id, i.ext_id, i.text, i.split, i.label AS decision,"
            " c.annotator, c.label, c.unsure, c.comment FROM items i JOIN codes c"
            f" ON c.item_id=i.id WHERE i.project_id=:p AND {which} AND c.label IS NOT NULL"
            " ORDER BY i.id, c.annotator",
            {"p": project_id},
        )

    def count_disputes(self, project_id: int) -> int:
        with self.db.read() as conn:
            return conn.execute(
                text("SELECT COUNT(*) FROM items WHERE project_id=:p AND disputed=1"),
                {"p": project_id},
            ).scalar_one()

    def adjudicate(self, item_id: int, label: str, adjudicator: str) -> None:
        """The adjudicator's decision on an item: stored as its own row (source 'adjudicated'),
        never replacing a coder's code; it becomes the item's gold label."""
        dialect = self.db.dialect
        lock = " FOR UPDATE OF i" if dialect == "postgresql" else ""
        with self.db.raw_write() as cur:
            cur.execute(
                driver_sql(
                    dialect,
                    "SELECT i.project_id, p.labels, p.codebook_version FROM items i"
                    f" JOIN projects p ON p.id=i.project_id WHERE i.id=:item{lock}",
                ),
                {"item": item_id},
            )
            row = cur.fetchone()
            if row is None:
                raise StoreError(f"No item with id {item_id}; it may have been deleted.")
            labels = json.loads(row[1])
            if label not in labels:
                raise StoreError(f"{label!r} is not a label of this project ({', '.join(labels)}).")
            cur.execute(
                driver_sql(
                    dialect,
                    "INSERT INTO annotations (item_id, project_id, label, source, annotator,"
                    " codebook_version, created_at) VALUES (:item, :project, :label,"
                    " 'adjudicated', :who, :version, :now)",
                ),
                {"item": item_id, "project": row[0], "label": label, "who": adjudicator,
                 "version": row[2], "now": time.time()},
            )  # fmt: skip
            derive(cur, dialect, item_id)

    def decisions(self, project_id: int) -> pd.DataFrame:
        """Every adjudication, oldest first: item_id, label, adjudicator, time_utc."""
        df = frame(
            self.db,
            "SELECT item_id, label, annotator AS adjudicator, created_at AS time_utc"
            " FROM annotations WHERE project_id=:p AND source='adjudicated' ORDER BY id",
            {"p": project_id},
        )
        df["time_utc"] = to_utc(df["time_utc"])
        return df
