"""`python -m labeler find-errors`: the labels in a file the model doubts, most suspect first.

Each row's label probabilities come from a live model (logistic regression on sentence
embeddings) that never saw that row (cross-validation); cleanlab's confident learning judges
which labels look wrong. OUTPUT gets those rows with all of INPUT's columns plus suspect_score
(1 - the probability of the given label) and suggested_label (the model's choice); its format
comes from its extension. Rows without a label are left out.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .args import add_io_args, output_format, read_input

AUTO = "auto"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "find-errors",
        help="list labels the model doubts (confident learning), most suspect first",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_io_args(
        p, input="labelled file", output="table", columns={"text": "text", "label": "label"}
    )
    p.add_argument("--features", default=AUTO, metavar="SET",
                   help=f"embeddings, embeddings+tfidf or {AUTO}: the better by cross-validation, as "
                        f"the live model picks (default: {AUTO})")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="random seed of the folds (default: 0)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..errors import DataError, SettingsError
    from ..io.write import write_table
    from ..learning import simulate as sim
    from ..learning.classifier import FEATURES, out_of_fold_proba, pick_features
    from ..learning.suspects import find_suspects

    if args.features not in (*FEATURES, AUTO):
        raise SettingsError(
            f"Unknown features {args.features!r}: use one of {', '.join((*FEATURES, AUTO))}."
        )
    fmt = output_format(args.output)
    df = read_input(args.input, text=args.text_col, label=args.label_col)
    given = df[args.label_col].astype(str).str.strip()
    keep = (given != "") & df[args.label_col].notna()
    df, given = df[keep], given[keep]
    if (~keep).any():
        print(f"note: skipped {int((~keep).sum())} rows of '{args.input}' without a label",
              file=sys.stderr)  # fmt: skip
    counts = given.value_counts()
    if len(counts) < 2:
        raise DataError(
            f"'{args.input}' holds {len(df)} labelled rows of {len(counts)} label in "
            f"'{args.label_col}': finding suspect labels needs at least two labels."
        )
    if counts.min() < 2:
        rare = ", ".join(f"{lab!r}" for lab in counts[counts < 2].index[:5])
        raise DataError(
            f"{int((counts < 2).sum())} labels of '{args.input}' have 1 example ({rare}): "
            "cross-validation needs at least 2 of each; label more or drop them."
        )
    labels = sorted(counts.index.tolist())
    texts, y = df[args.text_col].astype(str).tolist(), given.to_numpy()
    print(f"embedding {len(texts)} texts", file=sys.stderr, flush=True)
    emb = sim.embed(texts)
    features = args.features
    if features == AUTO:
        features, _ = pick_features(emb, texts, y, labels, seed=args.seed)
    proba = out_of_fold_proba(emb, texts, y, labels, features=features, seed=args.seed)
    table = find_suspects(y, proba, labels)
    issues = table[table["issue"]]
    out = df.iloc[issues.index.to_numpy()].copy()
    out["suspect_score"] = issues["suspect_score"].to_numpy()
    out["suggested_label"] = issues["suggested_label"].to_numpy()
    write_table(out.reset_index(drop=True), args.output, fmt)
    print(
        f"{len(out)} of {len(df)} labels look wrong (features: {features}); wrote them to "
        f"{args.output}, most suspect first"
    )
    return 0
