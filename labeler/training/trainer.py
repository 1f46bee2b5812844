"""The transformers Trainer, run once per phase: arguments, class-weighted loss, callbacks.

A run has one or two phases over the same model: an optional "head" phase (encoder frozen, a
high constant rate, no warmup) and then "fine-tune" (everything, linear decay after warmup).
Every phase trains with batches grouped by length (`train_sampling_strategy="group_by_length"`)
and padded per batch by `DataCollatorWithPadding`, both seeded by the run's seed, and saves
nothing itself (artifacts.py writes the final folder). The loss is cross-entropy, weighted by
class when the settings ask (`Trainer(compute_loss_func=...)`). A callback feeds the
`RunTracker` each step and log and stops the Trainer when cancel is asked; `run_phases` then
raises Cancelled. Per-epoch scores on the evaluation set come from labeler.evaluation.metrics.
"""

from __future__ import annotations

import math
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import (
    DataCollatorWithPadding,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from ..errors import Cancelled
from ..evaluation.metrics import evaluate_predictions
from .base_model import head_parameter_names
from .progress import RunTracker
from .settings import TrainSettings

LOG_POINTS_PER_PHASE = 25  # points on each phase's loss curve


@dataclass(frozen=True)
class Phase:
    """One Trainer run over the model: which parameters learn, for how long, how fast."""

    name: str  # "head" (encoder frozen) or "fine-tune" (everything)
    epochs: int
    learning_rate: float
    warmup: float  # fraction of the phase's steps (a float below 1 is a ratio in transformers 5)
    scheduler: str

    def to_dict(self) -> dict[str, Any]:
        """As training_config.json records it."""
        return {
            "phase": self.name,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "warmup": self.warmup,
            "scheduler": self.scheduler,
        }


def plan_phases(settings: TrainSettings) -> list[Phase]:
    phases = []
    if settings.head_epochs:
        # The head on a frozen encoder: no warmup needed, a constant rate converges it fastest.
        phases.append(
            Phase("head", settings.head_epochs, settings.head_learning_rate, 0.0, "constant")
        )
    phases.append(
        Phase("fine-tune", settings.epochs, settings.learning_rate, settings.warmup, "linear")
    )
    return phases


def steps_per_epoch(n_train: int, settings: TrainSettings) -> int:
    return math.ceil(n_train / settings.batch_size)


def class_weights(counts: Counter, names: list[str]) -> torch.Tensor:
    """Balanced class weights, n / (k * count), in label id order: each class weighs the same
    in the loss in all, however rare."""
    freq = np.array([counts[lab] for lab in names], dtype=np.float64)
    return torch.tensor(sum(counts.values()) / (len(names) * freq), dtype=torch.float32)


def weighted_cross_entropy(
    weight: torch.Tensor | None, on_train_loss: Callable[[float], None] | None = None
) -> Callable[..., torch.Tensor]:
    """A `compute_loss_func`: the batch's mean cross-entropy, class-weighted when weight is given.

    The Trainer hands it (outputs, labels, num_items_in_batch). The mean is over this batch
    (weighted: sum of w_y * loss over sum of w_y, torch's definition): no gradient accumulation
    is used, so num_items_in_batch has nothing to add. Losses computed with gradients on (the
    training steps, not evaluation) are passed to on_train_loss.
    """

    def loss_func(outputs: Any, labels: torch.Tensor, num_items_in_batch: Any = None):
        logits = outputs.logits
        w = None if weight is None else weight.to(logits.device)
        loss = torch.nn.functional.cross_entropy(logits.float(), labels, weight=w)
        if on_train_loss is not None and torch.is_grad_enabled():
            on_train_loss(float(loss.detach()))
        return loss

    return loss_func


def epoch_metrics(names: list[str]) -> Callable[[Any], dict[str, float]]:
    """A `compute_metrics` for the per-epoch log: accuracy and macro-F1 over all `names`."""

    def compute(pred: Any) -> dict[str, float]:
        y_hat = np.asarray(pred.predictions).argmax(-1)
        y = np.asarray(pred.label_ids)
        m = evaluate_predictions([names[i] for i in y], [names[i] for i in y_hat], names)
        return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}

    return compute


