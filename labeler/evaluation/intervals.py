"""How far a classifier's scores can be trusted: bootstrap intervals and small-sample warnings.

Every interval comes from the project's one seeded bootstrap (`bootstrap.bootstrap_interval`)
over the scored items, so the same seed gives the same interval. The `*_statistic` functions
return a function of a (draws x items) matrix of draw counts (what `bootstrap_interval(...,
counts=True)` hands over) that scores every resample at once; on a matrix of ones each gives
scikit-learn's value on all items, and on any row scikit-learn's value with that row as
`sample_weight`. NaN means "undefined on this resample" (a label absent from it): the bootstrap
drops it.

`score_intervals` gathers what Evaluate shows: accuracy, macro-F1, MCC, stance-F1, per-label
precision, recall and F1, and for two labels with probabilities ROC-AUC and average precision.
`report_table` is the classification report with low/high columns. `small_sample_warnings` says,
for a label with fewer than MIN_TEST_ITEMS gold items (and for a whole test set that small), how
far its score moves with one error more or fewer and what to do about it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .bootstrap import Interval, bootstrap_interval

Statistic = Callable[[np.ndarray], np.ndarray]

MIN_TEST_ITEMS = 30  # fewer gold items than this for a label (or in all): warn
LEVEL = 0.95
PER_LABEL = ("precision", "recall", "f1")
REPORT_COLUMNS = [
    "precision", "precision low", "precision high", "recall", "recall low", "recall high",
    "F1", "F1 low", "F1 high", "support",
]  # fmt: skip
HELDOUT_NOUN = ("held-out tweet", "held-out tweets")
HELDOUT_TODO = (
    "label more held-out tweets (they are interleaved on Annotate) or raise the held-out share "
    "on the Projects page"
)


def _strings(values: Any) -> np.ndarray:
    return np.asarray([str(v) for v in values], dtype=object)


def _interval(statistic: Statistic, n: int, draws: int, seed: int, level: float) -> Interval:
    return bootstrap_interval(statistic, n, draws=draws, seed=seed, level=level, counts=True)


def _divide(top: np.ndarray, bottom: np.ndarray, empty: float = np.nan) -> np.ndarray:
    """top / bottom, `empty` where bottom is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), empty)


# -- vectorised statistics ---------------------------------------------------------------------


def accuracy_statistic(gold: np.ndarray, predicted: np.ndarray) -> Statistic:
    """Accuracy of each resample, from a (draws x items) matrix of draw counts."""
    right = (gold == predicted).astype(float)
    return lambda counts: (counts @ right) / counts.sum(axis=1)


def macro_f1_statistic(
    gold: np.ndarray, predicted: np.ndarray, labels: Sequence[str] | None = None
) -> Statistic:
    """Macro-F1 of each resample as scikit-learn computes it (F1 = 2TP / (2TP + FP + FN)).

    Without `labels`: averaged over the labels present in the resample's gold or predictions
    (`f1_score(average="macro")`). With `labels`: averaged over exactly those, a label absent
    from the resample counting 0 (`f1_score(labels=labels, average="macro", zero_division=0)`).
    """
    fixed = labels is not None
    labels = list(labels) if fixed else sorted(set(gold) | set(predicted))
    is_gold = np.stack([gold == lab for lab in labels], axis=1)
    is_pred = np.stack([predicted == lab for lab in labels], axis=1)
    hit = (is_gold & is_pred).astype(float)
    off = (is_gold ^ is_pred).astype(float)  # a false positive or a false negative of the label

    def statistic(counts: np.ndarray) -> np.ndarray:
        tp, wrong = counts @ hit, counts @ off
        denominator = 2 * tp + wrong
        if fixed:
            return _divide(2 * tp, denominator, 0.0).mean(axis=1)
        f1 = _divide(2 * tp, denominator)
        present = (denominator > 0).sum(axis=1)
        return np.nansum(f1, axis=1) / np.maximum(present, 1)

    return statistic


