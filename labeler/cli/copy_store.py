"""`python -m labeler copy-store`: copy the workspace's store onto another database.

Typically a laptop's SQLite workspace onto a lab's PostgreSQL server, so several people label in
one store. The source is --from, else the usual store (TWEET_LABELER_DB, else the SQLite file in
TWEET_LABELER_HOME). The target must be an empty database; everything is copied in one
transaction, so a failure leaves it as it was. Trained model folders are not copied: they stay on
this disk and runs keep their paths, so the server's app finds them only where those paths are
reachable from it.

Example:
  python -m labeler copy-store --to postgresql://ana:PASSWORD@db.lab.example:5432/labels
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import StoreError


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "copy-store",
        help="copy the workspace's store onto another (empty) database",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="target: postgresql://user:password@host:5432/dbname (empty), or a new SQLite file",
    )
    p.add_argument(
        "--from",
        dest="source",
        default=None,
        metavar="URL",
        help="source (default: TWEET_LABELER_DB, else the workspace's SQLite file)",
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..db.copy import copy_store
    from ..db.engine import parse_url
    from ..db.store import Store

    source_url = parse_url(args.source)
    if source_url.get_backend_name() == "sqlite" and not _exists(source_url.database):
        raise StoreError(
            f"There is no store to copy at {source_url.database}; set TWEET_LABELER_HOME (or "
            "--from) to the workspace that holds it."
        )
    source = Store(source_url.render_as_string(hide_password=False))
    try:
        target = Store(args.to)
        try:
            counts = copy_store(source, target)
            target_name = target.db.safe_url
        finally:
            target.close()
        source_name, models = source.db.safe_url, _models_hint(source)
    finally:
        source.close()

    print(f"copied {source_name} -> {target_name}")
    width = max(map(len, counts), default=0)
    for table, rows in counts.items():
        print(f"  {table:<{width}}  {rows:>9,} rows")
    print(
        f"note: trained model folders stay on this disk{models}; runs keep their paths, so the "
        "app on the server finds them only where those paths are reachable from it (the same "
        "disk or a shared mount)."
    )
    print("to label there, run the app with TWEET_LABELER_DB set to the --to URL")
    return 0


def _exists(path: str | None) -> bool:
    from pathlib import Path

    return bool(path) and Path(path).is_file()


def _models_hint(source) -> str:
    return f" (under {source.path.parent / 'models'})" if source.path else ""
