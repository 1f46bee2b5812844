"""How much more labelling buys: the learning curve of the live model and its projection.

`learning_curve` cross-validates the live model on growing stratified subsamples of the gold
labels (repeated, seeded) and fits an inverse power law f(n) = a - b * n^(-c) (a <= 1) to
macro-F1 against the labels each fold trained on. `Curve.projection` turns it into "about N more
labels for macro-F1 X" with a bootstrap interval (the project's `bootstrap_interval`: the curve's
points resampled and the law refitted), and never reads the law beyond HORIZON times the labels
there are: past that a fitted curve is a guess. `short_labels` and `per_label_f1` say which labels
to look for first.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import SettingsError
from ..evaluation.bootstrap import Interval, bootstrap_interval
from .classifier import cross_validate

HORIZON = 2.0  # the law is read no further than this many times the current labels
MIN_POINTS = 3  # subset sizes the law needs (three parameters)
N_SIZES = 6  # default subset sizes, geometric from MIN_SIZE to all labels
MIN_SIZE = 20
DEFAULT_GAIN = 0.05  # the default target: the current macro-F1 plus this
DRAWS = 300  # bootstrap refits of the law (each is a small least-squares fit)
MAX_EXPONENT = 3.0
SHORT_OF = 30  # a label with fewer gold examples than this is short of them


@dataclass(frozen=True)
class CurvePoint:
    n: int  # labels in the subsample
    train_n: float  # labels each cross-validation fold trained on (the law's n)
    macro_f1: float  # mean over repeats
    std: float  # spread over repeats
    scores: tuple[float, ...]  # one per repeat


@dataclass(frozen=True)
class PowerLaw:
    """f(n) = a - b * n^(-c): rises towards `a` as labels grow."""

    a: float
    b: float
    c: float

    def __call__(self, n: float | np.ndarray) -> float | np.ndarray:
        return _law(np.asarray(n, dtype=float), self.a, self.b, self.c)

    def labels_for(self, f1: float) -> float:
        """The n at which the law reaches `f1`; inf when it never does."""
        if f1 >= self.a:
            return math.inf
        if self.b <= 0:
            return 0.0
        return float((self.b / (self.a - f1)) ** (1.0 / self.c))


@dataclass(frozen=True)
class Projection:
    target: float
    now: float | None  # the law's macro-F1 at the current labels
    n_labels: int
    more: int | None  # labels to add for the target; None when not within the horizon
    low: int | None  # the interval of `more` (bootstrap); None where undefined
    high: int | None  # None also when the interval runs past the horizon
    at_horizon: float | None  # the law's macro-F1 at HORIZON x the labels
    message: str


@dataclass(frozen=True)
class Curve:
    points: tuple[CurvePoint, ...]
    n_labels: int  # gold labels behind the curve
    fit: PowerLaw | None
    note: str  # why there is no fit ("" when there is)
    seed: int = 0

    @property
    def horizon(self) -> int:
        """The most labels the curve speaks for."""
        return int(HORIZON * self.n_labels)

    def predict(self, n: float) -> float:
        """The law's macro-F1 at `n` labels, for n up to the horizon."""
        if self.fit is None:
            raise SettingsError(self.note)
        if n > self.horizon:
            raise SettingsError(
                f"The learning curve speaks for up to {self.horizon} labels ({HORIZON:g}x the "
                f"{self.n_labels} there are), not {n:g}."
            )
        return float(self.fit(n))

    def projection(
        self, target: float | None = None, *, draws: int = DRAWS, level: float = 0.95
    ) -> Projection:
        """How many more labels the law says reach macro-F1 `target` (default: the current
        value plus DEFAULT_GAIN), with a bootstrap interval; a sentence when it cannot say."""
        if self.fit is None:
            return Projection(target or math.nan, None, self.n_labels, None, None, None, None,
                              self.note)  # fmt: skip
        now = self.predict(self.n_labels)
        at_horizon = self.predict(self.horizon)
        if target is None:
            target = round(min(now + DEFAULT_GAIN, 1.0), 2)
        if not 0 < target <= 1:
            raise SettingsError(f"A macro-F1 target lies between 0 and 1, not {target}.")
        head = f"now {now:.2f} at {self.n_labels} labels"
        if target <= now:
            return Projection(target, now, self.n_labels, 0, 0, 0, at_horizon,
                              f"Macro-F1 {target:.2f} is reached already ({head}).")  # fmt: skip
        more = self.fit.labels_for(target) - self.n_labels
        if more > self.horizon - self.n_labels:
            return Projection(
                target, now, self.n_labels, None, None, None, at_horizon,
                f"Macro-F1 {target:.2f} is not within reach of {HORIZON:g}x the current labels: "
                f"the curve projects {at_horizon:.2f} at {self.horizon} labels ({head}).",
            )  # fmt: skip
        interval = self._interval(target, draws=draws, level=level)
        more_i = math.ceil(more)
        low = None if interval.low is None else math.ceil(interval.low)
        beyond = interval.high is None or interval.high > self.horizon - self.n_labels
        high = None if beyond else math.ceil(interval.high)
        if low is None:
            spread = "no interval: too few curve points"
        elif high is None:
            spread = f"{level:.0%} interval {low} to beyond {self.horizon - self.n_labels}"
        else:
            spread = f"{level:.0%} interval {low}-{high}"
        return Projection(target, now, self.n_labels, more_i, low, high, at_horizon,
                          f"About {more_i} more labels for macro-F1 {target:.2f} ({spread}; "
                          f"{head}).")  # fmt: skip

    def _interval(self, target: float, *, draws: int, level: float) -> Interval:
        x, f = _observations(self.points)
        cap = self.horizon - self.n_labels + 1  # past the horizon: counted, never read

        def more_labels(idx: np.ndarray) -> float:
            law = _fit(x[idx], f[idx])
            if law is None:
                return math.nan
            return float(np.clip(law.labels_for(target) - self.n_labels, 0, cap))

        return bootstrap_interval(more_labels, len(x), draws=draws, seed=self.seed, level=level)

    def to_dict(self) -> dict:
        fit = None if self.fit is None else {"a": self.fit.a, "b": self.fit.b, "c": self.fit.c}
        return {
            "n_labels": self.n_labels,
            "horizon": self.horizon,
            "fit": fit,
            "note": self.note,
            "points": [
                {"n": p.n, "train_n": p.train_n, "macro_f1": p.macro_f1, "std": p.std}
                for p in self.points
            ],
        }


