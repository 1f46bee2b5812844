"""Text keys: how items are recognised as the same tweet, and how they are split.

Two keys on purpose: `text_key` is the exact text (what a model scores, so a cached score is
reused only for the very same input), `norm_key` is the normalised text (what a person calls a
duplicate, so duplicates land on the same side of the held-out split and merge on import).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Unicode-compatible, case-folded, whitespace-collapsed form used to spot duplicates."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def text_key(text: str) -> str:
    """Key of the exact text: model scores are cached under it."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def norm_key(text: str) -> str:
    """Key of the normalised text: duplicates share it."""
    return hashlib.sha1(normalise_text(text).encode("utf-8")).hexdigest()


def _unit_interval(key: str, salt: str) -> float:
    digest = hashlib.sha256((salt + key).encode("ascii")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_heldout(key: str, share: float) -> bool:
    """Held-out or pool, decided by the normalised text alone: stable across imports and labelling order."""
    return _unit_interval(key, "heldout:") < share


def shuffle_rank(key: str, item_seq: int) -> int:
    """A fixed pseudo-random rank for the 'random' queue order (stable across reruns)."""
    return int(_unit_interval(key, f"shuffle:{item_seq}:") * 2**62)
