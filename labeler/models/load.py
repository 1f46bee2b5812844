"""The one way the app loads a model's config, tokenizer, classifier or sentence encoder.

Every loader takes a `ResolvedModel` (from `labeler.models.resolve`: a folder, the bundled MiniLM
or a hub id already checked to be reachable), loads float32 weights with the library's progress
bars silenced, and turns any failure into one `ModelError` that says what could not be loaded,
from where, why (the library's exception) and what to do instead:

    Cannot load the tokenizer of model 'my/folder' (OSError: ...). Give a model folder or hub id
    that holds its tokenizer files.

Each loader has a default "what to do" fitting most callers; pass `todo=` for a closer one.
torch, transformers and sentence-transformers are imported inside the functions, so importing this
module costs nothing.

API::

    load_config(resolved) -> dict                      # config.json, no weights
    load_tokenizer(resolved) -> tokenizer
    load_sequence_classifier(resolved) -> model        # eval mode; its own head and labels
    load_sequence_classifier(resolved, labels=[...])   # a fresh head for these labels (training)
    load_sentence_encoder(resolved, device=...) -> SentenceTransformer   # eval mode
    loading(what, resolved, todo)                      # the error wrapper, for any other load
    quiet_progress_bars()                              # silence transformers' bars for a block
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import LabelerError, ModelError
from .resolve import ResolvedModel, read_config

if TYPE_CHECKING:
    import torch

__all__ = [
    "load_config",
    "load_sentence_encoder",
    "load_sequence_classifier",
    "load_tokenizer",
    "loading",
    "quiet_progress_bars",
]

TOKENIZER_TODO = "Give a model folder or hub id that holds its tokenizer files too."
CLASSIFIER_TODO = (
    "Give a folder written by `python -m labeler train` or another sequence classifier."
)
ENCODER_TODO = (
    "Give a sentence-transformers model or a plain text encoder (BERT-like); 'bundled' is the "
    "offline all-MiniLM-L6-v2."
)
CONFIG_TODO = "Give a Hugging Face model folder (with config.json) or a hub id."


@contextlib.contextmanager
def quiet_progress_bars() -> Iterator[None]:
    """Silence transformers' "Loading weights" bar for a block, leaving the switch as found."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


@contextlib.contextmanager
def loading(what: str, resolved: ResolvedModel, todo: str) -> Iterator[None]:
    """The one error wrapper: any failure inside becomes a ModelError naming `what` (e.g. "the
    tokenizer"), the model as the user gave it, the library's reason, and `todo`."""
    try:
        with quiet_progress_bars():
            yield
    except LabelerError:
        raise
    except Exception as exc:  # the libraries raise OSError, ValueError, KeyError, TypeError...
        raise ModelError(
            f"Cannot load {what} of model '{resolved.spec}' ({type(exc).__name__}: {exc}). {todo}"
        ) from exc


def load_config(resolved: ResolvedModel, *, todo: str = CONFIG_TODO) -> dict[str, Any]:
    """The model's config as a dict, without loading weights."""
    with loading("the configuration", resolved, todo):
        return read_config(resolved)


def load_tokenizer(resolved: ResolvedModel, *, todo: str = TOKENIZER_TODO) -> Any:
    """The model's tokenizer (fast where one exists)."""
    from transformers import AutoTokenizer

    with loading("the tokenizer", resolved, todo):
        return AutoTokenizer.from_pretrained(
            resolved.location, local_files_only=resolved.local_files_only
        )


def load_sequence_classifier(
    resolved: ResolvedModel,
    *,
    labels: Sequence[str] | None = None,
    todo: str = CLASSIFIER_TODO,
) -> Any:
    """A sequence-classification model in float32, in eval mode.

    labels=None keeps the model's own head and labels (a trained classifier, an NLI model).
    Given labels, the head is made for them (num_labels, id2label, label2id); a base that already
    is a classifier with other labels gets a fresh head of the right size (training).
    """
    import torch
    from transformers import AutoModelForSequenceClassification

    kwargs: dict[str, Any] = {}
    if labels is not None:
        id2label = dict(enumerate(labels))
        kwargs = {
            "num_labels": len(id2label),
            "id2label": id2label,
            "label2id": {v: k for k, v in id2label.items()},
            "ignore_mismatched_sizes": True,
        }
    with loading("a text classifier", resolved, todo):
        model = AutoModelForSequenceClassification.from_pretrained(
            resolved.location,
            local_files_only=resolved.local_files_only,
            dtype=torch.float32,
            **kwargs,
        )
    return model.eval()


def load_sentence_encoder(
    resolved: ResolvedModel,
    *,
    device: str | torch.device | None = None,
    todo: str = ENCODER_TODO,
) -> Any:
    """A `sentence_transformers.SentenceTransformer` in float32, in eval mode, on `device`.

    A sentence-transformers folder (modules.json) brings its own pooling and normalisation; a
    plain encoder gets sentence-transformers' default, mean pooling (not normalised).
    """
    import torch

    with loading("a sentence encoder", resolved, todo):
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(
            resolved.location,
            device=None if device is None else str(device),
            local_files_only=resolved.local_files_only,
            model_kwargs={"dtype": torch.float32},
        )
    return model.eval()
