"""Cell values as text, the one way every reader, the column guess, items and writers see them.

Ids such as 007 and 19-digit tweet ids must survive exactly, so ints are written in full, floats
that hold whole numbers (Excel stores 42 as 42.0) lose the ".0", nested values become JSON and
missing values become "".
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd


class Columns(list):
    """Cell lists by column (JSON and Parquet arrive that way) instead of by row."""


def cell_str(v: Any) -> str:
    """One cell as text: exact for str and ints, JSON for nested values, "" for missing."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        v = float(v)
        if math.isnan(v):
            return ""
        if v.is_integer() and abs(v) < 1e21:
            return str(int(v))  # Excel stores 42 as 42.0
        return repr(v)
    if v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, dict | list | tuple):
        return json.dumps(v, ensure_ascii=False, default=json_default)
    if isinstance(v, np.ndarray):
        return json.dumps(v.tolist(), ensure_ascii=False, default=json_default)
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return str(v)


def to_str_list(series: pd.Series) -> list[str]:
    """A column's cells as `cell_str` texts (fast when they already are strings)."""
    if isinstance(series.dtype, pd.StringDtype):  # pandas 3's default for text
        return (series.fillna("") if series.hasnans else series).tolist()
    values = series.tolist()
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=False) == "string":
        return values  # the common case: nothing to convert
    return [cell_str(v) for v in values]


def json_default(v: Any) -> Any:
    """`json.dumps`'s default=: numpy scalars and arrays as plain values, dates as ISO text."""
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, datetime | pd.Timestamp):
        return v.isoformat()
    return str(v)