def _law(n: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a - b * np.power(n, -c)


def _observations(points: Sequence[CurvePoint]) -> tuple[np.ndarray, np.ndarray]:
    """(labels trained on, macro-F1): one per point and repeat."""
    x = np.array([p.train_n for p in points for _ in p.scores], dtype=float)
    f = np.array([s for p in points for s in p.scores], dtype=float)
    return x, f


def _fit(x: np.ndarray, f: np.ndarray) -> PowerLaw | None:
    """The least-squares law through (x, f), a <= 1; None with too few sizes or no fit."""
    from scipy.optimize import OptimizeWarning, curve_fit

    if len(np.unique(x)) < MIN_POINTS:
        return None
    a0 = min(1.0, float(f.max()) + 0.05)
    c0 = 0.5
    b0 = max(a0 - float(f.min()), 1e-3) * float(x.min()) ** c0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            params, _ = curve_fit(_law, x, f, p0=(a0, b0, c0),
                                  bounds=([0.0, 0.0, 1e-3], [1.0, np.inf, MAX_EXPONENT]),
                                  maxfev=5000)  # fmt: skip
    except (RuntimeError, ValueError):
        return None
    return PowerLaw(*(float(v) for v in params))


def default_sizes(n: int, n_classes: int) -> list[int]:
    """N_SIZES subset sizes, geometric from MIN_SIZE (or 4 per label) up to all n labels."""
    start = max(MIN_SIZE, 4 * n_classes)
    if n <= start:
        return [n]
    return sorted({int(round(v)) for v in np.geomspace(start, n, N_SIZES)})


def learning_curve(
    embeddings: np.ndarray,
    texts: Sequence[str],
    y: Sequence[str],
    labels: Sequence[str],
    *,
    features: str,
    sizes: Sequence[int] | None = None,
    seed: int = 0,
    repeats: int = 3,
) -> Curve:
    """Cross-validated macro-F1 of the live model at growing stratified subsamples of the gold
    labels (each size `repeats` times), and the law fitted to it. Too few labels give a Curve
    without a fit and a `note` saying why, never an exception."""
    from sklearn.model_selection import train_test_split

    if repeats < 1:
        raise SettingsError(f"A learning curve needs at least 1 repeat, not {repeats}.")
    y = np.asarray(y)
    texts = list(texts)
    n = len(y)
    used = np.unique(y)
    if len(used) < 2:
        return Curve((), n, None, "A learning curve needs gold labels of at least two labels; "
                     f"there are {n} labels of {len(used)}.", seed)  # fmt: skip
    sizes = sorted({min(int(s), n) for s in (sizes or default_sizes(n, len(used))) if s > 0})
    points = []
    for size in sizes:
        scores, trained = [], []
        for r in range(repeats):
            if size >= n:
                idx = np.arange(n)
            else:
                try:
                    idx, _ = train_test_split(np.arange(n), train_size=size, stratify=y,
                                              random_state=seed + r)  # fmt: skip
                except ValueError:  # a label too rare to stratify at this size
                    continue
            idx = np.sort(idx)
            cv = cross_validate(embeddings[idx], [texts[i] for i in idx], y[idx], labels,
                                features=features, seed=seed + r)  # fmt: skip
            if cv is None:
                continue
            scores.append(cv.macro_f1)
            trained.append(size * (cv.folds - 1) / cv.folds)
        if scores:
            points.append(CurvePoint(size, float(np.mean(trained)), float(np.mean(scores)),
                                     float(np.std(scores)), tuple(scores)))  # fmt: skip
    if len(points) < MIN_POINTS:
        return Curve(tuple(points), n, None,
                     f"A learning curve needs {MIN_POINTS} subset sizes with at least 2 gold "
                     f"labels of every label; {n} labels give {len(points)}. Label more first.",
                     seed)  # fmt: skip
    fit = _fit(*_observations(points))
    note = "" if fit is not None else "The learning curve could not be fitted to these points."
    return Curve(tuple(points), n, fit, note, seed)


def short_labels(
    y: Sequence[str], labels: Sequence[str], min_count: int = SHORT_OF
) -> dict[str, int]:
    """The labels with fewer than `min_count` gold examples and their counts, fewest first."""
    values, counts = np.unique(np.asarray(y, dtype=object).astype(str), return_counts=True)
    have = dict(zip(values.tolist(), counts.tolist(), strict=True))
    short = [(have.get(str(lab), 0), i, str(lab)) for i, lab in enumerate(labels)]
    return {lab: c for c, _, lab in sorted(short) if c < min_count}


def per_label_f1(
    y: Sequence[str], oof_proba: np.ndarray, labels: Sequence[str]
) -> dict[str, float]:
    """Each label's F1 of the out-of-fold predictions (`out_of_fold_proba`)."""
    from sklearn.metrics import f1_score

    pred = np.asarray(labels)[np.asarray(oof_proba).argmax(axis=1)]
    f1 = f1_score(np.asarray(y), pred, labels=list(labels), average=None, zero_division=0)
    return {str(lab): float(v) for lab, v in zip(labels, f1, strict=True)}
