"""Background jobs: zero-shot, training and prediction outside the page's script thread.

A page calls `start_job`, which records a run and starts `python -m labeler.jobs RUN_ID` in its
own process session, and returns at once. The job writes progress (done, total, rate, ETA), a
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

from .errors import Cancelled, JobError, LabelerError
from .store import ACTIVE, Store

HEARTBEAT_S = 2.0
STALE_AFTER_S = 20.0
PROGRESS_EVERY_S = 0.25
HEAVY_KINDS = ("zeroshot", "train", "predict")
MAX_HEAVY_ENV = "TWEET_LABELER_MAX_JOBS"
ROOT = Path(__file__).resolve().parents[1]

# kind -> task(store, run, reporter) -> metrics dict; tasks live in labeler/tasks.py
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
    sql = "SELECT id FROM runs WHERE status IN ('queued', 'running', 'cancelling')"
    args: list[Any] = []
    if kind:
        sql += " AND kind=?"
        args.append(kind)
    runs = [store.run(r[0]) for r in store.conn.execute(sql, args)]
    return [r for r in runs if is_live(r)]


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
    run_id = store.create_run(project_id, kind, params, total=total, model=model)
    store.update_run(run_id, heartbeat=time.time(), message="Starting…")
    log_dir = store.path.parent / "logs"
    log_dir.mkdir(exist_ok=True)
    with open(log_dir / f"run-{run_id}.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "labeler.jobs", str(run_id), "--db", str(store.path)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives the page's rerun and the server's reload
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    store.update_run(run_id, pid=proc.pid)
    if wait:
        proc.wait()
    else:  # reap it when it ends, so a long-lived server collects no zombie processes
        threading.Thread(target=proc.wait, daemon=True).start()
    return run_id


def cancel_job(store: Store, run_id: int) -> None:
    """Ask a job to stop; it stops at its next check and keeps what it finished."""
    run = store.run(run_id)
    if is_live(run):
        store.update_run(run_id, status="cancelling", message="Cancelling…")
    elif run["status"] in ACTIVE:
        store.update_run(run_id, status="stopped", finished_at=time.time())


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
        self.store.update_run(self.run_id, **fields)
        self.updates += 1

    def should_cancel(self) -> bool:
        now = time.time()
        if not self._cancel and now - self._last_check > 0.3:
            self._last_check = now
            self._cancel = self.store.run(self.run_id)["status"] == "cancelling"
        return self._cancel


def _heartbeat(store_path: Path, run_id: int, stop: threading.Event) -> None:
    store = Store(store_path)
    while not stop.wait(HEARTBEAT_S):
        store.conn.execute("UPDATE runs SET heartbeat=? WHERE id=?", (time.time(), run_id))


def run_job(store: Store, run_id: int) -> str:
    """Run one recorded job to its end in this process; returns its final status."""
    from .tasks import TASKS

    run = store.run(run_id)
    task = TASKS.get(run["kind"])
    if task is None:
        store.update_run(run_id, status="failed", error=f"Unknown job kind {run['kind']!r}.")
        return "failed"
    if run["status"] == "cancelling":  # cancelled while the process was starting
        store.update_run(
            run_id,
            status="cancelled",
            finished_at=time.time(),
            message="Cancelled before it started.",
        )
        return "cancelled"
    store.update_run(
        run_id, status="running", started_at=time.time(), heartbeat=time.time(), pid=os.getpid()
    )
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(store.path, run_id, stop), daemon=True)
    beat.start()
    reporter = Reporter(store, run_id)
    try:
        metrics = task(store, store.run(run_id), reporter) or {}
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
                f"{store.path.parent / 'logs' / f'run-{run_id}.log'}",
                "message": "Failed.",
            },
        )
    finally:
        stop.set()
    store.update_run(
        run_id, status=status, finished_at=time.time(), heartbeat=time.time(), **fields
    )
    return status


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m labeler.jobs")
    parser.add_argument("run_id", type=int)
    parser.add_argument("--db", required=True)
    args = parser.parse_args(argv)
    status = run_job(Store(args.db), args.run_id)
    print(json.dumps({"run": args.run_id, "status": status}))
    return 0 if status in ("done", "cancelled") else 1


if __name__ == "__main__":
    sys.exit(main())
