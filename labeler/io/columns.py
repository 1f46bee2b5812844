"""Columns of a tweet table: guess the text, id and label columns, and check a chosen one exists.

`detect_columns` guesses by name (the usual names of public tweet sets, best first), then the text
column by content. `require_column` is the one check that a named column is there; its message
names the column, the file, the columns there are, a close match, and the fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

import pandas as pd

from ..errors import InputError
from .cells import to_str_list

# Column names, compared after norm_name (case-folded, spaces/dots/dashes -> "_"), best first.
TEXT_NAMES = (
    "full_text", "text", "tweet", "tweet_text", "tweets", "content", "raw_content",
    "rawcontent", "rendered_content", "body", "message", "post", "sentence", "comment", "review",
    "document", "status", "caption", "clean_text", "cleaned_text", "text_clean", "processed_text",
)  # fmt: skip
ID_NAMES = (
    "tweet_id", "id_str", "id", "tweetid", "status_id", "post_id", "message_id", "doc_id",
    "item_id", "uid", "uuid", "guid",
)  # fmt: skip
LABEL_NAMES = (
    "label", "labels", "stance", "sentiment", "class", "gold_label", "gold", "label_name",
    "class_label", "category", "annotation", "polarity", "emotion", "tag", "y",
)  # fmt: skip
# "target" is the label in some sets (Kaggle disaster tweets: 0/1) but the stance *topic* in
# others (PStance: Tweet, Target, Stance), so it is taken only when no other label name exists.
WEAK_LABEL_NAMES = ("target",)


class ColumnGuess(NamedTuple):
    """The columns `detect_columns` would pick; None where nothing fits."""

    text: str | None
    id: str | None
    label: str | None


def norm_name(name: Any) -> str:
    """A column name as compared with the *_NAMES lists: case-folded, separators as "_"."""
    return re.sub(r"[\s.\-]+", "_", str(name).strip().casefold()).strip("_")


def detect_columns(df: pd.DataFrame) -> ColumnGuess:
    """Guess the text, id and label columns by name, then (text only) by content."""
    columns = [str(c) for c in df.columns]
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(norm_name(c), c)

    def by_name(names: tuple[str, ...], taken: set[str]) -> str | None:
        for n in names:
            c = by_norm.get(n)
            if c is not None and c not in taken:
                return c
        return None

    text = by_name(TEXT_NAMES, set())
    id_col = by_name(ID_NAMES, {text} if text else set())
    taken = {c for c in (text, id_col) if c}
    label = by_name(LABEL_NAMES, taken) or by_name(WEAK_LABEL_NAMES, taken)
    if text is None:
        text = _longest_text_column(df, {c for c in (id_col, label) if c})
    return ColumnGuess(text, id_col, label)


def _longest_text_column(df: pd.DataFrame, taken: set[str]) -> str | None:
    scored = []
    for j, c in enumerate(df.columns):
        if c in taken or norm_name(c).startswith("unnamed"):
            continue
        values = [v for v in to_str_list(df.iloc[:1000, j]) if v.strip()]
        if not values:
            continue
        idlike = sum(bool(re.fullmatch(r"[\w\-:.]+", v.strip())) for v in values) / len(values)
        jsonlike = sum(v.lstrip()[:1] in ("{", "[") for v in values) / len(values)
        if idlike > 0.9 or jsonlike > 0.5:
            continue
        spaced = sum(" " in v.strip() for v in values) / len(values)
        avg = sum(len(v) for v in values) / len(values)
        scored.append((spaced >= 0.3, avg, -j, c))
    if scored:
        return max(scored)[3]
    fallback = [c for c in df.columns if c not in taken]
    return fallback[0] if fallback else None


def require_column(
    columns: Iterable[Any],
    name: str,
    what: str,
    *,
    source: str | None = None,
    fix: str | None = None,
) -> None:
    """Raise InputError unless column `name` (the `what` column: text, id, label) is present.

    `columns` are the table's column names, `source` the file name for the message, `fix` the
    advice that ends it (default: pick one of the columns as the `what` column; the CLI passes
    its option, e.g. "Pass the right name with --text-col.").
    """
    columns = list(columns)
    if name in columns:
        return
    present = [str(c) for c in columns]
    where = f" in '{source}'" if source else ""
    close = difflib.get_close_matches(name, present, n=1, cutoff=0.6)
    close = close or [c for c in present if c.casefold() == name.casefold()]
    hint = f" Did you mean '{close[0]}'?" if close else ""
    fix = fix or f"Pick one of them as the {what} column."
    raise InputError(
        f"{what} column '{name}' not found{where}; columns are: {', '.join(present)}.{hint} {fix}"
    )
