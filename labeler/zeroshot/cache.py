"""Where finished zero-shot scores are kept, and the key they are kept under.

A long run writes its scores to a `ScoreCache` after every batch under a `run_key` that changes
whenever anything that changes a score changes (model weights, template, phrases, ...), so a
cancelled or crashed run resumes where it stopped and a changed setting never reuses old scores.
The store implements the protocol in SQLite; `MemoryScoreCache` serves tests and one CLI process.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..models.resolve import ResolvedModel
from .settings import ZeroShotSettings

__all__ = ["MemoryScoreCache", "ScoreCache", "model_identity", "run_key"]


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
    if settings.bf16:  # only when on, so that the keys of earlier fp32 and int8 runs still hold
        payload["bf16"] = True
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha1(blob).hexdigest()
