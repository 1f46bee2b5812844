"""Fine-tune any Hugging Face encoder as a text classifier on labelled texts (no database here).

`train_classifier(texts, labels, settings, out_dir, ...)` trains with the transformers `Trainer`,
per-batch padding (`DataCollatorWithPadding`), length-grouped batches and a fixed seed, and writes
one standard model folder that `transformers.pipeline("text-classification", model=FOLDER)` loads
with named labels. Beside the weights it writes training_config.json (settings, base model,
versions), a data fingerprint, metrics.json, training_log.json (loss curve, per-epoch eval) and a
README.md model card. The folder appears only when everything is written: training runs in a
hidden temporary folder beside `out_dir` that is renamed at the end and removed on failure or
cancel.

Why the defaults look the way they do (bench/recipes.py holds the search behind them; measured on
a development split of TweetEval stance, abortion and atheism, with the bundled MiniLM): 6 epochs
at 5e-5 with 10% warmup, weight decay 0.01 and class weights inversely proportional to class
frequency (the small classes, e.g. FAVOR, count as much in macro-F1 and in the stance score). The
naive recipe (4 epochs, no warmup, no class weights) lost 15-20 points on the small classes;
8 epochs at 1e-4 and a head-first phase (LP-FT: the head trained on the frozen encoder at a high
rate, then everything; Kumar et al., 2022) scored within a point of the default, not better, so
the head phase is an option (`head_epochs`), off by default. Epochs are fixed and the last epoch
is kept: a held-out set of 60-150 tweets is too noisy to pick a best epoch from (the per-epoch
curves in the search wander by 3-5 points), and the app's held-out set is the test set, which must
never choose the model.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import Cancelled, DataError, InputError, ModelError, SettingsError

MIN_PER_LABEL = 2  # fewer examples of a label than this cannot train (nor be split) sensibly


@dataclass
class TrainProgress:
    """One progress report: where training is, how fast, and how long it still needs."""

    epoch: float  # epochs done over both phases (fractional)
    step: int  # optimiser steps done over both phases
    total_steps: int
    loss: float | None  # mean training loss of the steps since the previous report
    samples_per_s: float
    eta_s: float | None  # seconds left, None before the first step
    phase: str  # "prepare", "head", "fine-tune", "evaluate", "save", "done"


ProgressFn = Callable[[TrainProgress], None]
CancelFn = Callable[[], bool]


@dataclass
class TrainSettings:
    """Every knob of a training run, validated on creation (the CLI and the pages both build it).

    epochs counts the full fine-tuning epochs; head_epochs come before them with the encoder
    frozen at head_learning_rate (0 turns that phase off). warmup is a fraction of the fine-tuning
    steps. test_size is used only when the caller splits one labelled set into train and test.
    """

    model: str | None = None  # hub id, folder or "bundled"; None: models.default_train_model()
    epochs: int = 6
    learning_rate: float = 5e-5
    batch_size: int = 16
    max_length: int = 128
    warmup: float = 0.1
    weight_decay: float = 0.01
    head_epochs: int = 0  # LP-FT head phase: not better in the recipe search, so off
    head_learning_rate: float = 2e-3
    class_weights: bool = True
    seed: int = 42
    test_size: float = 0.2
    eval_batch_size: int = 64

    def __post_init__(self) -> None:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise SettingsError(message)

        def is_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        def is_num(v: Any) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

        need(
            is_int(self.epochs) and self.epochs >= 1,
            f"Epochs must be a whole number of at least 1 (got {self.epochs!r}); 4-8 suits a "
            "few hundred labels.",
        )
        need(
            is_num(self.learning_rate) and 0 < self.learning_rate < 1,
            f"Learning rate must be above 0 and below 1 (got {self.learning_rate!r}); "
            "fine-tuning uses 1e-5 to 1e-4, e.g. 5e-5.",
        )
        need(
            is_int(self.batch_size) and self.batch_size >= 1,
            f"Batch size must be a whole number of at least 1 (got {self.batch_size!r}); "
            "8-32 is usual.",
        )
        need(
            is_int(self.eval_batch_size) and self.eval_batch_size >= 1,
            f"Evaluation batch size must be at least 1 (got {self.eval_batch_size!r}).",
        )
        need(
            is_int(self.max_length) and 16 <= self.max_length <= 512,
            f"Max length must be between 16 and 512 word pieces (got {self.max_length!r}); "
            "tweets need about 64, 128 is generous.",
        )
        need(
            is_num(self.warmup) and 0 <= self.warmup < 1,
            f"Warmup is a fraction of the training steps, from 0 up to (not including) 1 "
            f"(got {self.warmup!r}); 0.1 is usual.",
        )
        need(
            is_num(self.weight_decay) and 0 <= self.weight_decay < 1,
            f"Weight decay must be from 0 up to 1 (got {self.weight_decay!r}); 0.01 is usual.",
        )
        need(
            is_int(self.head_epochs) and self.head_epochs >= 0,
            f"Head epochs must be a whole number, 0 or more (got {self.head_epochs!r}); "
            "0 turns the frozen-encoder head phase off.",
        )
        need(
            is_num(self.head_learning_rate) and 0 < self.head_learning_rate < 1,
            f"Head learning rate must be above 0 and below 1 (got {self.head_learning_rate!r}); "
            "1e-3 to 5e-3 suits a head on a frozen encoder.",
        )
        need(
            is_int(self.seed) and self.seed >= 0,
            f"Seed must be a whole number, 0 or more (got {self.seed!r}).",
        )
        need(
            is_num(self.test_size) and 0 < self.test_size < 1,
            f"Test size is the held-out fraction, strictly between 0 and 1 (got "
            f"{self.test_size!r}); 0.2 holds out a fifth.",
        )
        need(
            isinstance(self.class_weights, bool),
            f"class_weights is on or off (True/False), not {self.class_weights!r}.",
        )
        if self.model is not None:
            self.model = str(self.model).strip() or None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    """What a finished run produced; everything here is also written into `model_dir`."""

    model_dir: Path
    base_model: str  # display name of the base model
    base_model_location: str  # the folder or hub id it was loaded from
    labels: list[str]  # label names in the model's id order
    train_counts: dict[str, int]
    eval_counts: dict[str, int]
    metrics: dict[str, Any] | None  # evaluate_predictions on the eval set (JSON-safe), or None
    log: list[dict[str, Any]]  # loss per logging step and eval metrics per epoch
    seconds: float
    samples_per_s: float
    settings: TrainSettings
    fingerprint: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Data checks and splitting (no model needed)


def _counts_text(counts: Counter | dict[str, int]) -> str:
    return ", ".join(
        f"'{k}': {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def _clean_pairs(texts: Sequence[Any], labels: Sequence[Any], what: str) -> tuple[list, list]:
    if texts is None or labels is None:
        raise DataError(f"The {what} set is missing: give texts and labels.")
    texts, labels = list(texts), list(labels)
    if len(texts) != len(labels):
        raise InputError(
            f"The {what} set has {len(texts)} texts but {len(labels)} labels: give one label "
            "per text."
        )
    if not texts:
        raise DataError(
            f"The {what} set is empty (0 labelled texts). Label some texts first; a few dozen "
            "per label is a minimum, a few hundred in all works well."
        )

    def missing(v: Any) -> bool:
        return v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == ""

    blank = sum(missing(v) for v in labels)
    if blank:
        raise DataError(
            f"{blank} of {len(labels)} rows of the {what} set have no label. Drop them or label "
            "them before training."
        )
    texts = ["" if t is None or (isinstance(t, float) and math.isnan(t)) else str(t) for t in texts]
    return texts, [str(v).strip() for v in labels]


def check_training_data(texts: Sequence[Any], labels: Sequence[Any]) -> Counter:
    """Raise DataError unless the set can train a classifier; return the counts per label."""
    _, labels = _clean_pairs(texts, labels, "training")
    counts = Counter(labels)
    if len(counts) < 2:
        raise DataError(
            f"Training needs at least two labels; the training set has {len(counts)} "
            f"({_counts_text(counts)}). Label examples of another class too."
        )
    small = {k: v for k, v in counts.items() if v < MIN_PER_LABEL}
    if small:
        raise DataError(
            f"{len(small)} label(s) have fewer than {MIN_PER_LABEL} examples to train on: "
            f"{_counts_text(small)} (all counts: {_counts_text(counts)}). Label more of them or "
            "drop the label."
        )
    return counts


def split_train_test(
    texts: Sequence[Any],
    labels: Sequence[Any],
    test_size: float = 0.2,
    seed: int = 42,
) -> tuple[list[str], list[str], list[str], list[str]]:
    """A seeded, stratified split: (train_texts, test_texts, train_labels, test_labels).

    Every label must have at least two examples, and both parts must be large enough to hold one
    example of every label; the messages give the counts per label.
    """
    from sklearn.model_selection import train_test_split

    if not (isinstance(test_size, (int, float)) and 0 < test_size < 1):
        raise SettingsError(
            f"Test size is the held-out fraction, strictly between 0 and 1 (got {test_size!r})."
        )
    texts, labels = _clean_pairs(texts, labels, "labelled")
    counts = Counter(labels)
    if len(counts) < 2:
        raise DataError(
            f"Splitting for training needs at least two labels; found {len(counts)} "
            f"({_counts_text(counts)}). Label examples of another class too."
        )
    small = {k: v for k, v in counts.items() if v < 2}
    if small:
        raise DataError(
            f"Cannot split into train and test: {len(small)} label(s) have fewer than 2 examples "
            f"({_counts_text(small)}; all counts: {_counts_text(counts)}). Each label needs one "
            "example on each side: label more, or give a separate test file."
        )
    n, k = len(labels), len(counts)
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    if n_test < k or n_train < k:
        side = "test" if n_test < k else "training"
        raise DataError(
            f"A test size of {test_size} on {n} examples leaves {n_test} for test and {n_train} "
            f"for training, but each side needs at least one example of each of the {k} labels "
            f"({_counts_text(counts)}). Make the {side} share larger or label more."
        )
    tr_x, te_x, tr_y, te_y = train_test_split(
        texts, labels, test_size=test_size, random_state=seed, stratify=labels
    )
    return list(tr_x), list(te_x), list(tr_y), list(te_y)


def data_fingerprint(texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """sha256 of the sorted (text, label) pairs plus counts: the same data gives the same hash."""
    pairs = sorted(zip((str(t) for t in texts), (str(v) for v in labels), strict=True))
    digest = hashlib.sha256(json.dumps(pairs, ensure_ascii=False).encode("utf-8")).hexdigest()
    counts = Counter(str(v) for v in labels)
    return {"sha256": digest, "n": len(pairs), "counts": dict(sorted(counts.items()))}


def _label_order(counts: Counter, label_order: Sequence[str] | None) -> list[str]:
    present = set(counts)
    if label_order is None:
        return sorted(present)
    ordered = [str(x) for x in dict.fromkeys(label_order) if str(x) in present]
    return ordered + sorted(present - set(ordered))


# ---------------------------------------------------------------------------------------------
# Model checks


def _resolve_base(settings: TrainSettings):
    from .models import default_train_model, read_config, resolve_model

    resolved = resolve_model(settings.model) if settings.model else default_train_model()
    try:
        config = read_config(resolved)
    except Exception as exc:
        raise ModelError(
            f"Cannot read the configuration of model '{resolved.spec}' ({type(exc).__name__}: "
            f"{exc}). Give a Hugging Face model folder or hub id of a text encoder."
        ) from exc
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES as SEQ_CLS,
    )

    model_type = config.get("model_type")
    if model_type not in SEQ_CLS:
        raise ModelError(
            f"Model '{resolved.spec}' (model_type {model_type!r}) is not a text encoder that "
            "AutoModelForSequenceClassification can train. Pick an encoder such as "
            "'distilbert-base-uncased', 'bert-base-uncased' or 'bundled' (all-MiniLM-L6-v2)."
        )
    return resolved


def _load_tokenizer(resolved):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(
            resolved.location, local_files_only=resolved.local_files_only
        )
    except Exception as exc:
        raise ModelError(
            f"Model '{resolved.spec}' has no usable tokenizer ({type(exc).__name__}: {exc}). "
            "Give a model folder that holds its tokenizer files too."
        ) from exc


def _load_model(resolved, labels: list[str]):
    import torch
    from transformers import AutoModelForSequenceClassification

    from .predict import _quiet_progress_bars

    id2label = dict(enumerate(labels))
    try:
        with _quiet_progress_bars():
            model = AutoModelForSequenceClassification.from_pretrained(
                resolved.location,
                local_files_only=resolved.local_files_only,
                num_labels=len(labels),
                id2label=id2label,
                label2id={v: k for k, v in id2label.items()},
                # A base that is already a classifier with other labels gets a fresh head.
                ignore_mismatched_sizes=True,
                dtype=torch.float32,
            )
    except Exception as exc:
        raise ModelError(
            f"Model '{resolved.spec}' cannot be loaded as a text classifier "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    # Set here because our weighted loss bypasses the model's own, which would otherwise set it;
    # the pipeline reads it to apply softmax.
    model.config.problem_type = "single_label_classification"
    return model


def _head_parameter_names(model) -> set[str]:
    """Parameters trained in the head phase: all outside the encoder, plus its pooler (BERT's
    classifier reads the pooled [CLS] vector, so the pooler is part of the head in effect)."""
    prefix = getattr(model, "base_model_prefix", "") + "."
    return {
        name
        for name, _ in model.named_parameters()
        if not name.startswith(prefix) or ".pooler." in name
    }


# ---------------------------------------------------------------------------------------------
# Training


def _versions() -> dict[str, str]:
    import datasets
    import sklearn
    import torch
    import transformers

    from . import __version__

    return {
        "labeler": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "datasets": datasets.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _prepare_out_dir(out_dir: str | Path, overwrite: bool) -> Path:
    out = Path(out_dir).expanduser()
    if out.exists():
        if not out.is_dir():
            raise InputError(f"'{out}' exists and is a file; give a folder path for the model.")
        entries = list(out.iterdir())
        if entries and not overwrite:
            raise InputError(
                f"Model folder '{out}' already exists and holds {len(entries)} entries. Choose a "
                "new folder, or allow overwriting it (--overwrite on the command line)."
            )
    return out  # its parent is created only once training starts (tmp.mkdir(parents=True))


def _finalise(tmp: Path, out: Path) -> None:
    """Put the finished folder in place with renames only, so no half folder is ever visible."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def train_classifier(
    texts: Sequence[str],
    labels: Sequence[str],
    settings: TrainSettings | None = None,
    out_dir: str | Path = "model",
    eval_texts: Sequence[str] | None = None,
    eval_labels: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    *,
    label_order: Sequence[str] | None = None,
    overwrite: bool = False,
    split: str | None = None,
) -> TrainResult:
    """Fine-tune a classifier on (texts, labels) and save it to `out_dir`; see the module doc.

    eval_texts/eval_labels (optional) are scored after every epoch (for the log) and at the end
    (metrics.json); they never choose the model. label_order orders the label ids (labels absent
    from the data are left out); the default is alphabetical. An existing non-empty `out_dir` is
    an error unless overwrite=True. split is a sentence on how train and eval sets were drawn,
    recorded in training_config.json and the model card. Raises DataError, SettingsError, ModelError, InputError, or
    Cancelled when should_cancel() says so; no model folder is left behind in any of those cases.
    """
    started = time.perf_counter()
    settings = settings if settings is not None else TrainSettings()
    if not isinstance(settings, TrainSettings):
        raise SettingsError("settings must be a TrainSettings object.")
    # 1. Everything that can be checked without a model, first.
    texts, labels = _clean_pairs(texts, labels, "training")
    counts = check_training_data(texts, labels)
    names = _label_order(counts, label_order)
    has_eval = eval_texts is not None or eval_labels is not None
    if has_eval:
        eval_texts, eval_labels = _clean_pairs(eval_texts, eval_labels, "evaluation")
        eval_counts = Counter(eval_labels)
        unknown = {k: v for k, v in eval_counts.items() if k not in counts}
        if unknown:
            raise DataError(
                f"The evaluation set has labels the training set lacks: {_counts_text(unknown)} "
                f"(training labels: {_counts_text(counts)}). The model cannot predict them: "
                "label training examples of them or drop those rows."
            )
    else:
        eval_texts, eval_labels, eval_counts = [], [], Counter()
    out = _prepare_out_dir(out_dir, overwrite)
    # 2. The model: resolve and check its kind before loading any weights.
    resolved = _resolve_base(settings)
    tokenizer = _load_tokenizer(resolved)
    if should_cancel is not None and should_cancel():
        raise Cancelled("Training cancelled before it started; no model was saved.")

    tmp = out.with_name(f".{out.name}.partial-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        result = _train_in(
            tmp,
            out,
            texts=texts,
            labels=labels,
            names=names,
            counts=counts,
            eval_texts=eval_texts,
            eval_labels=eval_labels,
            eval_counts=eval_counts,
            settings=settings,
            resolved=resolved,
            tokenizer=tokenizer,
            progress=progress,
            should_cancel=should_cancel,
            started=started,
            split=split,
        )
        _finalise(tmp, out)
        return result
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


