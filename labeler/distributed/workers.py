"""What runs on a cluster node: load the model once per actor, then score shard after shard.

`Job` says what to run (zero-shot with its settings, or prediction with a trained model folder)
in a form that pickles to any node. `ShardWorker` is the class Ray Data's actor pool
instantiates: its constructor loads the model (once per actor), each call takes shard
descriptions, reads the shard's rows, scores them through the same engines the local commands
use (`ZeroShotModel.score`, `classifier.predict`: the one length-sorted, per-batch padded loop),
and writes the shard with its marker. An input that cannot be read comes back as an error naming
the file, so the other shards go on.

A model folder given as a URI (s3://, gs://) is copied to the node's local disk once per actor:
that is how the weights reach workers without a shared disk.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Cancelled, LabelerError
from .shards import SOURCE_FILE, SOURCE_ROW, Shard, ShardFolder
from .sources import Source, filesystem, is_uri, read_rows


@dataclass(frozen=True)
class Job:
    """kind "prelabel" (`zeroshot`: ZeroShotSettings fields) or "predict" (`model_dir`)."""

    kind: str
    text_col: str = "text"
    batch_size: int = 32
    zeroshot: dict = field(default_factory=dict)
    model_dir: str = ""

    def anchored(self) -> Job:
        """This job with a local model folder as an absolute path: workers do not share the
        driver's working directory (a hub id or a URI stays as it is)."""
        path = self.model_path
        if not path or is_uri(path) or not os.path.isdir(path):
            return self
        path = os.path.abspath(path)
        if self.kind == "predict":
            return dataclasses.replace(self, model_dir=path)
        return dataclasses.replace(self, zeroshot={**self.zeroshot, "model": path})

    def identity(self, shard_rows: int) -> dict:
        """What the shard fingerprint is made of."""
        return {**dataclasses.asdict(self), "shard_rows": shard_rows}

    @property
    def model_path(self) -> str:
        return self.model_dir if self.kind == "predict" else self.zeroshot.get("model", "")


def localize(path: str) -> str:
    """A local copy of a model folder given as a URI; a local path or a hub id as it is."""
    if not is_uri(path):
        return path
    import pyarrow.fs as pafs

    fs, inner = filesystem(path)
    local = tempfile.mkdtemp(prefix="tweet-labeler-model-")
    pafs.copy_files(
        inner, local, source_filesystem=fs, destination_filesystem=pafs.LocalFileSystem()
    )
    return local


class Scorer:
    """The loaded model of a job: `frame(texts, progress, should_cancel)` gives the score
    columns the local command writes (zs_* for prelabel, pred_* for predict)."""

    def __init__(self, job: Job):
        self.job = job
        self.local = localize(job.model_path)
        if job.kind == "prelabel":
            from ..zeroshot.load import load_zeroshot
            from ..zeroshot.settings import ZeroShotSettings

            settings = ZeroShotSettings(
                **{**job.zeroshot, "model": self.local, "batch_size": job.batch_size}
            )
            self.model = load_zeroshot(settings)
            self.name = self.model.display_name
        elif job.kind == "predict":
            from ..models.classifier import load_classifier

            self.model = load_classifier(self.local)
            self.name = f"model {job.model_dir}"
        else:
            raise ValueError(f"unknown job kind {job.kind!r}")

    def frame(self, texts: list[str], progress, should_cancel) -> pd.DataFrame:
        if self.job.kind == "prelabel":
            result = self.model.score(
                texts, progress=lambda done, *_: progress(done), should_cancel=should_cancel
            )
            return result.to_frame("zs_")
        from ..models.classifier import predict

        preds = predict(
            self.model,
            texts,
            batch_size=self.job.batch_size,
            progress=lambda done, _total: progress(done),
            should_cancel=should_cancel,
        )
        return preds.to_frame()

    def close(self) -> None:
        if self.local != self.job.model_path:
            shutil.rmtree(self.local, ignore_errors=True)


def score_shard(scorer: Scorer, folder: ShardFolder, shard: Shard, progress, cancel) -> int:
    """Read, score and write one shard; returns its row count."""
    started = time.perf_counter()
    rows = read_rows(shard.source, shard.start, shard.stop, scorer.job.text_col)
    scores = scorer.frame(rows[scorer.job.text_col].tolist(), progress, cancel)
    out = rows.copy()
    for col in scores.columns:
        out[col] = scores[col].to_numpy()
    out[SOURCE_FILE] = shard.source.path
    out[SOURCE_ROW] = np.arange(shard.start, shard.start + len(rows), dtype=np.int64)
    folder.write(shard, out, time.perf_counter() - started)
    return len(rows)


SHARD_FIELDS = ("path", "fmt", "rows", "start", "stop")


def shard_rows(shards: list[Shard]) -> list[dict[str, Any]]:
    """Shards as the plain rows Ray Data carries to the workers."""
    return [
        {"path": s.source.path, "fmt": s.source.fmt, "rows": s.source.rows, "start": s.start,
         "stop": s.stop}
        for s in shards
    ]  # fmt: skip


class ShardWorker:
    """Ray Data's actor: one per pool slot, the model loaded once in the constructor."""

    def __init__(self, job: Job, output: str, fingerprint: str, tally: Any, threads: int):
        import torch

        torch.set_num_threads(max(1, threads))
        self.job, self.tally = job, tally
        self.folder = ShardFolder(output, fingerprint)
        self.scorer = Scorer(job)
        self.cancelled = False

    def _progress(self, state: dict) -> Any:
        import ray

        def report(done: int) -> None:
            delta, state["done"] = done - state["done"], done
            if delta > 0:
                self.cancelled = bool(ray.get(self.tally.add.remote(delta)))

        return report

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        out: dict[str, list] = {"name": [], "rows": [], "error": []}
        for i in range(len(batch["path"])):
            src = Source(str(batch["path"][i]), str(batch["fmt"][i]), int(batch["rows"][i]))
            shard = Shard(src, int(batch["start"][i]), int(batch["stop"][i]))
            state, error, rows = {"done": 0}, "", 0
            try:
                rows = score_shard(
                    self.scorer, self.folder, shard, self._progress(state), lambda: self.cancelled
                )
            except Cancelled:
                error = "cancelled"
            except (LabelerError, ValueError, OSError, UnicodeDecodeError) as exc:
                error = " ".join(str(exc).split()) or type(exc).__name__
                if state["done"] < shard.rows:  # its rows will not come: count them as settled
                    self._progress(state)(shard.rows)
            out["name"].append(shard.name)
            out["rows"].append(rows)
            out["error"].append(error)
        return out


def worker_env() -> dict[str, str]:
    """Environment for workers of a private local Ray: they import this checkout's `labeler`."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.environ.get("PYTHONPATH", "")
    return {
        "PYTHONPATH": root + (os.pathsep + path if path else ""),
        "TOKENIZERS_PARALLELISM": "false",
    }
