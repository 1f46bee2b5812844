"""Output shards of a cluster job: one Parquet file per input file and row range, with a marker.

A shard's name comes from its input file and row range only, never from Ray's blocks (which move
between runs), so a rerun finds the same shards. A shard is complete when its Parquet file and
its marker (`_done/<name>.json`, written after the file) are both there and the marker carries
this job's fingerprint; a rerun skips complete shards and redoes the rest: resumable after a
crash, a cancel or a deleted file. A folder that holds another job's shards (another model,
settings or shard size) is refused rather than mixed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..errors import InputError
from .sources import Source, filesystem

MARKERS = "_done"
SOURCE_FILE, SOURCE_ROW = "source_file", "source_row"


@dataclass(frozen=True)
class Shard:
    source: Source
    start: int
    stop: int

    @property
    def name(self) -> str:
        """<file stem>-<hash of its full path>-<first row>-<row after the last>.parquet"""
        base = os.path.basename(self.source.path.rstrip("/")).rsplit(".", 1)[0]
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", base)[:60] or "input"
        digest = hashlib.sha1(self.source.path.encode()).hexdigest()[:8]
        return f"{stem}-{digest}-{self.start:010d}-{self.stop:010d}.parquet"

    @property
    def rows(self) -> int:
        return self.stop - self.start


def plan(sources: list[Source], shard_rows: int) -> list[Shard]:
    """Every source cut into ranges of `shard_rows` rows, in input order."""
    if shard_rows < 1:
        raise InputError(f"--shard-rows must be 1 or more (got {shard_rows})")
    return [
        Shard(src, start, min(start + shard_rows, src.rows))
        for src in sources
        for start in range(0, src.rows, shard_rows)
    ]


def fingerprint(job: dict) -> str:
    """What makes two runs' shards interchangeable: the job's model, settings and shard size."""
    return hashlib.sha256(json.dumps(job, sort_keys=True, default=str).encode()).hexdigest()[:16]


class ShardFolder:
    """The output folder (a path or URI) of one job."""

    def __init__(self, root: str, job_fingerprint: str):
        self.root = root.rstrip("/")
        self.fs, self.inner = filesystem(self.root)
        self.job = job_fingerprint

    def _path(self, *parts: str) -> str:
        return "/".join((self.inner, *parts))

    def prepare(self) -> None:
        info = self.fs.get_file_info(self.inner)
        if info.type == pafs.FileType.File:
            raise InputError(
                f"'{self.root}' is a file: give a folder for the shards, or a file name with "
                "an extension (.parquet, .csv, ...) to gather them into"
            )
        self.fs.create_dir(self._path(MARKERS), recursive=True)

    def marker(self, shard: Shard) -> dict | None:
        try:
            with self.fs.open_input_stream(self._path(MARKERS, shard.name + ".json")) as f:
                return json.loads(f.read().decode())
        except (FileNotFoundError, OSError, ValueError):
            return None

    def complete(self, shards: list[Shard]) -> set[str]:
        """Names of the shards already done by this job; InputError if another job's are here."""
        listed = self.fs.get_file_info(pafs.FileSelector(self.inner, allow_not_found=True))
        files = {os.path.basename(i.path) for i in listed if i.type == pafs.FileType.File}
        done = set()
        for shard in shards:
            mark = self.marker(shard)
            if mark is None:
                continue
            if mark.get("job") != self.job:
                raise InputError(
                    f"the output folder '{self.root}' holds shards of another job (another "
                    "model, settings or --shard-rows): give a new folder, or empty this one"
                )
            if shard.name in files:
                done.add(shard.name)
        return done

    def write(self, shard: Shard, frame: pd.DataFrame, seconds: float) -> None:
        """The shard's file, then its marker: a crash between the two redoes the shard."""
        tmp = self._path(f".{shard.name}.{uuid.uuid4().hex[:8]}.tmp")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        with self.fs.open_output_stream(tmp) as out:
            pq.write_table(table, out)
        self.fs.move(tmp, self._path(shard.name))
        mark = {
            "job": self.job,
            "source": shard.source.path,
            "start": shard.start,
            "stop": shard.stop,
            "rows": len(frame),
            "seconds": round(seconds, 3),
        }
        with self.fs.open_output_stream(self._path(MARKERS, shard.name + ".json")) as out:
            out.write(json.dumps(mark).encode())

    def read(self, shard: Shard) -> pd.DataFrame:
        with self.fs.open_input_file(self._path(shard.name)) as f:
            return pq.read_table(f).to_pandas()

    def gather(self, shards: list[Shard], keep_source: bool) -> pd.DataFrame:
        """Every shard's rows in input order (file by file, row by row)."""
        frames = [self.read(s) for s in shards]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if not keep_source:
            frame = frame.drop(columns=[SOURCE_FILE, SOURCE_ROW], errors="ignore")
        return frame
