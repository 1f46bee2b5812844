"""Shared fixtures: offline mode, a throwaway workspace, tiny local models built once a session,
and a real PostgreSQL server (tests/pg_server.py) for the store's tests."""

from __future__ import annotations

import itertools
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
# Labelling and importing start background embedding and live-model jobs in the app; tests that
# are about those jobs turn them on (tests/test_live_model.py), the rest keep 2 cores quiet.
os.environ.setdefault("TWEET_LABELER_LEARNING_JOBS", "0")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Folders of tiny random models: nli_bert, nli_distilbert, base_bert, base_distilbert."""
    from tiny_models import build_all

    return build_all(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def stance_model(tmp_path_factory) -> Path:
    """A tiny classifier of AGAINST/FAVOR/NONE in another order than projects list them,
    predicting all three on `tiny_models.varied_texts` with probabilities spread out."""
    from tiny_models import build_model

    return build_model(
        tmp_path_factory.mktemp("stance"),
        "distilbert",
        {0: "NONE", 1: "AGAINST", 2: "FAVOR"},
        seed=6,
        head_std=0.3,
    )


# Scored by the pipeline when the variants are built: each model must spread its scores.
_SPREAD_TEXTS = [
    "I love the four day work week, great news for workers!",
    "What a terrible idea, wages will drop and prices go up.",
    "@user RT #fourdayweek https://t.co/abc",
    "no no no this will ruin the economy and the bakery",
    "yes yes yes finally some good policy from the government",
    "Bosses hate it, small business owners worry about costs.",
]
MIN_SPREAD = 0.2


@pytest.fixture(scope="session")
def nli_variants(tmp_path_factory) -> dict[str, Path]:
    """Tiny NLI models with entailment at index 0, 1 and 2 and two classes (tests/tiny_models.py
    NLI_VARIANTS: nli_ent0, nli_ent1, nli_ent2, nli_binary), built once a session. Each one's
    pipeline scores spread by MIN_SPREAD or more, single- and multi-label, or the fixture fails: a
    model scoring every label alike would let a wrong engine pass."""
    import numpy as np
    from tiny_models import build_nli_variants
    from transformers import pipeline

    models = build_nli_variants(tmp_path_factory.mktemp("nli-variants"))
    phrases = ["against", "in favor of", "neutral towards"]
    for name, path in models.items():
        pipe = pipeline("zero-shot-classification", model=str(path))
        for multi_label in (False, True):
            scores = np.array(
                [
                    pipe(
                        t, phrases, hypothesis_template="This tweet is {}.", multi_label=multi_label
                    )["scores"]
                    for t in _SPREAD_TEXTS
                ]
            )
            spread = float(scores.max() - scores.min())
            assert spread >= MIN_SPREAD, f"{name} (multi_label={multi_label}) spreads {spread:.3f}"
    return models


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """A fresh, empty workspace folder set as the app's workspace."""
    ws = tmp_path / "workspace"
    ws.mkdir()
    monkeypatch.setenv("TWEET_LABELER_HOME", str(ws))
    return ws


@pytest.fixture
def app(workspace):
    """The app opened on its home page in a fresh workspace (which it fills with the sample)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def store(app, workspace):
    """The store of `app`'s workspace, opened after the app has created it."""
    from labeler.db.store import open_store

    return open_store(workspace / "labeler.sqlite")


# --- PostgreSQL ------------------------------------------------------------------------------
# One real server per session (tests/pg_server.py: ~0.7 s to start, ~0.1 s to stop), a fresh
# database per test (~25 ms). Where it cannot run the tests skip, unless CI requires it.
REQUIRE_POSTGRES = "TWEET_LABELER_REQUIRE_POSTGRES"
_pg_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgresServer (for tests that need more than a URL, e.g. admin access)."""
    from pg_server import PostgresServer, PostgresUnavailable

    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable as error:
        reason = f"PostgreSQL server unavailable: {error}"
        if os.environ.get(REQUIRE_POSTGRES) == "1":
            pytest.fail(f"{reason} ({REQUIRE_POSTGRES}=1 requires it)", pytrace=False)
        pytest.skip(reason)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_url(pg_server) -> str:
    """postgresql://labeler:secret@127.0.0.1:PORT/labeler: the session server's shared database."""
    return pg_server.url


@pytest.fixture
def pg_db(pg_server):
    """The URL of a fresh, empty database (test_<n>, owned by `labeler`), dropped afterwards."""
    name = f"test_{next(_pg_database_numbers)}"
    url = pg_server.create_database(name)
    try:
        yield url
    finally:
        pg_server.drop_database(name)  # WITH (FORCE): closes connections the test left open


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request, tmp_path) -> str:
    """A store URL per engine: a temp SQLite file, or a fresh PostgreSQL database (pg_db)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/labeler.sqlite"
    # Looked up only here, so SQLite runs never start a PostgreSQL server.
    return request.getfixturevalue("pg_db")
