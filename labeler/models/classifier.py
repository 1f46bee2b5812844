"""Label texts with a fine-tuned sequence classifier folder, fast and exactly like the pipeline.

`predict` gives the same labels (and, to float precision, the same probabilities) as
`transformers.pipeline("text-classification", model=FOLDER)`, but runs through the one
length-sorted, per-batch-padded loop (`labeler.models.inference.run_batches`).

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

from ..errors import SettingsError
from .load import load_sequence_classifier, load_tokenizer
from .resolve import local_model

__all__ = ["MAX_POSITIONS", "Classifier", "Predictions", "load_classifier", "predict"]

ProgressFn = Callable[[int, int], None]  # (texts done, texts in all)
CancelFn = Callable[[], bool]

# Beyond this the position embeddings of BERT-like encoders run out.
MAX_POSITIONS = 512
TRAINED_FOLDER_HINT = (
    "Give the folder that training wrote (it holds config.json, model.safetensors and the "
    "tokenizer)."
)


@dataclass
class Predictions:
    """Predicted labels with the full probability matrix; columns follow `label_names`."""

    labels: list[str]
    probs: np.ndarray  # shape [n, len(label_names)], each row sums to 1
    label_names: list[str]

    @property
    def confidence(self) -> np.ndarray:
        """The top probability of each text (the confidence of its predicted label)."""
        if len(self.probs) == 0:
            return np.zeros(0)
        return self.probs.max(axis=1)

    def to_frame(self, prefix: str = "pred_") -> Any:
        """A DataFrame: pred_label, pred_score (top probability), pred_score_<label> per label."""
        import pandas as pd

        frame = pd.DataFrame({f"{prefix}label": self.labels, f"{prefix}score": self.confidence})
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
    resolved = local_model(model_dir, missing=TRAINED_FOLDER_HINT, hint=TRAINED_FOLDER_HINT)
    tokenizer = load_tokenizer(
        resolved, todo="Save the tokenizer beside the model (training does this)."
    )
    model = load_sequence_classifier(resolved)
    id2label = model.config.id2label or {}
    label_names = [str(id2label.get(i, f"LABEL_{i}")) for i in range(model.config.num_labels)]
    folder = Path(resolved.location)
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
    from .inference import run_batches, to_device

    if batch_size < 1:
        raise SettingsError(f"Batch size must be at least 1 (got {batch_size}).")
    clf = model if isinstance(model, Classifier) else load_classifier(model)
    texts = ["" if t is None or (isinstance(t, float) and math.isnan(t)) else str(t) for t in texts]
    n = len(texts)
    label_names = clf.label_names
    probs = np.zeros((n, len(label_names)), dtype=np.float32)
    if n == 0:
        return Predictions([], probs, label_names)
    limit = min(max_length or clf.max_length, MAX_POSITIONS)
    enc = clf.tokenizer(texts, truncation=True, max_length=limit)
    keys = list(enc.keys())
    feats = [{k: enc[k][i] for k in keys} for i in range(n)]
    clf.model.eval()
    config = clf.model.config
    device = next(clf.model.parameters()).device
    batches = run_batches(
        feats,
        [len(ids) for ids in enc["input_ids"]],
        encode=lambda batch: to_device(clf.tokenizer.pad(batch, return_tensors="pt"), device),
        forward=lambda inputs: _probabilities(clf.model(**inputs).logits.float(), config),
        batch_size=batch_size,
        progress=None if progress is None else (lambda done, total, *_: progress(done, total)),
        should_cancel=should_cancel,
        cancel_message=lambda done, total: (
            f"Prediction cancelled after {done} of {total} texts; nothing was kept."
        ),
    )
    for idx, rows in batches:
        probs[idx] = rows.numpy()
    if config.problem_type != "multi_label_classification" and len(label_names) > 1:
        # Renormalise in float64 so each row sums to 1 to the last digit a CSV keeps.
        probs64 = probs.astype(np.float64)
        probs = probs64 / probs64.sum(axis=1, keepdims=True)
    top = probs.argmax(axis=1)
    return Predictions([label_names[j] for j in top], probs, label_names)
