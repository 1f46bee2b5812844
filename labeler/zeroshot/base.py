"""What every zero-shot engine shares: the result, the run loop, device, threads and run key.

A `ZeroShotModel` is a loaded scorer. Subclasses (`nli.NLIZeroShot`, `embedding.EmbeddingZeroShot`)
only say how a list of texts becomes scores, batch by batch (`_batches`, through the one loop
`labeler.models.inference.run_batches`); this class scores each distinct text once, skips texts
the cache already has, writes the cache after every batch, reports progress and cancels:

    res = engine.score(texts, progress=..., should_cancel=..., cache=...)
    res.labels, res.scores, res.label_names # predicted labels, [n, L] array, label order
    engine.score_one("tweet")               # {label: score}
    engine.estimate_seconds(texts)          # from timing a sample
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..errors import JobError, SettingsError
from ..models.inference import CancelFn, Progress
from ..models.resolve import ResolvedModel
from ..text import text_key
from .cache import ScoreCache, model_identity, run_key
from .settings import ZeroShotSettings

if TYPE_CHECKING:  # pandas only for ZeroShotResult.to_frame
    import pandas as pd

__all__ = [
    "ZeroShotModel",
    "ZeroShotResult",
    "autocast_context",
    "bf16_native",
    "configure_threads",
    "engine_device",
    "prepare_model",
    "quantize_int8",
    "select_device",
]

# -- runtime -------------------------------------------------------------------------------------

_THREADS_SET = False


def configure_threads() -> int:
    """Use every core this process may run on, unless the user chose a thread count."""
    global _THREADS_SET
    user_set = any(os.environ.get(v) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"))
    if not user_set and not _THREADS_SET:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # macOS, Windows
            cores = os.cpu_count() or 1
        torch.set_num_threads(max(1, cores))
        _THREADS_SET = True
    return torch.get_num_threads()


def select_device(preference: str = "auto") -> torch.device:
    """CUDA, then Apple's MPS, then CPU for "auto"; anything else is taken as a torch device."""
    if preference and preference != "auto":
        try:
            return torch.device(preference)
        except (RuntimeError, TypeError) as exc:
            raise SettingsError(
                f"Unknown device {preference!r}: use 'auto', 'cpu', 'cuda' or 'mps'."
            ) from exc
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """int8 dynamic quantization of every nn.Linear (weights int8, activations quantized per call)."""
    with warnings.catch_warnings():  # torch 2.13 warns that torch.ao.quantization is deprecated
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def bf16_native() -> bool:
    """Whether this CPU computes in bfloat16 natively (AMX or AVX512-BF16 through oneDNN); where
    it does not, bf16 is emulated and slower than fp32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def autocast_context(settings: ZeroShotSettings, device: torch.device) -> AbstractContextManager:
    """What a forward pass runs under: bf16 autocast on the CPU when `settings.bf16` (matrix
    products in bfloat16, layer norms and softmax in fp32), else nothing."""
    if settings.bf16:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def engine_device(settings: ZeroShotSettings) -> torch.device:
    """Set the thread count and pick the device of an engine, before its weights load (a bad
    device name fails first). The fast paths (int8 dynamic quantization, bf16) run on the CPU."""
    configure_threads()
    if settings.quantize or settings.bf16:
        return torch.device("cpu")
    return select_device(settings.device)


def prepare_model(
    model: torch.nn.Module, settings: ZeroShotSettings, device: torch.device
) -> torch.nn.Module:
    """Eval mode, int8 when asked, on `device`: a loaded model made ready to score."""
    model.eval()
    if settings.quantize:
        model = quantize_int8(model)
    return model.to(device)


# -- results -------------------------------------------------------------------------------------


@dataclass
class ZeroShotResult:
    """Scores of many texts: `scores[i, j]` is text i's score for `label_names[j]`."""

    labels: list[str]  # predicted label per text (the highest score; first on ties)
    scores: np.ndarray  # float32 [n_texts, n_labels]
    label_names: list[str]

    @property
    def confidence(self) -> np.ndarray:
        """The predicted label's score per text."""
        if len(self.scores) == 0:
            return np.zeros(0, dtype=np.float32)
        return self.scores.max(axis=1)

    def to_frame(self, prefix: str = "zs_") -> pd.DataFrame:
        """Columns <prefix>label, <prefix>score and <prefix>score_<label> per label."""
        import pandas as pd

        frame = pd.DataFrame({f"{prefix}label": self.labels, f"{prefix}score": self.confidence})
        for j, name in enumerate(self.label_names):
            frame[f"{prefix}score_{name}"] = self.scores[:, j] if len(self.scores) else []
        return frame


# -- engines -------------------------------------------------------------------------------------

CancelMessage = Callable[[int, int], str]


