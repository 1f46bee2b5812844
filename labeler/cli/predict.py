"""`python -m labeler predict`: label every row of a file with a fine-tuned model folder.

Writes the input's columns plus pred_label, pred_score (the top probability) and one
pred_score_<label> per label (they sum to 1); the output format follows OUTPUT's extension.
With --engine ray the same job runs on a Ray cluster (a private local one by default): INPUT may
be a folder or a glob of files, and -o a folder of resumable Parquet shards.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .args import add_io_args, output_format, read_input, write_with_scores
from .cluster import add_engine_args, check_local_args, run_on_ray


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "predict",
        help="label a file with a fine-tuned model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model_dir", metavar="MODEL_DIR", help="folder written by `train`")
    add_io_args(p, input="file of texts", output="table", columns={"text": "text"})
    p.add_argument("--batch-size", type=int, default=64, help="texts per batch (default: 64)")
    add_engine_args(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..models.classifier import load_classifier, predict

    check_local_args(args)
    if args.engine == "ray":
        from ..distributed.workers import Job

        job = Job("predict", args.text_col, args.batch_size, model_dir=args.model_dir)
        return run_on_ray(args, job, "predict")
    fmt = output_format(args.output)  # a bad output name fails before the model loads
    df = read_input(args.input, text=args.text_col)
    clf = load_classifier(args.model_dir)
    shown = [0]

    def progress(done: int, total: int) -> None:
        if done == total or done - shown[0] >= 1000:
            shown[0] = done
            print(f"predicted {done}/{total}", file=sys.stderr, flush=True)

    preds = predict(
        clf, df[args.text_col].astype(str).tolist(), batch_size=args.batch_size, progress=progress
    )
    summary = write_with_scores(
        df, preds.to_frame(), args.output, fmt, preds.labels, preds.label_names
    )
    print(f"wrote {len(df)} rows to {args.output} ({summary})")
    return 0
