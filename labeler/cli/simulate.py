"""`python -m labeler simulate`: replay the live model's labelling loop on labelled data to see
what a query strategy would have bought.

From a seeded seed set of INPUT's labels, the live model (logistic regression on sentence
embeddings) is fitted, the strategy picks --step more of INPUT's rows to reveal, and so on up to
--budget labels; each round is scored on --test FILE (macro-F1 and each label's F1). Writes
CURVE.json: {"strategy", "points": [{"n_labels", "macro_f1", "macro_f1_std", "f1": {label: F1},
"repeats"}], "settings", "labels", "pool_size", "test_size"}, averaged over --repeats seeds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .args import add_io_args


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from ..learning.simulate import SimulationSettings
    from ..learning.strategies import STRATEGIES

    d = SimulationSettings  # its defaults, without the checks (they load scikit-learn)
    p = subparsers.add_parser(
        "simulate",
        help="replay active learning on labelled data: a strategy's learning curve",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_io_args(p, input="labelled file (the pool)", columns={"text": "text", "label": "label"})
    p.add_argument("--test", required=True, metavar="FILE",
                   help="labelled test file (same columns) each round is scored on")  # fmt: skip
    p.add_argument("--strategy", required=True, metavar="NAME",
                   help=f"query strategy: {', '.join(STRATEGIES)}")  # fmt: skip
    p.add_argument("--seed-size", type=int, default=d.seed_size,
                   help=f"labels revealed at random first (default: {d.seed_size})")  # fmt: skip
    p.add_argument("--step", type=int, default=d.step,
                   help=f"labels revealed each round (default: {d.step})")  # fmt: skip
    p.add_argument("--budget", type=int, default=d.budget,
                   help=f"labels revealed in all (default: {d.budget})")  # fmt: skip
    p.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default: {d.seed})")
    p.add_argument("--repeats", type=int, default=d.repeats,
                   help=f"runs with different seeds, averaged (default: {d.repeats})")  # fmt: skip
    p.add_argument("--features", default=d.features, metavar="SET",
                   help=f"embeddings or embeddings+tfidf (default: {d.features})")  # fmt: skip
    p.add_argument("-o", "--output", required=True, metavar="CURVE.json",
                   help="write the learning curve as JSON here")  # fmt: skip
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..learning import simulate as sim
    from .train import read_labelled

    settings = sim.SimulationSettings(
        strategy=args.strategy,
        seed_size=args.seed_size,
        step=args.step,
        budget=args.budget,
        seed=args.seed,
        repeats=args.repeats,
        features=args.features,
    )
    texts, gold, skipped = read_labelled(args.input, args.text_col, args.label_col)
    if skipped:
        print(f"note: skipped {skipped} rows of '{args.input}' without a label", file=sys.stderr)
    test_texts, test_gold, skipped = read_labelled(args.test, args.text_col, args.label_col)
    if skipped:
        print(f"note: skipped {skipped} rows of '{args.test}' without a label", file=sys.stderr)
    sim.check_data(np.asarray(gold), np.asarray(test_gold), settings)  # before embedding
    print(f"embedding {len(texts) + len(test_texts)} texts", file=sys.stderr, flush=True)
    emb = sim.embed(texts + test_texts)
    pool, test = emb[: len(texts)], emb[len(texts) :]  # one pass of the encoder for both
    curve = sim.simulate(pool, texts, gold, test, test_texts, test_gold, settings)
    curve["input"], curve["test"] = str(args.input), str(args.test)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(curve, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    last = curve["points"][-1]
    print(
        f"{settings.strategy}: macro-F1 {last['macro_f1']:.3f} at {last['n_labels']} labels "
        f"({len(curve['points'])} rounds, {settings.repeats} repeats); wrote {out}"
    )
    return 0
