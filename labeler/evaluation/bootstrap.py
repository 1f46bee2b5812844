"""The one seeded bootstrap every interval in the project comes from: `bootstrap_interval`.

Items are resampled with replacement, the statistic is computed on each resample, and the
interval is the percentile interval of the finite results. The same seed gives the same interval
on every machine (numpy's `default_rng`). A statistic either takes one resample's item indices
(simple, one call per draw) or, with `counts=True`, a draws x items matrix of how often each item
was drawn (one call for all draws: a weighted sum becomes one matrix product). Both modes draw
the same resamples for the same seed, so they give the same interval for the same statistic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import SettingsError

MIN_FINITE_SHARE = 0.5  # below this, the finite draws are a biased subset: no interval
CHUNK_CELLS = 2_000_000  # indices drawn per chunk, so 1000 draws of 100k items stay ~16 MB


@dataclass(frozen=True)
class Interval:
    """A statistic's estimate on all items and its bootstrap interval (None where undefined)."""

    estimate: float | None
    low: float | None
    high: float | None
    draws: int
    n: int  # items resampled

    def as_list(self) -> list[float | None]:
        return [self.low, self.high]


def bootstrap_interval(
    statistic: Callable[[np.ndarray], float | np.ndarray],
    n_items: int,
    *,
    draws: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    counts: bool = False,
) -> Interval:
    """The percentile interval of `statistic` over `draws` resamples of `n_items` items.

    Without `counts`, `statistic(indices)` gets one resample's item indices and returns a float;
    with `counts=True`, `statistic(matrix)` gets a (k x n_items) matrix of draw counts and returns
    k floats (the estimate is computed from a matrix of ones). NaN means "undefined on this
    resample" and is dropped; when fewer than half the draws are finite, or the estimate is
    undefined, the interval is (None, None).
    """
    if draws < 1:
        raise SettingsError(f"the bootstrap needs at least 1 draw, not {draws}")
    if not 0 < level < 1:
        raise SettingsError(f"the interval's level must lie between 0 and 1, not {level}")
    if n_items < 1:
        return Interval(None, None, None, draws, 0)
    if counts:
        estimate = float(np.asarray(statistic(np.ones((1, n_items))))[0])
        values = np.concatenate(
            [
                np.asarray(statistic(_counts(chunk, n_items)), dtype=float)
                for chunk in _resamples(seed, n_items, draws)
            ]
        )
    else:
        estimate = float(statistic(np.arange(n_items)))
        values = np.array(
            [statistic(row) for chunk in _resamples(seed, n_items, draws) for row in chunk],
            dtype=float,
        )
    if not np.isfinite(estimate):
        return Interval(None, None, None, draws, n_items)
    finite = values[np.isfinite(values)]
    if len(finite) < max(1, MIN_FINITE_SHARE * draws):
        return Interval(estimate, None, None, draws, n_items)
    tail = (1 - level) / 2
    low, high = np.quantile(finite, [tail, 1 - tail])
    return Interval(estimate, float(low), float(high), draws, n_items)


def _resamples(seed: int, n_items: int, draws: int) -> Iterator[np.ndarray]:
    """`draws` rows of `n_items` indices drawn with replacement, in chunks of rows."""
    rng = np.random.default_rng(seed)
    rows = max(1, CHUNK_CELLS // n_items)
    for start in range(0, draws, rows):
        yield rng.integers(0, n_items, size=(min(rows, draws - start), n_items))


def _counts(indices: np.ndarray, n_items: int) -> np.ndarray:
    """How often each item occurs in each row of `indices` (rows x n_items)."""
    k = len(indices)
    flat = (indices + np.arange(k)[:, None] * n_items).ravel()
    return np.bincount(flat, minlength=k * n_items).reshape(k, n_items).astype(float)
