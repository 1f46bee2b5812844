"""The parser of `python -m labeler` and `main(argv)`, the one place errors become exit codes.

Each command module has `add_parser(subparsers)`, which sets `func=run` on its subparser.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import LabelerError
from . import (
    agreement,
    copy_store,
    evaluate,
    export,
    find_errors,
    import_,
    predict,
    prelabel,
    simulate,
    train,
    user,
)

COMMANDS = (
    prelabel,
    train,
    predict,
    evaluate,
    import_,
    export,
    copy_store,
    agreement,
    user,
    simulate,
    find_errors,
)
EXIT_ERROR = 2  # what argparse exits with for bad arguments, too
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m labeler",
        description="Tweet Labeler from a terminal: "
        "prelabel, train, predict, evaluate, import, export, copy-store, agreement, user, simulate, "
        "find-errors.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(subparsers)
    return parser


def one_line(message: object) -> str:
    """A message as one line: its lines joined with spaces."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return int(args.func(args) or 0)
    except LabelerError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"interrupted: {args.command} stopped before it finished", file=sys.stderr)
        return EXIT_INTERRUPTED
