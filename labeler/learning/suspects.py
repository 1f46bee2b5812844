"""Gold labels the model doubts: confident learning (cleanlab) on out-of-fold probabilities.

Each labelled tweet's probabilities come from a live model that never saw it
(`classifier.out_of_fold_proba`); cleanlab's `find_label_issues` says which labels look wrong and
`get_label_quality_scores` (self-confidence: the probability of the given label) how much. The
table is the queue's `suspect` key (`label_quality`, low = suspect) and `find-errors`' output.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError

COLUMNS = ("label", "suggested_label", "suspect_score", "label_quality", "model_confidence",
           "issue")  # fmt: skip


def find_suspects(y: Sequence[str], oof_proba: np.ndarray, labels: Sequence[str]) -> pd.DataFrame:
    """One row per labelled item, most suspect first; the index is the item's position in `y`.

    Columns: label (given), suggested_label (the model's argmax), suspect_score (1 - label
    quality), label_quality (the probability of the given label), model_confidence (the
    probability of the suggested label) and issue (cleanlab judges the label wrong).
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    labels = [str(lab) for lab in labels]
    given = np.asarray(y, dtype=object).astype(str)
    proba = np.asarray(oof_proba, dtype=float)
    if proba.shape != (len(given), len(labels)):
        raise DataError(
            f"{len(given)} labels need {len(given)} x {len(labels)} probabilities, "
            f"not {proba.shape[0]} x {proba.shape[1] if proba.ndim == 2 else '?'}"
        )
    unknown = sorted(set(given) - set(labels))
    if unknown:
        raise DataError(
            f"{len(unknown)} labels are not in the label set {labels}: "
            f"{', '.join(repr(u) for u in unknown[:5])}"
        )
    if len(given) == 0:
        return pd.DataFrame(columns=list(COLUMNS))
    # cleanlab wants classes 0..K-1 that all occur: keep the labels in use, rows renormalised
    used = [lab for lab in labels if lab in set(given)]
    cols = [labels.index(lab) for lab in used]
    sub = proba[:, cols]
    sums = sub.sum(axis=1, keepdims=True)
    sub = np.where(sums > 0, sub / np.where(sums > 0, sums, 1), 1.0 / len(used))
    codes = np.array([used.index(g) for g in given])
    quality = get_label_quality_scores(codes, sub, method="self_confidence")
    issue = np.zeros(len(given), dtype=bool)
    if len(used) >= 2:
        with warnings.catch_warnings():  # "may not flag all issues in a small class": known
            warnings.simplefilter("ignore", UserWarning)
            found = find_label_issues(codes, sub, return_indices_ranked_by="self_confidence",
                                      n_jobs=1)  # fmt: skip
        issue[found] = True
    top = proba.argmax(axis=1)
    out = pd.DataFrame(
        {
            "label": given,
            "suggested_label": np.asarray(labels, dtype=object)[top],
            "suspect_score": 1.0 - quality,
            "label_quality": quality,
            "model_confidence": proba.max(axis=1),
            "issue": issue,
        }
    )
    # most suspect first; ties keep the input order
    return out.iloc[np.argsort(-out["suspect_score"].to_numpy(), kind="stable")]