def mcc_statistic(gold: np.ndarray, predicted: np.ndarray) -> Statistic:
    """Matthews correlation of each resample (scikit-learn's multi-class formula; 0 where it is
    undefined, as scikit-learn returns)."""
    labels = sorted(set(gold) | set(predicted))
    is_gold = np.stack([gold == lab for lab in labels], axis=1).astype(float)
    is_pred = np.stack([predicted == lab for lab in labels], axis=1).astype(float)
    right = (gold == predicted).astype(float)

    def statistic(counts: np.ndarray) -> np.ndarray:
        t, p = counts @ is_gold, counts @ is_pred  # per label: gold and predicted counts
        c, s = counts @ right, counts.sum(axis=1)
        cov_tp = c * s - (t * p).sum(axis=1)
        cov_pp = s**2 - (p**2).sum(axis=1)
        cov_tt = s**2 - (t**2).sum(axis=1)
        return _divide(cov_tp, np.sqrt(np.maximum(cov_pp * cov_tt, 0)), 0.0)

    return statistic


def label_statistic(gold: np.ndarray, predicted: np.ndarray, label: str, score: str) -> Statistic:
    """One label's precision, recall or F1 on each resample; NaN where the resample leaves it
    undefined (no item predicted as the label, no gold item of it, neither)."""
    if score not in PER_LABEL:
        raise ValueError(f"score must be one of {PER_LABEL}, not {score!r}")
    is_gold = (gold == label).astype(float)
    is_pred = (predicted == label).astype(float)
    hit = is_gold * is_pred

    def statistic(counts: np.ndarray) -> np.ndarray:
        tp, n_pred, n_gold = counts @ hit, counts @ is_pred, counts @ is_gold
        if score == "precision":
            return _divide(tp, n_pred)
        if score == "recall":
            return _divide(tp, n_gold)
        return _divide(2 * tp, n_pred + n_gold)

    return statistic


