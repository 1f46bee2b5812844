"""Inputs of a cluster job: which files a path, folder, glob or URI names, and rows by range.

A job's shards are (file, row range); a worker reads only its range, streaming, so no process
holds a whole 50M-tweet file. Every path goes through pyarrow's filesystems: local paths and
the URIs pyarrow reads (s3://, gs://, hdfs://, file://) work the same way.

- CSV/TSV: pyarrow's streaming reader, every column a string and empty cells "" (the local
  reader's contract: ids such as "007" and labels such as "NA" stay as written). Quoted values
  may hold newlines, so rows are found by parsing, not by byte offsets: a worker parses the rows
  before its range and skips them. That costs about a second per million rows, nothing beside
  the model's hours, and gives shard boundaries that never move between runs.
- JSON lines: one object per non-blank line, read with `json.loads` line by line.
- Parquet: row counts from the footer, ranges read row group by row group.
"""

from __future__ import annotations

import fnmatch
import glob
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..errors import InputError
from ..io.formats import guess_format

FORMATS = ("csv", "tsv", "jsonl", "parquet")
GLOB_CHARS = "*?["
BLOCK_BYTES = 4 << 20


@dataclass(frozen=True)
class Source:
    """One input file: where it is (path or URI), its format and its number of data rows."""

    path: str
    fmt: str
    rows: int


def is_uri(path: str) -> bool:
    return "://" in path


def filesystem(path: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem of `path` and the path inside it."""
    if is_uri(path):
        try:
            return pafs.FileSystem.from_uri(path)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            raise InputError(f"cannot open '{path}': {exc}") from None
    return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(path))


def _rejoin(path: str, inner: str) -> str:
    """A listed file's name in the form the user wrote (URI kept for URIs)."""
    if not is_uri(path):
        return inner
    scheme = path.split("://", 1)[0]
    return f"{scheme}://{inner.lstrip('/')}" if scheme != "file" else f"file://{inner}"


def _readable(name: str) -> bool:
    base = os.path.basename(name)
    if base.startswith((".", "_")):  # hidden files, markers
        return False
    try:
        return guess_format(base) in FORMATS
    except InputError:
        return False


def expand_inputs(spec: str) -> list[str]:
    """The files `spec` names, sorted: a file, a folder (every CSV/TSV/JSONL/Parquet file in it,
    at any depth) or a glob (`tweets/*.csv`, `s3://bucket/2024-*/*.parquet`)."""
    fs, inner = filesystem(spec)
    if any(ch in inner for ch in GLOB_CHARS):
        if isinstance(fs, pafs.LocalFileSystem) and not is_uri(spec):
            found = [p for p in glob.glob(inner, recursive=True) if os.path.isfile(p)]
        else:
            base = inner[: min(inner.find(ch) for ch in GLOB_CHARS if ch in inner)]
            base = base.rsplit("/", 1)[0] or "/"
            infos = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
            found = [
                i.path
                for i in infos
                if i.type == pafs.FileType.File and fnmatch.fnmatch(i.path, inner)
            ]
        files = sorted(_rejoin(spec, p) for p in found if _readable(p))
        if not files:
            raise InputError(
                f"no input files match '{spec}': check the pattern, or give a file or a folder "
                f"(readable formats: {', '.join(FORMATS)})"
            )
        return files
    info = fs.get_file_info(inner)
    if info.type == pafs.FileType.NotFound:
        raise InputError(f"input '{spec}' does not exist: give a file, a folder or a glob")
    if info.type == pafs.FileType.Directory:
        infos = fs.get_file_info(pafs.FileSelector(inner, recursive=True))
        files = sorted(
            _rejoin(spec, i.path)
            for i in infos
            if i.type == pafs.FileType.File and _readable(i.path)
        )
        if not files:
            raise InputError(
                f"the folder '{spec}' holds no {', '.join(FORMATS)} files: put the tweets there "
                "or name the files with a glob"
            )
        return files
    return [spec if is_uri(spec) else inner]  # absolute: workers do not share our cwd


def source_format(path: str) -> str:
    fmt = guess_format(os.path.basename(path.split("?", 1)[0]))
    if fmt not in FORMATS:
        raise InputError(
            f"'{path}' is {fmt}, which the cluster engine does not stream: convert it to "
            "Parquet or CSV, or use the local engine (--engine local)"
        )
    return fmt


# -- CSV / TSV -----------------------------------------------------------------------------------


def _csv_batches(path: str, fmt: str) -> Iterator[pa.RecordBatch]:
    fs, inner = filesystem(path)
    parse = pacsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",", newlines_in_values=True)
    read = pacsv.ReadOptions(block_size=BLOCK_BYTES)
    with fs.open_input_stream(inner) as stream:  # the header only, to type every column string
        names = pacsv.open_csv(stream, read_options=read, parse_options=parse).schema.names
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    with fs.open_input_stream(inner) as stream:
        reader = pacsv.open_csv(
            stream, read_options=read, parse_options=parse, convert_options=convert
        )
        yield from reader


