"""Zero-shot by NLI: a cross-encoder scored exactly like transformers' pipeline, only faster.

Each tweet is the premise and each label phrase, put into a template ("The author of this tweet is
{} Joe Biden."), a hypothesis. The scores equal those of
`pipeline("zero-shot-classification")` on the same model, template and truncation length
(`tests/test_zeroshot.py` proves it to 1e-4):

- entailment id = the first `label2id` key whose lowercase starts with "entail"; contradiction id
  = 0, or -1 when entailment is 0;
- single-label: softmax of the entailment logits across labels;
- multi-label (or a single label): per label, softmax over [contradiction, entailment] logits;
- only the premise is truncated ("only_first"), to `max_length` tokens in all.

What makes it faster than one pipeline call per tweet: the (tweet, hypothesis) pairs of all tweets
go through the one length-sorted loop (`labeler.models.inference.run_batches`) `batch_size` pairs
at a time, padded per batch (so almost no padding); identical texts are scored once (the base
class); `torch.inference_mode`; all cores; a GPU when there is one. Two opt-in fast paths, CPU
only, whose scores shift slightly (see `bench/zeroshot.py`): `bf16=True`, bf16 autocast, the
faster and the more faithful on a CPU with native bf16 (AMX): 99.7% of labels as fp32 on a tuned
MiniLM NLI model; `quantize=True`, int8 dynamic quantization, ~93% there (its per-tensor activation
scales are too coarse for MiniLM's activations, whichever layers are left in fp32).

Measured and not kept (bench/zeroshot.py's model, 2 cores): tokenizing all pairs in one call up
front instead of per batch (tokenizing is ~3% of the run; no gain beyond the noise);
`torch.jit.trace` + `freeze` (3 s to trace, no faster) and oneDNN prepacked linear layers (no
faster): ~80% of the time is in the linear layers' fp32 GEMMs, which MKL already runs well.
Loading is `labeler.zeroshot.load.load_nli`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from ..errors import SettingsError
from ..models.inference import CancelFn, run_batches
from ..models.resolve import ResolvedModel
from .base import CancelMessage, ZeroShotModel, autocast_context
from .settings import EMBEDDING_DISPLAY_NAME, ZeroShotSettings

__all__ = ["NLIZeroShot", "entailment_ids", "not_nli_message"]


def entailment_ids(label2id: dict[str, int]) -> tuple[int, int]:
    """(entailment id, contradiction id) as the pipeline finds them; -1 entailment = not NLI."""
    for label, ind in label2id.items():
        if label.lower().startswith("entail"):
            return int(ind), (-1 if int(ind) == 0 else 0)
    return -1, 0


def not_nli_message(resolved: ResolvedModel, labels: Sequence[str]) -> str:
    shown = ", ".join(labels) or "none"
    return (
        f"Model '{resolved.spec}' is not an NLI model (its labels are {shown}; none starts with "
        f"'entail'). Pick an NLI model, or use the offline method '{EMBEDDING_DISPLAY_NAME}'."
    )


def _forward_params(model: torch.nn.Module) -> set[str]:
    try:
        return set(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        return set()


class NLIZeroShot(ZeroShotModel):
    """A sequence-classification model with an entailment label, scored as the pipeline does."""

    method = "nli"
    # Only the premise (the tweet) is cut, as in the pipeline: cutting the hypothesis would score
    # a different question. Tests swap this for a wrong value to show they notice.
    truncation = "only_first"

    def __init__(
        self,
        settings: ZeroShotSettings,
        resolved: ResolvedModel,
        model: torch.nn.Module,
        tokenizer,
        device: torch.device,
    ):
        super().__init__(settings, resolved, model, tokenizer, device)
        self.entailment_id, self.contradiction_id = entailment_ids(model.config.label2id)
        self.display_name = self.name_for(resolved, settings)
        self.input_names = list(tokenizer.model_input_names)
        self._use_cache = "use_cache" in _forward_params(model)
        self._check_hypotheses_fit()

    @staticmethod
    def name_for(resolved: ResolvedModel, settings: ZeroShotSettings) -> str:
        fast = ", int8" if settings.quantize else ", bf16" if settings.bf16 else ""
        return f"{resolved.display} (NLI{fast})"

    def _check_hypotheses_fit(self) -> None:
        # The pipeline silently stops truncating when a hypothesis alone overflows; refuse instead.
        specials = self.tokenizer.num_special_tokens_to_add(pair=True)
        for hyp in self.hypotheses():
            n = len(self.tokenizer(hyp, add_special_tokens=False)["input_ids"]) + specials
            if n >= self.max_length:
                raise SettingsError(
                    f"Hypothesis {hyp!r} takes {n} tokens with special tokens, which leaves no room "
                    f"for the tweet within max length {self.max_length}: raise max length or "
                    "shorten the template or phrase."
                )

    def _encode(self, premises: list[str], hypotheses: list[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(
            premises,
            hypotheses,
            truncation=self.truncation,
            max_length=self.max_length,
            padding=True,  # to the longest pair of this batch only
            return_tensors="pt",
        )
        # Exactly the inputs the pipeline feeds (a tokenizer may return extras the model lacks).
        return {k: enc[k].to(self.device) for k in self.input_names if k in enc}

    def _forward(self, premises: list[str], hypotheses: list[str]) -> torch.Tensor:
        """Logits [n_pairs, n_classes] of (premise, hypothesis) pairs, on the CPU."""
        inputs = self._encode(premises, hypotheses)
        if self._use_cache:  # as the pipeline: classification needs no key/value cache
            inputs["use_cache"] = False
        with torch.inference_mode(), autocast_context(self.settings, self.device):
            return self.model(**inputs).logits.float().cpu()

    def logits(self, texts: list[str]) -> torch.Tensor:
        """Raw logits [len(texts), n_labels, n_classes] of every (text, hypothesis) pair."""
        hyps = self.hypotheses()
        premises = [t for t in texts for _ in hyps]
        return self._forward(premises, hyps * len(texts)).reshape(len(texts), len(hyps), -1)

    def _batches(
        self,
        texts: list[str],
        should_cancel: CancelFn | None = None,
        cancel_message: CancelMessage | None = None,
    ) -> Iterator[dict[int, np.ndarray]]:
        # Batches are made of pairs, not tweets: all (tweet, hypothesis) pairs are sorted by their
        # token count so each padded batch wastes almost nothing (~2% instead of ~14% when a
        # tweet's pairs, whose hypotheses differ in length, are padded together). A tweet is
        # finished, scored and yielded once its last pair has gone through.
        hyps = self.hypotheses()
        n_labels = len(hyps)
        hyp_lens = self._token_counts(hyps)
        room = self.max_length - self.tokenizer.num_special_tokens_to_add(pair=True)
        prem_lens = self._token_counts(texts)
        pairs = [(i, j) for i in range(len(texts)) for j in range(n_labels)]
        batches = run_batches(
            pairs,
            [min(prem_lens[i] + hyp_lens[j], room) for i, j in pairs],
            # the pairs' texts; `_forward` tokenizes them (tests hook it to count pairs)
            encode=lambda chunk: ([texts[i] for i, _ in chunk], [hyps[j] for _, j in chunk]),
            forward=lambda pair_texts: self._forward(*pair_texts),
            batch_size=self.settings.batch_size,
            should_cancel=should_cancel,
            cancel_message=cancel_message,
        )
        pending: dict[int, dict[int, torch.Tensor]] = {}
        for idx, logits in batches:
            finished: dict[int, np.ndarray] = {}
            for (i, j), row in zip((pairs[k] for k in idx), logits, strict=True):
                rows = pending.setdefault(i, {})
                rows[j] = row
                if len(rows) == n_labels:
                    stacked = torch.stack([rows[k] for k in range(n_labels)])[None]
                    finished[i] = self.scores_from_logits(stacked)[0].numpy()
                    del pending[i]
            yield finished

    def scores_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """The pipeline's postprocess on logits [n, L, C] -> scores [n, L]."""
        if self.settings.multi_label or logits.shape[1] == 1:
            pair = logits[..., [self.contradiction_id, self.entailment_id]]
            return pair.softmax(dim=-1)[..., 1]
        return logits[..., self.entailment_id].softmax(dim=-1)