def training_arguments(
    phase: Phase, settings: TrainSettings, steps_per_epoch: int, scratch: Path, evaluate: bool
) -> TrainingArguments:
    logging_steps = max(1, (steps_per_epoch * phase.epochs) // LOG_POINTS_PER_PHASE)
    return TrainingArguments(
        output_dir=str(scratch),
        num_train_epochs=phase.epochs,
        learning_rate=phase.learning_rate,
        lr_scheduler_type=phase.scheduler,
        warmup_steps=phase.warmup,  # a float below 1 is a ratio in transformers 5
        weight_decay=settings.weight_decay,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.eval_batch_size,
        train_sampling_strategy="group_by_length",
        seed=settings.seed,
        data_seed=settings.seed,
        save_strategy="no",  # artifacts.py saves the final model itself
        eval_strategy="epoch" if evaluate else "no",
        logging_strategy="steps",
        logging_steps=logging_steps,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        # The loss is a per-batch mean: nothing to rescale across devices (the Trainer would
        # multiply a compute_loss_func's loss by the GPU count under DataParallel otherwise).
        average_tokens_across_devices=False,
        use_cpu=not torch.cuda.is_available(),
    )


class TailAverage(TrainerCallback):
    """Running mean of the weights at the end of the last `n` epochs of a phase."""

    def __init__(self, model: Any, n: int, epochs: int):
        # n above the epochs: every epoch counts
        self.model, self.first, self.seen, self.mean = model, epochs - n + 1, 0, None

    def on_epoch_end(self, args, state, control, **kwargs):
        if round(state.epoch) < self.first:
            return
        self.seen += 1
        with torch.no_grad():
            now = {k: v.detach().clone().float() for k, v in self.model.state_dict().items()}
            if self.mean is None:
                self.mean = now
            else:
                for k, v in now.items():
                    self.mean[k] += (v - self.mean[k]) / self.seen

    def apply(self) -> None:
        if self.mean is not None and self.seen > 1:
            state = self.model.state_dict()
            self.model.load_state_dict({k: v.to(state[k].dtype) for k, v in self.mean.items()})


class TrackerCallback(TrainerCallback):
    """Feeds the RunTracker each step and log; stops the phase when cancel is asked."""

    def __init__(self, tracker: RunTracker):
        self.tracker = tracker

    def on_step_end(self, args, state, control, **kwargs):
        self.tracker.step_done(state.global_step, state.max_steps, state.epoch)
        if self.tracker.cancel_requested():
            control.should_training_stop = True
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.tracker.logged(state.global_step, state.epoch, logs or {})


def fit_head(model: Any, tokenizer: Any, train_ds: Any, weight_balanced: bool, seed: int) -> None:
    """Linear probing in closed form: the classifier's last linear layer becomes a logistic
    regression fitted on the frozen features that layer reads (LP before FT, Kumar et al. 2022)."""
    from sklearn.linear_model import LogisticRegression

    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    feats: list[np.ndarray] = []
    hook = last.register_forward_hook(
        lambda m, i, o: feats.append(i[0].detach().float().cpu().numpy())
    )
    collate = DataCollatorWithPadding(tokenizer)
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(train_ds), 64):
                rows = train_ds[start : start + 64]  # a dict of columns
                ids, mask = rows["input_ids"], rows["attention_mask"]
                batch = collate([{"input_ids": i, "attention_mask": m} for i, m in zip(ids, mask)])
                model(**batch)
    finally:
        hook.remove()
    x = np.concatenate(feats)
    y = np.asarray(train_ds["labels"])
    lr = LogisticRegression(
        max_iter=3000, class_weight="balanced" if weight_balanced else None, random_state=seed
    ).fit(x, y)
    coef, bias = lr.coef_, lr.intercept_
    if coef.shape[0] == 1:  # two classes: sklearn keeps one logit, the model two
        coef, bias = np.vstack([-coef / 2, coef / 2]), np.concatenate([-bias / 2, bias / 2])
    with torch.no_grad():
        last.weight.copy_(torch.tensor(coef, dtype=last.weight.dtype))
        last.bias.copy_(torch.tensor(bias, dtype=last.bias.dtype))
    model.train()


def run_phases(
    model: Any,
    tokenizer: Any,
    train_ds: Any,
    eval_ds: Any | None,
    *,
    phases: list[Phase],
    settings: TrainSettings,
    names: list[str],
    weight: torch.Tensor | None,
    tracker: RunTracker,
    scratch: Path,
) -> None:
    """Train `model` in place through `phases`; raise Cancelled when the tracker's cancel fires."""
    per_epoch = steps_per_epoch(len(train_ds), settings)
    loss_func = weighted_cross_entropy(weight, tracker.record_loss)
    head = head_parameter_names(model)
    if settings.head_init == "logistic":
        fit_head(model, tokenizer, train_ds, weight is not None, settings.seed)
    step_offset, epoch_offset = 0, 0.0
    for phase in phases:
        for name, param in model.named_parameters():
            param.requires_grad = phase.name != "head" or name in head
        trainer = Trainer(
            model=model,
            args=training_arguments(phase, settings, per_epoch, scratch, eval_ds is not None),
            train_dataset=train_ds,
            eval_dataset=eval_ds,
            data_collator=DataCollatorWithPadding(tokenizer),  # pads per batch, never to max_length
            processing_class=tokenizer,
            compute_loss_func=loss_func,
            compute_metrics=epoch_metrics(names) if eval_ds is not None else None,
            callbacks=[TrackerCallback(tracker)],
        )
        trainer.loss_is_scaled_for_ga = False  # a per-batch mean, as gradient accumulation expects
        trainer.remove_callback(PrinterCallback)  # disable_tqdm=True adds it: it prints dicts
        average = None
        if phase.name == "fine-tune" and settings.average_epochs > 1:
            average = TailAverage(model, settings.average_epochs, phase.epochs)
            trainer.add_callback(average)
        tracker.start_phase(phase.name, step_offset, epoch_offset)
        trainer.train()
        if average is not None and not tracker.cancelled:
            average.apply()
        if tracker.cancelled:
            raise Cancelled(
                f"Training cancelled at step {tracker.global_step} of {tracker.total_steps} "
                f"(epoch {tracker.epoch:.1f}); no model was saved."
            )
        step_offset += per_epoch * phase.epochs
        epoch_offset += phase.epochs
    for param in model.parameters():
        param.requires_grad = True
    shutil.rmtree(scratch, ignore_errors=True)  # whatever the Trainer put there is not the model
