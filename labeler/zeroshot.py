"""Zero-shot pre-labels: NLI cross-encoders scored exactly like transformers' pipeline, only faster.

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
are sorted by token count and go through the model `batch_size` pairs at a time, padded per batch
(so almost no padding); identical texts are scored once; `torch.inference_mode`; all cores; a GPU when there is one; int8 dynamic quantization on
request (`quantize=True`, CPU only, labels almost always the same; see `bench/zeroshot.py`).

Long runs: scores go to a `ScoreCache` after every batch under a `run_key` that changes whenever
anything that changes a score changes, so a cancelled or crashed run resumes where it stopped.

API (used by the pages, the job runner and `python -m labeler prelabel`)::

    settings = ZeroShotSettings(model="path/or/hub-id", labels=["AGAINST", "FAVOR", "NONE"],
                                phrases=["against", "in favor of", "neutral towards"],
                                template="The author of this tweet is {} {target}.",
                                target="Joe Biden")
    zs = load_zeroshot(settings)            # loads once; the UI caches it
    zs.hypotheses()                         # the filled hypotheses, one per label
    zs.score_one("tweet")                   # {label: score}
    res = zs.score(texts, progress=..., should_cancel=..., cache=...)
    res.labels, res.scores, res.label_names # predicted labels, [n, L] array, label order

The offline method (`method="embedding"`, `labeler/embedding_zeroshot.py`) has the same interface.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np
import torch

from .errors import Cancelled, ModelError, SettingsError
from .models import BUNDLED, ResolvedModel, read_config, resolve_model
from .text import text_key

if TYPE_CHECKING:  # pandas only for ZeroShotResult.to_frame
    import pandas as pd

__all__ = [
    "DEFAULT_TEMPLATE",
    "EMBEDDING_DISPLAY_NAME",
    "MemoryScoreCache",
    "NLIZeroShot",
    "ScoreCache",
    "ZeroShotModel",
    "ZeroShotResult",
    "ZeroShotSettings",
    "configure_threads",
    "entailment_ids",
    "estimate_seconds",
    "fill_target",
    "load_zeroshot",
    "model_identity",
    "run_key",
    "select_device",
    "text_key",
]

from .store import DEFAULT_TEMPLATE  # noqa: E402  (one default for projects and the engine)

# Shown wherever the offline method is chosen or reported: it is not NLI and must never look so.
EMBEDDING_DISPLAY_NAME = "Embedding similarity (all-MiniLM-L6-v2, not NLI)"
MIN_MAX_LENGTH = 16

Progress = Callable[[int, int, float, "float | None"], None]


# -- settings ------------------------------------------------------------------------------------


def fill_target(template: str, target: str | None) -> str:
    """Put the project's target into a template's "{target}", leaving "{}" for the label phrase.

    "The author of this tweet is {} {target}." with "Joe Biden" gives
    "The author of this tweet is {} Joe Biden.". Braces in the target are kept literally.
    """
    if "{target}" not in template:
        return template
    if not (target or "").strip():
        raise SettingsError(
            f"Template {template!r} uses {{target}} but no target is set: set the project's "
            "target (e.g. 'Joe Biden') or write the target into the template."
        )
    return template.replace("{target}", target.strip().replace("{", "{{").replace("}", "}}"))


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
    method: Literal["nli", "embedding"] = "nli"
    device: str = "auto"

    def __post_init__(self) -> None:
        self.model = str(self.model or "").strip()
        if isinstance(self.labels, str):
            self.labels = split_list(self.labels)
        self.labels = [str(lab).strip() for lab in self.labels]
        if not self.labels or any(not lab for lab in self.labels):
            raise SettingsError(
                f"Zero-shot needs non-empty labels (got {len(self.labels)}: "
                f"{', '.join(map(repr, self.labels)) or 'none'}); give them like 'AGAINST,FAVOR,NONE'."
            )
        dupes = sorted({lab for lab in self.labels if self.labels.count(lab) > 1})
        if dupes:
            raise SettingsError(f"Labels must be distinct; repeated: {', '.join(dupes)}.")
        if self.phrases is None or (not isinstance(self.phrases, str) and not self.phrases):
            self.phrases = [lab.lower() for lab in self.labels]
        elif isinstance(self.phrases, str):
            self.phrases = split_list(self.phrases)
        self.phrases = [str(p).strip() for p in self.phrases]
        if len(self.phrases) != len(self.labels):
            raise SettingsError(
                f"There are {len(self.labels)} labels ({', '.join(self.labels)}) but "
                f"{len(self.phrases)} phrases ({', '.join(self.phrases)}); give one phrase per "
                "label, in the same order, or none to use the labels themselves."
            )
        empty = [lab for lab, p in zip(self.labels, self.phrases, strict=True) if not p]
        if empty:
            raise SettingsError(f"The phrase for label(s) {', '.join(empty)} is empty.")
        filled = fill_target(self.template, self.target)
        if "{}" not in filled:
            raise SettingsError(
                f"Template {self.template!r} has no {{}} placeholder for the label phrase, "
                "e.g. 'This tweet is {}.'"
            )
        try:
            filled.format("x")
        except (IndexError, KeyError, ValueError) as exc:
            raise SettingsError(
                f"Template {self.template!r} has braces other than one {{}} (and {{target}}): "
                f"{exc!r}. Write literal braces as {{{{ and }}}}."
            ) from None
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise SettingsError(
                f"Batch size must be 1 or more (got {self.batch_size}); 32 is good."
            )
        if not isinstance(self.max_length, int) or self.max_length < MIN_MAX_LENGTH:
            raise SettingsError(
                f"Max length must be at least {MIN_MAX_LENGTH} tokens (got {self.max_length}); "
                "tweets average ~30 word pieces, 128 is a generous default."
            )
        if self.method not in ("nli", "embedding"):
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
        return fill_target(self.template, self.target)

    def hypotheses(self) -> list[str]:
        """One hypothesis per label: the template filled with the label's phrase (and target)."""
        filled = self.filled_template
        return [filled.format(p) for p in self.phrases]


