"""DataFrame -> file bytes in csv, tsv, xlsx, jsonl, parquet or json: `to_bytes`, `write_table`.

What is written reads back the same with `read_table`: CSV rows end in CRLF so a bare "\\r" in
a text is quoted, JSON keeps "/" and full-precision numbers, Parquet falls back to text for
mixed columns, and XLSX refuses cells Excel would cut.

Formulas: a cell starting with = + - @ (or a tab or carriage return) is run as a formula when a
spreadsheet opens it. XLSX stores every text as text (never a formula), so it is exact and safe.
CSV/TSV is exact by default (tweets byte for byte, for scripts and re-import); with
`spreadsheet_safe=True` such text cells and column names get a leading "'" (OWASP's
CSV-injection rule), which spreadsheets hide and which changes the text.
"""

from __future__ import annotations

import codecs
import io
import json
import math
import os
import re
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from ..errors import InputError
from .cells import cell_str, json_default
from .formats import EXT_FORMAT, WRITE_FORMATS, guess_format

EXCEL_CELL_LIMIT = 32_767
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula
_EXCEL_ILLEGAL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NESTED = (dict, list, tuple, np.ndarray)


def to_bytes(
    df: pd.DataFrame, fmt: str, *, bom: bool = False, spreadsheet_safe: bool = False
) -> bytes:
    """The table as file bytes in fmt (csv, tsv, xlsx, jsonl, parquet or json).

    `bom` starts CSV/TSV with a UTF-8 byte-order mark, which Excel needs to show emoji and
    accents right when the file is double-clicked. `spreadsheet_safe` (CSV/TSV only; XLSX is
    always safe, the other formats hold no formulas) puts a "'" before every text cell and column
    name that starts with one of FORMULA_PREFIXES; numbers stay as they are. Values that are
    dicts or lists (e.g. the `extra` column) are written as JSON text, except in jsonl/json where
    they stay nested.
    Raises InputError for XLSX when a cell is longer than Excel's 32,767 characters or holds a
    control character Excel cannot store: a truncated or altered export would silently differ
    from the data, and CSV/Parquet keep everything.
    """
    key = _write_format(fmt, None)
    df = df.reset_index(drop=True)
    if key in ("csv", "tsv"):
        # CRLF ends rows because csv quotes a cell only for characters of the row terminator: with
        # "\n" alone a text holding a bare "\r" would be written unquoted and split on reading.
        flat = _nested_to_json(df)
        if spreadsheet_safe:
            flat = _without_formulas(flat)
        text = flat.to_csv(index=False, sep="," if key == "csv" else "\t", lineterminator="\r\n")
        return (codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8")
    if key in ("jsonl", "json"):
        # json.dumps rather than DataFrame.to_json, which writes "/" as "\/", rounds floats to
        # 10 digits and dates to epoch milliseconds; ~0.8 s per 100k rows vs 0.45 s.
        names = [str(c) for c in df.columns]
        cols = [_json_values(df.iloc[:, j]) for j in range(df.shape[1])]
        rows = zip(*cols, strict=True) if cols else ([] for _ in range(len(df)))
        lines = [
            json.dumps(
                dict(zip(names, vals, strict=True)), ensure_ascii=False, default=json_default
            )
            for vals in rows
        ]
        if key == "jsonl":
            return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
        return ("[\n" + ",\n".join(lines) + "\n]\n").encode("utf-8")
    if key == "parquet":
        return _parquet_bytes(df)
    return _xlsx_bytes(df)


def write_table(
    df: pd.DataFrame,
    path_or_buffer: str | os.PathLike | IO[bytes],
    fmt: str | None = None,
    *,
    bom: bool = False,
    spreadsheet_safe: bool = False,
) -> None:
    """Write the table to a path (atomically: a temp file then a rename) or a binary buffer.

    fmt defaults to the path's extension; see `to_bytes` for the formats and their rules.
    """
    data = to_bytes(
        df, _write_format(fmt, path_or_buffer), bom=bom, spreadsheet_safe=spreadsheet_safe
    )
    if isinstance(path_or_buffer, str | os.PathLike):
        path = Path(path_or_buffer)
        tmp = path.with_name(path.name + ".part")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise InputError(f"cannot write '{path}': {e.strerror or e}") from None
    else:
        path_or_buffer.write(data)


def _write_format(fmt: str | None, target: Any) -> str:
    if fmt is None:
        target_name = (
            target if isinstance(target, str | os.PathLike) else getattr(target, "name", None)
        )
        if not isinstance(target_name, str | os.PathLike):
            raise InputError(f"say which format to write; one of: {', '.join(WRITE_FORMATS)}")
        fmt = guess_format(os.fspath(target_name))
    key = fmt.strip().lower().lstrip(".")
    key = EXT_FORMAT.get("." + key, key)
    if key not in WRITE_FORMATS:
        raise InputError(f"cannot write format '{fmt}'; choose one of: {', '.join(WRITE_FORMATS)}")
    return key


def _nested_to_json(df: pd.DataFrame) -> pd.DataFrame:
    """A shallow copy with dict/list cells as JSON text (flat formats have no nested values)."""
    out = df.copy(deep=False)
    for j in range(df.shape[1]):
        if df.iloc[:, j].dtype != object:
            continue
        values = df.iloc[:, j].tolist()
        if any(isinstance(v, _NESTED) for v in values):
            flat = [cell_str(v) if isinstance(v, _NESTED) else v for v in values]
            out.isetitem(j, pd.Series(flat, index=df.index, dtype=object))
    return out


def spreadsheet_safe_text(v: str) -> str:
    """`v` as a spreadsheet shows it without running it: "'" before a formula-like start."""
    return "'" + v if v.startswith(FORMULA_PREFIXES) else v


def _without_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A shallow copy with `spreadsheet_safe_text` applied to text cells and column names."""
    out = df.copy(deep=False)
    out.columns = [spreadsheet_safe_text(c) if isinstance(c, str) else c for c in df.columns]
    for j in range(df.shape[1]):
        if df.iloc[:, j].dtype == object or isinstance(df.iloc[:, j].dtype, pd.StringDtype):
            values = df.iloc[:, j].tolist()
            if any(isinstance(v, str) and v.startswith(FORMULA_PREFIXES) for v in values):
                safe = [spreadsheet_safe_text(v) if isinstance(v, str) else v for v in values]
                out.isetitem(j, pd.Series(safe, index=df.index, dtype=object))
    return out


def _json_values(col: pd.Series) -> list[Any]:
    values = col.tolist()
    return [None if _is_missing(v) else v for v in values]


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float | np.floating) and math.isnan(v)


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    import pyarrow as pa

    out = _nested_to_json(df)
    out.columns = [str(c) for c in out.columns]
    buf = io.BytesIO()
    try:
        out.to_parquet(buf, index=False, engine="pyarrow")
    except (pa.ArrowException, TypeError, ValueError):
        # A column mixing kinds (ints and texts) has no single Parquet type: write it as text.
        for j in range(out.shape[1]):
            if out.iloc[:, j].dtype == object:
                vals = [None if _is_missing(v) else cell_str(v) for v in out.iloc[:, j].tolist()]
                out.isetitem(j, pd.Series(vals, index=out.index, dtype=object))
        buf = io.BytesIO()
        out.to_parquet(buf, index=False, engine="pyarrow")
    return buf.getvalue()


def _xlsx_bytes(df: pd.DataFrame) -> bytes:
    import openpyxl

    # openpyxl's write-only mode directly: pandas.to_excel goes through the slower normal mode
    # and would store a text starting with "=" as a formula, which reads back empty. Every text
    # that a spreadsheet might take for a formula (FORMULA_PREFIXES, column names too) is
    # written as an explicit text cell.
    names = [str(c) for c in df.columns]
    out = _nested_to_json(df)
    cols = [[_excel_value(v) for v in out.iloc[:, j].tolist()] for j in range(out.shape[1])]
    # Checked before the workbook exists: a write-only sheet abandoned half-way complains at exit.
    for c in names:
        _check_excel_text(c, 0, c)
    for j, col in enumerate(cols):
        for i, v in enumerate(col, 1):
            if isinstance(v, str) and (len(v) > EXCEL_CELL_LIMIT or _EXCEL_ILLEGAL_RE.search(v)):
                _check_excel_text(v, i, names[j])
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.append([_text_cell(ws, n) if n.startswith(FORMULA_PREFIXES) else n for n in names])
    for row in zip(*cols, strict=True):
        if any(isinstance(v, str) and v.startswith(FORMULA_PREFIXES) for v in row):
            row = [
                _text_cell(ws, v) if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v
                for v in row
            ]
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _text_cell(ws: Any, v: str) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=v)
    cell.data_type = "s"  # text, not a formula
    return cell


_OOXML_ESCAPE_RE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


def xlsx_escape(v: str) -> str:
    """A text as an .xlsx file must hold it: XML turns a carriage return into a line feed, so
    it is written as Excel's `_x000D_` escape, and a literal `_xHHHH_` gets the `_x005F_` escape
    (the OOXML rule Excel follows; `read_binary.xlsx_unescape` undoes both)."""
    if "_x" in v:
        v = _OOXML_ESCAPE_RE.sub("_x005F_", v)
    return v.replace("\r", "_x000D_") if "\r" in v else v


def _excel_value(v: Any) -> Any:
    if _is_missing(v):
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        v = int(v)
        return v if abs(v) < 2**53 else str(v)  # Excel would round ids to 15 digits
    if isinstance(v, float | np.floating):
        return float(v)
    if isinstance(v, str):
        return xlsx_escape(v)
    if isinstance(v, datetime) and v.tzinfo is None:
        return v
    return cell_str(v)  # tz-aware dates, Decimals, ...: Excel has no type for them


def _check_excel_text(v: str, row: int, col: str) -> None:
    where = f"row {row} (Excel row {row + 1}), column '{col}'" if row else f"column name '{col}'"
    if len(v) > EXCEL_CELL_LIMIT:
        raise InputError(
            f"{where} has {len(v):,} characters; an Excel cell holds at most "
            f"{EXCEL_CELL_LIMIT:,}. Export as CSV or Parquet instead, which keep the whole text."
        )
    bad = _EXCEL_ILLEGAL_RE.search(v)
    if bad:
        raise InputError(
            f"{where} holds a control character (U+{ord(bad.group()):04X}) that Excel files "
            "cannot store; export as CSV, JSONL or Parquet instead."
        )
