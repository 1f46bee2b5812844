"""What to show next: the annotation queue's orders over a project's items.

Orders: `loaded` (file order), `random` (a fixed shuffle), `least-confident` and `by-label` (a
run's suggestions). Held-out items are interleaved at random in the project's share, so the test
set fills as the person works; they never take a model's order (they are labelled blind).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from .engine import Database
from .filters import filter_sql
from .sql import driver_sql, expand, fetch_dicts

ORDERS = ("loaded", "random", "least-confident", "by-label")


class Queue:
    def __init__(self, db: Database):
        self.db = db

    def next(
        self,
        project_id: int,
        *,
        order: str = "loaded",
        run_id: int | None = None,
        exclude: Iterable[int] = (),
        seed: int = 0,
        where: str = "unlabelled",
        label: str | None = None,
        search: str = "",
    ) -> dict[str, Any] | None:
        """The next item to show; `exclude` holds ids skipped in this sitting."""
        exclude = tuple(exclude)
        first, fallback, args = self._queries(
            project_id, order, run_id, exclude, where, label, search
        )
        with self.db.raw_read() as cur:
            # one round trip: the project's share and clock, and each split's candidate
            cur.execute(driver_sql(self.db.dialect, first), args)
            rows = fetch_dicts(cur)
            share, clock = rows[0]["q_share"], rows[0]["q_clock"]
            # the draw changes with every new label (the project's newest annotation time) and
            # every skip, and costs an index lookup where counting labels would scan at 1M items
            draw = random.Random(f"{seed}:{clock}:{len(exclude)}").random()
            order_of_splits = ("heldout", "pool") if draw < (share or 0) else ("pool", "heldout")
            found = {r["q_split"]: r for r in rows if r["q_split"] is not None}
            for split in order_of_splits:
                if split in found:
                    return _item(found[split])
            if fallback is not None:  # items the model has not scored come after the scored ones
                cur.execute(driver_sql(self.db.dialect, fallback), args)
                rows = fetch_dicts(cur)
                if rows:
                    return _item(rows[0])
        return None

    def _queries(self, project_id, order, run_id, exclude, where, label, search):
        """(the first query, the fallback for a model's order or None, their parameters)."""
        filt, args = filter_sql(self.db.dialect, where, label, search, run_id)
        args.update(project=project_id, run=run_id)
        excl = f" AND i.id NOT IN {expand('ex', exclude, args)}" if exclude else ""
        model_order = order in ("least-confident", "by-label") and run_id is not None

        def candidate(split: str) -> str:
            where_split = f"i.project_id=:project AND i.split='{split}'{filt}{excl}"
            if split == "heldout" or not model_order:  # held-out: blind, in a fixed shuffle
                key = "i.shuffle" if order == "random" or split == "heldout" else "i.id"
                return f"SELECT i.* FROM items i WHERE {where_split} ORDER BY {key} LIMIT 1"
            key = (
                "p.score ASC, i.id" if order == "least-confident" else "p.label, p.score DESC, i.id"
            )
            return (
                "SELECT i.* FROM predictions p JOIN items i ON i.id=p.item_id"
                f" WHERE p.run_id=:run AND {where_split} ORDER BY {key} LIMIT 1"
            )

        first = (
            "SELECT s.heldout_share AS q_share, s.clock AS q_clock, c.* FROM"
            " (SELECT heldout_share, (SELECT MAX(a.created_at) FROM annotations a"
            "  WHERE a.project_id=:project) AS clock FROM projects WHERE id=:project) s"
            " LEFT JOIN ("
            f"  SELECT * FROM (SELECT 'heldout' AS q_split, h.* FROM ({candidate('heldout')}) h) hh"
            "  UNION ALL"
            f"  SELECT * FROM (SELECT 'pool' AS q_split, o.* FROM ({candidate('pool')}) o) oo"
            " ) c ON 1=1"
        )
        fallback = None
        if model_order:
            fallback = (
                f"SELECT i.* FROM items i WHERE i.project_id=:project AND i.split='pool'{filt}"
                f"{excl} AND NOT EXISTS (SELECT 1 FROM predictions p WHERE p.run_id=:run"
                " AND p.item_id=i.id) ORDER BY i.id LIMIT 1"
            )
        return first, fallback, args


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("q_")}
