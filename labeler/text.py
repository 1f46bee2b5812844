"""Text keys: how items are recognised as the same tweet, and how they are split.

Two keys on purpose: `text_key` is the exact text (what a model scores, so a cached score is
reused only for the very same input), `norm_key` is the normalised text (what a person calls a
duplicate, so duplicates land on the same side of the held-out split and merge on import).
"""

from __future__ import annotations

import hashlib
import unicodedata


def normalise_text(text: str) -> str:
    """Unicode-compatible, case-folded, whitespace-collapsed form used to spot duplicates."""
    if not text.isascii():  # NFKC is a no-op on ASCII and costs a third of an import
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split()).casefold()


def text_key(text: str) -> str:
    """Key of the exact text: model scores are cached under it."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def norm_key(text: str) -> int:
    """Key of the normalised text, duplicates share it: a signed 64-bit integer (SQLite's
    INTEGER), half the index size of a hex digest; a collision is ~1e-9 likely at 100k items."""
    digest = hashlib.sha1(normalise_text(text).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def is_heldout(key: int, share: float) -> bool:
    """Held-out or pool, decided by the normalised text's key alone (from a SHA-1, so uniform):
    stable across imports, files and labelling order."""
    return (key + 2**63) / 2**64 < share


def shuffle_rank(exact_key: str) -> int:
    """A fixed pseudo-random rank for the 'random' queue order, from the exact text's key
    (independent of the held-out draw, which uses the normalised text's key)."""
    return int(exact_key[:15], 16)
