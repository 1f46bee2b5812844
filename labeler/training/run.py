"""`train_classifier`: fine-tune a Hugging Face encoder on labelled texts and save the model folder.

The order is the point: first everything that can be checked without a model (data, settings,
target folder), then the base model's kind and tokenizer, and only then weights and training, in
a temporary folder that becomes `out_dir` only when everything is written (artifacts.py). The
result is one standard model folder that `transformers.pipeline("text-classification",
model=FOLDER)` loads with named labels. The modules beside this one hold each step: data.py,
base_model.py, trainer.py (phases, class weights, group_by_length batches with dynamic padding,
seeded), progress.py and artifacts.py; settings.py explains the defaults.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import Cancelled, SettingsError
from . import artifacts, base_model
from .data import TrainingData, encode, prepare_data
from .progress import RunTracker
from .settings import CancelFn, ProgressFn, TrainResult, TrainSettings


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
    recorded in training_config.json and the model card. Raises DataError, SettingsError,
    ModelError, InputError, or Cancelled when should_cancel() says so; no model folder is left
    behind in any of those cases.
    """
    started = time.perf_counter()
    settings = settings if settings is not None else TrainSettings()
    if not isinstance(settings, TrainSettings):
        raise SettingsError("settings must be a TrainSettings object.")
    # 1. Everything that can be checked without a model, first.
    data = prepare_data(texts, labels, eval_texts, eval_labels, label_order)
    out = artifacts.prepare_out_dir(out_dir, overwrite)
    # 2. The model: resolve and check its kind before loading any weights.
    resolved = base_model.resolve_base(settings)
    tokenizer = base_model.load_tokenizer(resolved)
    if should_cancel is not None and should_cancel():
        raise Cancelled("Training cancelled before it started; no model was saved.")
    # 3. Train, evaluate and write, in a folder that appears as `out` only when complete.
    with artifacts.staged_folder(out) as tmp:
        return _train_into(
            tmp, out, data, settings, resolved, tokenizer, progress, should_cancel, started, split
        )


def _train_into(
    tmp: Path,
    out: Path,
    data: TrainingData,
    settings: TrainSettings,
    resolved: Any,
    tokenizer: Any,
    progress: ProgressFn | None,
    should_cancel: CancelFn | None,
    started: float,
    split: str | None,
) -> TrainResult:
    # torch and transformers load here, after the cheap checks.
    from transformers import set_seed

    from . import trainer

    phases = trainer.plan_phases(settings)
    per_epoch = trainer.steps_per_epoch(len(data.texts), settings)
    total_steps = per_epoch * sum(p.epochs for p in phases)
    tracker = RunTracker(total_steps, settings.batch_size, len(data.texts), progress, should_cancel)
    tracker.report("prepare")

    set_seed(settings.seed)  # the new head's initial weights come from this seed
    model = base_model.load_model(resolved, data.names)
    train_ds = encode(tokenizer, data.texts, data.labels, data.label2id, settings.max_length)
    eval_ds = (
        encode(tokenizer, data.eval_texts, data.eval_labels, data.label2id, settings.max_length)
        if data.eval_texts
        else None
    )
    weight = trainer.class_weights(data.counts, data.names) if settings.class_weights else None
    trainer.run_phases(
        model,
        tokenizer,
        train_ds,
        eval_ds,
        phases=phases,
        settings=settings,
        names=data.names,
        weight=weight,
        tracker=tracker,
        scratch=tmp / "_trainer",
    )
    train_seconds = tracker.train_seconds  # the training phases only
    samples_per_s = tracker.samples / train_seconds if train_seconds > 0 else 0.0

    metrics = None
    if data.eval_texts:
        tracker.report("evaluate")
        metrics = _final_scores(model, tokenizer, data, settings, tmp)

    tracker.report("save")
    if should_cancel is not None and should_cancel():
        raise Cancelled("Training cancelled while saving; no model was saved.")
    artifacts.save_model(tmp, model, tokenizer, settings.max_length)
    config = artifacts.training_config(
        settings,
        resolved,
        data,
        phases=[p.to_dict() for p in phases],
        total_steps=total_steps,
        train_seconds=train_seconds,
        samples_per_s=samples_per_s,
        split=split,
    )
    artifacts.write_records(
        tmp, name=out.name, config=config, data=data, metrics=metrics, log=tracker.log
    )
    result = TrainResult(
        model_dir=out,
        base_model=resolved.display,
        base_model_location=resolved.location,
        labels=data.names,
        train_counts=dict(sorted(data.counts.items())),
        eval_counts=dict(sorted(data.eval_counts.items())),
        metrics=metrics,
        log=tracker.log,
        seconds=time.perf_counter() - started,
        samples_per_s=samples_per_s,
        settings=settings,
        fingerprint=config["data"],
    )
    tracker.report("done", eta=0.0)
    return result


def _final_scores(model, tokenizer, data: TrainingData, settings: TrainSettings, tmp: Path):
    """metrics.json's scores: the trained model predicts the eval set as the pipeline would."""
    from ..evaluation.metrics import evaluate_predictions, metrics_to_json
    from ..models.classifier import Classifier, predict

    model.eval()
    clf = Classifier(model, tokenizer, data.names, settings.max_length, str(tmp))
    preds = predict(clf, data.eval_texts, batch_size=settings.eval_batch_size)
    scores = evaluate_predictions(data.eval_labels, preds.labels, data.names, probs=preds.probs)
    return metrics_to_json(scores)
