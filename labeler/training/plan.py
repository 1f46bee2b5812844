"""What a training run will use and roughly how long it will take, before it starts.

`label_counts` shows per label how many labelled pool tweets train and how many held-out tweets
test; `training_problem` says why the engine would refuse the data; `estimate_seconds` gives an
honest, rough duration: measured from this workspace's earlier runs of the same base model when
there are any, else a conservative CPU constant scaled by the model's size.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..db.projects import Project
from ..db.store import Store
from ..errors import LabelerError
from ..models.resolve import CURATED_TRAIN, ResolvedModel
from .data import check_label_counts
from .settings import TrainSettings

# One line of help per setting the Train page shows (defaults come from TrainSettings itself).
HELP = {
    "epochs": "Full fine-tuning passes over the training tweets; 4-8 suits a few hundred labels.",
    "learning_rate": "Step size of the fine-tuning phase; 1e-5 to 1e-4, smaller is gentler.",
    "batch_size": "Tweets per optimiser step; 8-32 is usual, larger needs more memory.",
    "max_length": "Word pieces kept per tweet (16-512); tweets need about 64.",
    "warmup": "Fraction of fine-tuning steps during which the learning rate ramps up from 0.",
    "weight_decay": "Pull of the weights towards 0 (regularisation); 0.01 is usual.",
    "head_epochs": "Epochs fitting only the new classifier head on the frozen encoder (0: off).",
    "head_learning_rate": "Learning rate of that head-only phase; 1e-3 to 5e-3.",
    "head_init": "'logistic' starts the new head as a logistic regression on the frozen encoder.",
    "average_epochs": "Save the mean of the weights of the last N epochs (0: the last epoch's).",
    "class_weights": "Weigh rare labels up in the loss so each label counts alike in macro-F1.",
    "seed": "Random seed: the same data and settings give the same model.",
}
SETTINGS = tuple(HELP)  # the fields the page lets people change, in the order shown

# Seconds per tweet per full fine-tuning epoch per million parameters on 2 CPU cores, on the slow
# side: the bundled 22M MiniLM took 0.66 s per tweet-epoch on a busy 2-core machine (load 6),
# i.e. ~0.03 s per M; ~0.008 when the cores are free. More cores: proportionally less, to 1/4.
CPU_S_PER_SAMPLE_EPOCH_PER_M = 0.01
GPU_SPEEDUP = 15.0
HEAD_COST = 0.4  # a head-only step skips the encoder's backward pass
FIXED_S = 15.0  # start the process, load the model, evaluate, save


def label_counts(store: Store, project: Project, include_accepted: bool) -> pd.DataFrame:
    """label | train (pool) | test (held-out) in project label order, plus a total row."""
    train, test = store.labels.train_and_test_counts(project.id, include_accepted=include_accepted)
    frame = pd.DataFrame(
        {
            "label": project.labels,
            "train (pool)": [train.get(lab, 0) for lab in project.labels],
            "test (held-out)": [test.get(lab, 0) for lab in project.labels],
        }
    )
    total = {"label": "total", "train (pool)": sum(train.values()),
             "test (held-out)": sum(test.values())}  # fmt: skip
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True)


def training_problem(
    store: Store, project: Project, include_accepted: bool, counts: pd.DataFrame | None = None
) -> str | None:
    """Why training would be refused right now (as the engine would say it), or None. From
    SQL counts: the engine's rules need only the counts per label (`label_counts`' table, when
    the page has it: at 1M items each count reads every labelled row)."""
    if counts is None:
        train, _ = store.labels.train_and_test_counts(project.id, include_accepted=include_accepted)
    else:
        per_label = counts[counts["label"] != "total"]
        train = {lab: int(n) for lab, n in zip(per_label["label"], per_label["train (pool)"]) if n}
    if not train:
        return (
            "No labelled pool tweets to train on yet: label some on Annotate (held-out tweets "
            "are the test set and never train)."
        )
    try:
        check_label_counts(Counter(train))
    except LabelerError as exc:
        return str(exc)
    return None


def total_steps(n_train: int, settings: TrainSettings) -> int:
    """Optimiser steps over both phases, as the engine counts them."""
    return math.ceil(n_train / settings.batch_size) * (settings.epochs + settings.head_epochs)


def parameters_millions(resolved: ResolvedModel) -> float | None:
    """The model's size in millions of parameters: weight files' size, else the curated list."""
    folder = Path(resolved.location)
    if folder.is_dir():
        files = list(folder.glob("*.safetensors")) or list(folder.glob("pytorch_model*.bin"))
        if files:
            return sum(f.stat().st_size for f in files) / 4 / 1e6  # float32 weights
    for info in CURATED_TRAIN:
        if info.id in (resolved.spec, resolved.location):
            found = re.match(r"([\d.]+)M", info.size)
            return float(found.group(1)) if found else None
    return None


def _sample_epochs(n_train: int, params: dict[str, Any]) -> float:
    epochs = params.get("epochs", TrainSettings.epochs)
    head = params.get("head_epochs", TrainSettings.head_epochs)
    return n_train * (epochs + HEAD_COST * head)


def measured_rate(runs: Sequence[dict[str, Any]], base_display: str) -> float | None:
    """Sample-epochs per second of the newest finished run of this base model, or None."""
    for run in runs:
        m = run.get("metrics") or {}
        if run["status"] == "done" and m.get("base_model") == base_display and m.get("seconds"):
            work = _sample_epochs(m.get("n_train") or 0, run.get("params") or {})
            if work > 0:
                return work / max(m["seconds"] - FIXED_S, 1.0)
    return None


def estimate_seconds(
    n_train: int,
    settings: TrainSettings,
    resolved: ResolvedModel,
    past_runs: Sequence[dict[str, Any]] = (),
    gpu: bool = False,
) -> tuple[float | None, str]:
    """(seconds, how it was estimated); seconds is None when nothing sensible can be said."""
    work = _sample_epochs(n_train, settings.to_dict())
    rate = measured_rate(past_runs, resolved.display)
    if rate:
        return FIXED_S + work / rate, "from an earlier run of this base model in this workspace"
    size = parameters_millions(resolved)
    if size is None:
        return None, "unknown model size"
    cores = max(1, os.cpu_count() or 1)
    per = CPU_S_PER_SAMPLE_EPOCH_PER_M * size * max(2 / cores, 0.25)
    if gpu:
        per = CPU_S_PER_SAMPLE_EPOCH_PER_M * size / GPU_SPEEDUP
    where = "a GPU" if gpu else "a CPU"
    return FIXED_S + work * per, f"a rough constant for a {size:.2g}M-parameter model on {where}"
