"""Before training: counts per label, why training would be refused, an honest time estimate."""

from __future__ import annotations

import math

import pytest

from labeler.db.store import Store
from labeler.models.resolve import resolve_model
from labeler.sample import create_sample_project
from labeler.training.plan import (
    FIXED_S,
    HELP,
    estimate_seconds,
    label_counts,
    parameters_millions,
    total_steps,
    training_problem,
)
from labeler.training.settings import TrainSettings


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "db.sqlite")


def test_counts_follow_training_data_and_the_accepted_toggle(store):
    project = create_sample_project(store, with_labels=True)
    train, test = store.labels.train_and_test(project.id)
    counts = label_counts(store, project, include_accepted=False).set_index("label")
    assert counts.loc["total"].tolist() == [len(train), len(test)]
    for lab in project.labels:
        assert counts.at[lab, "train (pool)"] == (train["label"] == lab).sum()
        assert counts.at[lab, "test (held-out)"] == (test["label"] == lab).sum()
    assert training_problem(store, project, False) is None


def test_accepted_suggestions_train_only_when_asked(store):
    project = create_sample_project(store)
    assert "No labelled pool tweets" in training_problem(store, project, False)
    items = store.items.texts(project.id)
    run = store.runs.create(project.id, "zeroshot", {"labels": project.labels})
    store.predictions.put(run, [(int(i), "FAVOR", 0.9, [0.05, 0.9, 0.05]) for i in items["id"]])
    accepted, _ = store.labels.accept_suggestions(project.id, run, 0.5)
    off = label_counts(store, project, False).set_index("label")
    on = label_counts(store, project, True).set_index("label")
    assert off.at["total", "train (pool)"] == 0
    assert on.at["FAVOR", "train (pool)"] == accepted
    assert on.at["total", "test (held-out)"] == 0  # accepted suggestions never test
    assert "at least two labels" in training_problem(store, project, True)


def test_steps_and_estimates():
    settings = TrainSettings(epochs=3, head_epochs=2, batch_size=16)
    assert total_steps(100, settings) == math.ceil(100 / 16) * 5
    bundled = resolve_model("bundled")
    assert 20 < parameters_millions(bundled) < 25  # all-MiniLM-L6-v2: 22.7M
    secs, basis = estimate_seconds(100, settings, bundled)
    assert secs > FIXED_S and "rough constant" in basis
    assert estimate_seconds(200, settings, bundled)[0] > secs
    past = [
        {
            "status": "done",
            "params": {"epochs": 1, "head_epochs": 0},
            "metrics": {"base_model": bundled.display, "n_train": 100, "seconds": FIXED_S + 10},
        }
    ]
    secs, basis = estimate_seconds(100, settings, bundled, past)
    assert "earlier run" in basis
    # 100 tweets x 1 epoch took 10 s of work: 3 epochs + 2 cheaper head epochs take 30-50 s
    assert FIXED_S + 30 < secs < FIXED_S + 50


def test_every_setting_the_page_shows_has_help_and_a_default():
    fields = TrainSettings().to_dict()
    assert set(HELP) <= set(fields)
    assert all(len(text) < 100 for text in HELP.values())
