"""The Ray engine: a zero-shot or prediction job over many files on a Ray cluster.

    summary = run_job(job, "tweets/*.csv", "out/", address=None, actors=None)

1. Plan on the driver: expand the input (file, folder, glob, URI), read each file's row count
   and check its text column, cut it into shards of `shard_rows`; a file that cannot be read is
   reported by name and left out, the others go on. Shards already complete in the output
   folder (`shards.ShardFolder`) are skipped.
2. Run with Ray Data: the pending shards as a dataset of one row each, `map_batches` over an
   actor pool of `ShardWorker`s (each loads the model once; a GPU each when the cluster has
   GPUs, else `threads` CPUs each). Each worker writes its shards; Ray only carries small
   descriptions and results, never the tweets.
3. Progress: workers add scored rows to a small counter actor after every batch of the model;
   the driver polls it for the progress bar (rows, rate, ETA) and, when the job is cancelled,
   sets its flag, which stops every worker before its next batch.

Where Ray runs: `address=None` starts a private local Ray on this machine's cores (shut down
afterwards); "auto" or "host:port" joins an existing cluster, shipping this package to the
workers (`py_modules`), so nodes need Ray and the requirements, not this checkout.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import Cancelled, InputError, LabelerError, SettingsError
from .shards import Shard, ShardFolder, fingerprint, plan
from .sources import describe, expand_inputs, is_uri
from .workers import Job, ShardWorker, shard_rows, worker_env

RAY_REQUIREMENTS = "requirements-ray.txt"
RAY_ADDRESS_ENV = "TWEET_LABELER_RAY_ADDRESS"
CONNECT_TIMEOUT_S = 30
Progress = Callable[[int, int, float, "float | None"], None]


@dataclass
class Summary:
    """What a run did: shards written now, skipped as already complete, and failures by file."""

    shards: list[Shard]
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # input file -> why it failed
    rows: int = 0
    seconds: float = 0.0
    actors: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def ray_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def ray_address() -> str | None:
    """The app's cluster (the server's setting); None: a private local Ray."""
    return os.environ.get(RAY_ADDRESS_ENV, "").strip() or None


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise SettingsError(
            "the Ray engine needs Ray, which is not installed: "
            f"python3 -m pip install -r {RAY_REQUIREMENTS} (or use --engine local)"
        ) from None
    return ray


class _Tally:
    """Rows scored so far, and the cancel flag the workers read back."""

    def __init__(self) -> None:
        self.done, self.cancel = 0, False

    def add(self, n: int) -> bool:
        self.done += n
        return self.cancel

    def get(self) -> int:
        return self.done

    def stop(self) -> None:
        self.cancel = True


def unreachable(address: str, why: object) -> SettingsError:
    why = " ".join(str(why).split())[:300]
    return SettingsError(
        f"cannot reach a Ray cluster at '{address}' ({why}): start one with `ray start --head`, "
        "check the address, or leave --address out for a private local Ray"
    )


def probe(address: str) -> None:
    """Fail in seconds, in one line, when nothing listens at host:port (ray.init would wait for
    minutes and log C++ warnings meanwhile); "auto" is Ray's own, and fails fast itself."""
    import socket

    hostport = address.split("://", 1)[-1]
    if ":" not in hostport:
        return
    host, _, port = hostport.rpartition(":")
    if not port.isdigit():
        raise unreachable(address, "the address is not host:port")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S / 6).close()
    except OSError as exc:
        raise unreachable(address, exc.strerror or exc) from None


def connect(address: str | None) -> bool:
    """Join the cluster at `address`, or start a private local Ray; True when we started one."""
    ray = require_ray()
    if ray.is_initialized():
        return False
    # Ray's own logs (C++ warnings about actor restarts, auth tokens) would garble the one
    # progress line; errors still come back as exceptions.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False, "include_dashboard": False}
    if not address:
        ray.init(runtime_env={"env_vars": worker_env()}, **quiet)
        return True
    import labeler

    package = os.path.dirname(os.path.abspath(labeler.__file__))
    probe(address)
    result: dict[str, BaseException | None] = {"error": None}

    def join() -> None:
        try:
            ray.init(address=address, runtime_env={"py_modules": [package]}, **quiet)
        except BaseException as exc:  # reported below, with the address
            result["error"] = exc

    thread = threading.Thread(target=join, daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT_S)
    if thread.is_alive() or result["error"] is not None:
        raise unreachable(address, result["error"] or f"no answer in {CONNECT_TIMEOUT_S} s")
    return False


