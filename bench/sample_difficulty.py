"""How hard is the bundled sample for a bag-of-words baseline?

The bundled demo/test data (data/sample_tweets.csv) is hand-written synthetic
tweets labelled for stance (AGAINST / FAVOR / NONE) toward "a four-day work
week". It is meant to behave like real tweets, so a plain lexical baseline
should find it only moderately easy. This script reports that baseline:
5-fold stratified cross-validation (shuffled, random_state=0) of
TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1) +
LogisticRegression(max_iter=2000, class_weight="balanced"), scored by macro-F1.

The figure is expected to stay between 0.45 and 0.85; a score above that means
the sample has become too formulaic (giveaway keywords) to be a useful demo of
a model's behaviour on real tweets.

Run from the repository root:

    python bench/sample_difficulty.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

DATA = Path(__file__).resolve().parent.parent / "data" / "sample_tweets.csv"


def main() -> None:
    df = pd.read_csv(DATA, encoding="utf-8")
    print(f"rows: {len(df)}")
    print("label counts:")
    for label, n in df["stance"].value_counts().sort_index().items():
        print(f"  {label:<8} {n:>4}  ({n / len(df):.0%})")

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(max_iter=2000, class_weight="balanced"),
    )
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    scores = cross_val_score(model, df["text"], df["stance"], cv=cv, scoring="f1_macro")
    print("per-fold macro-F1: " + ", ".join(f"{s:.3f}" for s in scores))
    print(f"TF-IDF + LogReg 5-fold macro-F1: {scores.mean():.3f} ± {scores.std():.3f}")


if __name__ == "__main__":
    main()
