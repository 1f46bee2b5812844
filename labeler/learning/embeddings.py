"""Sentence embeddings, computed once per (exact text, encoder) and kept beside the store.

Every tweet's vector comes from a sentence encoder (the bundled all-MiniLM-L6-v2 unless another
sentence-transformers or Hugging Face encoder is named), L2-normalised float32. Vectors are cached
on disk under the workspace, keyed by the exact text's key (`labeler.text.text_key`, the
`items.text_key` column) and the encoder's key, never by item id: a restart, a re-import or a
second project holding the same tweets reads them back instead of computing them again.

On disk, one folder per encoder, append-only shards (each a pair of .npy files)::

    <workspace>/embeddings/<encoder-key>/<shard>.vec.npy    # float32 [n, dim]
    <workspace>/embeddings/<encoder-key>/<shard>.keys.npy   # S40 [n]: the texts' keys

The keys file is written last (each by an atomic rename), so a shard without one is unfinished and
ignored. Writers never touch another's shard: two processes may fill one folder at once. The index
(key -> shard, row) is the union of the keys files, re-read when the listing changes; vectors are
memory-mapped. Past MAX_SHARDS shards a writer merges them into one.

API::

    encoder_key(model_name_or_path=None) -> str            # e.g. "all-MiniLM-L6-v2-bundled-1a2b.."
    EmbeddingCache(root).get(text_keys) -> (found mask, matrix)   .put(text_keys, matrix)
    embed_texts(texts, encoder=None, batch_size=64, progress=None, cancel=None) -> [n, dim]
    embed_cached(texts, encoder=None) -> [n, dim]           # the same, through the cache
    project_embeddings(store, project_id, encoder=None, compute_missing=True) -> (item_ids, matrix)
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import Cancelled
from ..models.resolve import BUNDLED, resolve_model
from ..text import text_key
from ..workspace import workspace_dir
from ..zeroshot.cache import model_identity

if TYPE_CHECKING:
    import pandas as pd

    from ..db.store import Store

__all__ = [
    "EmbeddingCache",
    "Encoder",
    "embed_cached",
    "embed_texts",
    "embeddings_dir",
    "encoder_key",
    "load_encoder",
    "missing_count",
    "project_embeddings",
]

VERSION = "v1"  # pooling as the encoder defines it, then L2 normalisation: part of every key
MAX_SHARDS = 64
CHUNK = 2048  # texts embedded between two writes to the cache (what a cancel keeps at most)
Progress = Callable[[int, int, float, "float | None"], None]  # done, total, texts/s, eta (s)


ENCODER_ENV = "TWEET_LABELER_ENCODER"  # a server's default encoder (hub id or folder)


def default_encoder() -> str:
    """The encoder used when none is named: TWEET_LABELER_ENCODER, else the bundled MiniLM."""
    return os.environ.get(ENCODER_ENV, "").strip() or BUNDLED


def embeddings_dir() -> Path:
    return workspace_dir() / "embeddings"


def encoder_key(model_name_or_path: str | os.PathLike | None = None) -> str:
    """A folder-safe name for one encoder's weights: a readable part and a hash of the model's
    identity (a local folder's config and weight files' sizes and times; a hub id), so a model
    retrained in place gets a new key and no stale vector is reused."""
    resolved = resolve_model(model_name_or_path or default_encoder())
    digest = hashlib.sha1(f"{VERSION}|{model_identity(resolved)}".encode()).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", resolved.display).strip("-.")[:48] or "encoder"
    return f"{slug}-{digest}"


# -- the cache on disk --------------------------------------------------------------------------


class EmbeddingCache:
    """Vectors by exact text key for one encoder, in append-only .npy shards under `root`."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._shards: tuple[str, ...] = ()
        self._index: dict[str, tuple[str, int]] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self.dim: int | None = None
        self._lock = threading.RLock()  # one instance serves a server's sessions (cache_for)

    def _listing(self) -> tuple[str, ...]:
        if not self.root.is_dir():
            return ()
        return tuple(sorted(p.name[: -len(".keys.npy")] for p in self.root.glob("*.keys.npy")))

    def _refresh(self) -> None:
        shards = self._listing()
        if shards == self._shards:
            return
        known = set(self._shards)
        if known <= set(shards):  # only shards added since: read just their keys
            index, vectors = self._index, self._vectors
        else:  # some were merged away: read the index again
            index, vectors = {}, {}
        for shard in shards:
            if shard in known and index is self._index:
                continue
            keys = np.load(self.root / f"{shard}.keys.npy")
            if shard not in vectors:
                vectors[shard] = np.load(self.root / f"{shard}.vec.npy", mmap_mode="r")
            self.dim = int(vectors[shard].shape[1])
            for row, key in enumerate(keys.tolist()):
                index.setdefault(key.decode("ascii"), (shard, row))
        self._shards, self._index, self._vectors = shards, index, vectors

    def _fresh(self) -> None:
        """Bring the index up to date; the caller holds the lock."""
        for attempt in range(3):  # a shard merged away between listing and reading: list again
            try:
                self._refresh()
                return
            except FileNotFoundError:
                self._shards = ()
                if attempt == 2:
                    raise

    def __len__(self) -> int:
        with self._lock:
            self._fresh()
            return len(self._index)

    def has(self, text_keys: Sequence[str]) -> np.ndarray:
        """Which keys have a vector (a bool mask), without reading any vector."""
        with self._lock:
            self._fresh()
            return np.fromiter((k in self._index for k in text_keys), bool, len(text_keys))

    def get(self, text_keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(found: bool [n], matrix: float32 [n, dim]); rows of keys not found are zeros (dim is 0
        while the cache is empty)."""
        with self._lock:
            self._fresh()
            found = np.zeros(len(text_keys), bool)
            out = np.zeros((len(text_keys), self.dim or 0), np.float32)
            by_shard: dict[str, tuple[list[int], list[int]]] = {}
            for i, key in enumerate(text_keys):
                hit = self._index.get(key)
                if hit is not None:
                    found[i] = True
                    rows = by_shard.setdefault(hit[0], ([], []))
                    rows[0].append(i)
                    rows[1].append(hit[1])
            for shard, (dest, rows) in by_shard.items():
                out[dest] = self._vectors[shard][rows]
            return found, out

    def put(self, text_keys: Sequence[str], matrix: np.ndarray) -> int:
        """Add vectors for keys not cached yet (one new shard); returns how many were added."""
        matrix = np.asarray(matrix, np.float32)
        if len(text_keys) != len(matrix):
            raise ValueError(f"{len(text_keys)} keys but {len(matrix)} vectors")
        with self._lock:
            self._fresh()
            seen: set[str] = set()
            keep = []
            for i, key in enumerate(text_keys):
                if key not in self._index and key not in seen:
                    seen.add(key)
                    keep.append(i)
            if not keep:
                return 0
            self._write([text_keys[i] for i in keep], matrix[keep])
            if len(self._listing()) > MAX_SHARDS:
                self.compact()
            return len(keep)

    def _write(self, keys: list[str], matrix: np.ndarray) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        shard = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        for suffix, array in (("vec", matrix), ("keys", np.array(keys, dtype="S40"))):
            tmp = self.root / f".{shard}.{suffix}.tmp.npy"
            np.save(tmp, array)
            os.replace(tmp, self.root / f"{shard}.{suffix}.npy")  # keys last: the shard is whole
        return shard

    def compact(self) -> None:
        """Merge every shard into one (readers that listed the old ones list again)."""
        with self._lock:
            self._fresh()
            old = self._shards
            if len(old) < 2:
                return
            keys = list(self._index)
            _, matrix = self.get(keys)
            self._write(keys, matrix)
            for shard in old:
                for suffix in ("keys", "vec"):  # keys first: a listed shard always has its vectors
                    try:
                        (self.root / f"{shard}.{suffix}.npy").unlink()
                    except OSError:  # gone already (another writer merged), or held open elsewhere
                        pass


# -- the encoder --------------------------------------------------------------------------------


@dataclass
class Encoder:
    """A loaded sentence encoder: its cache key, a name to show, the SentenceTransformer."""

    key: str
    display: str
    model: Any


@functools.lru_cache(maxsize=2)
def load_encoder(model_name_or_path: str | None = None) -> Encoder:
    """The sentence encoder, loaded once per process (the bundled MiniLM unless named)."""
    from ..models.load import load_sentence_encoder

    resolved = resolve_model(model_name_or_path or default_encoder())
    model = load_sentence_encoder(resolved)
    return Encoder(encoder_key(model_name_or_path), resolved.display, model)


def _encoder(encoder: str | os.PathLike | Encoder | None) -> Encoder:
    if isinstance(encoder, Encoder):
        return encoder
    return load_encoder(None if encoder is None else str(encoder))


def embed_texts(
    texts: Sequence[str],
    *,
    encoder: str | os.PathLike | Encoder | None = None,
    batch_size: int = 64,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> np.ndarray:
    """L2-normalised float32 sentence vectors [len(texts), dim], in the order given.

    Runs through `labeler.models.inference.run_batches` rather than `SentenceTransformer.encode`:
    the same length-sorted, padded-per-batch loop as every engine, with its progress and cancel
    checks between batches, and the very preprocess/forward the embedding zero-shot engine uses,
    so both give the same vectors for a tweet. Cancelling raises `Cancelled`.
    """
    import torch

    from ..models.inference import run_batches, to_device

    enc = _encoder(encoder)
    model = enc.model
    texts = list(texts)
    out = np.zeros((len(texts), 0), np.float32)  # sized at the first batch
    if not texts:
        return out
    lengths = [
        len(ids)
        for ids in model.tokenizer(
            texts,
            add_special_tokens=False,
            truncation=True,
            max_length=model.max_seq_length,
            return_attention_mask=False,
        )["input_ids"]
    ]

    def forward(inputs: dict[str, Any]) -> torch.Tensor:
        vectors = model(inputs)["sentence_embedding"]
        return torch.nn.functional.normalize(vectors.float(), p=2, dim=1)

    batches = run_batches(
        texts,
        lengths,
        encode=lambda batch: to_device(model.preprocess(batch), model.device),
        forward=forward,
        batch_size=batch_size,
        progress=progress,
        should_cancel=cancel,
        cancel_message=lambda done, total: (
            f"Embedding cancelled after {done} of {total} tweets; finished ones are kept."
        ),
    )
    for idx, rows in batches:
        if not out.shape[1]:
            out = np.zeros((len(texts), rows.shape[1]), np.float32)
        out[idx] = rows.numpy()
    return out


# -- a project's items --------------------------------------------------------------------------


_CACHES: dict[Path, EmbeddingCache] = {}


def cache_for(encoder: str | os.PathLike | Encoder | None = None) -> EmbeddingCache:
    """The encoder's cache in this workspace (one per process: its index is read once and then
    only the shards added since)."""
    key = encoder.key if isinstance(encoder, Encoder) else encoder_key(encoder)
    root = embeddings_dir() / key
    if root not in _CACHES:
        _CACHES[root] = EmbeddingCache(root)
    return _CACHES[root]


def frame_embeddings(
    items: pd.DataFrame,
    *,
    encoder: str | os.PathLike | Encoder | None = None,
    compute: np.ndarray | bool = True,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(item ids, vectors) of the items (columns id, text and optionally text_key) that have a
    vector once the missing ones where `compute` is True are embedded (in chunks, each written
    to the cache before the next, so a cancelled run keeps what it finished)."""
    ids = items["id"].to_numpy()
    texts = items["text"].tolist()
    if "text_key" in items:
        keys = items["text_key"].tolist()
    else:
        keys = [text_key(t) for t in texts]
    cache = cache_for(encoder)
    found, matrix = cache.get(keys)
    todo_mask = ~found & np.broadcast_to(np.asarray(compute, bool), found.shape)
    todo = list(dict.fromkeys(k for k, t in zip(keys, todo_mask, strict=True) if t))
    if todo:
        text_of = dict(zip(keys, texts, strict=True))
        started, total = time.perf_counter(), len(todo)
        for start in range(0, total, CHUNK):
            chunk = todo[start : start + CHUNK]

            def chunk_progress(done: int, _total: int, _rate: float, _eta, start=start) -> None:
                if progress is not None:
                    overall = start + done
                    rate = overall / max(time.perf_counter() - started, 1e-6)
                    progress(overall, total, rate, (total - overall) / rate if rate else None)

            try:
                vectors = embed_texts(
                    [text_of[k] for k in chunk],
                    encoder=encoder,
                    progress=chunk_progress,
                    cancel=cancel,
                )
            except Cancelled as exc:
                raise Cancelled(
                    f"Embedding cancelled after {start:,} of {total:,} tweets; finished ones are"
                    " kept and a rerun resumes."
                ) from exc
            cache.put(chunk, vectors)
        found, matrix = cache.get(keys)
    return ids[found], matrix[found]


def project_embeddings(
    store: Store,
    project_id: int,
    *,
    encoder: str | os.PathLike | Encoder | None = None,
    compute_missing: bool = True,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(item ids, L2-normalised float32 vectors) of the project's items, in id order: every item
    (embedding those the cache lacks), or with compute_missing=False only the cached ones."""
    return frame_embeddings(
        store.items.texts(project_id),
        encoder=encoder,
        compute=compute_missing,
        progress=progress,
        cancel=cancel,
    )


def embed_cached(
    texts: Sequence[str],
    *,
    encoder: str | os.PathLike | Encoder | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> np.ndarray:
    """`embed_texts` through the cache: vectors [len(texts), dim] in order, computing only the
    texts no earlier call (or project) has embedded with this encoder."""
    import pandas as pd

    items = pd.DataFrame({"id": range(len(texts)), "text": list(texts)})
    return frame_embeddings(items, encoder=encoder, progress=progress, cancel=cancel)[1]


def missing_count(
    store: Store, project_id: int, encoder: str | os.PathLike | Encoder | None = None
) -> int:
    """How many distinct texts of the project have no vector from this encoder yet."""
    keys = store.items.texts(project_id)["text_key"].unique().tolist()
    return int((~cache_for(encoder).has(keys)).sum())
