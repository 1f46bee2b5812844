"""The filters a queue or a table page can apply ("unlabelled", "unsure", a label, a search)."""

from __future__ import annotations

from typing import Any

from ..errors import StoreError

WHERE = ("unlabelled", "labelled", "unsure", "review", "disagree", "suspect", "all")


def filter_sql(
    dialect: str, where: str, label: str | None, search: str, run_id: int | None
) -> tuple[str, dict[str, Any]]:
    """(" AND ..." over items aliased `i`, named parameters)."""
    clauses: list[str] = []
    args: dict[str, Any] = {}
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
            clauses.append("1=0")
        else:
            clauses.append(
                "i.label IS NOT NULL AND EXISTS (SELECT 1 FROM predictions fp WHERE"
                " fp.run_id=:filter_run AND fp.item_id=i.id AND fp.label != i.label)"
            )
            args["filter_run"] = run_id
    elif where == "suspect":  # labelled tweets the live model doubts (ordered by the queue)
        if run_id is None:
            clauses.append("1=0")
        else:
            clauses.append(
                "i.label IS NOT NULL AND EXISTS (SELECT 1 FROM predictions sp WHERE"
                " sp.run_id=:filter_run AND sp.item_id=i.id AND sp.suspect IS NOT NULL)"
            )
            args["filter_run"] = run_id
    elif where != "all":
        raise StoreError(f"Unknown filter {where!r}; use one of {', '.join(WHERE)}.")
    if label:
        clauses.append("i.label=:filter_label")
        args["filter_label"] = label
    if search.strip():
        # SQLite's LIKE ignores ASCII case; PostgreSQL's needs ILIKE for the same behaviour
        like = "ILIKE" if dialect == "postgresql" else "LIKE"
        clauses.append(f"i.text {like} :filter_search ESCAPE '\\'")
        escaped = search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        args["filter_search"] = f"%{escaped}%"
    return (" AND " + " AND ".join(clauses)) if clauses else "", args
