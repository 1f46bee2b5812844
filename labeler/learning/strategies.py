"""Which unlabelled tweets to ask about next: the Annotate queue's strategies as plain functions.

`scores(strategy, proba)` gives one number per item, higher = ask first; `select` picks k items;
`diverse_ranks` gives the whole pool's order for the queue's `diverse_rank` key. The names are the
queue's (`labeler/db/queue.py`), and each order matches the SQL there:

- `random`: a seeded shuffle.
- `least-confident`: lowest top probability first (1 - max p).
- `margin`: smallest gap between the two likeliest labels first.
- `entropy`: highest entropy of the label distribution first.
- `diverse`: cluster-balanced uncertainty. KMeans (seeded, fixed n_init) on the items' embeddings
  into about k clusters; the most uncertain (least-confident) item of each cluster, round-robin,
  so a batch is not k near-copies of one confusing tweet.

The uncertainty formulas are the textbook one-liners (Settles 2009, "Active Learning Literature
Survey", section 3.1), written with numpy here rather than taken from small-text, whose query
strategies expect its own classifier and dataset wrappers.
"""

from __future__ import annotations

import numpy as np

from ..errors import SettingsError

STRATEGIES = ("random", "least-confident", "margin", "entropy", "diverse")
KMEANS_N_INIT = 1  # fixed (same seed, same clusters); k-means++ needs 1, as sklearn's "auto"
KMEANS_MAX_FIT = 20_000  # the clusters are fitted on a seeded sample this big, then assigned
DIVERSE_CLUSTERS = 20  # the queue's diverse order: about one batch of the Annotate page


def check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise SettingsError(f"Unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}.")


def _proba(proba: np.ndarray) -> np.ndarray:
    p = np.asarray(proba, dtype=float)
    if p.ndim != 2:
        raise SettingsError(f"probabilities must be items x labels, not shape {p.shape}")
    return p


def least_confidence(proba: np.ndarray) -> np.ndarray:
    """1 - the top probability: higher = less sure."""
    return 1.0 - _proba(proba).max(axis=1)


def margin(proba: np.ndarray) -> np.ndarray:
    """The gap between the two likeliest labels (the top probability alone with one label)."""
    p = _proba(proba)
    if p.shape[1] < 2:
        return p[:, 0] if p.shape[1] else np.zeros(len(p))
    top2 = np.partition(p, -2, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def entropy(proba: np.ndarray) -> np.ndarray:
    """Shannon entropy of each row (nats; 0 log 0 = 0)."""
    p = _proba(proba)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=1)


def scores(strategy: str, proba: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """One score per item, higher = ask first. `diverse` scores by uncertainty alone (its
    balancing across clusters needs the embeddings: see `select` and `diverse_ranks`)."""
    check_strategy(strategy)
    p = _proba(proba)
    if strategy == "random":
        return np.random.default_rng(seed).random(len(p))
    if strategy == "margin":
        return -margin(p)
    if strategy == "entropy":
        return entropy(p)
    return least_confidence(p)  # least-confident, and diverse within a cluster


def select(
    strategy: str,
    proba: np.ndarray,
    k: int,
    *,
    embeddings: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """The indices (into `proba`'s rows) of the k items to ask about next, first first; ties go
    to the earlier item. `diverse` needs the items' embeddings."""
    check_strategy(strategy)
    p = _proba(proba)
    k = max(0, min(int(k), len(p)))
    if strategy == "diverse":
        if embeddings is None:
            raise SettingsError("The diverse strategy needs the items' embeddings.")
        return diverse_order(p, embeddings, clusters=k, seed=seed)[:k]
    order = np.argsort(-scores(strategy, p, seed=seed), kind="stable")
    return order[:k]


def cluster(embeddings: np.ndarray, n_clusters: int, *, seed: int = 0) -> np.ndarray:
    """A cluster id per row: seeded KMeans with a fixed n_init, fitted on at most
    KMEANS_MAX_FIT rows (a seeded sample) and applied to all."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    x = np.asarray(embeddings, dtype=np.float32)
    fit_rows = x
    if len(x) > KMEANS_MAX_FIT:
        pick = np.random.default_rng(seed).choice(len(x), KMEANS_MAX_FIT, replace=False)
        fit_rows = x[np.sort(pick)]
    # no more clusters than distinct points (KMeans would warn and leave clusters empty)
    n_clusters = min(int(n_clusters), len(np.unique(fit_rows, axis=0)) if len(x) else 0)
    if n_clusters <= 1:
        return np.zeros(len(x), dtype=int)
    km = KMeans(n_clusters=n_clusters, n_init=KMEANS_N_INIT, random_state=seed)
    with threadpool_limits(1):  # as the live model's fit: the app's other work keeps the cores
        km.fit(fit_rows)
        return km.predict(x).astype(int)


def diverse_order(
    proba: np.ndarray, embeddings: np.ndarray, *, clusters: int, seed: int = 0
) -> np.ndarray:
    """Every row's index, in the diverse order: round r holds each cluster's r-th most uncertain
    item, the rounds in turn and, within a round, the most uncertain first."""
    p = _proba(proba)
    emb = np.asarray(embeddings)
    if len(emb) != len(p):
        raise SettingsError(
            f"{len(p)} rows of probabilities but {len(emb)} rows of embeddings: give one each"
        )
    if not len(p):
        return np.zeros(0, dtype=int)
    ids = cluster(emb, clusters, seed=seed)
    unsure = least_confidence(p)
    # position of each item within its cluster, most uncertain first
    by_cluster = np.lexsort((np.arange(len(p)), -unsure, ids))
    position = np.empty(len(p), dtype=int)
    sorted_ids = ids[by_cluster]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_ids)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(p)]))
    position[by_cluster] = np.arange(len(p)) - run_start
    return np.lexsort((np.arange(len(p)), -unsure, position))


def diverse_ranks(
    proba: np.ndarray,
    embeddings: np.ndarray,
    seed: int = 0,
    *,
    clusters: int = DIVERSE_CLUSTERS,
) -> np.ndarray:
    """Each row's place in the diverse order (0 = ask first): the queue's `diverse_rank`."""
    order = diverse_order(proba, embeddings, clusters=clusters, seed=seed)
    ranks = np.empty(len(order), dtype=int)
    ranks[order] = np.arange(len(order))
    return ranks
