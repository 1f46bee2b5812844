"""`python -m labeler train`: fine-tune a classifier on a labelled file and report its scores.

Without --eval, INPUT is split (stratified, seeded) into training and test parts; with --eval FILE,
all of INPUT trains and FILE is the test set. Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..durations import format_duration
from ..errors import DataError
from .args import add_io_args, read_input


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train",
        help="fine-tune a text classifier on labelled texts",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from ..training.settings import HEAD_INITS, TrainSettings

    d = TrainSettings()
    add_io_args(
        p, input="labelled file", output="model", columns={"text": "text", "label": "label"}
    )
    p.add_argument(
        "--model",
        default=None,
        metavar="ID_OR_DIR",
        help="base model: hub id, folder or 'bundled' (default: distilbert-base-uncased "
        "when the hub or cache has it, else the bundled all-MiniLM-L6-v2)",
    )
    p.add_argument(
        "--epochs", type=int, default=d.epochs, help=f"fine-tuning epochs (default: {d.epochs})"
    )
    p.add_argument(
        "--head-epochs",
        type=int,
        default=d.head_epochs,
        help=f"epochs training the head on the frozen encoder first, 0 for none "
        f"(default: {d.head_epochs})",
    )
    p.add_argument(
        "--head-init",
        choices=HEAD_INITS,
        default=d.head_init,
        help="how the new classifier head starts: 'logistic' fits a logistic regression on the "
        f"frozen encoder first, 'random' draws it (default: {d.head_init})",
    )
    p.add_argument(
        "--average-epochs",
        type=int,
        default=d.average_epochs,
        metavar="N",
        help="save the mean of the weights at the end of the last N epochs, 0 for the last "
        f"epoch's (default: {d.average_epochs})",
    )
    p.add_argument(
        "--lr",
        type=float,
        default=d.learning_rate,
        help=f"fine-tuning learning rate (default: {d.learning_rate:g})",
    )
    p.add_argument(
        "--batch-size", type=int, default=d.batch_size, help=f"batch size (default: {d.batch_size})"
    )
    p.add_argument(
        "--max-length",
        type=int,
        default=d.max_length,
        help=f"max word pieces per text, 16-512 (default: {d.max_length})",
    )
    p.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default: {d.seed})")
    p.add_argument(
        "--test-size",
        type=float,
        default=d.test_size,
        help=f"held-out fraction when no --eval is given (default: {d.test_size})",
    )
    p.add_argument(
        "--eval",
        default=None,
        metavar="FILE",
        help="separate test file (same columns); then all of INPUT trains",
    )
    p.add_argument("--overwrite", action="store_true", help="replace MODEL_DIR if it exists")
    p.set_defaults(func=run)
    return p


def read_labelled(path: str, text_col: str, label_col: str) -> tuple[list[str], list[str], int]:
    """Texts and labels of a file; rows without a label are skipped (returned as a count)."""
    df = read_input(path, text=text_col, label=label_col)
    labels = df[label_col].astype(str).str.strip()
    keep = labels != ""
    skipped = int((~keep).sum())
    if not keep.any():
        raise DataError(
            f"'{path}' has no labelled rows: the label column '{label_col}' is empty in all "
            f"{len(df)} rows. Label some rows or pick the right --label-col."
        )
    return df.loc[keep, text_col].astype(str).tolist(), labels[keep].tolist(), skipped


class _StderrProgress:
    """Progress lines on stderr: at each phase change and at most every few seconds."""

    def __init__(self, every_s: float = 3.0):
        self.every_s, self.last, self.phase = every_s, 0.0, None

    def __call__(self, p) -> None:
        now = time.monotonic()
        if p.phase == self.phase and now - self.last < self.every_s and p.step < p.total_steps:
            return
        self.last, self.phase = now, p.phase
        loss = f" loss {p.loss:.4f}" if p.loss is not None else ""
        print(
            f"[{p.phase}] step {p.step}/{p.total_steps} epoch {p.epoch:.2f}{loss} "
            f"{p.samples_per_s:.1f} samples/s eta {format_duration(p.eta_s)}",
            file=sys.stderr,
            flush=True,
        )


def run(args: argparse.Namespace) -> int:
    from ..evaluation.metrics import format_report
    from ..training.data import split_train_test
    from ..training.run import train_classifier
    from ..training.settings import TrainSettings

    settings = TrainSettings(
        model=args.model,
        epochs=args.epochs,
        head_epochs=args.head_epochs,
        head_init=args.head_init,
        average_epochs=args.average_epochs,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
        seed=args.seed,
        test_size=args.test_size,
    )
    texts, labels, skipped = read_labelled(args.input, args.text_col, args.label_col)
    if skipped:
        print(f"note: skipped {skipped} rows of '{args.input}' without a label", file=sys.stderr)
    if args.eval:
        train_x, train_y = texts, labels
        test_x, test_y, skipped = read_labelled(args.eval, args.text_col, args.label_col)
        if skipped:
            print(f"note: skipped {skipped} rows of '{args.eval}' without a label", file=sys.stderr)
        split = (
            f"all {len(train_x)} rows of {args.input} train; {len(test_x)} rows of {args.eval} test"
        )
    else:
        train_x, test_x, train_y, test_y = split_train_test(
            texts, labels, test_size=settings.test_size, seed=settings.seed
        )
        split = (
            f"{len(train_x)} train / {len(test_x)} test (stratified split of {args.input}, "
            f"test size {settings.test_size}, seed {settings.seed})"
        )
    print(f"training: {split}", file=sys.stderr, flush=True)
    result = train_classifier(
        train_x,
        train_y,
        settings,
        args.output,
        test_x,
        test_y,
        progress=_StderrProgress(),
        overwrite=args.overwrite,
        split=split,
    )
    print(f"model: {result.model_dir} (base: {result.base_model}, {result.base_model_location})")
    print(f"data: {split}")
    print(f"time: {format_duration(result.seconds)}, {result.samples_per_s:.1f} samples/s\n")
    if result.metrics:
        print(format_report(result.metrics))
    return 0
