"""What decides a zero-shot run: `ZeroShotSettings`, validated on construction.

Labels, phrases and the template are checked by `labeler.settings` (the one place project
settings are validated); this adds what only zero-shot has (method, batch size, max length).
Pure Python, no torch: pages and the CLI build settings before any model loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..errors import SettingsError
from ..settings import (
    DEFAULT_TEMPLATE,
    check_labels,
    check_phrases,
    check_template,
    hypotheses,
    split_list,
)

__all__ = ["EMBEDDING_DISPLAY_NAME", "METHODS", "MIN_MAX_LENGTH", "ZeroShotSettings"]

# Shown wherever the offline method is chosen or reported: it is not NLI and must never look so.
EMBEDDING_DISPLAY_NAME = "Embedding similarity (all-MiniLM-L6-v2, not NLI)"
MIN_MAX_LENGTH = 16
METHODS = ("nli", "embedding")


@dataclass
class ZeroShotSettings:
    """Everything that decides a zero-shot run; validated on construction (SettingsError).

    model: hub id, local folder or "bundled"; "" means the method's default (the bundled MiniLM
        for "embedding"; "nli" has no offline default and needs one).
    labels: the label names, in the order of the score columns.
    phrases: one phrase per label put into the template; None = the labels lowercased.
    template: hypothesis with "{}" for the phrase and optionally "{target}" for `target`.
    multi_label: score each label on its own (NLI only) instead of one distribution over labels.
    batch_size: (tweet, hypothesis) pairs per forward pass (NLI) or tweets per pass (embedding).
    max_length: tokens per pair in all; only the tweet is cut.
    quantize: int8 dynamic quantization of the linear layers (CPU): faster, scores shift slightly.
    bf16: the other opt-in fast path (CPU): matrix products in bfloat16 under autocast. On a CPU
        with native bf16 (AMX, AVX512-BF16) it is the fastest and its labels are almost always
        the fp32 ones; elsewhere it is emulated and slow. Without either flag (fp32) scores equal
        the pipeline's. `bench/zeroshot.py` measures all three.
    method: "nli" (a cross-encoder trained on NLI) or "embedding" (offline, not NLI).
    device: "auto" (CUDA, then MPS, then CPU), or a torch device string.
    """

    model: str = ""
    labels: list[str] = field(default_factory=list)
    phrases: list[str] | None = None
    template: str = DEFAULT_TEMPLATE
    target: str | None = None
    multi_label: bool = False
    batch_size: int = 32
    max_length: int = 128
    quantize: bool = False
    bf16: bool = False
    method: Literal["nli", "embedding"] = "nli"
    device: str = "auto"

    def __post_init__(self) -> None:
        self.model = str(self.model or "").strip()
        if isinstance(self.labels, str):
            self.labels = split_list(self.labels)
        self.labels = check_labels(self.labels)
        if isinstance(self.phrases, str):
            self.phrases = split_list(self.phrases)
        if self.phrases and len(self.phrases) != len(self.labels):
            # check_phrases' rule, worded as the CLI and pages show it: labels and phrases side
            # by side, so a user sees at once which phrase is missing.
            raise SettingsError(
                f"There are {len(self.labels)} labels ({', '.join(self.labels)}) but "
                f"{len(self.phrases)} phrases ({', '.join(map(str, self.phrases))}); give one "
                "phrase per label, in the same order, or none to use the labels themselves."
            )
        self.phrases = check_phrases(self.phrases, self.labels)
        check_template(self.template, self.target)
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise SettingsError(
                f"Batch size must be 1 or more (got {self.batch_size}); 32 is good."
            )
        if not isinstance(self.max_length, int) or self.max_length < MIN_MAX_LENGTH:
            raise SettingsError(
                f"Max length must be at least {MIN_MAX_LENGTH} tokens (got {self.max_length}); "
                "tweets average ~30 word pieces, 128 is a generous default."
            )
        if self.quantize and self.bf16:
            raise SettingsError(
                "Pick one fast mode: int8 quantization or bf16, not both (bf16 is the faster and "
                "the closer to exact scores on a CPU with native bf16)."
            )
        if self.method not in METHODS:
            raise SettingsError(
                f"Unknown zero-shot method {self.method!r}: use 'nli' or 'embedding'."
            )
        if self.method == "embedding" and self.multi_label:
            raise SettingsError(
                "Multi-label scores need an NLI model: the embedding method gives one distribution "
                "over the labels. Pick an NLI model, or turn multi-label off."
            )

    @property
    def filled_template(self) -> str:
        """The template with the target filled in; "{}" left for the phrase."""
        return check_template(self.template, self.target)

    def hypotheses(self) -> list[str]:
        """One hypothesis per label: the template filled with the label's phrase (and target)."""
        return hypotheses(self.template, self.target, self.phrases or [])
