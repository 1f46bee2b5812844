"""The app's jobs on the Ray engine: a project's tweets out to Parquet, scores back into the store.

The background tasks (`labeler.jobs.tasks`) call `score_texts` for the texts their score cache
lacks; the results go into that cache, so the rest of the task (predictions, suggestions) is the
same for either engine. The input file and shards live under the workspace's `ray/` folder,
named by the model's cache key and by the set of texts, so a job cut short (a crash, a cancel)
and started again finds its finished shards and does only the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..workspace import workspace_dir
from .engine import ray_address, run_job
from .workers import Job

TEXT, KEY = "text", "text_key"


def job_folder(cache_key: str) -> Path:
    return workspace_dir() / "ray" / hashlib.sha1(cache_key.encode()).hexdigest()[:16]


def score_texts(
    job: Job,
    cache_key: str,
    texts: dict[str, str],
    columns: Callable[[pd.DataFrame], list[list[float]]],
    params: dict,
    progress,
    should_cancel,
) -> dict[str, list[float]]:
    """{text key: scores} for `texts` ({text key: text}) scored on Ray; `columns(shard frame)`
    picks each row's scores in the store's label order."""
    if not texts:
        return {}
    folder = job_folder(cache_key)
    folder.mkdir(parents=True, exist_ok=True)
    keys = sorted(texts)
    digest = hashlib.sha1("\n".join(keys).encode()).hexdigest()[:16]
    source = folder / f"input-{digest}.parquet"
    if not source.exists():
        tmp = source.with_suffix(".tmp")
        pd.DataFrame({KEY: keys, TEXT: [texts[k] for k in keys]}).to_parquet(tmp, index=False)
        tmp.replace(source)
    summary = run_job(
        job,
        str(source),
        str(folder / "shards"),
        address=ray_address(),
        actors=params.get("actors") or None,
        progress=progress,
        should_cancel=should_cancel,
    )
    if summary.errors:
        from ..errors import JobError

        raise JobError("; ".join(summary.errors.values()))
    from .shards import ShardFolder

    frame = ShardFolder(str(folder / "shards"), "").gather(summary.shards, keep_source=False)
    return dict(zip(frame[KEY].tolist(), columns(frame), strict=True))
