"""Read a table of tweets from a path, bytes or an upload: `read_table`.

Everything a user can get wrong (format, encoding, delimiter, columns, rows) ends in an
`InputError` whose text says what is wrong, where, and what to do. The format comes from the file
name (`formats`); text formats are decoded (`decode`) and parsed (`read_delimited`, `read_json`),
XLSX and Parquet are parsed from bytes (`read_binary`); the result is built into a frame here.

Contract of `read_table`:
- a DataFrame with unique, stripped string column names and a 0..n-1 index whose position + 1 is
  the data row number in the file (the header is not counted; in CSV/TSV/TXT/XLSX blank lines
  are rows, in JSON lines they are skipped), so messages and `source_row` point at rows the way a
  spreadsheet numbers them (spreadsheet row = row + 1 when the header is on the first line);
- every cell is a Python `str` (dtype object), missing cells are ``""``: ids such as "007" and
  labels such as "None" or "NA" arrive exactly as written;
- ``df.attrs["source"]``: what was read (name, format, encoding, delimiter, sheet) and
  ``df.attrs["warnings"]``: things worth telling the user that did not stop the read.
  `prepare_items` repeats those warnings in its own list, so a caller can show one list.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import IO, Any

import pandas as pd

from ..errors import InputError
from .cells import Columns
from .decode import decode
from .formats import SAVE_AS_CSV, guess_format, refuse_binary
from .read_binary import parse_parquet, parse_xlsx
from .read_delimited import parse_delimited, parse_txt
from .read_json import parse_json

Source = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes]


def read_table(
    source: Source,
    name: str | None = None,
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a table of tweets from a path, bytes or a binary file-like (an upload).

    `name` gives the format by its extension and names the file in messages; it defaults to the
    path's or the file-like's name. `sheet` picks an XLSX sheet by name or 0-based position
    (default: the first sheet with data). `encoding` forces a text encoding (default: UTF-8,
    falling back to Windows-1252 byte by byte where the file is not UTF-8).
    """
    data, name = _load(source, name)
    fmt = guess_format(name)
    if not data:
        raise InputError(
            f"file '{name}' is empty (0 bytes); choose the file that holds the tweets, or "
            f"{SAVE_AS_CSV} again"
        )
    warnings: list[str] = []
    meta: dict[str, Any] = {"name": name, "format": fmt}
    if fmt in ("csv", "tsv", "txt", "jsonl", "json"):
        refuse_binary(data, name, fmt)
        text = decode(data, name, fmt, encoding, meta, warnings)
        if not text.strip():
            raise InputError(
                f"file '{name}' holds only whitespace: no header and no rows; choose the file "
                "that holds the tweets"
            )
        if fmt == "txt":
            header, rows = parse_txt(text)
        elif fmt in ("csv", "tsv"):
            header, rows = parse_delimited(text, name, fmt, meta, warnings)
        else:
            header, rows = parse_json(text, name, fmt)
    elif fmt == "xlsx":
        header, rows = parse_xlsx(data, name, sheet, meta, warnings)
    else:
        header, rows = parse_parquet(data, name)
    return _frame(header, rows, name, meta, warnings)


def _load(source: Source, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"file not found: '{path}'; check the path") from None
        except IsADirectoryError:
            raise InputError(f"'{path}' is a folder, not a file; choose a file inside it") from None
        except PermissionError:
            raise InputError(f"cannot read '{path}': permission denied") from None
        return data, name or path.name
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif hasattr(source, "getvalue"):  # Streamlit's UploadedFile, BytesIO
        data = source.getvalue()
    elif hasattr(source, "read"):
        data = source.read()
    else:
        raise InputError(f"cannot read a {type(source).__name__}; give a path, bytes or a file")
    if isinstance(data, str):  # a file opened in text mode
        data = data.encode("utf-8")
    if name is None:
        source_name = getattr(source, "name", None)
        name = os.path.basename(source_name) if isinstance(source_name, str) else None
    if not name:
        raise InputError(
            "an upload needs its file name (e.g. tweets.csv) so the format can be told from it"
        )
    return bytes(data), name


def _frame(
    header: list[str],
    rows: list[list[str]] | Columns,
    name: str,
    meta: dict,
    warnings: list[str],
) -> pd.DataFrame:
    if not header:
        raise InputError(f"file '{name}' has no columns; it needs at least a text column")
    columns, renamed, unnamed = _clean_columns(header)
    if renamed:
        warnings.append(
            f"column names repeat in '{name}': {', '.join(renamed)}; they were numbered "
            "(text, text.1, ...) so you can pick either"
        )
    if isinstance(rows, Columns):
        n = len(rows[0])
        while n and not any(col[n - 1].strip() for col in rows):
            n -= 1
        cols = rows if n == len(rows[0]) else [col[:n] for col in rows]
    else:
        while rows and not any(c.strip() for c in rows[-1]):
            rows.pop()  # trailing blank lines and ",,," rows that spreadsheets leave behind
        n = len(rows)
    if not n:
        raise InputError(
            f"file '{name}' has a header ({', '.join(columns)}) but no rows; put the tweets "
            "under the header, one per row"
        )
    if any(c.isdigit() for c in columns) and meta.get("format") in ("csv", "tsv", "xlsx"):
        warnings.append(
            f"the first row of '{name}' looks like data, not column names "
            f"({', '.join(columns[:4])}); if the file has no header row, add one such as "
            "id,text,label"
        )
    if isinstance(rows, Columns):
        df = pd.DataFrame(dict(enumerate(cols)), dtype=object)
        df.columns = columns
    else:
        df = pd.DataFrame(rows, columns=columns, dtype=object)
    empty_unnamed = [c for c in unnamed if not (df[c] != "").any()]
    if empty_unnamed and len(empty_unnamed) < df.shape[1]:
        df = df.drop(columns=empty_unnamed)  # blank trailing columns of a spreadsheet export
    df.attrs["source"] = meta
    df.attrs["warnings"] = warnings
    return df


def _clean_columns(header: list[str]) -> tuple[list[str], list[str], list[str]]:
    names = [str(h).strip().removeprefix("\ufeff").strip() for h in header]
    unnamed = []
    for i, n in enumerate(names):
        if not n:
            names[i] = f"Unnamed: {i}"
            unnamed.append(names[i])
    seen: set[str] = set()
    counts = Counter(names)
    renamed = [f"'{n}' ({k}x)" for n, k in counts.items() if k > 1]
    out = []
    for n in names:
        new, k = n, 0
        while new in seen:
            k += 1
            new = f"{n}.{k}"
        seen.add(new)
        out.append(new)
    return out, renamed, unnamed
