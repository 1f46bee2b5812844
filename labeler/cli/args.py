"""What the file commands share: their argument lines, and the checks on them, done once here.

- `add_io_args`: INPUT, -o/--output and the column options (--text-col, --id-col, --label-col).
- `read_input`: read INPUT and check that each named column is there (io's `require_column`, with
  the command's option as the fix), before any model loads or anything is written.
- `output_format`: the format OUTPUT's extension asks for, or one line saying which exist.
- `add_project_arg`, `unknown_project`: --project NAME and the message for a name not in the store.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..errors import InputError, StoreError

if TYPE_CHECKING:
    import pandas as pd

    from ..db.store import Store

READ_FORMATS = "csv, tsv, xlsx, jsonl, parquet"
GUESSED = None  # a column default meaning: guessed from the file, as the Data page does
OUTPUTS = {
    "table": {
        "required": True,
        "metavar": "OUTPUT",
        "help": "file to write (format from its extension)",
    },
    "model": {
        "required": True,
        "metavar": "MODEL_DIR",
        "help": "folder to write the model to (must not exist, or use --overwrite)",
    },
    "metrics": {
        "default": None,
        "metavar": "METRICS.json",
        "help": "write the metrics as JSON here",
    },
}


def add_io_args(
    parser: argparse.ArgumentParser,
    *,
    input: str | None = None,
    output: str | None = None,
    columns: Mapping[str, str | None] | None = None,
) -> None:
    """Add INPUT (`input` describes it, e.g. "labelled file"), -o/--output (one of OUTPUTS) and
    one --<role>-col per entry of `columns` (role -> default column; GUESSED: guessed)."""
    if input is not None:
        parser.add_argument("input", metavar="INPUT", help=f"{input} ({READ_FORMATS})")
    if output is not None:
        parser.add_argument("-o", "--output", **OUTPUTS[output])
    for role, default in (columns or {}).items():
        if default is not GUESSED:
            shown = f"'{default}'"
        else:
            shown = "guessed from the file" + ("" if role == "text" else '; "" for none')
        parser.add_argument(
            f"--{role}-col",
            default=default,
            metavar="COLUMN",
            help=f"{role} column (default: {shown})",
        )


def check_columns(df: pd.DataFrame, source: str, **columns: str | None) -> None:
    """Raise one InputError unless every named column (role=name; None skips) is in `df`."""
    from ..io.columns import require_column

    for role, col in columns.items():
        if col is None:
            continue
        try:
            require_column(
                df.columns, col, role, source=source, fix=f"Pass the right name with --{role}-col."
            )
        except InputError as exc:
            # The CLI has said "The text column 'x' is not in 'file'" since its first version
            # (scripts match it); the columns, a close match and the fix are io's.
            raise InputError(
                str(exc).replace(
                    f"{role} column '{col}' not found", f"The {role} column '{col}' is not", 1
                )
            ) from None


def read_input(path: str, **columns: str | None) -> pd.DataFrame:
    """The table at `path`, with each named column (role=name; None skips) checked."""
    from ..io.read import read_table

    df = read_table(path)
    check_columns(df, path, **columns)
    return df


def output_format(path: str | os.PathLike) -> str:
    """The format to write `path` in, from its extension; one clear InputError otherwise."""
    from ..io.formats import WRITE_FORMATS, guess_format

    try:
        fmt = guess_format(os.fspath(path))
    except InputError:
        fmt = None
    if fmt not in WRITE_FORMATS:
        raise InputError(
            f"cannot tell which format to write '{path}' in: give OUTPUT one of the "
            "extensions .csv, .tsv, .jsonl, .parquet, .xlsx"
        )
    return fmt


def add_project_arg(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--project", required=True, metavar="NAME", help=help)


def unknown_project(store: Store, name: str) -> StoreError:
    """The error for a project name the store does not hold, listing those it does."""
    names = [p.name for p in store.projects.all()]
    where = store.db.safe_url
    if not names:
        return StoreError(
            f"No project named '{name}': the store {where} holds no projects yet; add one with "
            "`python -m labeler import FILE --project NAME --labels A,B,C`."
        )
    return StoreError(
        f"No project named '{name}' in {where}; its projects are: "
        f"{', '.join(repr(n) for n in names)}."
    )


def write_with_scores(
    df: pd.DataFrame, scores: pd.DataFrame, output: str, fmt: str, labels: list, names: list
) -> str:
    """The input's rows with score columns added, written to `output`; returns the label counts
    ("AGAINST 3, FAVOR 1") for the closing line."""
    from collections import Counter

    from ..io.write import write_table

    out = df.copy()
    scores = scores.set_axis(out.index)
    for col in scores.columns:
        out[col] = scores[col]
    write_table(out, output, fmt)
    counts = Counter(labels)
    return ", ".join(f"{lab} {counts.get(lab, 0)}" for lab in names)
