"""Label texts with a fine-tuned sequence classifier folder, fast and exactly like the pipeline.

`predict` gives the same labels (and, to float precision, the same probabilities) as
`transformers.pipeline("text-classification", model=FOLDER)`, but runs length-sorted batches with
dynamic padding under `torch.inference_mode`: tweets are short and uneven, so padding each batch
only to its own longest text saves most of the work a fixed length would waste.

torch and transformers are imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import Cancelled, InputError, ModelError, SettingsError

ProgressFn = Callable[[int, int], None]  # (texts done, texts in all)
CancelFn = Callable[[], bool]

# Beyond this the position embeddings of BERT-like encoders run out.
MAX_POSITIONS = 512


@dataclass
class Predictions:
    """Predicted labels with the full probability matrix; columns follow `label_names`."""

    labels: list[str]
    probs: np.ndarray  # shape [n, len(label_names)], each row sums to 1
    label_names: list[str]

    @property
    def scores(self) -> np.ndarray:
        """The top probability of each text (the confidence of its predicted label)."""
        if len(self.probs) == 0:
            return np.zeros(0)
        return self.probs.max(axis=1)

    def to_frame(self, prefix: str = "pred_") -> Any:
        """A DataFrame: pred_label, pred_score (top probability), pred_score_<label> per label."""
        import pandas as pd

        frame = pd.DataFrame({f"{prefix}label": self.labels, f"{prefix}score": self.scores})
        for j, name in enumerate(self.label_names):
            frame[f"{prefix}score_{name}"] = self.probs[:, j] if len(self.probs) else []
        return frame


@dataclass
class Classifier:
    """A loaded classifier folder: model in eval mode, its tokenizer, label names, text length."""

    model: Any
    tokenizer: Any
    label_names: list[str]
    max_length: int
    location: str


def _quiet_progress_bars():
    """Silence transformers' 'Loading weights' bar for one load, leaving the global switch as found."""
    import contextlib

    from transformers.utils import logging as hf_logging

    @contextlib.contextmanager
    def ctx():
        was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            yield
        finally:
            if was_on:
                hf_logging.enable_progress_bar()

    return ctx()


def _training_max_length(folder: Path) -> int | None:
    """The max_length the model was trained with (training_config.json), if it says."""
    cfg = folder / "training_config.json"
    if not cfg.is_file():
        return None
    try:
        value = json.loads(cfg.read_text(encoding="utf-8")).get("settings", {}).get("max_length")
    except (OSError, ValueError):
        return None
    return int(value) if isinstance(value, int) and value > 0 else None


def load_classifier(model_dir: str | Path) -> Classifier:
    """Load a sequence-classification folder (as `train_classifier` writes) for `predict`."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(model_dir).expanduser()
    if not folder.is_dir():
        raise ModelError(
            f"Model folder '{model_dir}' does not exist. Give the folder that training wrote "
            "(it holds config.json, model.safetensors and the tokenizer)."
        )
    if not (folder / "config.json").is_file():
        raise ModelError(
            f"Folder '{model_dir}' has no config.json, so it is not a model folder. Give the folder "
            "that training wrote (it holds config.json, model.safetensors and the tokenizer)."
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:  # the library raises OSError, ValueError, TypeError...
        raise ModelError(
            f"No usable tokenizer in '{model_dir}' ({type(exc).__name__}: {exc}). Save the "
            "tokenizer beside the model (training does this)."
        ) from exc
    try:
        with _quiet_progress_bars():
            model = AutoModelForSequenceClassification.from_pretrained(
                str(folder), local_files_only=True, dtype=torch.float32
            )
    except Exception as exc:
        raise ModelError(
            f"'{model_dir}' cannot be loaded as a text classifier ({type(exc).__name__}: {exc}). "
            "Give a folder written by `python -m labeler train` or another sequence classifier."
        ) from exc
    model.eval()
    id2label = model.config.id2label or {}
    label_names = [str(id2label.get(i, f"LABEL_{i}")) for i in range(model.config.num_labels)]
    limit = _training_max_length(folder) or getattr(tokenizer, "model_max_length", MAX_POSITIONS)
    max_length = int(min(limit, MAX_POSITIONS)) if limit else MAX_POSITIONS
    return Classifier(model, tokenizer, label_names, max_length, str(folder))


def _probabilities(logits, config) -> Any:
    """Logits to probabilities the way the text-classification pipeline does by default."""
    import torch

    if config.problem_type == "multi_label_classification" or config.num_labels == 1:
        return torch.sigmoid(logits)
    return torch.softmax(logits, dim=-1)


def predict(
    model: str | Path | Classifier,
    texts: Sequence[str],
    batch_size: int = 64,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    max_length: int | None = None,
) -> Predictions:
    """Label `texts` with a classifier folder (or a loaded `Classifier`); order is kept.

    Texts are sorted by token length and padded per batch; `progress(done, total)` is called after
    each batch and `should_cancel()` before it (raising `Cancelled`). `max_length` defaults to the
    length the model was trained with (texts longer than that are truncated, as in training).
    """
    import torch

    if batch_size < 1:
        raise SettingsError(f"Batch size must be at least 1 (got {batch_size}).")
    clf = model if isinstance(model, Classifier) else load_classifier(model)
    texts = ["" if t is None or (isinstance(t, float) and math.isnan(t)) else str(t) for t in texts]
    n = len(texts)
    label_names = clf.label_names
    if n == 0:
        return Predictions([], np.zeros((0, len(label_names)), dtype=np.float32), label_names)
    limit = min(max_length or clf.max_length, MAX_POSITIONS)
    enc = clf.tokenizer(texts, truncation=True, max_length=limit)
    keys = list(enc.keys())
    # Longest first: the first batch shows at once whether memory suffices, and similar lengths
    # batched together pad almost nothing.
    order = sorted(range(n), key=lambda i: len(enc["input_ids"][i]), reverse=True)
    probs = np.zeros((n, len(label_names)), dtype=np.float32)
    clf.model.eval()
    device = next(clf.model.parameters()).device
    done = 0
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            if should_cancel is not None and should_cancel():
                raise Cancelled(
                    f"Prediction cancelled after {done} of {n} texts; nothing was kept."
                )
            idx = order[start : start + batch_size]
            feats = [{k: enc[k][i] for k in keys} for i in idx]
            batch = clf.tokenizer.pad(feats, return_tensors="pt")
            batch = {k: v.to(device) for k, v in batch.items()}
            logits = clf.model(**batch).logits.float()
            probs[idx] = _probabilities(logits, clf.model.config).cpu().numpy()
            done += len(idx)
            if progress is not None:
                progress(done, n)
    if clf.model.config.problem_type != "multi_label_classification" and len(label_names) > 1:
        # Renormalise in float64 so each row sums to 1 to the last digit a CSV keeps.
        probs64 = probs.astype(np.float64)
        probs = probs64 / probs64.sum(axis=1, keepdims=True)
    top = probs.argmax(axis=1)
    return Predictions([label_names[j] for j in top], probs, label_names)


def check_text_column(columns: Sequence[str], column: str, what: str = "text") -> None:
    """Raise InputError naming the columns there are when `column` is missing."""
    if column not in columns:
        shown = ", ".join(repr(c) for c in list(columns)[:20])
        raise InputError(
            f"The {what} column '{column}' is not in the file; its columns are: {shown}. "
            f"Pass the right name with --{what}-col."
        )
