"""A million tweets: the store, every page and the server's memory at 1M items, beside the floor.

One run, on the same generated tweets (bench/store_bench.py's `synthetic_tweets`, written once
as a CSV file):

- import: the app's path (read the file, detect columns, prepare, `Items.import_frame`) against
  the floor, pandas reading the same file plus one bare `executemany` of the texts into one table
  (SQLite; PostgreSQL through psycopg), same durability as the store. Goal: within 3x. On SQLite
  also the rows the import wrote, inserted again by bare `executemany` into a fresh store's own
  tables and indexes (items, annotations, codes): how much of the gap is the schema itself.
- export: `Export.frame` + CSV bytes against pandas writing that same DataFrame to CSV. Goal: 3x.
- next item and one label write at 1M, medians of interleaved queries, both engines. Goal: < 5 ms.
- every page's opening (AppTest: the page's script run, the median of 3 after a first warm-up
  open) at 100k and at 1M on SQLite, each size in a fresh process; goal: within 2x. That
  process's resident memory (VmRSS, and its peak VmHWM) after opening every page is the
  server's memory: goal at 1M within 1.5x of 100k.

    python bench/million.py [--rows 1000000] [--small 100000] [--queries 200] [--no-pg]
    python bench/million.py --pages-only      # pages and memory only (SQLite)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from store_bench import (  # noqa: E402
    LABELS,
    New,
    floor_import,
    floor_next,
    floor_write,
    median_ms,
    pg_floor,
    psycopg_connect,
    sqlite_floor,
    synthetic_tweets,
)

from labeler.io.columns import detect_columns  # noqa: E402
from labeler.io.prepare import prepare_items  # noqa: E402
from labeler.io.read import read_table  # noqa: E402
from labeler.io.write import to_bytes  # noqa: E402

PAGES = ["home", "data", "prelabel", "annotate", "team", "agreement", "adjudicate", "learning",
         "train", "evaluate", "export", "tokenizer"]  # fmt: skip
SCORED = 10_000  # a zero-shot run over a sample, as Pre-label offers


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def app_import(store: New, pid: int, path: Path) -> float:
    def run():
        table = read_table(path)
        guess = detect_columns(table)
        prepared = prepare_items(table, guess.text, guess.id, guess.label).items
        store.s.items.import_frame(pid, prepared, source_name=path.name)

    return timed(run)[1]


def floor_of_import(conn, mark: str, path: Path) -> float:
    """pandas reading the same file, then one bare executemany of its texts."""
    df, read_s = timed(lambda: pd.read_csv(path, dtype=str, keep_default_na=False))
    return read_s + floor_import(conn, mark, df["text"].tolist())


def schema_floor(tmp: Path, store_file: Path) -> float:
    """The rows an import wrote (items, annotations, codes), read back and written again by one
    bare executemany per table into a fresh store's empty schema, with the store's durability:
    what the store's three tables and their indexes cost by themselves, without the app."""
    import sqlite3

    (tmp / "schema").mkdir()
    fresh = New(tmp / "schema" / "labeler.sqlite")
    fresh.create()  # project 1, as in the store read from
    fresh.s.close()
    tables = {}
    with sqlite3.connect(store_file) as src:
        for table in ("items", "annotations", "codes"):
            cur = src.execute(f"SELECT * FROM {table}")
            tables[table] = ([d[0] for d in cur.description], cur.fetchall())
    dst = sqlite3.connect(tmp / "schema" / "labeler.sqlite", isolation_level=None)
    dst.execute("PRAGMA synchronous=FULL")
    dst.execute("PRAGMA cache_size=-65536")
    start = time.perf_counter()
    dst.execute("BEGIN")
    for table, (cols, rows) in tables.items():
        marks = ", ".join("?" * len(cols))
        dst.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)
    dst.execute("COMMIT")
    seconds = time.perf_counter() - start
    dst.close()
    return seconds


def export_and_floor(store: New, pid: int) -> tuple[float, float]:
    """(the app's export to CSV bytes, pandas writing the very same DataFrame to CSV)."""
    start = time.perf_counter()
    table = store.export(pid)
    to_bytes(table, "csv")
    app_s = time.perf_counter() - start
    return app_s, timed(lambda: table.to_csv(index=False).encode("utf-8"))[1]


