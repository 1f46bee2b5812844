"""The live model: logistic regression on sentence embeddings, optionally beside TF-IDF features,
the variant picked by cross-validation. Fits in well under a second at thousands of labels.

BLAS is pinned to one thread while fitting: on 2 cores the same 10k-label fit took 13 s with the
default threads and 0.7 s with one (measured for issue 14); the app's other work keeps the cores.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

FEATURES = ("embeddings", "embeddings+tfidf")
MAX_FOLDS = 5
C = 1.0  # sklearn's default; the embeddings are L2-normalised, so one C serves every encoder


@dataclass
class LiveModel:
    """A fitted live model: `predict_proba(embeddings, texts)` in `labels` order."""

    features: str
    labels: list[str]
    clf: LogisticRegression
    tfidf: TfidfVectorizer | None = None

    def predict_proba(self, embeddings: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        with threadpool_limits(1):
            proba = self.clf.predict_proba(_matrix(embeddings, texts, self.tfidf))
        out = np.zeros((len(proba), len(self.labels)))
        for j, cls in enumerate(self.clf.classes_):
            out[:, self.labels.index(cls)] = proba[:, j]
        return out


@dataclass(frozen=True)
class CVScore:
    macro_f1: float  # mean over folds
    std: float  # spread over folds
    folds: int
    n: int  # labels behind it


def _matrix(embeddings: np.ndarray, texts: Sequence[str], tfidf: TfidfVectorizer | None):
    if tfidf is None:
        return embeddings
    return sparse.hstack([sparse.csr_matrix(embeddings), tfidf.transform(texts)]).tocsr()


def fit(
    embeddings: np.ndarray,
    texts: Sequence[str],
    y: Sequence[str],
    labels: Sequence[str],
    *,
    features: str = "embeddings",
    seed: int = 0,
) -> LiveModel:
    if features not in FEATURES:
        raise ValueError(f"features must be one of {FEATURES}, not {features!r}")
    tfidf = None
    if features == "embeddings+tfidf":
        tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True).fit(texts)
    clf = LogisticRegression(C=C, max_iter=1000, class_weight="balanced", random_state=seed)
    with threadpool_limits(1):
        clf.fit(_matrix(embeddings, texts, tfidf), np.asarray(y))
    return LiveModel(features, list(labels), clf, tfidf)


def folds_for(y: Sequence[str]) -> int:
    """As many folds as the rarest label allows (2 to 5); 0 when CV is impossible."""
    counts = np.unique(np.asarray(y), return_counts=True)[1]
    if len(counts) < 2:
        return 0
    return int(min(MAX_FOLDS, counts.min())) if counts.min() >= 2 else 0


def _folds(
    embeddings, texts, y, labels, *, features, seed
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(test rows, their probabilities from a model fitted on the other folds), fold by fold."""
    texts = list(texts)
    for train, test in StratifiedKFold(folds_for(y), shuffle=True, random_state=seed).split(
        embeddings, y
    ):
        model = fit(embeddings[train], [texts[i] for i in train], y[train], labels,
                    features=features, seed=seed)  # fmt: skip
        yield test, model.predict_proba(embeddings[test], [texts[i] for i in test])


def out_of_fold_proba(
    embeddings: np.ndarray,
    texts: Sequence[str],
    y: Sequence[str],
    labels: Sequence[str],
    *,
    features: str = "embeddings",
    seed: int = 0,
) -> np.ndarray | None:
    """Each label's probability from a model that never saw it (None when CV is impossible)."""
    if not folds_for(y):
        return None
    y = np.asarray(y)
    out = np.zeros((len(y), len(labels)))
    for test, proba in _folds(embeddings, texts, y, labels, features=features, seed=seed):
        out[test] = proba
    return out


def cross_validate(
    embeddings: np.ndarray,
    texts: Sequence[str],
    y: Sequence[str],
    labels: Sequence[str],
    *,
    features: str = "embeddings",
    seed: int = 0,
) -> CVScore | None:
    """Macro-F1 per fold (mean and spread); None when there are too few labels per class."""
    k = folds_for(y)
    if not k:
        return None
    y = np.asarray(y)
    scores = [
        f1_score(y[test], np.asarray(labels)[proba.argmax(axis=1)], labels=list(labels),
                 average="macro", zero_division=0)
        for test, proba in _folds(embeddings, texts, y, labels, features=features, seed=seed)
    ]  # fmt: skip
    return CVScore(float(np.mean(scores)), float(np.std(scores)), k, len(y))


def pick_features(
    embeddings: np.ndarray,
    texts: Sequence[str],
    y: Sequence[str],
    labels: Sequence[str],
    *,
    seed: int = 0,
) -> tuple[str, CVScore | None]:
    """The feature set with the best cross-validated macro-F1 (embeddings alone on a tie)."""
    best: tuple[str, CVScore | None] = ("embeddings", None)
    for features in FEATURES:
        score = cross_validate(embeddings, texts, y, labels, features=features, seed=seed)
        if score is not None and (best[1] is None or score.macro_f1 > best[1].macro_f1):
            best = (features, score)
    return best
