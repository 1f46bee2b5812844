"""When more labels stop paying: the stabilising-predictions signal (Bloodgood & Vijay-Shanker,
"A Method for Stopping Active Learning Based on Stabilizing Predictions", CoNLL 2009).

A stop set of unlabelled tweets is drawn once (seeded) and kept. After every retrain the live
model predicts it; Cohen's kappa between successive rounds' predictions says how much the model
still changes. When the mean kappa over the last WINDOW retrains reaches KAPPA, the model has
settled: more labels are unlikely to change it much. (Labelling a stop-set tweet later does not
take it out of the set: the signal compares predictions, not gold.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import SettingsError

STOP_SET_SIZE = 500
KAPPA = 0.99  # the paper's threshold
WINDOW = 3  # retrains the mean kappa is taken over (the paper's window)


def stop_set(item_ids: Sequence[Hashable], *, size: int = STOP_SET_SIZE, seed: int = 0) -> list:
    """A seeded sample of `size` ids (all when fewer), in the given order. Each id's place is a
    hash of (seed, id), so the same ids give the same set on every machine, whatever their order."""
    ranked = sorted(
        item_ids, key=lambda i: hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).digest()
    )
    chosen = set(ranked[: max(0, size)])
    return [i for i in item_ids if i in chosen]


def kappa(before: Sequence, after: Sequence) -> float:
    """Cohen's kappa between two rounds' predictions on the same items; 1.0 when they agree
    everywhere (kappa itself is undefined when both are one constant label)."""
    from sklearn.metrics import cohen_kappa_score

    a, b = np.asarray(before), np.asarray(after)
    if len(a) != len(b):
        raise SettingsError(
            f"the stop set changed size between retrains ({len(a)} then {len(b)} tweets): "
            "predict the same tweets every round"
        )
    if len(a) == 0:
        raise SettingsError("the stop set is empty: draw it from the unlabelled tweets")
    if np.array_equal(a, b):
        return 1.0
    value = cohen_kappa_score(a, b)
    return float(value) if np.isfinite(value) else 0.0


@dataclass(frozen=True)
class StopSignal:
    """The stopping signal after a sequence of retrains."""

    kappas: tuple[float, ...]  # between successive rounds, oldest first
    n_items: int  # tweets in the stop set
    threshold: float = KAPPA
    window: int = WINDOW

    @property
    def recent(self) -> float | None:
        """Mean kappa over the last `window` retrains; None until there are that many."""
        if len(self.kappas) < self.window:
            return None
        return float(np.mean(self.kappas[-self.window :]))

    @property
    def stable(self) -> bool:
        return self.recent is not None and self.recent >= self.threshold

    @property
    def message(self) -> str:
        if self.stable:
            return (
                f"Predictions on {self.n_items} fixed unlabelled tweets changed little over the "
                f"last {self.window} retrains (kappa {self.recent:.3f} >= {self.threshold}): "
                "more labels are unlikely to change the model much."
            )
        if self.recent is None:
            return (
                f"Too early to tell: the stopping signal compares {self.window} retrains' "
                f"predictions on {self.n_items} fixed unlabelled tweets; "
                f"{len(self.kappas)} so far."
            )
        return (
            f"Predictions on {self.n_items} fixed unlabelled tweets still change: kappa "
            f"{self.recent:.3f} over the last {self.window} retrains, {self.threshold} reads "
            "stable. More labels are still moving the model."
        )


def stop_signal(
    rounds: Sequence[Sequence], *, threshold: float = KAPPA, window: int = WINDOW
) -> StopSignal:
    """The signal from each retrain's predictions on the stop set, oldest first."""
    if window < 1:
        raise SettingsError(f"the stopping window must be at least 1 retrain, not {window}")
    kappas = tuple(kappa(a, b) for a, b in zip(rounds, rounds[1:], strict=False))
    n = len(rounds[-1]) if len(rounds) else 0
    return StopSignal(kappas, n, threshold, window)
