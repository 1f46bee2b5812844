"""Subcommands of `python -m labeler`: each module has `add_parser(subparsers)` and `run(args)`."""

COMMANDS = ("prelabel", "train", "predict", "evaluate")
