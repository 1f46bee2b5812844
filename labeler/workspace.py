"""Where a workspace lives: one folder holding the SQLite store and trained models.

The folder comes from TWEET_LABELER_HOME, else `workspace/` in the project folder (git-ignored),
so a class server, a test and a researcher's laptop each point at their own.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "TWEET_LABELER_HOME"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = PROJECT_ROOT / "data" / "sample_tweets.csv"


def workspace_dir() -> Path:
    path = Path(os.environ.get(ENV_VAR) or PROJECT_ROOT / "workspace").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_path() -> Path:
    return workspace_dir() / "labeler.sqlite"


def models_dir() -> Path:
    path = workspace_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def logs_dir() -> Path:
    path = workspace_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path