class _StepReporter:
    """Trainer callback: progress per step, cancel checks, the training log across phases."""

    def __init__(self, owner: _Run, phase: str, step_offset: int, epoch_offset: float):
        self.owner, self.phase = owner, phase
        self.step_offset, self.epoch_offset = step_offset, epoch_offset
        self.samples_offset = round(epoch_offset) * owner.n_train

    def make(self):
        from transformers import TrainerCallback

        reporter = self

        class Callback(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                reporter.owner.on_step(reporter, state)
                if reporter.owner.cancel_requested():
                    control.should_training_stop = True
                return control

            def on_log(self, args, state, control, logs=None, **kwargs):
                reporter.owner.on_log(reporter, state, logs or {})

        return Callback()


class _Run:
    """State shared by the phases of one training run (progress, log, cancel)."""

    def __init__(
        self,
        total_steps: int,
        head_steps: int,
        batch_size: int,
        n_train: int,
        progress: ProgressFn | None,
        should_cancel: CancelFn | None,
    ):
        self.total_steps, self.head_steps = total_steps, head_steps
        self.batch_size, self.n_train = batch_size, n_train
        self.progress, self.should_cancel = progress, should_cancel
        self.log: list[dict[str, Any]] = []
        self.cancelled = False
        self.losses: list[float] = []
        self.samples = 0
        self.t0 = time.perf_counter()
        self.phase_t0 = self.t0
        self.phase_steps = 0
        self.global_step = 0
        self.epoch = 0.0

    def cancel_requested(self) -> bool:
        if self.should_cancel is not None and self.should_cancel():
            self.cancelled = True
        return self.cancelled

    def report(self, phase: str, eta: float | None = None, loss: float | None = None) -> None:
        if self.progress is None:
            return
        elapsed = time.perf_counter() - self.t0
        rate = self.samples / elapsed if elapsed > 0 and self.samples else 0.0
        self.progress(
            TrainProgress(
                epoch=round(self.epoch, 4),
                step=self.global_step,
                total_steps=self.total_steps,
                loss=loss,
                samples_per_s=rate,
                eta_s=eta,
                phase=phase,
            )
        )

    def start_phase(self) -> None:
        self.phase_t0, self.phase_steps = time.perf_counter(), 0
        if self.global_step == 0:
            self.t0 = self.phase_t0  # throughput counts training, not loading the model

    def on_step(self, rep: _StepReporter, state) -> None:
        self.global_step = rep.step_offset + state.global_step
        self.epoch = rep.epoch_offset + (state.epoch or 0.0)
        self.phase_steps += 1
        spe = math.ceil(self.n_train / self.batch_size)
        full, rem = divmod(state.global_step, spe)
        self.samples = rep.samples_offset + full * self.n_train + rem * self.batch_size
        per_step = (time.perf_counter() - self.phase_t0) / self.phase_steps
        left_here = max(0, rep.step_offset + state.max_steps - self.global_step)
        left_later = self.total_steps - (rep.step_offset + state.max_steps)
        # A head step skips the encoder's backward pass: a full step costs about 2.5 of them.
        later_cost = per_step * (2.5 if rep.phase == "head" else 1.0)
        eta = left_here * per_step + left_later * later_cost
        loss = sum(self.losses) / len(self.losses) if self.losses else None
        self.losses.clear()
        self.report(rep.phase, eta, loss)

    def on_log(self, rep: _StepReporter, state, logs: dict[str, Any]) -> None:
        entry: dict[str, Any] = {
            "phase": rep.phase,
            "step": rep.step_offset + state.global_step,
            "epoch": round(rep.epoch_offset + (state.epoch or 0.0), 4),
        }
        if "loss" in logs:
            entry.update(
                loss=float(logs["loss"]), learning_rate=float(logs.get("learning_rate", 0))
            )
        elif any(k.startswith("eval_") for k in logs):
            entry.update(
                {
                    k: float(v)
                    for k, v in logs.items()
                    if k.startswith("eval_") and isinstance(v, (int, float))
                }
            )
        else:
            return  # the Trainer's end-of-training summary: not a curve point
        self.log.append(entry)


def _make_trainer_class():
    import torch
    from transformers import Trainer

    class WeightedTrainer(Trainer):
        """Trainer with an optional class-weighted cross-entropy; also records each batch loss."""

        class_weight: torch.Tensor | None = None
        run: _Run | None = None

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            logits = outputs.logits
            weight = None if self.class_weight is None else self.class_weight.to(logits.device)
            loss = torch.nn.functional.cross_entropy(logits.float(), labels, weight=weight)
            if self.run is not None and model.training:
                self.run.losses.append(float(loss.detach()))
            return (loss, outputs) if return_outputs else loss

    return WeightedTrainer


def _train_in(
    tmp: Path,
    out: Path,
    *,
    texts,
    labels,
    names,
    counts,
    eval_texts,
    eval_labels,
    eval_counts,
    settings,
    resolved,
    tokenizer,
    progress,
    should_cancel,
    started,
    split,
) -> TrainResult:
    """The training proper, into `tmp`; the caller renames it to `out` or removes it."""
    import numpy as np
    import torch
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, PrinterCallback, TrainingArguments, set_seed

    from .evaluate import evaluate_predictions, metrics_to_json
    from .predict import Classifier, _quiet_progress_bars, predict

    label2id = {lab: i for i, lab in enumerate(names)}
    n = len(texts)
    steps_per_epoch = math.ceil(n / settings.batch_size)
    head_steps = steps_per_epoch * settings.head_epochs
    total_steps = head_steps + steps_per_epoch * settings.epochs
    run = _Run(total_steps, head_steps, settings.batch_size, n, progress, should_cancel)
    run.report("prepare")

    set_seed(settings.seed)  # the new head's initial weights come from this seed
    model = _load_model(resolved, names)

    def encode(xs: list[str], ys: list[str]) -> Dataset:
        enc = tokenizer(xs, truncation=True, max_length=settings.max_length)
        data = {k: list(v) for k, v in enc.items()}
        data["labels"] = [label2id[y] for y in ys]
        return Dataset.from_dict(data)

    train_ds = encode(texts, labels)
    eval_ds = encode(eval_texts, eval_labels) if eval_texts else None
    collator = DataCollatorWithPadding(tokenizer)
    weight = None
    if settings.class_weights:
        # "balanced" weights, n / (k * count): each class weighs the same in the loss in all.
        freq = np.array([counts[lab] for lab in names], dtype=np.float64)
        weight = torch.tensor(n / (len(names) * freq), dtype=torch.float32)

    def compute_metrics(pred) -> dict[str, float]:
        from sklearn.metrics import accuracy_score, f1_score

        y_hat = np.asarray(pred.predictions).argmax(-1)
        y = np.asarray(pred.label_ids)
        return {
            "accuracy": float(accuracy_score(y, y_hat)),
            "macro_f1": float(f1_score(y, y_hat, average="macro", zero_division=0)),
        }

    trainer_cls = _make_trainer_class()
    scratch = tmp / "_trainer"

    def phase_args(epochs: int, lr: float, warmup: float, sched: str) -> TrainingArguments:
        logging_steps = max(1, (steps_per_epoch * epochs) // 25)  # ~25 points per phase curve
        return TrainingArguments(
            output_dir=str(scratch),
            num_train_epochs=epochs,
            learning_rate=lr,
            lr_scheduler_type=sched,
            warmup_steps=warmup,  # a float below 1 is a ratio in transformers 5
            weight_decay=settings.weight_decay,
            per_device_train_batch_size=settings.batch_size,
            per_device_eval_batch_size=settings.eval_batch_size,
            train_sampling_strategy="group_by_length",
            seed=settings.seed,
            data_seed=settings.seed,
            save_strategy="no",  # the engine saves the final model itself
            eval_strategy="epoch" if eval_ds is not None else "no",
            logging_strategy="steps",
            logging_steps=logging_steps,
            report_to="none",
            disable_tqdm=True,
            dataloader_num_workers=0,
            dataloader_pin_memory=False,
            use_cpu=not torch.cuda.is_available(),
        )

    phases: list[tuple[str, int, float, float, str]] = []
    if settings.head_epochs:
        # The head on a frozen encoder: no warmup needed, a constant rate converges it fastest.
        phases.append(("head", settings.head_epochs, settings.head_learning_rate, 0.0, "constant"))
    phases.append(("fine-tune", settings.epochs, settings.learning_rate, settings.warmup, "linear"))
    head_names = _head_parameter_names(model)
    step_offset, epoch_offset = 0, 0.0
    for phase, epochs, lr, warmup, sched in phases:
        for name, param in model.named_parameters():
            param.requires_grad = phase != "head" or name in head_names
        trainer = trainer_cls(
            model=model,
            args=phase_args(epochs, lr, warmup, sched),
            train_dataset=train_ds,
            eval_dataset=eval_ds,
            data_collator=collator,
            processing_class=tokenizer,
            compute_metrics=compute_metrics if eval_ds is not None else None,
        )
        trainer.remove_callback(PrinterCallback)  # disable_tqdm=True adds it: it prints dicts
        trainer.class_weight = weight
        trainer.run = run
        reporter = _StepReporter(run, phase, step_offset, epoch_offset)
        trainer.add_callback(reporter.make())
        run.start_phase()
        trainer.train()
        if run.cancelled:
            raise Cancelled(
                f"Training cancelled at step {run.global_step} of {total_steps} "
                f"(epoch {run.epoch:.1f}); no model was saved."
            )
        step_offset += steps_per_epoch * epochs
        epoch_offset += epochs
    for param in model.parameters():
        param.requires_grad = True
    train_seconds = time.perf_counter() - run.t0  # the training phases only
    samples_per_s = run.samples / train_seconds if train_seconds > 0 else 0.0

    metrics = None
    if eval_texts:
        run.report("evaluate", eta=None)
        model.eval()
        clf = Classifier(model, tokenizer, names, settings.max_length, str(tmp))
        preds = predict(clf, eval_texts, batch_size=settings.eval_batch_size)
        metrics = metrics_to_json(
            evaluate_predictions(eval_labels, preds.labels, names, probs=preds.probs)
        )

    run.report("save", eta=None)
    shutil.rmtree(scratch, ignore_errors=True)
    if should_cancel is not None and should_cancel():
        raise Cancelled("Training cancelled while saving; no model was saved.")
    with _quiet_progress_bars():  # transformers shows a "Writing model shards" bar
        model.save_pretrained(str(tmp))
    # The pipeline reads model_max_length: with truncation=True it then cuts where training did.
    tokenizer.model_max_length = settings.max_length
    tokenizer.save_pretrained(str(tmp))
    fingerprint = {
        "train": data_fingerprint(texts, labels),
        "eval": data_fingerprint(eval_texts, eval_labels) if eval_texts else None,
    }
    seconds = time.perf_counter() - started
    config = {
        "settings": settings.to_dict(),
        "base_model": {
            "display": resolved.display,
            "location": resolved.location,
            "source": resolved.source,
            "spec": resolved.spec,
        },
        "labels": names,
        "label2id": label2id,
        "seed": settings.seed,
        "train_size": n,
        "eval_size": len(eval_texts),
        "split": split,
        "phases": [
            {"phase": p, "epochs": e, "learning_rate": lr, "warmup": w, "scheduler": s}
            for p, e, lr, w, s in phases
        ],
        "total_steps": total_steps,
        "train_seconds": round(train_seconds, 2),
        "samples_per_s": round(samples_per_s, 2),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": _versions(),
        "data": fingerprint,
    }
    _write_json(tmp / "training_config.json", config)
    _write_json(tmp / "data_fingerprint.json", fingerprint)
    _write_json(
        tmp / "metrics.json",
        {
            "eval": metrics,
            "eval_size": len(eval_texts),
            "note": None if metrics else "no evaluation set was given",
        },
    )
    _write_json(tmp / "training_log.json", run.log)
    (tmp / "README.md").write_text(
        _model_card(out.name, config, counts, eval_counts, metrics), encoding="utf-8"
    )
    result = TrainResult(
        model_dir=out,
        base_model=resolved.display,
        base_model_location=resolved.location,
        labels=names,
        train_counts=dict(sorted(counts.items())),
        eval_counts=dict(sorted(eval_counts.items())),
        metrics=metrics,
        log=run.log,
        seconds=seconds,
        samples_per_s=samples_per_s,
        settings=settings,
        fingerprint=fingerprint,
    )
    run.report("done", eta=0.0)
    return result


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _model_card(
    name: str,
    config: dict[str, Any],
    counts: Counter,
    eval_counts: Counter,
    metrics: dict[str, Any] | None,
) -> str:
    s = config["settings"]
    base = config["base_model"]
    rows = "\n".join(
        f"| {lab} | {counts.get(lab, 0)} | {eval_counts.get(lab, 0)} |" for lab in config["labels"]
    )
    if metrics:
        per = "\n".join(
            f"| {lab} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |"
            for lab, c in metrics["per_class"].items()
        )
        stance = (
            f", stance F1 (mean of against & favor) {metrics['stance_f1']:.3f}"
            if metrics.get("stance_f1") is not None
            else ""
        )
        score = (
            f"On the {config['eval_size']} held-out texts: accuracy {metrics['accuracy']:.3f}, "
            f"macro-F1 {metrics['macro_f1']:.3f}, MCC {metrics['mcc']:.3f}{stance}.\n\n"
            f"| label | precision | recall | F1 | support |\n|---|---|---|---|---|\n{per}\n"
        )
    else:
        score = "No held-out set was given, so this model has no test scores.\n"
    phases = "; ".join(
        f"{p['phase']}: {p['epochs']} epoch(s) at learning rate {p['learning_rate']:g}"
        for p in config["phases"]
    )
    return f"""# {name}

A text classifier fine-tuned with Tweet Labeler from **{base["display"]}**
(`{base["location"]}`).

## Labels and data
Labels (model id order): {", ".join(f"`{x}`" for x in config["labels"])}.

| label | training texts | held-out texts |
|---|---|---|
{rows}

Training set: {config["train_size"]} texts (sha256 of sorted (text, label) pairs
`{config["data"]["train"]["sha256"][:16]}...`); held-out set: {config["eval_size"]} texts, never
used to train or to choose the model.{" Split: " + config["split"] if config.get("split") else ""}

## Training
{phases}. Batch size {s["batch_size"]}, max length {s["max_length"]} word pieces, warmup
{s["warmup"]}, weight decay {s["weight_decay"]}, class weights {"on" if s["class_weights"] else "off"},
seed {s["seed"]}. Full settings and library versions: `training_config.json`; loss curve and
per-epoch scores: `training_log.json`.

## Scores
{score}
## Intended use
Labelling texts like the training texts (same target, language and source) to help people
annotate and to estimate label shares. Check a sample by hand before relying on its labels; a
few hundred training examples make a useful assistant, not a final judge.

## How to load
```python
from transformers import pipeline

clf = pipeline("text-classification", model="{name}", truncation=True)
clf("text to label")  # [{{'label': ..., 'score': ...}}]
```
or `python -m labeler predict {name} INPUT.csv -o OUT.csv --text-col text`.
"""
