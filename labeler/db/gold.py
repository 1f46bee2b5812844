"""Each coder's code in effect and the gold label derived from the codes, inside a label's
transaction.

The rule (one place, used by labelling, undo and adjudication):
- an adjudicator's newest decision is gold, whatever the codes say;
- the codes of people labelling here count; labels imported from a file count only while nobody
  has labelled the item here, and an accepted model suggestion only while there is neither (a
  person correcting an imported label or a suggestion replaces it; both stay in the history);
- codes that disagree -> no gold; once the item has all the coders it needs it is disputed (the
  adjudication queue), so every overlap item still gets its k independent codes;
- codes that agree -> gold once the item has as many coders as it needs: k on the overlap set
  (held-out items and a seeded share of the pool), one elsewhere;
- fewer -> no gold yet: the item stays in the queue of those who have not coded it.

`items.label` mirrors the result, so the queue, counts, training and export read one column;
`item_counts` follows it in the same transaction (counts.py). The functions take a driver cursor
and the dialect and write nothing outside the caller's transaction.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import text

from .counts import bucket, change
from .sql import driver_sql, fetch_dicts

PEOPLE = ("human", "imported")
# the project's team settings and its roster's coders, for one item
_TEAM = (
    "SELECT i.project_id, i.split, i.shuffle, i.label, i.label_source, p.overlap_share,"
    " p.coders_per_item,"
    " (SELECT COUNT(*) FROM members m WHERE m.project_id=i.project_id AND m.role='annotator')"
    " AS roster FROM items i JOIN projects p ON p.id=i.project_id WHERE i.id=:item"
)
_CODES = (
    "SELECT annotator, label, source, updated_at FROM codes WHERE item_id=:item"
    " AND label IS NOT NULL ORDER BY updated_at, annotator"
)
_DECISION = (
    "SELECT label, annotator, created_at FROM annotations WHERE item_id=:item"
    " AND source='adjudicated' ORDER BY id DESC LIMIT 1"
)
_MIRROR = (
    "UPDATE items SET label=:label, label_source=:source, annotator=:who, labelled_at=:at,"
    " coders=:coders, disputed=:disputed,"
    " review=CASE WHEN :human=1 THEN 0 ELSE review END WHERE id=:item"
)
_PUT_CODE = (
    "INSERT INTO codes (item_id, annotator, project_id, label, source, codebook_version,"
    " updated_at) VALUES (:item, :who, :project, :label, :source, :version, :now)"
    " ON CONFLICT (item_id, annotator) DO UPDATE SET label=excluded.label,"
    " source=excluded.source, codebook_version=excluded.codebook_version,"
    " updated_at=excluded.updated_at"
)
# Rebuilding `codes` from the history (a restored project archive): each person's code in
# effect is their newest annotation that is neither an undo row nor undone (nor a decision).
# Migration 0002 keeps its own frozen copy of this statement.
_REBUILD = (
    "INSERT INTO codes (item_id, annotator, project_id, label, source, codebook_version,"
    " updated_at) SELECT a.item_id, a.annotator, a.project_id, a.label, a.source,"
    " a.codebook_version, a.created_at FROM annotations a WHERE a.project_id=:p AND a.id = ("
    "SELECT MAX(b.id) FROM annotations b WHERE b.item_id=a.item_id AND b.annotator=a.annotator"
    " AND b.source != 'adjudicated' AND b.retracts IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM annotations r WHERE r.retracts=b.id))"
)
_RECOUNT = (
    "UPDATE items SET coders = (SELECT COUNT(*) FROM codes c WHERE c.item_id=items.id"
    " AND c.label IS NOT NULL AND c.source='human'),"
    " disputed = CASE WHEN label IS NULL AND (SELECT COUNT(DISTINCT c.label) FROM codes c"
    " WHERE c.item_id=items.id AND c.source='human') > 1 THEN 1 ELSE 0 END"
    " WHERE project_id=:p"
)
SHUFFLE_SPAN = 16**15  # text.shuffle_rank's range: the overlap draw is a share of it


def rebuild_codes(conn: Any, project_id: int) -> None:
    """Fill `codes` and the items' coder counts from a project's annotations (SQLAlchemy
    connection, inside the caller's write transaction)."""
    conn.execute(text(_REBUILD), {"p": project_id})
    conn.execute(text(_RECOUNT), {"p": project_id})


def overlap_cut(share: float) -> int:
    """Pool items whose shuffle rank is below this are in the overlap set."""
    return int(max(0.0, min(1.0, share)) * SHUFFLE_SPAN)


def coders_needed(coders_per_item: int, roster: int) -> int:
    """k, but never more coders than the roster's annotators (a person alone needs one)."""
    return max(1, min(int(coders_per_item), int(roster)))


def needed_for(row: dict[str, Any]) -> int:
    """How many coders one item needs, from a `_TEAM` row."""
    overlap = row["split"] == "heldout" or row["shuffle"] < overlap_cut(row["overlap_share"])
    return coders_needed(row["coders_per_item"], row["roster"]) if overlap else 1


def _one(cur: Any, dialect: str, sql: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    cur.execute(driver_sql(dialect, sql), args)
    return fetch_dicts(cur)


def put_code(
    cur: Any,
    dialect: str,
    *,
    item: int,
    who: str,
    project: int,
    label: str | None,
    source: str,
    version: int | None,
    now: float,
) -> None:
    """Set one coder's code in effect (None: they have none), keeping their unsure and comment."""
    args = {"item": item, "who": who, "project": project, "label": label, "source": source,
            "version": version, "now": now}  # fmt: skip
    cur.execute(driver_sql(dialect, _PUT_CODE), args)


def derive(cur: Any, dialect: str, item_id: int, *, human: bool = False) -> str | None:
    """Recompute one item's gold label from its codes and decisions; returns it (or None)."""
    team = _one(cur, dialect, _TEAM, {"item": item_id})
    if not team:
        return None
    codes = _one(cur, dialect, _CODES, {"item": item_id})
    decision = _one(cur, dialect, _DECISION, {"item": item_id})
    tiers = [[c for c in codes if c["source"] == s] for s in ("human", *PEOPLE[1:])]
    people = tiers[0]
    counted = next((t for t in tiers if t), codes)
    gold: dict[str, Any] | None = None
    disputed = 0
    if decision and decision[0]["label"] is not None:
        d = decision[0]
        gold = {"label": d["label"], "source": "adjudicated", "who": d["annotator"],
                "at": d["created_at"]}  # fmt: skip
    elif len({c["label"] for c in counted}) > 1:  # disputed once every coder it needs has coded
        disputed = int(counted is not people or len(people) >= needed_for(team[0]))
    elif counted and (counted is not people or len(people) >= needed_for(team[0])):
        newest = counted[-1]
        gold = {"label": newest["label"], "source": newest["source"], "who": newest["annotator"],
                "at": newest["updated_at"]}  # fmt: skip
    gold = gold or {"label": None, "source": None, "who": None, "at": None}
    cur.execute(
        driver_sql(dialect, _MIRROR),
        {**gold, "coders": len(people), "disputed": disputed, "human": int(human), "item": item_id},
    )
    item = team[0]
    was = bucket(item["split"], item["label"], item["label_source"])
    now = bucket(item["split"], gold["label"], gold["source"])
    if was != now:
        change(cur, dialect, item["project_id"], Counter({was: -1, now: 1}))
    return gold["label"]
