"""Progress of one training run across its phases: step reports, ETA, cancel checks, the log.

The Trainer restarts its step and epoch counters in every phase (head, then fine-tune); a
`RunTracker` turns them into run-wide numbers, so a caller sees one run: step 1..total_steps,
epochs over both phases, samples per second of training proper (model loading not counted), an
ETA that prices a head step at 1/2.5 of a full step, and the mean training loss since the last
report. It also keeps the training log (loss per logging step, eval scores per epoch) written to
training_log.json. Pure Python: `trainer.TrackerCallback` feeds it from the Trainer's events.
"""

from __future__ import annotations

import math
import time
from typing import Any

from .settings import CancelFn, ProgressFn, TrainProgress

HEAD_STEP_SHARE = (
    2.5  # a full step costs about 2.5 head steps (the head skips the encoder's backward)
)


class RunTracker:
    """State shared by the phases of one training run (progress, log, cancel)."""

    def __init__(
        self,
        total_steps: int,
        batch_size: int,
        n_train: int,
        progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
    ):
        self.total_steps, self.batch_size, self.n_train = total_steps, batch_size, n_train
        self.progress, self.should_cancel = progress, should_cancel
        self.log: list[dict[str, Any]] = []
        self.cancelled = False
        self.losses: list[float] = []  # training losses of the steps since the last report
        self.samples = 0
        self.global_step = 0
        self.epoch = 0.0
        self.t0 = time.perf_counter()
        # The current phase and where it starts in the run.
        self.phase = "prepare"
        self.step_offset, self.epoch_offset, self.samples_offset = 0, 0.0, 0
        self.phase_t0, self.phase_steps = self.t0, 0

    # -- what the run asks -----------------------------------------------------------------

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

    @property
    def train_seconds(self) -> float:
        """Seconds since the first phase started (call when training is over)."""
        return time.perf_counter() - self.t0

    # -- what the Trainer tells it ---------------------------------------------------------

    def start_phase(self, phase: str, step_offset: int, epoch_offset: float) -> None:
        self.phase, self.step_offset, self.epoch_offset = phase, step_offset, epoch_offset
        self.samples_offset = round(epoch_offset) * self.n_train
        self.phase_t0, self.phase_steps = time.perf_counter(), 0
        if self.global_step == 0:
            self.t0 = self.phase_t0  # throughput counts training, not loading the model

    def record_loss(self, loss: float) -> None:
        self.losses.append(loss)

    def step_done(self, step: int, max_steps: int, epoch: float | None) -> None:
        """One optimiser step of the current phase ended (Trainer's own, phase-local counters)."""
        self.global_step = self.step_offset + step
        self.epoch = self.epoch_offset + (epoch or 0.0)
        self.phase_steps += 1
        steps_per_epoch = math.ceil(self.n_train / self.batch_size)
        full, rem = divmod(step, steps_per_epoch)
        self.samples = self.samples_offset + full * self.n_train + rem * self.batch_size
        per_step = (time.perf_counter() - self.phase_t0) / self.phase_steps
        left_here = max(0, self.step_offset + max_steps - self.global_step)
        left_later = self.total_steps - (self.step_offset + max_steps)
        later_cost = per_step * (HEAD_STEP_SHARE if self.phase == "head" else 1.0)
        eta = left_here * per_step + left_later * later_cost
        loss = sum(self.losses) / len(self.losses) if self.losses else None
        self.losses.clear()
        self.report(self.phase, eta, loss)

    def logged(self, step: int, epoch: float | None, logs: dict[str, Any]) -> None:
        """The Trainer logged: keep training-loss points and per-epoch eval scores."""
        entry: dict[str, Any] = {
            "phase": self.phase,
            "step": self.step_offset + step,
            "epoch": round(self.epoch_offset + (epoch or 0.0), 4),
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