def with_suggestions(store: New, pid: int) -> None:
    """A finished zero-shot run over a sample, so pages show suggestions and scores."""
    items = store.s.items.page(pid, limit=SCORED)
    run = store.s.runs.create(pid, "zeroshot", {"labels": LABELS}, total=len(items))
    rng = random.Random(0)
    rows = []
    for i in items["id"]:
        s = sorted((rng.random() for _ in LABELS), reverse=True)
        total = sum(s)
        rows.append((int(i), LABELS[0], s[0] / total, [x / total for x in s]))
    store.s.predictions.put(run, rows)
    store.s.runs.update(run, status="done", done=len(rows), finished_at=time.time())


def pages_child(project_id: int, repeats: int) -> None:
    """In a fresh process whose workspace is the store: open every page, report times and RSS."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.query_params["project"] = str(project_id)
    at.run()
    times = {}
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()  # warm-up: imports, cached resources
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            at.switch_page(f"pages/{page}.py").run()
            runs.append(time.perf_counter() - start)
        times[page] = statistics.median(runs)
        if at.exception:
            times[page] = float("nan")
    status = Path("/proc/self/status").read_text()
    mem = {k: int(line.split()[1]) for line in status.splitlines()
           for k in ("VmRSS", "VmHWM") if line.startswith(k + ":")}  # fmt: skip
    print(json.dumps({"pages": times, **mem}))


def open_pages(home: Path, project_id: int, repeats: int) -> dict:
    env = {**os.environ, "TWEET_LABELER_HOME": str(home), "TWEET_LABELER_LEARNING_JOBS": "0"}
    out = subprocess.run(
        [sys.executable, __file__, "--pages-child", str(project_id), "--repeats", str(repeats)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def queue_and_writes(stores: dict[str, tuple[New, int]], floors: dict, queries: int) -> dict:
    rng = random.Random(1)
    samples = {n: {"next": [], "write": []} for n in [*stores, *floors]}
    for k in range(queries):  # interleaved, so load on the machine hits all alike
        order = ("loaded", "random")[k % 2]
        for name, (store, pid) in stores.items():
            start = time.perf_counter()
            item = store.next(pid, order, k)
            took = time.perf_counter() - start
            samples[name]["next"].append(took)
            samples[name]["write"].append(
                timed(lambda s=store, i=item: s.label(i["id"], rng.choice(LABELS)))[1]
            )
        for name, (writer, reader, mark) in floors.items():
            samples[name]["next"].append(floor_next(reader, mark))
            samples[name]["write"].append(floor_write(writer, mark))
    return {n: {k: median_ms(v) for k, v in s.items()} for n, s in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000, help="the size pages compare to")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3, help="opens of each page (median)")
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--pages-only", action="store_true", help="only pages and memory")
    parser.add_argument("--pages-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pages_child is not None:
        return pages_child(args.pages_child, args.repeats)

    from contextlib import nullcontext

    from pg_server import postgres_server

    report: dict = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        nullcontext() if args.no_pg or args.pages_only else postgres_server(durable=True) as pg,
    ):
        tmp = Path(tmp)
        files = {}
        for n in (args.small, args.rows):
            files[n] = tmp / f"tweets-{n}.csv"
            files[n].write_bytes(to_bytes(synthetic_tweets(n), "csv"))
        # the store at the small size: pages and memory only
        (tmp / "small").mkdir()
        small = New(tmp / "small" / "labeler.sqlite")
        small_pid = small.create()
        app_import(small, small_pid, files[args.small])
        with_suggestions(small, small_pid)
        small.s.close()
        # 1M: import and export on each engine beside the floor
        engines = {"SQLite": lambda: New(tmp / "big" / "labeler.sqlite")}
        floors_at = {"SQLite": lambda: sqlite_floor(tmp / "floor.sqlite")}
        if not args.no_pg:
            engines["PostgreSQL"] = lambda: New(pg.create_database("million_store"))
            floors_at["PostgreSQL"] = lambda: pg_floor(pg.create_database("million_floor"))
        (tmp / "big").mkdir()
        stores, floors = {}, {}
        if args.pages_only:  # the big store through the app's import, nothing else measured
            big = engines["SQLite"]()
            big_pid = big.create()
            app_import(big, big_pid, files[args.rows])
            stores, engines = {"SQLite": (big, big_pid)}, {}
        for name, make in engines.items():
            store = make()
            pid = store.create()
            r = report.setdefault(name, {})
            r["import_s"] = app_import(store, pid, files[args.rows])
            conn, mark = floors_at[name]()
            r["floor_import_s"] = floor_of_import(conn, mark, files[args.rows])
            conn.execute("ANALYZE t")
            if name == "SQLite":
                r["schema_import_s"] = schema_floor(tmp, tmp / "big" / "labeler.sqlite")
            r["export_s"], r["floor_export_s"] = export_and_floor(store, pid)
            reader = (
                sqlite3_reader(tmp) if name == "SQLite" else (psycopg_connect(store.s.url), "%s")
            )
            stores[name], floors[f"floor {name}"] = (store, pid), (conn, *reader)
        measured = queue_and_writes(stores, floors, args.queries) if engines else {}
        for name, r in measured.items():
            report.setdefault(name, {}).update(next_ms=r["next"], write_ms=r["write"])
        for conn, reader, _ in floors.values():
            conn.close()
            reader.close()
        big, big_pid = stores["SQLite"]
        with_suggestions(big, big_pid)
        for store, _ in stores.values():
            store.s.close()
        report["pages"] = {
            args.small: open_pages(tmp / "small", small_pid, args.repeats),
            args.rows: open_pages(tmp / "big", big_pid, args.repeats),
        }
    print_report(report, args.small, args.rows)


def sqlite3_reader(tmp: Path):
    import sqlite3

    return sqlite3.connect(tmp / "big" / "labeler.sqlite"), "?"


def print_report(report: dict, small: int, rows: int) -> None:
    print(f"\n{rows:,} tweets (pages and memory also at {small:,}); goals in brackets\n")
    for name in ("SQLite", "PostgreSQL"):
        if "import_s" not in report.get(name, {}):
            continue
        r, f = report[name], report.get(f"floor {name}", {})
        print(
            f"{name}: import {r['import_s']:.1f} s vs floor {r['floor_import_s']:.1f} s"
            f" = {r['import_s'] / r['floor_import_s']:.2f}x (<= 3x); export {r['export_s']:.1f} s"
            f" vs pandas to_csv {r['floor_export_s']:.1f} s"
            f" = {r['export_s'] / r['floor_export_s']:.2f}x (<= 3x)"
        )
        if "schema_import_s" in r:
            print(
                f"  the same rows by bare executemany into the store's own tables and indexes: "
                f"{r['schema_import_s']:.1f} s = {r['schema_import_s'] / r['floor_import_s']:.2f}x"
                f" the floor (the app's import is {r['import_s'] / r['schema_import_s']:.2f}x it)"
            )
        print(
            f"  next item {r['next_ms']:.2f} ms (floor {f.get('next_ms', 0):.2f}),"
            f" label write {r['write_ms']:.2f} ms (floor {f.get('write_ms', 0):.2f}) (< 5 ms)"
        )
    a, b = report["pages"][small], report["pages"][rows]
    print(f"\npage opening, s: {small:,} -> {rows:,} (<= 2x)")
    for page in PAGES:
        x, y = a["pages"][page], b["pages"][page]
        print(f"  {page:11} {x:7.3f} {y:7.3f}  {y / x:5.2f}x")
    print(
        f"\nserver memory (VmRSS after every page): {a['VmRSS'] / 1024:.0f} MB -> "
        f"{b['VmRSS'] / 1024:.0f} MB = {b['VmRSS'] / a['VmRSS']:.2f}x (<= 1.5x); peak (VmHWM) "
        f"{a['VmHWM'] / 1024:.0f} -> {b['VmHWM'] / 1024:.0f} MB"
    )
    print("\n" + json.dumps(report, default=str))


if __name__ == "__main__":
    main()