class ZeroShotModel:
    """A loaded zero-shot scorer. Subclasses give `_batches`; this class deduplicates, caches,
    reports progress and cancels."""

    method: str = "?"
    display_name: str = "?"

    def __init__(
        self,
        settings: ZeroShotSettings,
        resolved: ResolvedModel,
        model: Any,
        tokenizer: Any,
        device: torch.device,
    ):
        self.settings = settings
        self.resolved = resolved
        self.label_names = list(settings.labels)
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        limit = getattr(tokenizer, "model_max_length", None) or settings.max_length
        self.max_length = int(min(settings.max_length, limit))
        self.run_key = run_key(settings, model_identity(resolved), self.method_tag())

    # Subclasses override ------------------------------------------------------------------------
    @classmethod
    def method_tag(cls) -> str:
        """What goes into the run key as the method (includes method parameters)."""
        return cls.method

    def _batches(
        self,
        texts: list[str],
        should_cancel: CancelFn | None = None,
        cancel_message: CancelMessage | None = None,
    ) -> Iterator[dict[int, np.ndarray]]:
        """Score `texts` batch by batch through `run_batches`, yielding {index: score row} of the
        texts each batch finished (possibly none); should_cancel is asked before each batch."""
        raise NotImplementedError

    # Shared -------------------------------------------------------------------------------------
    def hypotheses(self) -> list[str]:
        """One hypothesis per label, in label order."""
        return self.settings.hypotheses()

    def _token_counts(self, texts: list[str]) -> list[int]:
        """Token counts without special tokens, up to max_length (all longer texts are cut to the
        same length): the sort key of the batched loop."""
        enc = self.tokenizer(
            texts,
            add_special_tokens=False,
            truncation=True,
            max_length=self.max_length,
            return_attention_mask=False,
        )
        return [len(ids) for ids in enc["input_ids"]]

    def score_one(self, text: str) -> dict[str, float]:
        """{label: score} for one text (the UI's "try a tweet"); no cache, no progress."""
        scores = self.score([text]).scores[0]
        return {name: float(s) for name, s in zip(self.label_names, scores, strict=True)}

    def score(
        self,
        texts: Iterable[str],
        progress: Progress | None = None,
        should_cancel: CancelFn | None = None,
        cache: ScoreCache | None = None,
    ) -> ZeroShotResult:
        """Score every text; identical texts once; cached texts not at all.

        progress(done, total, rate, eta_s) counts distinct texts (cached ones count as done) and
        is called at the start, after every batch and at the end; rate is texts/s of this call.
        should_cancel() is asked before every batch; when it says True, Cancelled is raised and
        the finished batches stay in `cache`.
        """
        texts = [t if isinstance(t, str) else ("" if t is None else str(t)) for t in texts]
        keys = [text_key(t) for t in texts]
        unique: dict[str, str] = {}
        for k, t in zip(keys, texts, strict=True):
            unique.setdefault(k, t)
        done_scores: dict[str, list[float]] = {}
        if cache is not None and unique:
            done_scores.update(cache.get_scores(self.run_key, list(unique)))
        todo = [k for k in unique if k not in done_scores]
        total = len(unique)
        start = time.perf_counter()
        scored = 0

        def report(final: bool = False) -> None:
            if progress is None:
                return
            elapsed = time.perf_counter() - start
            rate = scored / elapsed if scored and elapsed > 0 else 0.0
            left = total - len(done_scores)
            eta = 0.0 if final or left == 0 else (left / rate if rate > 0 else None)
            progress(len(done_scores), total, rate, eta)

        def cancelled(*_: int) -> str:  # counts texts, not the loop's items (pairs for NLI)
            return (
                f"Zero-shot run cancelled after {len(done_scores)} of {total} distinct "
                "texts; the scored ones are kept and a new run resumes from there."
            )

        report()
        if todo:
            for finished in self._batches([unique[k] for k in todo], should_cancel, cancelled):
                new = {todo[i]: [float(x) for x in row] for i, row in finished.items()}
                done_scores.update(new)
                scored += len(new)
                if cache is not None and new:
                    cache.put_scores(self.run_key, new)
                report()
        report(final=True)
        return _result(keys, done_scores, self.label_names)

    def estimate_seconds(
        self, texts: Sequence[str], sample: int = 32, cache: ScoreCache | None = None
    ) -> float:
        """Seconds a `score(texts, cache=cache)` would take, from timing a sample of them."""
        unique = list(dict.fromkeys(texts))
        if cache is not None and unique:
            cached = cache.get_scores(self.run_key, [text_key(t) for t in unique])
            unique = [t for t in unique if text_key(t) not in cached]
        if not unique:
            return 0.0
        step = max(1, len(unique) // max(1, sample))
        picked = unique[::step][:sample]  # spread over the file: lengths vary along it
        for _ in self._batches(picked[:2]):  # warm-up: the first call pays one-off costs
            pass
        t0 = time.perf_counter()
        for _ in self._batches(picked):
            pass
        return (time.perf_counter() - t0) / len(picked) * len(unique)


def _result(
    keys: list[str], scores: dict[str, list[float]], label_names: Sequence[str]
) -> ZeroShotResult:
    """The result of texts (by text key) from their score rows."""
    matrix = np.array([scores[k] for k in keys], dtype=np.float32).reshape(-1, len(label_names))
    predicted = [label_names[int(j)] for j in matrix.argmax(axis=1)] if len(keys) else []
    return ZeroShotResult(predicted, matrix, list(label_names))


def cached_result(
    cache: ScoreCache, key: str, texts: Sequence[str], label_names: Sequence[str]
) -> ZeroShotResult:
    """What `score(texts, cache=cache)` returns when every text is cached under the run key `key`
    (scored elsewhere, e.g. on Ray), without a model; raises JobError if some are not."""
    keys = [text_key(t) for t in texts]
    scores = cache.get_scores(key, list(dict.fromkeys(keys)))
    if missing := len(set(keys) - scores.keys()):
        raise JobError(
            f"{missing} tweets came back without scores from where they were scored; run the "
            "job again: the scored ones are kept and only these are redone."
        )
    return _result(keys, scores, label_names)
