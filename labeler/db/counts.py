"""How many items each project holds per (split, label, label source), kept in step with `items`.

Pages count labels on every opening (Projects, Data, Annotate's counter, Train's table); at 1M
items with 600k labelled, counting them reads 600k index entries each time (0.8 s for Train's
table). `item_counts` holds those numbers instead, a handful of rows per project, changed inside
the very transaction that changes an item's label or adds items: a label, an undo and an
adjudication (`gold.derive`), accepted suggestions, an import, a restored archive. Nothing else
writes `items.label` (tests compare the rows with a COUNT over `items` after each of them).
Likewise `projects.duplicate_texts` and `shuffle_counts`, which only an import or a restore
changes (items are never deleted but with their project, and never change split or shuffle).

An unlabelled item counts under label '' and source ''. A transaction applies its changes in key
order, so two people moving items between the same two buckets in opposite directions never
deadlock (PostgreSQL locks each counter row it changes until commit).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, text

from .sql import driver_sql

Bucket = tuple[str, str, str]  # (split, label or '', label source or '')

_ADD = (
    "INSERT INTO item_counts (project_id, split, label, source, n)"
    " VALUES (:p, :split, :label, :source, :n)"
    " ON CONFLICT (project_id, split, label, source) DO UPDATE SET n = item_counts.n + excluded.n"
)
# the same numbers counted from `items` (migration 0004 keeps its own frozen copy)
COUNT_ITEMS = (
    "SELECT project_id, split, COALESCE(label, ''),"
    " CASE WHEN label IS NULL THEN '' ELSE COALESCE(label_source, '') END, COUNT(*)"
    " FROM items{where} GROUP BY project_id, split, COALESCE(label, ''),"
    " CASE WHEN label IS NULL THEN '' ELSE COALESCE(label_source, '') END"
)
# items whose exact text an earlier item of the project has (pandas' `duplicated()`)
DUPLICATES = "SELECT COUNT(*) - COUNT(DISTINCT text_key) FROM items WHERE project_id=:p"
_RECOUNT = "INSERT INTO item_counts (project_id, split, label, source, n) " + COUNT_ITEMS.format(
    where=" WHERE project_id=:p"
)


# `shuffle_counts`: pool items per 1/1024 of the shuffle rank's range (text.shuffle_rank is
# below 16**15 = 2**60), so the overlap set's size (the pool below a cut, plus every held-out
# item) reads whole slices here and counts items only within the slice the cut falls in
SHUFFLE_SLICE = 2**50
_ADD_SLICE = (
    "INSERT INTO shuffle_counts (project_id, slice, n) VALUES (:p, :slice, :n)"
    " ON CONFLICT (project_id, slice) DO UPDATE SET n = shuffle_counts.n + excluded.n"
)
COUNT_SLICES = (
    f"SELECT project_id, shuffle / {SHUFFLE_SLICE}, COUNT(*) FROM items WHERE split='pool'{{where}}"
    f" GROUP BY project_id, shuffle / {SHUFFLE_SLICE}"
)


def bucket(split: str, label: str | None, source: str | None) -> Bucket:
    """Where one item counts."""
    return (split, label or "", (source or "") if label else "")


def change(cur: Any, dialect: str, project_id: int, changes: Counter[Bucket]) -> None:
    """Add `changes` (bucket -> +/- items) to the project's counts, inside the caller's
    transaction: `cur` is a driver cursor (the key-press path) or a SQLAlchemy connection."""
    rows = [
        {"p": project_id, "split": k[0], "label": k[1], "source": k[2], "n": changes[k]}
        for k in sorted(changes)
        if changes[k]
    ]
    if not rows:
        return
    if isinstance(cur, Connection):
        cur.execute(text(_ADD), rows)
    else:
        cur.executemany(driver_sql(dialect, _ADD), rows)


def add_pool(conn: Connection, project_id: int, shuffles: Iterable[int]) -> None:
    """New pool items, by their shuffle ranks (an import's chunk)."""
    slices = Counter(rank // SHUFFLE_SLICE for rank in shuffles)
    rows = [{"p": project_id, "slice": k, "n": slices[k]} for k in sorted(slices)]
    if rows:
        conn.execute(text(_ADD_SLICE), rows)


def overlap_items(conn: Connection, project_id: int, cut: int) -> int:
    """Items in the overlap set: every held-out item and the pool items below `cut`. Whole
    slices from `shuffle_counts`, the rest counted in items_shuffle's ranges of the one slice
    the cut falls in (per label present: label sits before shuffle in that index)."""
    counted = rows(conn, project_id)
    heldout = sum(n for split, *_, n in counted if split == "heldout")
    whole = max(0, cut) // SHUFFLE_SLICE
    args: dict[str, Any] = {"p": project_id, "whole": whole, "lo": whole * SHUFFLE_SLICE}
    below = conn.execute(
        text("SELECT SUM(n) FROM shuffle_counts WHERE project_id=:p AND slice<:whole"), args
    ).scalar()
    labels = sorted({label for split, label, _, _ in counted if split == "pool"})
    if not labels or cut <= args["lo"]:
        return heldout + int(below or 0)
    args.update(cut=cut, **{f"l{i}": lab for i, lab in enumerate(labels)})
    parts = [
        "SELECT COUNT(*) AS n FROM items WHERE project_id=:p AND split='pool' AND "
        + (f"label=:l{i}" if lab else "label IS NULL")
        + " AND shuffle>=:lo AND shuffle<:cut"
        for i, lab in enumerate(labels)
    ]
    rest = conn.execute(text(f"SELECT SUM(n) FROM ({' UNION ALL '.join(parts)}) parts"), args)
    return heldout + int(below or 0) + int(rest.scalar() or 0)


def add_duplicates(conn: Connection, project_id: int, n: int) -> None:
    """`n` more items repeat an earlier item's exact text (an import's chunk)."""
    if n:
        conn.execute(
            text("UPDATE projects SET duplicate_texts = duplicate_texts + :n WHERE id=:p"),
            {"p": project_id, "n": n},
        )


def recount(conn: Connection, project_id: int) -> None:
    """Count one project's items afresh (a restored archive), inside the caller's transaction."""
    args = {"p": project_id}
    conn.execute(text("DELETE FROM item_counts WHERE project_id=:p"), args)
    conn.execute(text(_RECOUNT), args)
    conn.execute(text("DELETE FROM shuffle_counts WHERE project_id=:p"), args)
    conn.execute(
        text(
            "INSERT INTO shuffle_counts (project_id, slice, n) "
            + COUNT_SLICES.format(where=" AND project_id=:p")
        ),
        args,
    )
    conn.execute(text(f"UPDATE projects SET duplicate_texts = ({DUPLICATES}) WHERE id=:p"), args)


def rows(conn: Connection, project_id: int) -> list[tuple[str, str, str, int]]:
    """(split, label, source, items) of one project, '' for no label; buckets emptied by undos
    and changed labels are left out."""
    return [
        (split, label, source, int(n))
        for split, label, source, n in conn.execute(
            text(
                "SELECT split, label, source, n FROM item_counts WHERE project_id=:p AND n<>0"
                " ORDER BY split, label, source"
            ),
            {"p": project_id},
        ).all()
    ]
