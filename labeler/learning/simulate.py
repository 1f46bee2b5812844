"""What a query strategy would have bought: the live model's labelling loop replayed on data that
is labelled already.

A seeded seed set is revealed (grown until it holds two labels), the live model is fitted, the
strategy scores the rest of the pool and `step` more labels are revealed, until `budget`. Each
round is scored on a separate test set (macro-F1 and each label's F1); `repeats` runs with
different seeds are averaged. Only pool labels are ever revealed: the test set only scores.
`simulate` returns the CURVE.json contract of `python -m labeler simulate`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import DataError, SettingsError
from .strategies import check_strategy, select


def embed(texts: Sequence[str]) -> np.ndarray:
    """The texts' sentence embeddings (the bundled encoder): the one door the `simulate` and
    `find-errors` commands embed through, so tests can put a fake in its place."""
    from .embeddings import embed_texts

    return embed_texts(list(texts))


@dataclass(frozen=True)
class SimulationSettings:
    """One simulation's settings, checked here for the CLI and any page alike."""

    strategy: str = "least-confident"
    seed_size: int = 20
    step: int = 20
    budget: int = 400
    seed: int = 0
    repeats: int = 1
    features: str = "embeddings"

    def __post_init__(self) -> None:
        from .classifier import FEATURES  # here: the CLI's parser must stay light to build

        check_strategy(self.strategy)
        if self.features not in FEATURES:
            raise SettingsError(
                f"Unknown features {self.features!r}: use one of {', '.join(FEATURES)}."
            )
        if self.seed_size < 2:
            raise SettingsError(
                f"The seed set needs at least 2 labels (two labels to tell apart), "
                f"not {self.seed_size}."
            )
        if self.step < 1:
            raise SettingsError(f"Each round reveals at least 1 label, not a step of {self.step}.")
        if self.budget < self.seed_size:
            raise SettingsError(
                f"The budget ({self.budget} labels) is smaller than the seed set "
                f"({self.seed_size}): give a budget of at least {self.seed_size}."
            )
        if self.repeats < 1:
            raise SettingsError(f"A simulation runs at least once, not {self.repeats} times.")


def schedule(settings: SimulationSettings) -> list[int]:
    """The label counts each round is scored at: the seed set, then every `step`, to `budget`."""
    sizes = list(range(settings.seed_size, settings.budget, settings.step))
    return [*sizes, settings.budget]


def seed_set(y: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random `size` pool items, grown in the same random order until two labels occur."""
    order = rng.permutation(len(y))
    end = size
    while end < len(order) and len(set(y[order[:end]].tolist())) < 2:
        end += 1
    return order[:end]


def simulate(
    pool_embeddings: np.ndarray,
    pool_texts: Sequence[str],
    pool_y: Sequence[str],
    test_embeddings: np.ndarray,
    test_texts: Sequence[str],
    test_y: Sequence[str],
    settings: SimulationSettings,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """The strategy's learning curve on the test set, averaged over the repeats (see module)."""
    from sklearn.metrics import f1_score

    from .classifier import fit

    pool_y, test_y = np.asarray(pool_y).astype(str), np.asarray(test_y).astype(str)
    pool_texts, test_texts = list(pool_texts), list(test_texts)
    check_data(pool_y, test_y, settings)
    labels = sorted(set(pool_y.tolist()) | set(test_y.tolist()))
    sizes = schedule(settings)
    runs: dict[int, list[tuple[float, np.ndarray]]] = {s: [] for s in sizes}
    total, done = settings.repeats * len(sizes), 0

    def train(idx: np.ndarray):
        return fit(pool_embeddings[idx], [pool_texts[i] for i in idx], pool_y[idx], labels,
                   features=settings.features, seed=settings.seed)  # fmt: skip

    for r in range(settings.repeats):
        rng = np.random.default_rng([settings.seed, r])
        labelled = seed_set(pool_y, settings.seed_size, rng)
        model = train(labelled)
        for target in sizes:
            if target > len(labelled):  # reveal the pool labels the strategy asks for next
                rest = np.setdiff1d(np.arange(len(pool_y)), labelled)
                proba = model.predict_proba(pool_embeddings[rest], [pool_texts[i] for i in rest])
                pick = select(settings.strategy, proba, target - len(labelled),
                              embeddings=pool_embeddings[rest],
                              seed=settings.seed * 100_003 + r * 1_009 + target)  # fmt: skip
                labelled = np.concatenate([labelled, rest[pick]])
                model = train(labelled)
            if target == len(labelled):  # a seed set that had to grow skips smaller rounds
                pred = np.asarray(labels)[
                    model.predict_proba(test_embeddings, test_texts).argmax(axis=1)
                ]
                f1 = f1_score(test_y, pred, labels=labels, average=None, zero_division=0)
                runs[target].append((float(np.mean(f1)), f1))
            done += 1
            if progress is not None:
                progress(done, total)
    points = [
        {
            "n_labels": s,
            "macro_f1": float(np.mean([m for m, _ in runs[s]])),
            "macro_f1_std": float(np.std([m for m, _ in runs[s]])),
            "f1": dict(zip(labels, np.mean([f for _, f in runs[s]], axis=0).tolist(), strict=True)),
            "repeats": len(runs[s]),
            "runs": [m for m, _ in runs[s]],  # each repeat's macro-F1
        }
        for s in sizes
        if runs[s]
    ]
    return {
        "strategy": settings.strategy,
        "points": points,
        "settings": asdict(settings),
        "labels": labels,
        "pool_size": len(pool_y),
        "test_size": len(test_y),
    }


def check_data(pool_y: np.ndarray, test_y: np.ndarray, settings: SimulationSettings) -> None:
    """One DataError for a pool or test set the simulation cannot run on (before any embedding)."""
    if len(set(pool_y.tolist())) < 2:
        only = f" ({str(pool_y[0])!r})" if len(pool_y) else ""
        raise DataError(
            f"The pool's labels hold one label{only} in {len(pool_y)} rows: a simulation needs "
            "at least two labels to tell apart."
        )
    if settings.budget > len(pool_y):
        raise DataError(
            f"The budget ({settings.budget} labels) is larger than the pool "
            f"({len(pool_y)} labelled rows): give a budget of at most {len(pool_y)}."
        )
    if not len(test_y):
        raise DataError("The test set is empty: give labelled rows to score each round on.")