def split_list(value: str) -> list[str]:
    """'A, B ,C' -> ['A', 'B', 'C'] (empty items kept, so validation can name them)."""
    return [part.strip() for part in value.split(",")] if value.strip() else []


# -- caching -------------------------------------------------------------------------------------


@runtime_checkable
class ScoreCache(Protocol):
    """Where finished scores are kept between runs: one list of floats (label order) per text."""

    def get_scores(self, run_key: str, text_keys: list[str]) -> dict[str, list[float]]: ...

    def put_scores(self, run_key: str, scores: dict[str, list[float]]) -> None: ...


class MemoryScoreCache:
    """A ScoreCache in a dict, for tests and one CLI process (the store persists to SQLite)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, list[float]]] = {}
        self.puts = 0  # number of put_scores calls (tests check writes happen per batch)

    def get_scores(self, run_key: str, text_keys: list[str]) -> dict[str, list[float]]:
        run = self.data.get(run_key, {})
        return {k: list(run[k]) for k in text_keys if k in run}

    def put_scores(self, run_key: str, scores: dict[str, list[float]]) -> None:
        self.puts += 1
        self.data.setdefault(run_key, {}).update({k: list(v) for k, v in scores.items()})


def model_identity(resolved: ResolvedModel) -> str:
    """What tells one set of weights from another without hashing gigabytes.

    Local folders: the config's content hash plus each weight file's name, size and mtime (a
    retrained model in the same folder gets a new identity). Hub ids: the id (and, when cached,
    the snapshot folder, which names the commit).
    """
    path = Path(resolved.location)
    if path.is_dir():
        parts = [str(path.resolve())]
        cfg = path / "config.json"
        if cfg.is_file():
            parts.append(hashlib.sha1(cfg.read_bytes()).hexdigest())
        for f in sorted(path.iterdir()):
            if f.suffix in {".safetensors", ".bin", ".pt", ".h5"} and f.is_file():
                st = f.stat()
                parts.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}")
        return "|".join(parts)
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(resolved.location, "config.json")
        if isinstance(found, str):
            return f"{resolved.location}|{Path(found).parent.name}"
    except Exception:  # the id alone is still a usable identity
        pass
    return resolved.location


def run_key(settings: ZeroShotSettings, identity: str, method_tag: str | None = None) -> str:
    """Stable hash of everything that changes a score; the cache key of a zero-shot run.

    Labels' names are left out on purpose: renaming a label with the same phrase keeps its scores.
    """
    payload = {
        "method": method_tag or settings.method,
        "model": identity,
        "template": settings.filled_template,
        "phrases": list(settings.phrases or []),
        "multi_label": bool(settings.multi_label),
        "max_length": int(settings.max_length),
        "quantized": bool(settings.quantize),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha1(blob).hexdigest()


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


def entailment_ids(label2id: dict[str, int]) -> tuple[int, int]:
    """(entailment id, contradiction id) as the pipeline finds them; -1 entailment = not NLI."""
    for label, ind in label2id.items():
        if label.lower().startswith("entail"):
            return int(ind), (-1 if int(ind) == 0 else 0)
    return -1, 0


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


class ZeroShotModel:
    """A loaded zero-shot scorer. Subclasses give `_score_batch`; this class batches, caches,
    reports progress and cancels."""

    method: str = "?"
    display_name: str = "?"

    def __init__(self, settings: ZeroShotSettings, resolved: ResolvedModel):
        self.settings = settings
        self.resolved = resolved
        self.label_names = list(settings.labels)
        self.device = torch.device("cpu")
        self.run_key = run_key(settings, model_identity(resolved), self.method_tag())

    # Subclasses override ------------------------------------------------------------------------
    def method_tag(self) -> str:
        """What goes into the run key as the method (includes method parameters)."""
        return self.method

    def _lengths(self, texts: list[str]) -> list[int]:
        """Token counts used to sort texts so that a batch holds texts of similar length."""
        return [len(t) for t in texts]

    def _score_batch(self, texts: list[str]) -> np.ndarray:
        """Scores [len(texts), n_labels] for one batch."""
        raise NotImplementedError

    def _batches(self, texts: list[str]) -> Iterator[dict[int, np.ndarray]]:
        """Score `texts` batch by batch, yielding {index: score row} of the texts each batch
        finished (possibly none). Texts go longest first: a batch too large for memory fails at
        once, and the ETA errs on the safe side."""
        lengths = self._lengths(texts)
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        per = self.settings.batch_size
        for b in range(0, len(order), per):
            idx = order[b : b + per]
            yield dict(zip(idx, self._score_batch([texts[i] for i in idx]), strict=True))

    # Shared -------------------------------------------------------------------------------------
    def hypotheses(self) -> list[str]:
        """One hypothesis per label, in label order."""
        return self.settings.hypotheses()

    def score_one(self, text: str) -> dict[str, float]:
        """{label: score} for one text (the UI's "try a tweet"); no cache, no progress."""
        scores = self.score([text]).scores[0]
        return {name: float(s) for name, s in zip(self.label_names, scores, strict=True)}

    def score(
        self,
        texts: Iterable[str],
        progress: Progress | None = None,
        should_cancel: Callable[[], bool] | None = None,
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

        report()
        batches = self._batches([unique[k] for k in todo]) if todo else iter(())
        while len(done_scores) < total:  # not `for`: the cancel check comes before each batch
            if should_cancel is not None and should_cancel():
                raise Cancelled(
                    f"Zero-shot run cancelled after {len(done_scores)} of {total} distinct "
                    "texts; the scored ones are kept and a new run resumes from there."
                )
            finished = next(batches, None)
            if finished is None:  # pragma: no cover - every text is finished by the last batch
                break
            new = {todo[i]: [float(x) for x in row] for i, row in finished.items()}
            done_scores.update(new)
            scored += len(new)
            if cache is not None and new:
                cache.put_scores(self.run_key, new)
            report()
        report(final=True)
        n_labels = len(self.label_names)
        matrix = np.array([done_scores[k] for k in keys], dtype=np.float32).reshape(-1, n_labels)
        predicted = [self.label_names[int(j)] for j in matrix.argmax(axis=1)] if len(keys) else []
        return ZeroShotResult(predicted, matrix, list(self.label_names))

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
        super().__init__(settings, resolved)
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.entailment_id, self.contradiction_id = entailment_ids(model.config.label2id)
        self.display_name = f"{resolved.display} (NLI{', int8' if settings.quantize else ''})"
        limit = getattr(tokenizer, "model_max_length", None) or settings.max_length
        self.max_length = int(min(settings.max_length, limit))
        self.input_names = list(tokenizer.model_input_names)
        self._use_cache = "use_cache" in _forward_params(model)
        self._check_hypotheses_fit()

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

    def _lengths(self, texts: list[str]) -> list[int]:
        enc = self.tokenizer(texts, add_special_tokens=False, return_attention_mask=False)
        return [len(ids) for ids in enc["input_ids"]]

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
        with torch.inference_mode():
            return self.model(**inputs).logits.float().cpu()

    def logits(self, texts: list[str]) -> torch.Tensor:
        """Raw logits [len(texts), n_labels, n_classes] of every (text, hypothesis) pair."""
        hyps = self.hypotheses()
        premises = [t for t in texts for _ in hyps]
        return self._forward(premises, hyps * len(texts)).reshape(len(texts), len(hyps), -1)

    def _batches(self, texts: list[str]) -> Iterator[dict[int, np.ndarray]]:
        # Batches are made of pairs, not tweets: all (tweet, hypothesis) pairs are sorted by their
        # token count so each padded batch wastes almost nothing (~2% instead of ~14% when a
        # tweet's pairs, whose hypotheses differ in length, are padded together). A tweet is
        # finished, scored and yielded once its last pair has gone through.
        hyps = self.hypotheses()
        n_labels = len(hyps)
        hyp_lens = self._lengths(hyps)
        room = self.max_length - self.tokenizer.num_special_tokens_to_add(pair=True)
        prem_lens = self._lengths(texts)
        pairs = sorted(
            ((i, j) for i in range(len(texts)) for j in range(n_labels)),
            key=lambda ij: (-min(prem_lens[ij[0]] + hyp_lens[ij[1]], room), ij[0], ij[1]),
        )
        pending: dict[int, dict[int, torch.Tensor]] = {}
        size = self.settings.batch_size
        for b in range(0, len(pairs), size):
            chunk = pairs[b : b + size]
            logits = self._forward([texts[i] for i, _ in chunk], [hyps[j] for _, j in chunk])
            finished: dict[int, np.ndarray] = {}
            for (i, j), row in zip(chunk, logits, strict=True):
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

    def _score_batch(self, texts: list[str]) -> np.ndarray:
        return self.scores_from_logits(self.logits(texts)).numpy()


def _forward_params(model: torch.nn.Module) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        return set()


# -- loading -------------------------------------------------------------------------------------


def not_nli_message(resolved: ResolvedModel, labels: Sequence[str]) -> str:
    shown = ", ".join(labels) or "none"
    return (
        f"Model '{resolved.spec}' is not an NLI model (its labels are {shown}; none starts with "
        f"'entail'). Pick an NLI model, or use the offline method '{EMBEDDING_DISPLAY_NAME}'."
    )


def _config_label2id(resolved: ResolvedModel) -> dict[str, int]:
    try:
        cfg = read_config(resolved)
    except Exception as exc:
        raise ModelError(f"Cannot read the config of model '{resolved.spec}': {exc}") from exc
    label2id = cfg.get("label2id")
    if not label2id:
        id2label = cfg.get("id2label") or {}
        label2id = {v: int(k) for k, v in id2label.items()}
    if not label2id:  # transformers' default for a config without labels
        label2id = {"LABEL_0": 0, "LABEL_1": 1}
    return {str(k): int(v) for k, v in label2id.items()}


def load_nli(settings: ZeroShotSettings) -> NLIZeroShot:
    """Resolve, check and load an NLI model; refuses plain encoders before loading any weights."""
    if not settings.model:
        raise SettingsError(
            "No NLI model given: name one (a hub id such as 'facebook/bart-large-mnli' or a local "
            f"folder), or use the offline method '{EMBEDDING_DISPLAY_NAME}'."
        )
    resolved = resolve_model(settings.model, default=BUNDLED)
    label2id = _config_label2id(resolved)
    if entailment_ids(label2id)[0] == -1:
        raise ModelError(not_nli_message(resolved, list(label2id)))
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    configure_threads()
    device = torch.device("cpu") if settings.quantize else select_device(settings.device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            resolved.location, local_files_only=resolved.local_files_only
        )
        model = AutoModelForSequenceClassification.from_pretrained(
            resolved.location, local_files_only=resolved.local_files_only, dtype=torch.float32
        )
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"Cannot load model '{resolved.spec}': {exc}") from exc
    if tokenizer.pad_token is None:  # as the pipeline does for tokenizers without padding
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    if settings.quantize:
        model = quantize_int8(model)
    model.to(device)
    return NLIZeroShot(settings, resolved, model, tokenizer, device)


def load_zeroshot(settings: ZeroShotSettings) -> ZeroShotModel:
    """Load the scorer `settings.method` names ("nli" or "embedding"); raises LabelerError."""
    if settings.method == "embedding":
        from .embedding_zeroshot import load_embedding

        return load_embedding(settings)
    return load_nli(settings)


def estimate_seconds(
    texts: Sequence[str],
    settings: ZeroShotSettings | ZeroShotModel,
    sample: int = 32,
    cache: ScoreCache | None = None,
) -> float:
    """Seconds to score `texts` (for "this will take ~N min"): loads the model unless given one."""
    model = settings if isinstance(settings, ZeroShotModel) else load_zeroshot(settings)
    return model.estimate_seconds(texts, sample=sample, cache=cache)


def format_eta(seconds: float | None) -> str:
    """'~3 min', '~40 s', '?' for a progress line."""
    if seconds is None or math.isnan(seconds):
        return "?"
    if seconds < 90:
        return f"~{max(0, round(seconds))} s"
    return f"~{round(seconds / 60)} min"
