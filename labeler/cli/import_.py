"""`python -m labeler import`: add a file's tweets to a project of the store, creating it if needed.

The file goes the Data page's way: read, columns guessed unless named, exact repeats merged,
texts the project already holds skipped, labels in the file matched to the project's labels
(ignoring case) and stored as imported labels; other label values are counted, not stored.
A new project needs --labels; for an existing one --labels, if given, must be its labels.
Nothing is written to the store until the file has been read and checked.

Example:
  python -m labeler import tweets.csv --project Biden --labels AGAINST,FAVOR,NONE
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError, SettingsError
from .args import GUESSED, add_io_args, add_project_arg, check_columns


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "import",
        help="add a file's tweets to a project (created when missing)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_io_args(
        p, input="file of tweets", columns={"text": GUESSED, "id": GUESSED, "label": GUESSED}
    )
    add_project_arg(p, "project to add to; created when no project has this name")
    p.add_argument(
        "--labels",
        default=None,
        help='comma-separated labels, e.g. "AGAINST,FAVOR,NONE": required for a new project; '
        "for an existing one they must be its labels",
    )
    p.add_argument(
        "--heldout-share",
        type=float,
        default=None,
        metavar="F",
        help="share of tweets held out for testing, for a new project (default: 0.2)",
    )
    p.set_defaults(func=run)
    return p


def pick_columns(df, args: argparse.Namespace) -> dict[str, str | None]:
    """text, id and label columns: as named (checked), "" for none, else guessed from the file."""
    from ..io.columns import detect_columns, no_text_column_message

    named = {role: getattr(args, f"{role}_col") for role in ("text", "id", "label")}
    check_columns(df, args.input, **{role: col or None for role, col in named.items()})
    guess = detect_columns(df)._asdict()
    picked = {
        role: (col if col is not GUESSED else guess[role]) or None for role, col in named.items()
    }
    if picked["text"] is None:  # numbers, ids and dates are never taken for the texts
        raise InputError(
            no_text_column_message(
                df,
                Path(args.input).name,
                fix="Choose the file that holds the tweets, or add a column with the tweet "
                "texts; if one of these columns really is the text, name it with --text-col "
                "(nothing was imported).",
            )
        )
    taken = {picked["text"]}
    for role in ("id", "label"):  # a guess never takes a column named for another role
        if named[role] is GUESSED and picked[role] in taken:
            picked[role] = None
        taken.add(picked[role])
    return picked


def run(args: argparse.Namespace) -> int:
    from ..db.store import open_store
    from ..io.prepare import prepare_items
    from ..io.read import read_table
    from ..settings import ProjectSettings, split_list

    labels = split_list(args.labels) if args.labels is not None else None
    if labels is not None:  # bad labels or a bad share fail before the store is opened
        ProjectSettings(args.project, labels, **_new_project_settings(args))
    df = read_table(args.input)
    cols = pick_columns(df, args)
    prepared = prepare_items(
        df, text_col=cols["text"], id_col=cols["id"], label_col=cols["label"], duplicates="merge"
    )
    store = open_store()
    try:
        project, created = _project(store, args, labels)
        report = store.items.import_frame(
            project.id, prepared.items, source_name=Path(args.input).name, skip_existing=True
        )
        total, labelled = store.items.count(project.id), store.items.count_labelled(project.id)
    finally:
        store.close()

    for warning in prepared.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    how = "created with" if created else "has"
    print(
        f"project '{project.name}' {how} labels {', '.join(project.labels)} "
        f"(held-out share {project.heldout_share:g}) in {store.db.safe_url}"
    )
    used = ", ".join(f"{role} column '{col}'" for role, col in cols.items() if col)
    print(f"read {prepared.rows} rows of {args.input} ({used})")
    print(
        f"added: {_n(report.imported, 'tweet')} ({report.heldout} held out for testing, "
        f"{report.labelled} labelled from the file)"
    )
    # two rules, never mixed up: rows repeating an earlier row of this file (merged by
    # prepare_items) and texts the project held before this import (skipped by the store)
    print(
        f"merged: {_n(prepared.duplicate_rows + report.already_in_project, 'row')} "
        f"({prepared.duplicate_rows} repeated within the file: the exact same text, ignoring "
        f"spaces around it; {report.already_in_project} already in the project before this "
        "import: the same text, ignoring case and spacing)"
    )
    rejected = _n(prepared.skipped_empty, "empty row")
    if report.unknown_labels:
        values = ", ".join(f"'{v}' x{n}" for v, n in report.unknown_labels.items())
        rejected += (
            f"; label values not among the project's labels (those tweets were added without a "
            f"label): {values}"
        )
    else:
        rejected += "; no unknown label values"
    print(f"rejected: {rejected}")
    print(f"project '{project.name}' now holds {total} tweets, {labelled} labelled")
    return 0


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


def _new_project_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {} if args.heldout_share is None else {"heldout_share": args.heldout_share}


def _project(store, args: argparse.Namespace, labels: list[str] | None):
    """The project named --project and whether it was created now; checks --labels against it."""
    project = store.projects.by_name(args.project)
    if project is None:
        if not labels:
            raise SettingsError(
                f"No project named '{args.project}' yet; to create it give its labels, e.g. "
                "--labels AGAINST,FAVOR,NONE (nothing was imported)."
            )
        return store.projects.create(args.project, labels, **_new_project_settings(args)), True
    if labels is not None and labels != project.labels:
        raise SettingsError(
            f"Project '{project.name}' has the labels {', '.join(project.labels)}, not "
            f"{', '.join(labels) or 'none'}; leave --labels out to add to it, or choose another "
            "--project (nothing was imported)."
        )
    if args.heldout_share is not None and args.heldout_share != project.heldout_share:
        raise SettingsError(
            f"Project '{project.name}' holds out {project.heldout_share:g} of its tweets, fixed "
            f"when it was created; leave --heldout-share out to add to it (nothing was imported)."
        )
    return project, False
