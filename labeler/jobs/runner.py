"""Background jobs: zero-shot, training and prediction outside the page's script thread.

A page calls `start_job`, which records a run and starts `python -m labeler.jobs.runner RUN_ID`
in its own process session (the database URL travels in the environment, never on a command
line where `ps` would show its password), and returns at once. The job writes progress (done, total, rate, ETA), a
heartbeat and its results to the store as it goes; the page polls the run row. So a job survives
navigation, a browser refresh and even a server restart; a job whose process died has a stale
heartbeat and is shown as stopped, blocking nothing; engines write results incrementally, so a
new start of the same job resumes where the last one stopped.

A subprocess rather than a thread: a training step holds the GIL-free torch kernels but also
plenty of Python, and a thread would slow every page of every user on the server; a process can
be cancelled even when stuck in native code, and its crash cannot take the server down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..db.engine import DB_ENV
from ..db.runs import LIVE
from ..db.schema import ACTIVE
from ..db.store import Store
from ..errors import Cancelled, JobError, LabelerError
from ..workspace import logs_dir

HEARTBEAT_S = 2.0
STALE_AFTER_S = 20.0
PROGRESS_EVERY_S = 0.25
HEAVY_KINDS = ("zeroshot", "train", "predict")
MAX_HEAVY_ENV = "TWEET_LABELER_MAX_JOBS"
ROOT = Path(__file__).resolve().parents[2]

# kind -> task(store, run, reporter) -> metrics dict; tasks live in labeler/jobs/tasks.py
TaskFn = Callable[[Store, dict[str, Any], "Reporter"], dict[str, Any] | None]


def max_heavy_jobs() -> int:
    try:
        return max(1, int(os.environ.get(MAX_HEAVY_ENV, "2")))
    except ValueError:
        return 2


def effective_status(run: dict[str, Any], now: float | None = None) -> str:
    """The status to show: a running job without a recent heartbeat has stopped."""
    status = run["status"]
    if status in ACTIVE or status == "cancelling":
        beat = run.get("heartbeat") or run.get("created_at") or 0
        if (now or time.time()) - beat > STALE_AFTER_S:
            return "stopped"
    return status


def is_live(run: dict[str, Any]) -> bool:
    return effective_status(run) in (*ACTIVE, "cancelling")


def live_runs(store: Store, kind: str | None = None) -> list[dict[str, Any]]:
    return [r for r in store.runs.with_status(LIVE, kind) if is_live(r)]


def start_job(
    store: Store,
    project_id: int,
    kind: str,
    params: dict[str, Any],
    *,
    total: int = 0,
    model: str | None = None,
    wait: bool = False,
) -> int:
    """Record a run and start its process; refuses a second live job of the same kind in the
    project, and more heavy jobs on the server than TWEET_LABELER_MAX_JOBS (default 2)."""
    same = [r for r in live_runs(store, kind) if r["project_id"] == project_id]
    if same:
        raise JobError(
            f"A {kind} job (run {same[0]['id']}) is already running in this project; wait for it "
            "or cancel it first."
        )
    if kind in HEAVY_KINDS:
        heavy = [r for r in live_runs(store) if r["kind"] in HEAVY_KINDS]
        if len(heavy) >= max_heavy_jobs():
            raise JobError(
                f"The server is already running {len(heavy)} heavy jobs (its limit is "
                f"{max_heavy_jobs()}); try again when one finishes. Administrators can raise "
                f"{MAX_HEAVY_ENV}."
            )
    run_id = store.runs.create(project_id, kind, params, total=total, model=model)
    store.runs.update(run_id, heartbeat=time.time(), message="Starting…")
    with open(log_path(run_id), "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "labeler.jobs.runner", str(run_id)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives the page's rerun and the server's reload
            env={**os.environ, "PYTHONUNBUFFERED": "1", DB_ENV: store.url},
        )
    store.runs.update(run_id, pid=proc.pid)
    if wait:
        proc.wait()
    else:  # reap it when it ends, so a long-lived server collects no zombie processes
        threading.Thread(target=proc.wait, daemon=True).start()
    return run_id


def cancel_job(store: Store, run_id: int) -> None:
    """Ask a job to stop; it stops at its next check and keeps what it finished."""
    run = store.runs.get(run_id)
    if is_live(run):
        store.runs.update(run_id, status="cancelling", message="Cancelling…")
    elif run["status"] in ACTIVE:
        store.runs.update(run_id, status="stopped", finished_at=time.time())


class Reporter:
    """What an engine calls: progress (throttled, first and last always written) and cancel."""

    def __init__(self, store: Store, run_id: int):
        self.store = store
        self.run_id = run_id
        self._last_write = 0.0
        self._last_check = 0.0
        self._cancel = False
        self.updates = 0

    def progress(
        self,
        done: int,
        total: int,
        rate: float | None = None,
        eta_s: float | None = None,
        message: str = "",
        force: bool = False,
        **extra: Any,
    ) -> None:
        now = time.time()
        if not force and done not in (0, total) and now - self._last_write < PROGRESS_EVERY_S:
            return
        self._last_write = now
        fields: dict[str, Any] = dict(done=int(done), total=int(total), heartbeat=now)
        if rate is not None:
            fields["rate"] = float(rate)
        fields["eta_s"] = None if eta_s is None else float(eta_s)
        if message:
            fields["message"] = message
        if extra.get("log") is not None:
            fields["log"] = extra["log"]
        self.store.runs.update(self.run_id, **fields)
        self.updates += 1

    def should_cancel(self) -> bool:
        now = time.time()
        if not self._cancel and now - self._last_check > 0.3:
            self._last_check = now
            self._cancel = self.store.runs.get(self.run_id)["status"] == "cancelling"
        return self._cancel


def log_path(run_id: int) -> Path:
    return logs_dir() / f"run-{run_id}.log"


def _heartbeat(store: Store, run_id: int, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        store.runs.beat(run_id)


def run_job(store: Store, run_id: int) -> str:
    """Run one recorded job to its end in this process; returns its final status."""
    from .tasks import TASKS

    run = store.runs.get(run_id)
    task = TASKS.get(run["kind"])
    if task is None:
        store.runs.update(run_id, status="failed", error=f"Unknown job kind {run['kind']!r}.")
        return "failed"
    if run["status"] == "cancelling":  # cancelled while the process was starting
        store.runs.update(
            run_id,
            status="cancelled",
            finished_at=time.time(),
            message="Cancelled before it started.",
        )
        return "cancelled"
    store.runs.update(
        run_id, status="running", started_at=time.time(), heartbeat=time.time(), pid=os.getpid()
    )
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(store, run_id, stop), daemon=True)
    beat.start()
    reporter = Reporter(store, run_id)
    try:
        metrics = task(store, store.runs.get(run_id), reporter) or {}
        status, fields = "done", {"metrics": metrics, "message": "Finished."}
    except Cancelled as exc:
        status, fields = "cancelled", {"message": str(exc) or "Cancelled."}
    except LabelerError as exc:
        status, fields = "failed", {"error": str(exc), "message": "Failed."}
    except Exception as exc:  # the user sees one line; the traceback goes to the job's log
        traceback.print_exc()
        status, fields = (
            "failed",
            {
                "error": f"Unexpected error: {type(exc).__name__}: {exc}. The job's log has details: "
                f"{log_path(run_id)}",
                "message": "Failed.",
            },
        )
    finally:
        stop.set()
    store.runs.update(
        run_id, status=status, finished_at=time.time(), heartbeat=time.time(), **fields
    )
    return status


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m labeler.jobs.runner",
        description=f"Run one recorded job; the store comes from {DB_ENV} / TWEET_LABELER_HOME.",
    )
    parser.add_argument("run_id", type=int)
    args = parser.parse_args(argv)
    status = run_job(Store(), args.run_id)
    print(json.dumps({"run": args.run_id, "status": status}))
    return 0 if status in ("done", "cancelled") else 1


if __name__ == "__main__":
    sys.exit(main())
