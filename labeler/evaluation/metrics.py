"""Scores of a classifier against gold labels: numbers and tables only, drawing is the page's job.

`evaluate_predictions` gathers scikit-learn's classification report (dict and DataFrame),
accuracy, macro-F1, MCC, the confusion matrix (counts and row-normalised, with its label order),
and for binary tasks with probabilities ROC-AUC, PR-AUC (average precision) and curve points.
`stance_f1` is TweetEval's stance score (mean F1 of "against" and "favor"). `misclassified` lists
the errors, most confident first. `metrics_to_json` keeps what a JSON file can hold;
`format_report` prints them for a terminal. `evaluate_with_intervals` adds each score's bootstrap
interval (`intervals.score_intervals`), the report with low/high columns and the small-sample
warnings. Predicting is not done here: give the labels (and probabilities) a model produced.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from .intervals import (
    HELDOUT_NOUN,
    HELDOUT_TODO,
    report_table,
    score_intervals,
    small_sample_warnings,
)

STANCE_LABELS = ("against", "favor")


def _as_str_list(values: Sequence[Any]) -> list[str]:
    return [str(v) for v in values]


def _find_label(labels: Sequence[str], name: str) -> str | None:
    """The label spelled `name` in any case ("AGAINST", "Against"), or None."""
    for lab in labels:
        if str(lab).strip().lower() == name:
            return lab
    return None


def stance_f1(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] | None = None):
    """TweetEval's stance score: mean of F1(against) and F1(favor); None without both labels.

    Labels are matched case-insensitively, so AGAINST/FAVOR/NONE projects get it too.
    """
    from sklearn.metrics import f1_score

    y_true, y_pred = _as_str_list(y_true), _as_str_list(y_pred)
    pool = list(labels) if labels is not None else sorted(set(y_true) | set(y_pred))
    found = [_find_label(pool, name) for name in STANCE_LABELS]
    if any(f is None for f in found) or not y_true:
        return None
    scores = [
        f1_score(y_true, y_pred, labels=[lab], average="macro", zero_division=0) for lab in found
    ]
    return float(np.mean(scores))


def evaluate_predictions(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    labels: Sequence[str],
    probs: np.ndarray | None = None,
    positive_label: str | None = None,
) -> dict[str, Any]:
    """Every score of predictions against gold labels, in the order `labels` gives.

    Returns a dict with: n, labels, accuracy, macro_f1, weighted_f1, mcc, stance_f1 (or None),
    per_class {label: {precision, recall, f1, support}}, report (sklearn's dict), report_df
    (DataFrame), confusion_matrix (counts, rows = gold, columns = predicted, in `labels` order),
    confusion_matrix_normalized (rows sum to 1; a row with no gold items is all 0),
    confusion_labels. For two labels with `probs` ([n, 2], columns in `labels` order) also:
    positive_label (default labels[1]), roc_auc, pr_auc (average precision), roc_curve
    {fpr, tpr, thresholds}, pr_curve {precision, recall, thresholds}; AUCs are None when the gold
    set holds one class only.
    """
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        classification_report,
        confusion_matrix,
        f1_score,
        matthews_corrcoef,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )

    y_true, y_pred = _as_str_list(y_true), _as_str_list(y_pred)
    labels = [str(lab) for lab in labels]
    if len(y_true) != len(y_pred):
        raise InputError(
            f"{len(y_true)} gold labels but {len(y_pred)} predictions: give one prediction per item."
        )
    if not y_true:
        raise InputError("Nothing to evaluate: the evaluation set is empty (0 items).")
    if len(set(labels)) != len(labels) or not labels:
        raise InputError(f"The label list must name each label once; got {labels}.")
    unknown = sorted((set(y_true) | set(y_pred)) - set(labels))
    if unknown:
        raise InputError(
            f"Labels {unknown} are not among the model's labels {labels}. Map them to the "
            "model's labels or drop those rows."
        )
    report = classification_report(y_true, y_pred, labels=labels, output_dict=True, zero_division=0)
    per_class = {
        lab: {
            "precision": float(report[lab]["precision"]),
            "recall": float(report[lab]["recall"]),
            "f1": float(report[lab]["f1-score"]),
            "support": int(report[lab]["support"]),
        }
        for lab in labels
    }
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    row_sums = cm.sum(axis=1, keepdims=True)
    cm_norm = np.divide(cm, row_sums, out=np.zeros(cm.shape, dtype=float), where=row_sums > 0)
    mcc = matthews_corrcoef(y_true, y_pred) if len(set(y_true) | set(y_pred)) > 1 else 0.0
    result: dict[str, Any] = {
        "n": len(y_true),
        "labels": labels,
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "weighted_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)
        ),
        "mcc": float(mcc),
        "stance_f1": stance_f1(y_true, y_pred, labels),
        "per_class": per_class,
        "report": report,
        "report_df": pd.DataFrame(report).transpose(),
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_normalized": cm_norm.tolist(),
        "confusion_labels": labels,
    }
    if probs is not None:
        probs = np.asarray(probs, dtype=float)
        if probs.shape != (len(y_true), len(labels)):
            raise InputError(
                f"Probabilities have shape {probs.shape}; expected ({len(y_true)}, {len(labels)}) "
                "(one row per item, one column per label in the labels order)."
            )
    if probs is not None and len(labels) == 2:
        pos = positive_label if positive_label is not None else labels[1]
        if pos not in labels:
            raise InputError(f"Positive label '{pos}' is not one of {labels}.")
        score = probs[:, labels.index(pos)]
        truth = np.array([t == pos for t in y_true], dtype=int)
        result["positive_label"] = pos
        if 0 < truth.sum() < len(truth):
            fpr, tpr, roc_thr = roc_curve(truth, score)
            prec, rec, pr_thr = precision_recall_curve(truth, score)
            result["roc_auc"] = float(roc_auc_score(truth, score))
            result["pr_auc"] = float(average_precision_score(truth, score))
            result["roc_curve"] = {
                "fpr": fpr.tolist(),
                "tpr": tpr.tolist(),
                "thresholds": roc_thr.tolist(),
            }
            result["pr_curve"] = {
                "precision": prec.tolist(),
                "recall": rec.tolist(),
                "thresholds": pr_thr.tolist(),
            }
        else:  # one gold class only: the curves and AUCs are undefined
            result.update(roc_auc=None, pr_auc=None, roc_curve=None, pr_curve=None)
    return result


def stance_labels(labels: Sequence[str]) -> tuple[str, str] | None:
    """The project's spelling of ("against", "favor"), or None without both."""
    found = [_find_label([str(lab) for lab in labels], name) for name in STANCE_LABELS]
    return None if None in found else (found[0], found[1])


def evaluate_with_intervals(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    labels: Sequence[str],
    probs: np.ndarray | None = None,
    positive_label: str | None = None,
    *,
    per_label: bool = True,
    draws: int = 1000,
    seed: int = 0,
    noun: tuple[str, str] = HELDOUT_NOUN,
    todo: str = HELDOUT_TODO,
) -> dict[str, Any]:
    """`evaluate_predictions` plus how far to trust it: "intervals" (`score_intervals`: each
    score's seeded bootstrap interval over these items), "report_table" (the classification
    report with low/high columns), "warnings" (`small_sample_warnings`, sentences naming each
    label with too few gold items; `noun` and `todo` say what the items are and what to do),
    "draws" and "seed". Without `per_label`, only the headline scores get intervals (the
    report's low/high columns stay empty): what a comparison of many models needs."""
    metrics = evaluate_predictions(y_true, y_pred, labels, probs, positive_label)
    stance = stance_labels(metrics["labels"]) if metrics["stance_f1"] is not None else None
    intervals = score_intervals(
        y_true,
        y_pred,
        metrics["labels"],
        probs=probs if "positive_label" in metrics else None,
        positive_label=metrics.get("positive_label"),
        stance_labels=stance,
        per_label=per_label,
        draws=draws,
        seed=seed,
    )
    if metrics.get("roc_auc") is None:  # one gold class: no curve, no interval
        intervals.pop("roc_auc", None)
        intervals.pop("pr_auc", None)
    return metrics | {
        "intervals": intervals,
        "report_table": report_table(metrics, intervals),
        "warnings": small_sample_warnings(y_true, y_pred, metrics["labels"], noun=noun, todo=todo),
        "draws": draws,
        "seed": seed,
    }


def _json_safe(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _json_safe(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no inf/nan (roc thresholds start at inf)
    return value


def metrics_to_json(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics without DataFrames, with plain floats and lists, ready for `json.dump`."""
    return _json_safe({k: v for k, v in metrics.items() if not isinstance(v, pd.DataFrame)})


def misclassified(
    texts: Sequence[str],
    y_true: Sequence[str],
    y_pred: Sequence[str],
    probs: np.ndarray | None = None,
    labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The wrongly labelled items, most confident mistakes first.

    Columns: index (position in the input), text, true_label, pred_label, confidence (top
    probability) and, when `labels` names the probability columns, prob_true (the probability
    given to the gold label).
    """
    y_true, y_pred = _as_str_list(y_true), _as_str_list(y_pred)
    if not (len(texts) == len(y_true) == len(y_pred)):
        raise InputError(
            f"{len(texts)} texts, {len(y_true)} gold labels and {len(y_pred)} predictions: "
            "give one of each per item."
        )
    frame = pd.DataFrame(
        {
            "index": range(len(texts)),
            "text": list(texts),
            "true_label": y_true,
            "pred_label": y_pred,
        }
    )
    if probs is not None:
        probs = np.asarray(probs, dtype=float)
        frame["confidence"] = probs.max(axis=1) if len(probs) else []
        if labels is not None:
            col = {str(lab): j for j, lab in enumerate(labels)}
            frame["prob_true"] = [
                probs[i, col[t]] if t in col else np.nan for i, t in enumerate(y_true)
            ]
    else:
        frame["confidence"] = np.nan
    wrong = frame[frame["true_label"] != frame["pred_label"]]
    return wrong.sort_values("confidence", ascending=False, kind="stable").reset_index(drop=True)


def format_report(metrics: dict[str, Any]) -> str:
    """A plain-text report for a terminal: per-class table, headline scores, confusion matrix."""
    labels = metrics["labels"]
    width = max([len(lab) for lab in labels] + [12])
    lines = [f"{'':<{width}}  precision  recall      f1  support"]
    for lab in labels:
        c = metrics["per_class"][lab]
        lines.append(
            f"{lab:<{width}}  {c['precision']:9.3f}  {c['recall']:6.3f}  {c['f1']:6.3f}  "
            f"{c['support']:7d}"
        )
    lines.append("")
    lines.append(
        f"items {metrics['n']}   accuracy {metrics['accuracy']:.3f}   "
        f"macro-F1 {metrics['macro_f1']:.3f}   MCC {metrics['mcc']:.3f}"
    )
    if metrics.get("stance_f1") is not None:
        lines.append(f"stance F1 (mean of against & favor) {metrics['stance_f1']:.3f}")
    if metrics.get("roc_auc") is not None:
        lines.append(
            f"ROC-AUC {metrics['roc_auc']:.3f}   PR-AUC {metrics['pr_auc']:.3f} "
            f"(positive: {metrics['positive_label']})"
        )
    lines.append("")
    lines.append("confusion matrix (rows gold, columns predicted):")
    cw = max(width, *(len(lab) for lab in labels))
    lines.append(" " * (cw + 2) + "  ".join(f"{lab:>{max(len(lab), 5)}}" for lab in labels))
    for lab, row in zip(labels, metrics["confusion_matrix"], strict=True):
        cells = "  ".join(f"{v:>{max(len(b), 5)}d}" for v, b in zip(row, labels, strict=True))
        lines.append(f"{lab:<{cw}}  {cells}")
    return "\n".join(lines)
