"""Benchmark: how long the live model takes to retrain, by number of labels and feature set.

Not a test. Synthetic data, so no model is needed: N L2-normalised 384-dimensional vectors (three
labels, each a direction plus much noise, as sentence embeddings of stance tweets are) and
tweet-like texts (8-30 words drawn from a Zipf vocabulary of 20,000 words, so TF-IDF sees a
realistic number of distinct uni- and bigrams). For each label count, each feature set's fit and
cross-validation (labeler.learning.classifier) are timed, then the retrain policy itself
(`labeler.learning.live.train_live`: TF-IDF tried only up to TFIDF_MAX_LABELS). With --store, also
a whole `live.retrain` through a SQLite store (embeddings cached, every item predicted and written).

    python bench/live_model.py                         # 1k, 2k, 5k and 10k labels
    python bench/live_model.py --sizes 10000 --store   # and the end-to-end retrain at 10k
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labeler.learning import classifier, live  # noqa: E402

LABELS = ["AGAINST", "FAVOR", "NONE"]


def synthetic(n: int, dim: int = 384, vocab: int = 20_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(LABELS), n)
    centres = rng.normal(size=(len(LABELS), dim))
    x = (centres[y] * 0.08 + rng.normal(size=(n, dim))).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    p = 1 / np.arange(1, vocab + 1)
    p /= p.sum()
    texts = [" ".join(f"w{w}" for w in rng.choice(vocab, k, p=p)) for k in rng.integers(8, 31, n)]
    return x, texts, [LABELS[i] for i in y]


def timed(fn, *args, **kw) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - started, out


def bench_arrays(sizes: list[int], tfidf_up_to: int) -> None:
    print(f"{'labels':>7} {'features':<17} {'fit s':>6} {'CV s':>6} {'CV F1':>6}")
    for n in sizes:
        x, texts, y = synthetic(n)
        for features in classifier.FEATURES:
            if features != "embeddings" and n > tfidf_up_to:
                print(f"{n:>7} {features:<17} {'(skipped: --tfidf-up-to)':>20}")
                continue
            fit_s, _ = timed(classifier.fit, x, texts, y, LABELS, features=features)
            cv_s, cv = timed(classifier.cross_validate, x, texts, y, LABELS, features=features)
            print(f"{n:>7} {features:<17} {fit_s:>6.2f} {cv_s:>6.2f} {cv.macro_f1:>6.3f}")
        total, fit = timed(live.train_live, x, texts, y, LABELS)
        print(f"{n:>7} {'train_live':<17} {total:>13.2f} -> {fit.features}, tried {fit.tried}")


def bench_store(n: int) -> None:
    """live.retrain end to end on a SQLite store of n labelled pool tweets (+25% unlabelled)."""
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TWEET_LABELER_HOME"] = tmp
        from labeler.db.store import Store
        from labeler.learning import embeddings

        total = n + n // 4
        x, texts, y = synthetic(total)
        texts = [f"{t} #{i}" for i, t in enumerate(texts)]  # distinct texts
        store = Store(f"sqlite:///{tmp}/bench.sqlite")
        project = store.projects.create("bench", LABELS, heldout_share=0.0)
        store.items.import_frame(
            project.id, pd.DataFrame({"text": texts, "label": y[:n] + [None] * (total - n)})
        )
        items = store.items.texts(project.id)
        embeddings.cache_for().put(items["text_key"].tolist(), x)
        seconds, run_id = timed(live.retrain, store, project.id)
        m = store.runs.get(run_id)["metrics"]
        print(
            f"live.retrain, {m['n_labels']:,} labels, {m['predicted']:,} items predicted: "
            f"{seconds:.2f} s in all, {m['fit_seconds']:.2f} s choosing and fitting ({m['features']})"
        )
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000, 10_000])
    parser.add_argument(
        "--tfidf-up-to", type=int, default=10_000, help="skip TF-IDF timings above this many"
    )
    parser.add_argument("--store", action="store_true", help="also retrain through a store")
    args = parser.parse_args()
    bench_arrays(args.sizes, args.tfidf_up_to)
    if args.store:
        bench_store(max(args.sizes))


if __name__ == "__main__":
    main()
