"""Columns of a tweet table: guess the text, id and label columns, and check a chosen one exists.

`detect_columns` guesses by name (the usual names of public tweet sets, best first), then the text
column by content. A column that holds mostly numbers, dates or ids is never the text column,
whatever its name ("comment" may count comments); when no column holds text the guess is None and
`no_text_column_message` says so: what each column holds and what to do. `require_column` is
the one check that a named column is there; its message names the column, the file, the columns
there are, a close match, and the fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
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

    profiles: dict[str, _Profile] = {}

    def profile(c: str) -> _Profile:
        if c not in profiles:
            profiles[c] = _profile(df, columns.index(c))
        return profiles[c]

    # a name is a hint, the content decides: "comment" or "status" may hold counts or ids
    text = next(
        (by_norm[n] for n in TEXT_NAMES if n in by_norm and profile(by_norm[n]).texty), None
    )
    id_col = by_name(ID_NAMES, {text} if text else set())
    taken = {c for c in (text, id_col) if c}
    label = by_name(LABEL_NAMES, taken) or by_name(WEAK_LABEL_NAMES, taken)
    if text is None:
        text = _longest_text_column(columns, profile, {c for c in (id_col, label) if c})
    return ColumnGuess(text, id_col, label)


# What a cell holds when it is no text to label (kinds in _Profile.shares).
_NUMBER_RE = re.compile(
    r"[+\-]?[$€£¥]?\s?(?=[.,]?\d)(?:\d{1,3}(?:[,\s'\u00a0\u202f_]\d{3})+|\d*)(?:[.,]\d*)?"
    r"(?:[eE][+\-]?\d+)?\s?%?"
)
_MISSING = frozenset("nan na n/a null none nil - -- inf -inf +inf infinity true false".split())
_DATE_WORDS = frozenset(
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june "
    "july august september october november december mon tue tues wed thu thur thurs fri sat "
    "sun monday tuesday wednesday thursday friday saturday sunday am pm a.m p.m utc gmt z t".split()
)
_DATE_TOKEN_RE = re.compile(
    r"[+\-]?\d[\d:./\-]*(?:T[\d:.]+)?(?:Z|[+\-]\d{2}:?\d{2})?|\d{1,2}(?:st|nd|rd|th)", re.I
)
_TOKEN_RE = re.compile(r"[\w\-:.]+")  # one "word" without spaces: an id, a code, a number


def _kind(v: str) -> str:
    """missing, number, date, id (one token with a digit), word (one token) or text."""
    if v.casefold() in _MISSING:
        return "missing"
    if _NUMBER_RE.fullmatch(v):
        return "number"
    if any(ch.isdigit() for ch in v) and all(
        _DATE_TOKEN_RE.fullmatch(t) or t.casefold().rstrip(".") in _DATE_WORDS
        for t in re.split(r"[\s,]+", v)
        if t
    ):
        return "date"
    if _TOKEN_RE.fullmatch(v):
        return "id" if any(ch.isdigit() for ch in v) else "word"
    return "text"


class _Profile(NamedTuple):
    """What a column holds, from its first 1000 non-empty cells."""

    shares: dict[str, float]  # kind (see _kind, and "json") -> share of the non-empty cells
    spaced: float  # share of cells with a space inside
    avg: float  # mean length

    @property
    def empty(self) -> bool:
        return not self.shares

    @property
    def texty(self) -> bool:
        """Not mostly numbers, dates, ids or JSON. "NA" or "None" count for neither side (a
        numbers column has gaps, a tweet may read "None"); empty columns are left to the name."""
        s = self.shares
        known = 1 - s.get("missing", 0)
        not_text = s.get("number", 0) + s.get("date", 0) + s.get("id", 0)
        return not_text <= 0.5 * known and s.get("json", 0) <= 0.5 * known

    @property
    def holds(self) -> str:
        """What it holds, for a message: numbers, dates, ids, JSON, single words, text, nothing."""
        if self.empty:
            return "nothing"
        s = dict(self.shares)
        s["number"] = s.get("number", 0) + s.pop("missing", 0)
        kind = max(s, key=lambda k: s[k])
        return {"number": "numbers", "date": "dates", "id": "ids", "json": "JSON",
                "word": "single words"}.get(kind, "text")  # fmt: skip


def _profile(df: pd.DataFrame, j: int) -> _Profile:
    values = [v.strip() for v in to_str_list(df.iloc[:1000, j]) if v.strip()]
    if not values:
        return _Profile({}, 0.0, 0.0)
    counts: dict[str, int] = {}
    for v in values:
        kind = "json" if v[:1] in ("{", "[") else _kind(v)
        counts[kind] = counts.get(kind, 0) + 1
    n = len(values)
    return _Profile(
        {k: c / n for k, c in counts.items()},
        sum(" " in v for v in values) / n,
        sum(len(v) for v in values) / n,
    )


def _longest_text_column(
    columns: list[str], profile: Callable[[str], _Profile], taken: set[str]
) -> str | None:
    """The column that reads most like tweets; None when every column holds numbers, dates,
    ids or JSON (or is empty or taken): those never become tweets."""
    scored = []
    words = []
    for j, c in enumerate(columns):
        if c in taken or norm_name(c).startswith("unnamed"):
            continue
        p = profile(c)
        if p.empty or not p.texty:
            continue
        if sum(p.shares.get(k, 0) for k in ("word", "id", "missing")) > 0.9:
            words.append((p.avg, -j, c))  # one word per cell: text, but the last resort
            continue
        scored.append((p.spaced >= 0.3, p.avg, -j, c))
    if scored:
        return max(scored)[3]
    return max(words)[2] if words else None


def no_text_column_message(
    df: pd.DataFrame, source: str | None = None, *, fix: str | None = None
) -> str:
    """Why no column can be the text column: what each holds, and what to do (`fix` ends it)."""
    guess = detect_columns(df)
    roles = {guess.id: "the ids", guess.label: "the labels"}
    holds = []
    for j, c in enumerate(df.columns):
        what = roles.get(str(c)) or _profile(df, j).holds
        holds.append(f"{c} holds {what}")
    where = f"'{source}'" if source else "the table"
    fix = fix or (
        "Choose the file that holds the tweets, or add a column with the tweet texts (e.g. "
        "named text) and import the file again."
    )
    return f"No column of {where} holds text to label: {', '.join(holds)}. {fix}"


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
