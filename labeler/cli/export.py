"""`python -m labeler export`: write a project's export table to a file.

The table is the store's export (`labeler.db.export`): every item with its gold label, each
coder's label and the latest models' scores; the format follows OUTPUT's extension (csv, tsv,
xlsx, jsonl, parquet). A bad extension or an unknown project fails before anything is written;
the file appears whole or not at all.

Example:
  python -m labeler export --project Biden -o biden.xlsx
"""

from __future__ import annotations

import argparse
from typing import Any

from .args import add_io_args, add_project_arg, output_format, unknown_project


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "export",
        help="write a project's items, labels and scores to a file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_project_arg(p, "project to export")
    add_io_args(p, output="table")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..db.store import open_store
    from ..io.write import write_table

    fmt = output_format(args.output)
    store = open_store()
    try:
        project = store.projects.by_name(args.project)
        if project is None:
            raise unknown_project(store, args.project)
        table = store.export.frame(project.id)
    finally:
        store.close()
    write_table(table, args.output, fmt)
    print(f"wrote {len(table)} rows of project '{project.name}' to {args.output}")
    return 0
