"""A table read by `read_table` -> items ready for the store: `prepare_items` and `PreparedItems`.

Texts are kept byte for byte and empty (all-white-space) ones skipped, each item keeps its id, its 1-based data row in the
file, its label and the other columns; exact repeats are kept or merged. The counts and warnings
(conflicting labels on repeated texts, labels differing only in case, empty or repeated ids) are
what the import screen shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import InputError
from .cells import to_str_list
from .columns import require_column

_MAX_LISTED = 5  # label spellings named in one message


@dataclass
class PreparedItems:
    """Items ready for the store, with the counts and warnings the import screen shows.

    items: columns text (exactly as read, not empty), ext_id (str or None), source_row (1-based data row
    in the file), label (str or None) and extra (dict of the other columns, str values).
    """

    items: pd.DataFrame
    text_col: str
    id_col: str | None
    label_col: str | None
    duplicates: str
    rows: int  # data rows in the file
    imported: int  # len(items)
    skipped_empty: int  # rows whose text is empty or whitespace only
    duplicate_rows: int  # rows whose exact text appeared in an earlier row
    duplicate_groups: int  # distinct texts that appear more than once
    labelled: int  # items with a label
    warnings: list[str] = field(default_factory=list)


def prepare_items(
    df: pd.DataFrame,
    text_col: str,
    id_col: str | None = None,
    label_col: str | None = None,
    duplicates: Literal["keep", "merge"] = "keep",
) -> PreparedItems:
    """Turn a table into items: non-empty texts (exactly as read) with id, source row, label and extras.

    duplicates="keep" imports every row; "merge" keeps the first row of each text (the same but
    for surrounding white space) and gives it the first label any of its copies has.
    """
    if duplicates not in ("keep", "merge"):
        raise InputError(f"duplicates must be 'keep' or 'merge', not {duplicates!r}")
    fname = df.attrs.get("source", {}).get("name")
    for role, col in (("text", text_col), ("id", id_col), ("label", label_col)):
        if col is not None:
            require_column(df.columns, col, role, source=fname)
    roles = [(r, c) for r, c in (("text", text_col), ("id", id_col), ("label", label_col)) if c]
    for i, (role_a, col_a) in enumerate(roles):
        for role_b, col_b in roles[i + 1 :]:
            if col_a == col_b:
                raise InputError(
                    f"column '{col_a}' cannot be both the {role_a} and the {role_b} column; "
                    f"pick another {role_b} column or none"
                )
    if df.columns.duplicated().any():
        raise InputError(
            "column names repeat; read the file with read_table, which numbers them (text.1)"
        )

    where = f" of '{fname}'" if fname else ""
    warnings = list(df.attrs.get("warnings", []))
    n = len(df)
    if n == 0:
        raise InputError(f"the table{where} has no rows")
    # Plain lists and comprehensions: 3-4x faster here than pandas' object-dtype .str methods.
    # kept byte for byte (an export must give back exactly what was imported); a text of only
    # white space counts as empty
    text = to_str_list(df[text_col])
    keep = [bool(v.strip()) for v in text]
    if not any(keep):
        others = [str(c) for c in df.columns if c != text_col and any(to_str_list(df[c]))]
        alt = f" Columns with content: {', '.join(others)}." if others else ""
        raise InputError(
            f"text column '{text_col}' is empty in all {n} rows{where}; is it the right column?"
            f"{alt}"
        )
    skipped = n - sum(keep)
    extra_cols = [c for c in df.columns if c not in (text_col, id_col, label_col)]
    names = [str(c) for c in extra_cols]
    extra_lists = [to_str_list(df[c]) for c in extra_cols]
    columns = {
        "text": text,
        "ext_id": _optional(df, id_col),
        "source_row": range(1, n + 1),
        "label": _optional(df, label_col),
        "extra": (
            [dict(zip(names, vals, strict=True)) for vals in zip(*extra_lists, strict=True)]
            if extra_cols
            else [{} for _ in range(n)]
        ),
    }
    if skipped:
        columns = {
            k: [v for v, ok in zip(vs, keep, strict=True) if ok] for k, vs in columns.items()
        }
    items = pd.DataFrame(
        {
            "text": pd.Series(columns["text"], dtype=object),
            "ext_id": pd.Series(columns["ext_id"], dtype=object),
            "source_row": np.fromiter(columns["source_row"], dtype=np.int64),
            "label": pd.Series(columns["label"], dtype=object),
            "extra": pd.Series(columns["extra"], dtype=object),
        }
    )
    same = pd.Series([t.strip() for t in items["text"]], dtype=object)  # "a " repeats "a"
    dup = same.duplicated(keep="first")
    duplicate_rows = int(dup.sum())
    duplicate_groups = int(same[dup].nunique())
    if duplicate_rows:
        conflict = _label_conflicts(items.assign(text=same), dup)
        if conflict:
            warnings.append(conflict)
    if duplicates == "merge" and duplicate_rows:
        keyed = items.assign(same=same)
        first_label = keyed.dropna(subset=["label"]).drop_duplicates("same").set_index("same")
        kept_same = same[~dup].reset_index(drop=True)
        items = items[~dup].reset_index(drop=True)
        missing = items["label"].isna()
        items.loc[missing, "label"] = kept_same[missing].map(first_label["label"])
        items["label"] = items["label"].astype(object).where(items["label"].notna(), None)
    if label_col:
        warnings.extend(_label_warnings(items["label"], label_col))
    if id_col:
        warnings.extend(_id_warnings(items, id_col))
    return PreparedItems(
        items=items,
        text_col=text_col,
        id_col=id_col,
        label_col=label_col,
        duplicates=duplicates,
        rows=n,
        imported=len(items),
        skipped_empty=skipped,
        duplicate_rows=duplicate_rows,
        duplicate_groups=duplicate_groups,
        labelled=int(items["label"].notna().sum()),
        warnings=warnings,
    )


def _optional(df: pd.DataFrame, col: str | None) -> list[str | None]:
    if col is None:
        return [None] * len(df)
    return [v.strip() or None for v in to_str_list(df[col])]


def _label_conflicts(items: pd.DataFrame, dup: pd.Series) -> str | None:
    dup_texts = set(items.loc[dup, "text"])
    grouped = items[items["text"].isin(dup_texts) & items["label"].notna()]
    nunique = grouped.groupby("text", sort=False)["label"].nunique()
    bad = nunique[nunique > 1]
    if bad.empty:
        return None
    example = grouped[grouped["text"] == bad.index[0]]
    shown = ", ".join(
        f"row {r}: '{lab}'" for r, lab in zip(example["source_row"], example["label"], strict=True)
    )
    return (
        f"{len(bad)} repeated text(s) carry different labels in different rows (e.g. {shown}); "
        "check them, each row keeps its own label (with duplicates='merge' the first wins)"
    )


def _label_warnings(labels: pd.Series, label_col: str) -> list[str]:
    counts = labels.dropna().value_counts()
    out = []
    groups: dict[str, list[tuple[str, int]]] = {}
    for value, k in counts.items():
        groups.setdefault(str(value).casefold(), []).append((str(value), int(k)))
    clashes = [g for g in groups.values() if len(g) > 1]
    if clashes:
        shown = "; ".join(
            ", ".join(f"'{v}' ({k} row{'s' * (k != 1)})" for v, k in g)
            for g in clashes[:_MAX_LISTED]
        )
        out.append(
            f"label values in column '{label_col}' differ only in upper/lower case: {shown}. "
            "They count as different labels; make the spelling the same in the file if they "
            "mean the same."
        )
    labelled = int(counts.sum())
    if len(counts) > 50 and len(counts) > labelled / 2:
        out.append(
            f"label column '{label_col}' has {len(counts)} different values in {labelled} "
            "labelled rows; is it really the label column?"
        )
    return out


def _id_warnings(items: pd.DataFrame, id_col: str) -> list[str]:
    out = []
    ids = items["ext_id"]
    missing = int(ids.isna().sum())
    if 0 < missing < len(ids):
        out.append(f"{missing} row(s) have an empty id in column '{id_col}'")
    repeated = ids.dropna().duplicated(keep=False)
    if repeated.any():
        rep = items.loc[repeated[repeated].index]
        first = rep["ext_id"].iloc[0]
        rows = rep.loc[rep["ext_id"] == first, "source_row"].tolist()[:3]
        n_values = rep["ext_id"].nunique()
        out.append(
            f"id column '{id_col}' repeats {n_values} value(s) (e.g. '{first}' in rows "
            f"{', '.join(map(str, rows))}); the ids are kept but do not identify rows uniquely"
        )
    return out