# -- JSON lines ----------------------------------------------------------------------------------


def _jsonl_records(path: str) -> Iterator[dict]:
    fs, inner = filesystem(path)
    with fs.open_input_stream(inner) as raw:
        for line_no, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8-sig"), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"line {line_no} is not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise InputError(f"line {line_no} is not a JSON object")
            yield record


def _jsonl_count(path: str) -> int:
    fs, inner = filesystem(path)
    n = 0
    with fs.open_input_stream(inner) as raw:
        for line in io.TextIOWrapper(raw, encoding="utf-8-sig"):
            n += bool(line.strip())
    return n


# -- the two calls the engine makes --------------------------------------------------------------


def _parquet(path: str) -> pq.ParquetFile:
    fs, inner = filesystem(path)
    return pq.ParquetFile(fs.open_input_file(inner))


def describe(path: str, text_col: str) -> Source:
    """The file's format and row count, after checking it has the text column; `InputError`
    (or a pyarrow error) names what is wrong with it."""
    fmt = source_format(path)
    if fmt == "parquet":
        pf = _parquet(path)
        columns, rows = pf.schema_arrow.names, pf.metadata.num_rows
    elif fmt == "jsonl":
        first = next(_jsonl_records(path), {})
        columns, rows = list(first), _jsonl_count(path)
    else:
        rows, columns = 0, None
        for batch in _csv_batches(path, fmt):
            columns = columns or batch.schema.names
            rows += batch.num_rows
        columns = columns or []
    if rows and text_col not in columns:
        shown = ", ".join(repr(c) for c in columns[:12])
        raise InputError(
            f"no text column '{text_col}' (its columns: {shown}); pass the right name with "
            "--text-col"
        )
    return Source(path, fmt, rows)


def read_rows(source: Source, start: int, stop: int, text_col: str) -> pd.DataFrame:
    """Rows [start, stop) of `source` as a frame; the text column as str, missing as ""."""
    if source.fmt == "parquet":
        pf, tables, offset = _parquet(source.path), [], 0
        for g in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            lo, hi = max(start, offset), min(stop, offset + n)
            if lo < hi:
                tables.append(pf.read_row_group(g).slice(lo - offset, hi - lo))
            offset += n
            if offset >= stop:
                break
        table = pa.concat_tables(tables) if tables else pf.schema_arrow.empty_table()
        df = table.to_pandas()
    elif source.fmt == "jsonl":
        records = []
        for i, record in enumerate(_jsonl_records(source.path)):
            if i >= stop:
                break
            if i >= start:
                records.append(record)
        df = pd.DataFrame.from_records(records)
    else:
        parts, offset = [], 0
        for batch in _csv_batches(source.path, source.fmt):
            n = batch.num_rows
            lo, hi = max(start, offset), min(stop, offset + n)
            if lo < hi:
                parts.append(batch.slice(lo - offset, hi - lo))
            offset += n
            if offset >= stop:
                break
        df = pa.Table.from_batches(parts).to_pandas() if parts else pd.DataFrame()
    if text_col not in df.columns:
        raise InputError(f"no text column '{text_col}' in rows {start}-{stop}")
    df[text_col] = [
        "" if v is None or (isinstance(v, float) and v != v) else str(v) for v in df[text_col]
    ]
    return df.reset_index(drop=True)
