"""Starting the learning loop's background jobs: embed a project's tweets once, refit the live
model every few labels. (What the jobs do is in `tasks`: `embed_task`, `live_task`.)

Here rather than in `labeler.learning`: these start jobs through the runner, and the runner's tasks
call `labeler.learning`, so the learning package must not import the jobs package back.

- `ensure_embedding_job(store, project_id)`: after an import, start an "embed" job when some
  tweets have no cached vector and no embed job is active (returns its run id, else None);
- `maybe_retrain(store, project_id)`: on every label, start a "live" job when LIVE_EVERY new pool
  gold labels arrived since the newest live run and none is queued or running (two indexed
  queries while none is due), and an embed job too when some tweets lack vectors. Of two retrains started at once (two coders' key presses), the
  later one is cancelled before it does anything: one retrain per project at a time.

TWEET_LABELER_LEARNING_JOBS=0 turns both off (a server that should not spend CPU on it, or a test
suite whose app tests import and label tweets without wanting background processes).
"""

from __future__ import annotations

import os

from ..db.store import Store
from ..errors import JobError
from ..learning import embeddings, live
from .runner import cancel_job, is_live, live_runs, start_job

LIVE_EVERY = live.LIVE_EVERY
ENABLED_ENV = "TWEET_LABELER_LEARNING_JOBS"


def enabled() -> bool:
    return os.environ.get(ENABLED_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def ensure_embedding_job(store: Store, project_id: int, encoder: str | None = None) -> int | None:
    """Start embedding the project's tweets unless they all have vectors or a job is at it."""
    if not enabled():
        return None
    if any(r["project_id"] == project_id for r in live_runs(store, "embed")):
        return None
    missing = embeddings.missing_count(store, project_id, encoder)
    if not missing:
        return None
    try:
        return start_job(store, project_id, "embed", {"encoder": encoder}, total=missing)
    except JobError:  # started by someone else a moment ago
        return None


def maybe_retrain(store: Store, project_id: int, *, every: int = LIVE_EVERY) -> bool:
    """Start a live retrain when `every` new pool gold labels arrived since the newest live run
    and no live job of the project is queued or running; True when one was started."""
    if not enabled():
        return False
    newest = live.newest_live_run(store, project_id)
    if newest is not None and is_live(newest):
        return False
    count = live.labels_due(store, project_id, newest, every)
    if count is None:
        return False
    # the live model predicts the tweets with vectors: embed the rest (an import that did not
    # pass the Data page, e.g. the CLI or the sample project) for the next retrain
    ensure_embedding_job(store, project_id)
    try:
        run_id = start_job(store, project_id, "live", {"n_labels": count, "seed": 0})
    except JobError:  # another one is running
        return False
    # start_job's check and its insert are not one transaction: when another session's retrain
    # slipped in between, the later run steps aside (its task checks for a cancel first)
    earlier = [
        r for r in live_runs(store, "live") if r["project_id"] == project_id and r["id"] < run_id
    ]
    if earlier:
        cancel_job(store, run_id)
        return False
    return True
