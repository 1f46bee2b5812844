"""Shared fixtures: offline mode, a throwaway workspace, tiny local models built once a session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Read by huggingface_hub at import: tests must never reach for a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Two torch threads on a shared 2-core CI box spin-wait on each other: tiny models need one.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Folders of tiny random models: nli_bert, nli_distilbert, base_bert, base_distilbert."""
    from tiny_models import build_all

    return build_all(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """A fresh, empty workspace folder set as the app's workspace."""
    ws = tmp_path / "workspace"
    ws.mkdir()
    monkeypatch.setenv("TWEET_LABELER_HOME", str(ws))
    return ws