def pool_size(actors: int | None, threads: int | None) -> tuple[int, int, int]:
    """(actors, CPU threads per actor, GPUs per actor) for the connected cluster."""
    import ray

    res = ray.cluster_resources()
    cpus, gpus = int(res.get("CPU", 1)), int(res.get("GPU", 0))
    if actors is not None and actors < 1:
        raise SettingsError(f"--actors must be 1 or more (got {actors})")
    if gpus:
        return actors or gpus, threads or 1, 1
    n = actors or max(1, cpus // (threads or 1))
    return n, threads or max(1, cpus // n), 0


def plan_job(job: Job, inputs: str | list[str], shard_rows_: int) -> tuple[list[Shard], dict]:
    """Shards of every readable input, and {file: error} for the others."""
    files = [f for spec in ([inputs] if isinstance(inputs, str) else inputs) for f in
             expand_inputs(spec)]  # fmt: skip
    sources, errors = [], {}
    for path in files:
        try:
            sources.append(describe(path, job.text_col))
        except (LabelerError, ValueError, OSError, UnicodeDecodeError) as exc:
            errors[path] = " ".join(str(exc).split())
    return plan(sources, shard_rows_), errors


def run_job(
    job: Job,
    inputs: str | list[str],
    output: str,
    *,
    address: str | None = None,
    actors: int | None = None,
    threads: int | None = None,
    shard_rows_: int = 10_000,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Summary:
    """Score every input row into Parquet shards under `output` (a folder path or URI)."""
    ray = require_ray()
    job = job.anchored()
    if job.kind == "predict" and not is_uri(job.model_dir) and not os.path.isdir(job.model_dir):
        raise InputError(
            f"no model folder '{job.model_dir}': give the folder `train` wrote (or a URI such "
            "as s3://bucket/models/name that every node can read)"
        )
    if not is_uri(output):
        output = os.path.abspath(output)
    shards, errors = plan_job(job, inputs, shard_rows_)
    folder = ShardFolder(output, fingerprint(job.identity(shard_rows_)))
    folder.prepare()
    done = folder.complete(shards)
    pending = [s for s in shards if s.name not in done]
    summary = Summary(shards, skipped=sorted(done), errors=errors)
    total = sum(s.rows for s in pending)
    if not pending:
        return summary
    started_here = connect(address)
    started = time.perf_counter()
    if progress:
        progress(0, total, 0.0, None)
    try:
        n, threads_, gpus = pool_size(actors, threads)
        summary.actors = n
        tally = ray.remote(num_cpus=0)(_Tally).remote()
        results = _run(ray, job, output, folder.job, tally, pending, n, threads_, gpus,
                       total, started, progress, should_cancel)  # fmt: skip
    finally:
        if started_here:
            ray.shutdown()
    by_name = {s.name: s for s in pending}
    for row in results:
        shard = by_name[row["name"]]
        if row["error"] == "cancelled":
            continue
        if row["error"]:
            errors.setdefault(shard.source.path, row["error"])
        else:
            summary.written.append(row["name"])
            summary.rows += int(row["rows"])
    summary.seconds = time.perf_counter() - started
    if len(summary.written) < len(pending) and should_cancel is not None and should_cancel():
        raise Cancelled(
            f"Ray job cancelled after {len(summary.written)} of {len(pending)} shards; the "
            "finished shards are kept and a rerun does only the rest."
        )
    return summary


def _run(ray, job, output, job_key, tally, pending, n, threads, gpus, total, started, progress,
         should_cancel) -> list[dict]:  # fmt: skip
    """Run the pending shards through the actor pool, polling progress until every result is in."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # ours is the one progress line
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    ds = ray.data.from_items(shard_rows(pending), override_num_blocks=len(pending))
    ds = ds.map_batches(
        ShardWorker,
        fn_constructor_kwargs={
            "job": job,
            "output": output,
            "fingerprint": job_key,
            "tally": tally,
            "threads": threads,
        },
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=min(n, len(pending))),
        num_cpus=threads if not gpus else 1,
        num_gpus=gpus,
    )
    results: list[dict] = []
    failure: list[BaseException] = []

    def consume() -> None:
        try:
            results.extend(ds.iter_rows())
        except BaseException as exc:  # raised on the driver below
            failure.append(exc)

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    stopped = False
    while worker.is_alive():
        worker.join(0.5)
        if should_cancel is not None and not stopped and should_cancel():
            ray.get(tally.stop.remote())
            stopped = True
        if progress:
            scored = ray.get(tally.get.remote())
            elapsed = time.perf_counter() - started
            rate = scored / elapsed if scored and elapsed > 0 else 0.0
            progress(scored, total, rate, (total - scored) / rate if rate else None)
    if failure:
        raise SettingsError(f"the Ray job failed: {' '.join(str(failure[0]).split())[:500]}")
    if progress:
        elapsed = time.perf_counter() - started
        progress(total, total, total / elapsed if elapsed else 0.0, 0.0)
    return results


def check_output_name(output: str) -> str | None:
    """The format to gather into when `output` names a file (by its extension), else None."""
    from ..io.formats import EXT_FORMAT

    ext = os.path.splitext(output.rstrip("/"))[1].lower()
    if not ext:
        return None
    if ext not in EXT_FORMAT:
        raise InputError(
            f"cannot tell what '{output}' is: give a folder for Parquet shards, or a file "
            "ending in .parquet, .csv, .tsv or .jsonl to gather them into"
        )
    return EXT_FORMAT[ext]
