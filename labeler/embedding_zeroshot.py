"""Offline zero-shot by embedding similarity: the fallback when no NLI model is at hand.

Not NLI. The tweet and each hypothesis (the template filled with the label's phrase) are embedded
with the bundled all-MiniLM-L6-v2 (mean of the token vectors over the attention mask, L2
normalised, as sentence-transformers does for this model); a label's score is the softmax over
labels of cosine similarity / TEMPERATURE. Scores sum to 1 per tweet, like single-label NLI scores,
but they measure topical closeness, not whether the tweet entails the hypothesis: "against X" and
"in favor of X" sit close together. Wherever it is used it is called EMBEDDING_DISPLAY_NAME.

TEMPERATURE = 0.05 (i.e. cosines multiplied by 20): MiniLM cosines between a tweet and short
hypotheses mostly fall within ~0.1 of each other, and at 1.0 every score would be ~1/L; 0.05 turns a
0.1 cosine gap into odds of e^2 ~ 7:1, a confidence that sorts tweets usefully without claiming
certainty. (CLIP-style zero-shot uses 0.01; sentence-transformers' losses use 0.05.)

Same interface as the NLI engine: `score()`, `score_one()`, `hypotheses()`, `estimate_seconds()`.
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import ModelError
from .models import BUNDLED, ResolvedModel, resolve_model
from .zeroshot import (
    EMBEDDING_DISPLAY_NAME,
    ZeroShotModel,
    ZeroShotSettings,
    configure_threads,
    quantize_int8,
    select_device,
)

TEMPERATURE = 0.05


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of token vectors over the attention mask, L2-normalised: [batch, dim]."""
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(summed / counts, p=2, dim=1)


class EmbeddingZeroShot(ZeroShotModel):
    """Cosine similarity of sentence embeddings between tweet and hypotheses; not NLI."""

    method = "embedding"

    def __init__(
        self,
        settings: ZeroShotSettings,
        resolved: ResolvedModel,
        model: torch.nn.Module,
        tokenizer,
        device: torch.device,
    ):
        super().__init__(settings, resolved)
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.max_length = int(min(settings.max_length, tokenizer.model_max_length or 512))
        if resolved.source == "bundled":
            self.display_name = EMBEDDING_DISPLAY_NAME
        else:
            self.display_name = f"Embedding similarity ({resolved.display}, not NLI)"
        if settings.quantize:
            self.display_name = self.display_name[:-1] + ", int8)"
        self.temperature = TEMPERATURE
        # Hypotheses are embedded once: a bi-encoder, unlike a cross-encoder, can reuse them.
        self.hypothesis_vectors = self.embed(self.hypotheses())

    def method_tag(self) -> str:
        return f"embedding:mean-pool:t={TEMPERATURE}"

    def _lengths(self, texts: list[str]) -> list[int]:
        enc = self.tokenizer(texts, add_special_tokens=False, return_attention_mask=False)
        return [len(ids) for ids in enc["input_ids"]]

    def embed(self, texts: list[str]) -> torch.Tensor:
        """Normalised sentence vectors [len(texts), dim] on the CPU."""
        enc = self.tokenizer(
            texts, truncation=True, max_length=self.max_length, padding=True, return_tensors="pt"
        )
        enc = {k: v.to(self.device) for k, v in enc.items()}
        with torch.inference_mode():
            hidden = self.model(**enc).last_hidden_state
            return mean_pool(hidden, enc["attention_mask"]).float().cpu()

    def similarities(self, texts: list[str]) -> torch.Tensor:
        """Cosine similarities [len(texts), n_labels]."""
        return self.embed(texts) @ self.hypothesis_vectors.T

    def _score_batch(self, texts: list[str]) -> np.ndarray:
        return (self.similarities(texts) / self.temperature).softmax(dim=-1).numpy()


def load_embedding(settings: ZeroShotSettings) -> EmbeddingZeroShot:
    """Load the sentence encoder (the bundled MiniLM unless `settings.model` names another)."""
    from transformers import AutoModel, AutoTokenizer

    resolved = resolve_model(settings.model or BUNDLED)
    configure_threads()
    device = torch.device("cpu") if settings.quantize else select_device(settings.device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            resolved.location, local_files_only=resolved.local_files_only
        )
        model = AutoModel.from_pretrained(
            resolved.location, local_files_only=resolved.local_files_only, dtype=torch.float32
        )
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(
            f"Cannot load model '{resolved.spec}' as a sentence encoder: {exc}"
        ) from exc
    model.eval()
    if settings.quantize:
        model = quantize_int8(model)
    model.to(device)
    return EmbeddingZeroShot(settings, resolved, model, tokenizer, device)