def _score_groups(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Items sorted by score, highest first, and where each run of equal scores starts."""
    order = np.argsort(-score, kind="stable")
    ranked = score[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    return order, starts


def roc_auc_statistic(truth: np.ndarray, score: np.ndarray) -> Statistic:
    """ROC-AUC of each resample (`truth`: the positive label's items; `score`: its probability):
    the weighted chance that a positive outranks a negative, ties counting half, which is
    scikit-learn's area under the weighted ROC curve. NaN where a resample holds one class."""
    order, starts = _score_groups(np.asarray(score, dtype=float))
    pos = np.asarray(truth, dtype=float)[order]

    def statistic(counts: np.ndarray) -> np.ndarray:
        w = counts[:, order]
        group_pos = np.add.reduceat(w * pos, starts, axis=1)
        group_neg = np.add.reduceat(w * (1 - pos), starts, axis=1)
        neg_lower = group_neg.sum(axis=1, keepdims=True) - np.cumsum(group_neg, axis=1)
        wins = (group_pos * (neg_lower + 0.5 * group_neg)).sum(axis=1)
        return _divide(wins, group_pos.sum(axis=1) * group_neg.sum(axis=1))

    return statistic


def average_precision_statistic(truth: np.ndarray, score: np.ndarray) -> Statistic:
    """Average precision (PR-AUC) of each resample, as scikit-learn's `average_precision_score`
    with the draw counts as sample weights. NaN where a resample holds no positive."""
    order, starts = _score_groups(np.asarray(score, dtype=float))
    pos = np.asarray(truth, dtype=float)[order]

    def statistic(counts: np.ndarray) -> np.ndarray:
        w = counts[:, order]
        tps = np.cumsum(np.add.reduceat(w * pos, starts, axis=1), axis=1)
        seen = np.cumsum(np.add.reduceat(w, starts, axis=1), axis=1)
        precision = _divide(tps, seen, 0.0)
        gained = np.diff(tps, axis=1, prepend=0)
        return _divide((gained * precision).sum(axis=1), tps[:, -1])

    return statistic


# -- what Evaluate shows -----------------------------------------------------------------------


def score_intervals(
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    labels: Sequence[str],
    *,
    probs: np.ndarray | None = None,
    positive_label: str | None = None,
    stance_labels: tuple[str, str] | None = None,
    per_label: bool = True,
    draws: int = 1000,
    seed: int = 0,
    level: float = LEVEL,
) -> dict[str, Any]:
    """Bootstrap intervals of the scores `evaluate_predictions` reports, over the same items.

    Returns {"accuracy", "macro_f1", "mcc": Interval; "stance_f1": Interval or None (without
    `stance_labels`); "per_label": {label: {"precision", "recall", "f1": Interval}} (empty
    without `per_label`); "roc_auc", "pr_auc": Interval, for two labels with `probs` only}.
    Macro-F1 averages over `labels` (a label with no item counts 0), as `evaluate_predictions`
    does; each interval's `n` is the number of items resampled.
    """
    gold, pred = _strings(y_true), _strings(y_pred)
    labels = [str(lab) for lab in labels]
    n = len(gold)

    def interval(statistic: Statistic) -> Interval:
        return _interval(statistic, n, draws, seed, level)

    out: dict[str, Any] = {
        "accuracy": interval(accuracy_statistic(gold, pred)),
        "macro_f1": interval(macro_f1_statistic(gold, pred, labels)),
        "mcc": interval(mcc_statistic(gold, pred)),
        "stance_f1": None,
        "per_label": {},
    }
    if stance_labels is not None:
        out["stance_f1"] = interval(macro_f1_statistic(gold, pred, list(stance_labels)))
    if per_label:
        out["per_label"] = {
            lab: {s: interval(label_statistic(gold, pred, lab, s)) for s in PER_LABEL}
            for lab in labels
        }
    if probs is not None and len(labels) == 2:
        pos = positive_label if positive_label is not None else labels[1]
        score = np.asarray(probs, dtype=float)[:, labels.index(pos)]
        truth = gold == pos
        out["roc_auc"] = interval(roc_auc_statistic(truth, score))
        out["pr_auc"] = interval(average_precision_statistic(truth, score))
    return out


def report_table(metrics: dict[str, Any], intervals: dict[str, Any]) -> pd.DataFrame:
    """The classification report, one row per label (index: the label), with each score's
    interval beside it: REPORT_COLUMNS. A bound is NaN where the score is undefined."""
    rows = {}
    for lab in metrics["labels"]:
        c = metrics["per_class"][lab]
        ivs = intervals["per_label"].get(lab, {})
        row: dict[str, float] = {}
        for score in PER_LABEL:
            iv = ivs.get(score)
            name = "F1" if score == "f1" else score
            row[name] = c[score]
            row[f"{name} low"] = np.nan if iv is None or iv.low is None else iv.low
            row[f"{name} high"] = np.nan if iv is None or iv.high is None else iv.high
        row["support"] = c["support"]
        rows[lab] = row
    return pd.DataFrame.from_dict(rows, orient="index", columns=REPORT_COLUMNS)


# -- small samples -----------------------------------------------------------------------------


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0


def f1_swing(tp: int, fp: int, fn: int) -> float:
    """How far one label's F1 moves at most when one prediction changes: a right item of the
    label turns wrong or back, or one item more or fewer is wrongly given the label."""
    now = _f1(tp, fp, fn)
    moves = [(tp, fp + 1, fn)]
    if tp:
        moves.append((tp - 1, fp, fn + 1))
    if fn:
        moves.append((tp + 1, fp, fn - 1))
    if fp:
        moves.append((tp, fp - 1, fn))
    return max(abs(_f1(*m) - now) for m in moves)


def small_sample_warnings(
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    labels: Sequence[str],
    *,
    minimum: int = MIN_TEST_ITEMS,
    noun: tuple[str, str] = HELDOUT_NOUN,
    todo: str = HELDOUT_TODO,
) -> list[str]:
    """One sentence per label with fewer than `minimum` gold items (how many, how far its F1
    moves with one error more or fewer, and `todo`), led by one for the whole set when it is
    that small. `noun` is (singular, plural): what the items are called."""
    gold, pred = _strings(y_true), _strings(y_pred)

    def count(k: int) -> str:
        return f"{k:,} {noun[0] if k == 1 else noun[1]}"

    out = []
    n = len(gold)
    if n < minimum:
        step = f"{1 / n:.3f}" if n else "—"
        out.append(
            f"Only {count(n)} scored: one error more or fewer moves accuracy by {step}, and "
            f"every interval is wide. Scores mean something from {minimum} on: {todo}."
        )
    for lab in labels:
        support = int((gold == lab).sum())
        if support >= minimum:
            continue
        if not support:
            out.append(f"{lab}: no {noun[1]}, so its recall and F1 cannot be measured; {todo}.")
            continue
        tp = int(((gold == lab) & (pred == lab)).sum())
        fp = int(((gold != lab) & (pred == lab)).sum())
        swing = f1_swing(tp, fp, support - tp)
        out.append(
            f"{lab}: {count(support)}. Its F1 can move by ±{swing:.2f} with one error more or "
            f"fewer; {todo}."
        )
    return out
