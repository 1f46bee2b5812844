"""`Store`: one workspace's database, with a repository per table family.

    store = open_store()                       # TWEET_LABELER_DB, else the workspace's SQLite file
    p = store.projects.create("Biden", ["AGAINST", "FAVOR", "NONE"])
    store.items.import_frame(p.id, prepared)   # -> ImportReport
    item = store.queue.next(p.id, order="least-confident", run_id=zs)
    store.labels.add(item["id"], "FAVOR", annotator="ana")
    train, test = store.labels.train_and_test(p.id)
    store.export.frame(p.id)

Opening a store brings its schema up to date (`migrate.upgrade`).
"""

from __future__ import annotations

import os
from pathlib import Path

from .annotations import Annotations
from .codebook import Codebook
from .engine import Database
from .export import Export
from .items import Items
from .migrate import upgrade
from .projects import Projects
from .queue import Queue
from .runs import Predictions, Runs, ScoreCache
from .team import Team
from .users import Users


class Store:
    def __init__(self, url: str | os.PathLike | None = None):
        self.db = Database(url)
        upgrade(self.db)
        self.projects = Projects(self.db)
        self.items = Items(self.db, self.projects)
        self.queue = Queue(self.db)
        self.labels = Annotations(self.db, self.projects)
        self.runs = Runs(self.db)
        self.predictions = Predictions(self.db)
        self.scores = ScoreCache(self.db)
        self.team = Team(self.db)
        self.users = Users(self.db)
        self.codebook = Codebook(self.db, self.projects)
        self.export = Export(self.db, self.projects, self.runs, self.predictions)

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None on PostgreSQL."""
        return self.db.path

    @property
    def url(self) -> str:
        """The database URL with its password (for child processes' environment, never shown)."""
        return self.db.url.render_as_string(hide_password=False)

    def close(self) -> None:
        self.db.close()


def open_store(url: str | os.PathLike | None = None) -> Store:
    """The workspace's store: `url`, else TWEET_LABELER_DB, else TWEET_LABELER_HOME's SQLite file."""
    return Store(url)
