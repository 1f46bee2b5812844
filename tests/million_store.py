"""A 1M-item SQLite store in seconds, for page tests at scale (tests/test_million.py).

Honest about what it is: the store's own schema (opened through `Store`, so the migrations build
every table and index), rows written with one `executemany` per table in the store's own column
order (`labeler.db.items.ITEM_COLUMNS`), and every key computed by the same rules as an import
(`text_key`, `norm_key`, the held-out split by `is_heldout`, `shuffle_rank`). What it skips is the
import's per-row parsing and label matching: each label here is already one of the project's.

Every `LABEL_EVERY`-th item carries an imported label (with its annotation and code, as
`Items.import_frame` writes them), and a finished zero-shot run scores the newest `SCORED` items
(a run over a sample, as Pre-label offers) with a top score that falls with the id, so the
least-confident order is known without asking the store.
"""

from __future__ import annotations

import inspect
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from labeler.db.counts import COUNT_ITEMS, COUNT_SLICES, DUPLICATES
from labeler.db.items import CODE_COLUMNS, IMPORTED_COLUMNS, ITEM_COLUMNS
from labeler.db.store import Store
from labeler.text import is_heldout, norm_key, shuffle_rank, text_key

LABELS = ["AGAINST", "FAVOR", "NONE"]
LABEL_EVERY = 10
SCORED = 20_000


@dataclass
class Million:
    path: Path
    project_id: int
    run_id: int
    n: int
    heldout: int
    labelled: int
    heldout_labelled: int
    per_label: dict[str, int]


def tweet(i: int) -> str:
    return f"tweet {i} on the four day week #{i % 97} @user{i % 13}"


def score_of(item_id: int, n: int) -> float:
    """The zero-shot top score: distinct per item, lowest for the highest ids."""
    return 0.34 + 0.65 * (n - item_id) / n


def fingerprint() -> bytes:
    """What the built file depends on: the builder's code and constants (not its comments)."""
    parts = [inspect.getsource(f) for f in (tweet, score_of, build)]
    return repr(
        (parts, LABELS, LABEL_EVERY, SCORED, COUNT_ITEMS, DUPLICATES, COUNT_SLICES)
    ).encode()


def build(path: Path, n: int) -> Million:
    store = Store(path)
    project = store.projects.create("Million", LABELS)
    run_id = store.runs.create(project.id, "zeroshot", {"labels": LABELS}, total=n)
    store.runs.update(run_id, status="done", done=n, finished_at=time.time())
    store.close()
    now = time.time()
    items, annotations, codes, preds = [], [], [], []
    heldout = labelled = heldout_labelled = 0
    per_label = dict.fromkeys(LABELS, 0)
    for i in range(1, n + 1):
        txt = tweet(i)
        tkey, nkey = text_key(txt), norm_key(txt)
        split = "heldout" if is_heldout(nkey, project.heldout_share) else "pool"
        label = LABELS[i % 3] if i % LABEL_EVERY == 0 else None
        items.append(
            (i, project.id, txt, tkey, nkey, str(10**9 + i), "million.csv", i, None, split,
             shuffle_rank(tkey), label, "imported" if label else None,
             "import" if label else None, now if label else None, now, 0)
        )  # fmt: skip
        heldout += split == "heldout"
        if label:
            labelled += 1
            heldout_labelled += split == "heldout"
            per_label[label] += 1
            annotations.append((i, project.id, label, "imported", "import", now))
            codes.append((i, "import", project.id, label, "imported", now))
        if i > n - SCORED:  # a zero-shot run over a sample: the newest SCORED items
            top = score_of(i, n)
            rest = (1 - top) / 2
            preds.append(
                (run_id, i, LABELS[0], top, json.dumps([top, rest, rest]), top - rest, None)
            )
    conn = sqlite3.connect(path, isolation_level=None)
    # a fixture's file: no crash safety needed while it is built
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    # the schema's own indexes, dropped and rebuilt around the load (one sort beats 1M inserts)
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
        " AND tbl_name IN ('items', 'annotations', 'codes', 'predictions')"
    ).fetchall()
    conn.execute("BEGIN")
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")

    def insert(table: str, columns: tuple[str, ...], rows: list) -> None:
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        conn.executemany(sql, rows)

    insert("items", ITEM_COLUMNS, items)
    insert("annotations", IMPORTED_COLUMNS, annotations)
    insert("codes", CODE_COLUMNS, codes)
    pred_cols = ("run_id", "item_id", "label", "score", "scores", "margin", "entropy")
    insert("predictions", pred_cols, preds)
    for _, sql in indexes:
        conn.execute(sql)
    # the per-project counts an import keeps (labeler/db/counts.py), counted as the store does
    conn.execute(
        "INSERT INTO item_counts (project_id, split, label, source, n) "
        + COUNT_ITEMS.format(where="")
    )
    conn.execute(f"UPDATE projects SET duplicate_texts = ({DUPLICATES.replace(':p', 'id')})")
    conn.execute(
        "INSERT INTO shuffle_counts (project_id, slice, n) " + COUNT_SLICES.format(where="")
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return Million(path, project.id, run_id, n, heldout, labelled, heldout_labelled, per_label)
