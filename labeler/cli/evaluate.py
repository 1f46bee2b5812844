"""`python -m labeler evaluate`: score a fine-tuned model folder on a labelled file.

Prints the classification report, accuracy, macro-F1, MCC and the confusion matrix; with -o it
also writes them as JSON (accuracy, macro_f1, mcc, per_class precision/recall/f1/support,
confusion_matrix with rows = gold and columns = predicted in the order of confusion_labels).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .args import add_io_args


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "evaluate",
        help="score a fine-tuned model on a labelled file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model_dir", metavar="MODEL_DIR", help="folder written by `train`")
    add_io_args(
        p, input="labelled file", output="metrics", columns={"text": "text", "label": "label"}
    )
    p.add_argument("--batch-size", type=int, default=64, help="texts per batch (default: 64)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..evaluation.metrics import evaluate_predictions, format_report, metrics_to_json
    from ..models.classifier import load_classifier, predict
    from .train import read_labelled

    texts, gold, skipped = read_labelled(args.input, args.text_col, args.label_col)
    if skipped:
        print(f"note: skipped {skipped} rows of '{args.input}' without a label", file=sys.stderr)
    clf = load_classifier(args.model_dir)
    preds = predict(clf, texts, batch_size=args.batch_size)
    metrics = evaluate_predictions(gold, preds.labels, clf.label_names, probs=preds.probs)
    print(format_report(metrics))
    if args.output:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        data = metrics_to_json(metrics)
        data["model_dir"], data["input"] = str(args.model_dir), str(args.input)
        out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nwrote metrics to {out}")
    return 0
