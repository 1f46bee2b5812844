"""What to show next: the annotation queue's orders over a project's items.

Orders: `loaded` (file order), `random` (a fixed shuffle), and a run's: `least-confident` (lowest
top probability), `margin` (smallest gap between the two likeliest labels), `entropy` (highest),
`diverse` (uncertainty balanced across clusters of the embeddings, ranked by the live model's job)
and `by-label`. The `suspect` filter shows labelled tweets the live model doubts, most suspect
first. Held-out items are interleaved at random in the project's share, so the test
set fills as the person works; they never take a model's order (they are labelled blind).

Given an annotator, the unlabelled queue is theirs: items they have coded, disputed items and
items that already have (or are leased to) as many coders as they need are left out, and the item
returned is leased to them (LEASE_S), so two people never get one single-coded tweet at once. The
lease is taken in the same write transaction as the pick (PostgreSQL: under a per-project
advisory lock), so concurrent pickers are served one after the other.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from typing import Any

from .engine import Database
from .filters import filter_sql
from .gold import coders_needed, overlap_cut
from .sql import driver_sql, expand, fetch_dicts

ORDERS = ("loaded", "random", "least-confident", "margin", "entropy", "diverse", "by-label")
# a model's order: (the key that must be known, ORDER BY); `suspect` orders the suspect-label queue.
# Ties go by p.item_id (= i.id): then the (run_id, key) index, whose entries end in item_id, gives
# the whole order and SQLite walks it; ordered by i.id it sorted every unlabelled item per press.
MODEL_ORDERS = {
    "least-confident": ("p.score", "p.score ASC, p.item_id"),
    "margin": ("p.margin", "p.margin ASC, p.item_id"),
    "entropy": ("p.entropy", "p.entropy DESC, p.item_id"),
    "diverse": ("p.diverse_rank", "p.diverse_rank ASC, p.item_id"),
    "by-label": ("p.label", "p.label, p.score DESC, p.item_id"),
    "suspect": ("p.suspect", "p.suspect ASC, p.item_id"),
}
LEASE_S = 600.0  # an open card holds its tweet this long; a closed tab frees it by itself
_LEASE_LOCK = 7_243_912  # pg_advisory_xact_lock(namespace, project): one picker per project
# the annotator's own queue: not coded by them, not held by another tab of theirs (they would
# code it twice), not disputed, still short of coders counting the colleagues holding it
_MINE = (
    " AND i.disputed=0 AND NOT EXISTS (SELECT 1 FROM codes c WHERE c.item_id=i.id"
    " AND c.annotator=:who AND c.label IS NOT NULL)"
    " AND NOT EXISTS (SELECT 1 FROM leases o WHERE o.item_id=i.id AND o.annotator=:who"
    " AND o.sitting<>:sitting AND o.expires_at>:now)"
    " AND i.coders + (SELECT COUNT(*) FROM leases l WHERE l.item_id=i.id AND l.annotator<>:who"
    " AND l.expires_at>:now) < CASE WHEN i.split='heldout' OR i.shuffle<:cut THEN :k ELSE 1 END"
)
_TEAM = (
    "SELECT overlap_share, coders_per_item, (SELECT COUNT(*) FROM members m"
    " WHERE m.project_id=p.id AND m.role='annotator') AS roster FROM projects p WHERE p.id=:project"
)


class Queue:
    def __init__(self, db: Database):
        self.db = db

    def next(self, project_id: int, **kwargs: Any) -> dict[str, Any] | None:
        """The next item to show (see `take`); with an annotator and the unlabelled filter, it is
        leased to them and whatever they held before is given back."""
        picked = self.take(project_id, 1, **kwargs)
        return picked[0] if picked else None

    def take(
        self,
        project_id: int,
        count: int,
        *,
        hold: Iterable[int] = (),
        order: str = "loaded",
        run_id: int | None = None,
        exclude: Iterable[int] = (),
        seed: int = 0,
        where: str = "unlabelled",
        label: str | None = None,
        search: str = "",
        annotator: str | None = None,
        sitting: str = "",
        lease_s: float = LEASE_S,
    ) -> list[dict[str, Any]]:
        """The card's items: those of `hold` still in this queue, in their order, then new ones
        in queue order up to `count` in all; `exclude` holds ids skipped in this sitting. A held
        item is dropped when it left the queue meanwhile (labelled from the table, deleted, or
        taken by someone else after its lease ran out). With an annotator and the unlabelled
        filter, their own queue: every item returned is leased to them (the browser keeps a few
        tweets ahead) and any other lease this `sitting` (the card's token) held is given back."""
        hold = list(dict.fromkeys(int(i) for i in hold))
        mine = annotator is not None and where == "unlabelled"
        card: list[dict[str, Any]] = []

        def pick(cur, extra: dict[str, Any]) -> None:
            if hold:
                card.extend(self._still_queued(cur, project_id, hold, where, label, search,
                                               run_id, mine, extra))  # fmt: skip
            while len(card) < count:
                skip = (*exclude, *hold, *(t["id"] for t in card))
                first, fallback, args = self._queries(
                    project_id, order, run_id, skip, where, label, search, mine
                )
                args.update(extra)
                item = self._pick(cur, first, fallback, args, seed, skip)
                if item is None:
                    return
                card.append(item)

        if not mine:
            with self.db.raw_read() as cur:
                pick(cur, {})
            return card
        now = time.time()
        extra: dict[str, Any] = {
            "who": annotator, "sitting": sitting, "now": now, "project": project_id
        }  # fmt: skip
        with self.db.raw_write() as cur:
            if self.db.dialect == "postgresql":
                cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LEASE_LOCK, project_id))
            cur.execute(driver_sql(self.db.dialect, _TEAM), extra)
            team = fetch_dicts(cur)
            if not team:
                return []
            extra.update(
                cut=overlap_cut(team[0]["overlap_share"]),
                k=coders_needed(team[0]["coders_per_item"], team[0]["roster"]),
            )
            pick(cur, extra)
            # the card's tweets only: taking tweets gives back the ones shown before
            cur.execute(
                driver_sql(
                    self.db.dialect,
                    "DELETE FROM leases WHERE (project_id=:project AND annotator=:who"
                    " AND sitting=:sitting) OR expires_at<=:now",
                ),
                extra,
            )
            for item in card:
                cur.execute(
                    driver_sql(
                        self.db.dialect,
                        "INSERT INTO leases (item_id, annotator, sitting, project_id, expires_at)"
                        " VALUES (:item, :who, :sitting, :project, :until)",
                    ),
                    {"item": item["id"], "who": annotator, "sitting": sitting,
                     "project": project_id, "until": now + lease_s},
                )  # fmt: skip
            return card

    def _still_queued(self, cur, project_id, hold, where, label, search, run_id, mine, extra):
        """The rows of `hold` this queue would still serve, in `hold`'s order."""
        filt, args = filter_sql(self.db.dialect, where, label, search, run_id)
        filt += _MINE if mine else ""
        args.update(extra, project=project_id, run=run_id)
        ids = expand("hold", hold, args)
        cur.execute(
            driver_sql(
                self.db.dialect,
                f"SELECT i.* FROM items i WHERE i.project_id=:project AND i.id IN {ids}{filt}",
            ),
            args,
        )
        rows = {row["id"]: _item(row) for row in fetch_dicts(cur)}
        return [rows[i] for i in hold if i in rows]

    def release(self, project_id: int, annotator: str, sitting: str = "") -> None:
        """Give back whatever this annotator's card `sitting` holds (a closed queue); their
        other tabs keep theirs."""
        with self.db.write() as conn:
            conn.exec_driver_sql(
                driver_sql(
                    self.db.dialect,
                    "DELETE FROM leases WHERE project_id=:project AND annotator=:who"
                    " AND sitting=:sitting",
                ),
                {"project": project_id, "who": annotator, "sitting": sitting},
            )

    def _pick(self, cur, first, fallback, args, seed, exclude) -> dict[str, Any] | None:
        # one round trip: the project's share and clock, and each split's candidate
        cur.execute(driver_sql(self.db.dialect, first), args)
        rows = fetch_dicts(cur)
        if not rows:
            return None
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

    def _queries(self, project_id, order, run_id, exclude, where, label, search, mine):
        """(the first query, the fallback for a model's order or None, their parameters)."""
        filt, args = filter_sql(self.db.dialect, where, label, search, run_id)
        filt += _MINE if mine else ""
        args.update(project=project_id, run=run_id)
        excl = f" AND i.id NOT IN {expand('ex', exclude, args)}" if exclude else ""
        order = "suspect" if where == "suspect" else order
        model_order = order in MODEL_ORDERS and run_id is not None
        known, ordering = MODEL_ORDERS.get(order, ("p.score", ""))

        def candidate(split: str) -> str:
            where_split = f"i.project_id=:project AND i.split='{split}'{filt}{excl}"
            if split == "heldout" or not model_order:  # held-out: blind, in a fixed shuffle
                key = "i.shuffle" if order == "random" or split == "heldout" else "i.id"
                return f"SELECT i.* FROM items i WHERE {where_split} ORDER BY {key} LIMIT 1"
            return (
                "SELECT i.* FROM predictions p JOIN items i ON i.id=p.item_id"
                f" WHERE p.run_id=:run AND {known} IS NOT NULL AND {where_split}"
                f" ORDER BY {ordering} LIMIT 1"
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
        if model_order and order != "suspect":
            fallback = (
                f"SELECT i.* FROM items i WHERE i.project_id=:project AND i.split='pool'{filt}"
                f"{excl} AND NOT EXISTS (SELECT 1 FROM predictions p WHERE p.run_id=:run"
                f" AND p.item_id=i.id AND {known} IS NOT NULL) ORDER BY i.id LIMIT 1"
            )
        return first, fallback, args


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("q_")}
