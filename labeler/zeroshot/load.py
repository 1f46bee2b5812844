"""Load a zero-shot engine from its settings, and say how long scoring will take.

API (used by the pages, the job runner and `python -m labeler prelabel`)::

    settings = ZeroShotSettings(model="path/or/hub-id", labels=["AGAINST", "FAVOR", "NONE"],
                                phrases=["against", "in favor of", "neutral towards"],
                                template="The author of this tweet is {} {target}.",
                                target="Joe Biden")
    zs = load_zeroshot(settings)            # loads once; the UI caches it
    estimate_scoring_seconds(texts, zs)     # or zs.estimate_seconds(texts)

An NLI model is checked from its config before any weights load (a plain encoder is refused with a
message naming the offline method); a hub id that is neither cached nor reachable fails at once
(`labeler.models.resolve`); every load error is one ModelError (`labeler.models.load`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ModelError, SettingsError
from ..models.load import (
    load_config,
    load_sentence_encoder,
    load_sequence_classifier,
    load_tokenizer,
)
from ..models.resolve import BUNDLED, ResolvedModel, resolve_model
from .base import ZeroShotModel, engine_device, prepare_model
from .cache import ScoreCache, model_identity, run_key
from .embedding import EmbeddingZeroShot
from .nli import NLIZeroShot, entailment_ids, not_nli_message
from .settings import EMBEDDING_DISPLAY_NAME, ZeroShotSettings

__all__ = [
    "describe_zeroshot",
    "estimate_scoring_seconds",
    "load_embedding",
    "load_nli",
    "load_zeroshot",
]


def _config_label2id(resolved: ResolvedModel) -> dict[str, int]:
    cfg = load_config(resolved)
    label2id = cfg.get("label2id")
    if not label2id:
        id2label = cfg.get("id2label") or {}
        label2id = {v: int(k) for k, v in id2label.items()}
    if not label2id:  # transformers' default for a config without labels
        label2id = {"LABEL_0": 0, "LABEL_1": 1}
    return {str(k): int(v) for k, v in label2id.items()}


def _resolve_nli(settings: ZeroShotSettings) -> ResolvedModel:
    """Resolve and check an NLI model from its config alone (a plain encoder is refused)."""
    if not settings.model:
        raise SettingsError(
            "No NLI model given: name one (a hub id such as 'facebook/bart-large-mnli' or a local "
            f"folder), or use the offline method '{EMBEDDING_DISPLAY_NAME}'."
        )
    resolved = resolve_model(settings.model, default=BUNDLED)
    label2id = _config_label2id(resolved)
    if entailment_ids(label2id)[0] == -1:
        raise ModelError(not_nli_message(resolved, list(label2id)))
    return resolved


def describe_zeroshot(settings: ZeroShotSettings) -> tuple[str, str]:
    """(display name, run key) of the scorer `load_zeroshot(settings)` would load, from the
    settings and the model's config alone: a job that scores elsewhere (on Ray) names its run and
    finds its cached scores without loading the weights where it runs."""
    if settings.method == "embedding":
        resolved, engine = resolve_model(settings.model or BUNDLED), EmbeddingZeroShot
    else:
        resolved, engine = _resolve_nli(settings), NLIZeroShot
    key = run_key(settings, model_identity(resolved), engine.method_tag())
    return engine.name_for(resolved, settings), key


def load_nli(settings: ZeroShotSettings) -> NLIZeroShot:
    """Resolve, check and load an NLI model; refuses plain encoders before loading any weights."""
    resolved = _resolve_nli(settings)
    device = engine_device(settings)
    tokenizer = load_tokenizer(resolved)
    model = load_sequence_classifier(
        resolved, todo=f"Pick an NLI model, or use the offline method '{EMBEDDING_DISPLAY_NAME}'."
    )
    if tokenizer.pad_token is None:  # as the pipeline does for tokenizers without padding
        tokenizer.pad_token = tokenizer.eos_token
    model = prepare_model(model, settings, device)
    return NLIZeroShot(settings, resolved, model, tokenizer, device)


def load_embedding(settings: ZeroShotSettings) -> EmbeddingZeroShot:
    """Load the sentence encoder (the bundled MiniLM unless `settings.model` names another)."""
    resolved = resolve_model(settings.model or BUNDLED)
    device = engine_device(settings)
    model = load_sentence_encoder(resolved, device="cpu")
    model = prepare_model(model, settings, device)
    return EmbeddingZeroShot(settings, resolved, model, device)


def load_zeroshot(settings: ZeroShotSettings) -> ZeroShotModel:
    """Load the scorer `settings.method` names ("nli" or "embedding"); raises LabelerError."""
    if settings.method == "embedding":
        return load_embedding(settings)
    return load_nli(settings)


def estimate_scoring_seconds(
    texts: Sequence[str],
    settings: ZeroShotSettings | ZeroShotModel,
    sample: int = 32,
    cache: ScoreCache | None = None,
) -> float:
    """Seconds to score `texts` (for "this will take ~N min"): loads the model unless given one."""
    model = settings if isinstance(settings, ZeroShotModel) else load_zeroshot(settings)
    return model.estimate_seconds(texts, sample=sample, cache=cache)
