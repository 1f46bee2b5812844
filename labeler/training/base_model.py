"""The base model a run starts from: which one, its tokenizer, and its weights with a fresh head.

`resolve_base` turns the settings' model spec into a location and checks from config.json alone,
before any weights load, that AutoModelForSequenceClassification can train it. `load_model`
loads it with the run's labels; a base that is already a classifier with other labels gets a
new head. `head_parameter_names` says which parameters the optional head-first phase trains.
Loading and its errors are labeler.models.load's; this module adds what training needs.
"""

from __future__ import annotations

from typing import Any

from ..errors import ModelError
from ..models import load
from ..models.resolve import ResolvedModel, default_train_model, resolve_model
from .settings import TrainSettings

ENCODER_TODO = "Give a Hugging Face model folder or hub id of a text encoder."


def resolve_base(settings: TrainSettings) -> ResolvedModel:
    """The model to train from (the default base when settings.model is None), checked to be a
    kind AutoModelForSequenceClassification can train."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES as SEQ_CLS,
    )

    resolved = resolve_model(settings.model) if settings.model else default_train_model()
    model_type = load.load_config(resolved, todo=ENCODER_TODO).get("model_type")
    if model_type not in SEQ_CLS:
        raise ModelError(
            f"Model '{resolved.spec}' (model_type {model_type!r}) is not a text encoder that "
            "AutoModelForSequenceClassification can train. Pick an encoder such as "
            "'distilbert-base-uncased', 'bert-base-uncased' or 'bundled' (all-MiniLM-L6-v2)."
        )
    return resolved


def load_tokenizer(resolved: ResolvedModel) -> Any:
    return load.load_tokenizer(
        resolved, todo="Give a model folder that holds its tokenizer files too."
    )


def load_model(resolved: ResolvedModel, labels: list[str]) -> Any:
    """The base as a float32 sequence classifier over `labels` (in id order), with a new head.

    Seed first (transformers.set_seed): the new head's initial weights come from the RNG.
    """
    model = load.load_sequence_classifier(resolved, labels=labels, todo=ENCODER_TODO)
    # Set here because our weighted loss bypasses the model's own, which would otherwise set it;
    # the pipeline reads it to apply softmax.
    model.config.problem_type = "single_label_classification"
    return model


def head_parameter_names(model: Any) -> set[str]:
    """Parameters trained in the head phase: all outside the encoder, plus its pooler (BERT's
    classifier reads the pooled [CLS] vector, so the pooler is part of the head in effect)."""
    prefix = getattr(model, "base_model_prefix", "") + "."
    return {
        name
        for name, _ in model.named_parameters()
        if not name.startswith(prefix) or ".pooler." in name
    }
