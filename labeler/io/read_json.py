"""Decoded text -> header and columns for JSON (a list of objects) and JSON lines (one per line).

A .json file may hold a list of objects, one object, {"data": [...], ...} as the Twitter API
returns, or JSON lines. Nested values arrive as JSON text, ids as written.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ..errors import InputError
from .cells import Columns, to_str_list


def parse_json(text: str, name: str, fmt: str) -> tuple[list[str], Columns]:
    """The header and the cells by column of a "json" or "jsonl" text."""
    # json.loads line by line instead of pandas.read_json(lines=True): pandas turns an integer
    # column with a gap into float64, which rounds 19-digit tweet ids (1234567890123456789 ->
    # 1.2345678901234568e18), gives no line number for a broken line, and was 3x slower here.
    records: list[Any] | None = None
    if fmt == "json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            if "Extra data" not in e.msg:  # JSON lines parse as "Extra data" after line 1
                raise InputError(
                    f"file '{name}' is not valid JSON: {e.msg} at line {e.lineno}, column "
                    f"{e.colno}; fix that line, or save the data as JSON lines (.jsonl)"
                ) from None
        else:
            records = _json_records(doc, name)
    if records is None:
        records = []
        for lineno, line in enumerate(text.split("\n"), 1):
            s = line.strip()
            if not s:
                continue
            try:
                obj = json.loads(s)
            except json.JSONDecodeError as e:
                raise InputError(
                    f"line {lineno} of '{name}' is not valid JSON ({e.msg} at column {e.colno}); "
                    'each line must hold one JSON object such as {"text": "..."}; fix or remove '
                    "that line"
                ) from None
            if not isinstance(obj, dict):
                raise InputError(
                    f"line {lineno} of '{name}' is a JSON {type(obj).__name__}, not an object; "
                    'each line must hold one JSON object such as {"text": "..."}'
                )
            records.append(obj)
    if not records:
        raise InputError(f"file '{name}' holds no records; it needs one JSON object per tweet")
    frame = pd.DataFrame(records, dtype=object)  # dtype=object: no int -> float rounding
    header = [str(c) for c in frame.columns]
    cols = [to_str_list(frame.iloc[:, j]) for j in range(frame.shape[1])]
    return header, Columns(cols)


def _json_records(doc: Any, name: str) -> list[Any]:
    if isinstance(doc, dict):
        lists = [v for v in doc.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:  # {"data": [...], "meta": {...}} as the Twitter API returns
            doc = lists[0]
        else:
            doc = [doc]
    if not isinstance(doc, list):
        raise InputError(
            f"file '{name}' holds a JSON {type(doc).__name__}; it needs a list of objects, one "
            'per tweet, such as [{"text": "..."}]'
        )
    for i, rec in enumerate(doc, 1):
        if not isinstance(rec, dict):
            raise InputError(
                f"item {i} of the list in '{name}' is a JSON {type(rec).__name__}, not an "
                'object; each tweet must be an object such as {"text": "..."}'
            )
    return doc
