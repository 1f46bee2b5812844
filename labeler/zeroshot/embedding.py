"""Offline zero-shot by embedding similarity: the fallback when no NLI model is at hand.

Not NLI. The tweet and each hypothesis (the template filled with the label's phrase) are embedded
by sentence-transformers (the bundled all-MiniLM-L6-v2 unless another encoder is named: its own
pooling, mean pooling for a plain encoder; L2-normalised here in any case); a label's score is the
softmax over labels of cosine similarity / TEMPERATURE. Scores sum to 1 per tweet, like
single-label NLI scores, but they measure topical closeness, not whether the tweet entails the
hypothesis: "against X" and "in favor of X" sit close together. Wherever it is used it is called
EMBEDDING_DISPLAY_NAME.

TEMPERATURE = 0.05 (i.e. cosines multiplied by 20): MiniLM cosines between a tweet and short
hypotheses mostly fall within ~0.1 of each other, and at 1.0 every score would be ~1/L; 0.05 turns a
0.1 cosine gap into odds of e^2 ~ 7:1, a confidence that sorts tweets usefully without claiming
certainty. (CLIP-style zero-shot uses 0.01; sentence-transformers' losses use 0.05.)

Same interface as the NLI engine (the base class). Loading is
`labeler.zeroshot.load.load_embedding`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ..models.inference import CancelFn, run_batches, to_device
from ..models.resolve import ResolvedModel
from .base import CancelMessage, ZeroShotModel, autocast_context
from .settings import EMBEDDING_DISPLAY_NAME, ZeroShotSettings

__all__ = ["TEMPERATURE", "EmbeddingZeroShot"]

TEMPERATURE = 0.05


class EmbeddingZeroShot(ZeroShotModel):
    """Cosine similarity of sentence embeddings between tweet and hypotheses; not NLI.

    `model` is a `sentence_transformers.SentenceTransformer`; `tokenizer` is its tokenizer.
    """

    method = "embedding"

    def __init__(
        self,
        settings: ZeroShotSettings,
        resolved: ResolvedModel,
        model: Any,
        device: torch.device,
    ):
        super().__init__(settings, resolved, model, model.tokenizer, device)
        model.max_seq_length = self.max_length  # sentence-transformers truncates at this
        self.display_name = self.name_for(resolved, settings)
        self.temperature = TEMPERATURE
        # Hypotheses are embedded once: a bi-encoder, unlike a cross-encoder, can reuse them.
        self.hypothesis_vectors = self.embed(self.hypotheses())
        self._hypothesis_vectors_on_device = self.hypothesis_vectors.to(device)

    @staticmethod
    def name_for(resolved: ResolvedModel, settings: ZeroShotSettings) -> str:
        if resolved.source == "bundled":
            name = EMBEDDING_DISPLAY_NAME
        else:
            name = f"Embedding similarity ({resolved.display}, not NLI)"
        if settings.quantize or settings.bf16:
            name = name[:-1] + (", int8)" if settings.quantize else ", bf16)")
        return name

    @classmethod
    def method_tag(cls) -> str:
        # "mean-pool" names the pooling of the bundled model; kept so earlier runs' caches hold.
        return f"embedding:mean-pool:t={TEMPERATURE}"

    def _tokenize(self, texts: list[str]) -> dict[str, Any]:
        return to_device(self.model.preprocess(texts), self.device)

    def _embed_inputs(self, inputs: dict[str, Any]) -> torch.Tensor:
        with autocast_context(self.settings, self.device):
            vectors = self.model(inputs)["sentence_embedding"]
        return torch.nn.functional.normalize(vectors.float(), p=2, dim=1)

    def embed(self, texts: list[str]) -> torch.Tensor:
        """Normalised sentence vectors [len(texts), dim] on the CPU."""
        with torch.inference_mode():
            return self._embed_inputs(self._tokenize(texts)).cpu()

    def similarities(self, texts: list[str]) -> torch.Tensor:
        """Cosine similarities [len(texts), n_labels]."""
        return self.embed(texts) @ self.hypothesis_vectors.T

    def _scores(self, inputs: dict[str, Any]) -> torch.Tensor:
        sims = self._embed_inputs(inputs) @ self._hypothesis_vectors_on_device.T
        return (sims / self.temperature).softmax(dim=-1)

    def _batches(
        self,
        texts: list[str],
        should_cancel: CancelFn | None = None,
        cancel_message: CancelMessage | None = None,
    ) -> Iterator[dict[int, np.ndarray]]:
        batches = run_batches(
            texts,
            self._token_counts(texts),
            encode=self._tokenize,
            forward=self._scores,
            batch_size=self.settings.batch_size,
            should_cancel=should_cancel,
            cancel_message=cancel_message,
        )
        for idx, rows in batches:
            yield dict(zip(idx, rows.numpy(), strict=True))
