"""Store speed at 100k tweets on both engines, beside the first version's store and the floor.

One run measures, on the same prepared rows and at the same durability (SQLite: WAL +
synchronous=FULL; PostgreSQL: fsync and synchronous_commit on):

- import of N prepared tweets, export of them to CSV bytes, next item (median of interleaved
  queries), one label write (its own committed transaction);
- stores: the first version's (bench/v1_store.py, SQLite only), the new store on SQLite, the new
  store on PostgreSQL (a throwaway local server, tests/pg_server.py);
- floors: a bare driver `executemany` into one table + commit (import), a bare INSERT + commit
  (label write), and the plainest SELECT of the next unlabelled item from the new store's own
  items table (next item), per engine.

Goals: on SQLite the new store within 1.2x of the first version; on PostgreSQL a label write and
a next item within 2x of the floor. Machines here are noisy: compare ratios from one run.

    python bench/store_bench.py [--rows 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from pg_server import postgres_server  # noqa: E402
from v1_store import Store as V1Store  # noqa: E402

from labeler.db.store import Store  # noqa: E402
from labeler.io.prepare import prepare_items  # noqa: E402
from labeler.io.write import to_bytes  # noqa: E402

LABELS = ["AGAINST", "FAVOR", "NONE"]
WORDS = (
    "four day week work life balance productivity boss nurse union pay hours weekend pilot "
    "economy burnout office remote shift wages jobs policy #4DayWeek @user https://t.co/x "
    "lol omg 🙄 😂 ✊ no way finally great idea terrible idea"
).split()


def synthetic_tweets(n: int, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    labels = ["AGAINST", "FAVOR", "NONE", None, None]
    return pd.DataFrame(
        {
            "id": [f"{1_000_000 + i}" for i in range(n)],
            "text": [
                " ".join(rng.choices(WORDS, k=rng.randint(8, 30))) + f" #{i}" for i in range(n)
            ],
            "stance": [rng.choice(labels) for _ in range(n)],
        }
    )


class V1:
    """The first version's store behind the new names."""

    def __init__(self, path: Path):
        self.s = V1Store(path)

    def create(self):
        return self.s.create_project("bench", LABELS).id

    def import_frame(self, pid, frame):
        return self.s.import_items(pid, frame, source_name="bench.csv")

    def export(self, pid):
        return self.s.export_items(pid)

    def next(self, pid, order, seed):
        return self.s.next_item(pid, order=order, seed=seed)

    def label(self, item_id, label):
        self.s.label(item_id, label, annotator="bench")


class New(V1):
    def __init__(self, url):
        self.s = Store(url)

    def create(self):
        return self.s.projects.create("bench", LABELS).id

    def import_frame(self, pid, frame):
        return self.s.items.import_frame(pid, frame, source_name="bench.csv")

    def export(self, pid):
        return self.s.export.frame(pid)

    def next(self, pid, order, seed):
        return self.s.queue.next(pid, order=order, seed=seed)

    def label(self, item_id, label):
        self.s.labels.add(item_id, label, annotator="bench")


def sqlite_floor(path: Path):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, project_id INT, text TEXT, label TEXT)")
    conn.execute("CREATE INDEX t_q ON t(project_id, label, id)")
    return conn, "?"


def psycopg_connect(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def pg_floor(url: str):
    conn = psycopg_connect(url)
    conn.execute("CREATE TABLE t (id BIGSERIAL PRIMARY KEY, project_id INT, text TEXT, label TEXT)")
    conn.execute("CREATE INDEX t_q ON t(project_id, label, id)")
    return conn, "%s"


FLOORS = ("SQLite", "PostgreSQL")


def floor_connection(name: str, tmp: Path, pg, r: int):
    if name == "SQLite":
        return sqlite_floor(tmp / f"floor-{r}.sqlite")
    return pg_floor(pg.create_database(f"bench_floor_{r}"))


def floor_import(conn, mark: str, texts: list[str]) -> float:
    start = time.perf_counter()
    cur = conn.cursor()
    cur.execute("BEGIN")
    cur.executemany(
        f"INSERT INTO t (project_id, text) VALUES ({mark}, {mark})", [(1, t) for t in texts]
    )
    cur.execute("COMMIT")
    return time.perf_counter() - start


def floor_write(conn, mark: str) -> float:
    start = time.perf_counter()
    cur = conn.cursor()
    cur.execute("BEGIN")
    cur.execute(
        f"INSERT INTO t (project_id, text, label) VALUES ({mark}, {mark}, {mark})", (2, "x", "A")
    )
    cur.execute("COMMIT")
    return time.perf_counter() - start


def floor_next(conn, mark: str) -> float:
    """The next unlabelled tweet of the same items table, asked the plainest way."""
    start = time.perf_counter()
    cur = conn.cursor()
    cur.execute(
        f"SELECT * FROM items WHERE project_id={mark} AND split='pool' AND label IS NULL"
        " ORDER BY id LIMIT 1",
        (1,),
    )
    cur.fetchone()
    return time.perf_counter() - start


def median_ms(xs: list[float]) -> float:
    return statistics.median(xs) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3, help="imports per store (median)")
    args = parser.parse_args()
    raw = synthetic_tweets(args.rows)
    prepared = prepare_items(raw, text_col="text", id_col="id", label_col="stance").items
    texts = prepared["text"].tolist()

    with tempfile.TemporaryDirectory() as tmp, postgres_server(durable=True) as pg:
        tmp = Path(tmp)
        makers = {
            "v1 SQLite": lambda r: V1(tmp / f"v1-{r}.sqlite"),
            "new SQLite": lambda r: New(tmp / f"new-{r}.sqlite"),
            "new PostgreSQL": lambda r: New(pg.create_database(f"bench_store_{r}")),
        }
        results: dict[str, dict[str, float]] = {name: {} for name in [*makers, *FLOORS]}
        imports: dict[str, list[float]] = {name: [] for name in results}
        stores, pids = {}, {}
        for r in range(args.repeats):  # fresh stores each round, kinds interleaved
            for name, make in makers.items():
                stores[name] = make(r)
                pids[name] = stores[name].create()
                start = time.perf_counter()
                stores[name].import_frame(pids[name], prepared)
                imports[name].append(time.perf_counter() - start)
            for name in FLOORS:
                conn, mark = floor_connection(name, tmp, pg, r)
                imports[name].append(floor_import(conn, mark, texts))
                conn.close()
        floors = {name: floor_connection(name, tmp, pg, args.repeats) for name in FLOORS}
        # the next-item floor reads the new store's own items table (same rows, same indexes)
        readers = {
            "SQLite": (sqlite3.connect(tmp / f"new-{args.repeats - 1}.sqlite"), "?"),
            "PostgreSQL": (psycopg_connect(stores["new PostgreSQL"].s.url), "%s"),
        }
        for conn, mark in floors.values():
            floor_import(conn, mark, texts)
            conn.execute("ANALYZE t")  # the floor gets fresh statistics too
        for name, times in imports.items():
            results[name]["import_s"] = statistics.median(times)
        for name, store in stores.items():
            start = time.perf_counter()
            to_bytes(store.export(pids[name]), "csv")
            results[name]["export_s"] = time.perf_counter() - start

        rng = random.Random(1)
        samples: dict[str, dict[str, list[float]]] = {n: {"next": [], "write": []} for n in results}
        for k in range(args.queries):  # interleaved, so load on the machine hits all alike
            order = ("loaded", "random")[k % 2]
            for name, store in stores.items():
                start = time.perf_counter()
                item = store.next(pids[name], order, k)
                samples[name]["next"].append(time.perf_counter() - start)
                start = time.perf_counter()
                store.label(item["id"], rng.choice(LABELS))
                samples[name]["write"].append(time.perf_counter() - start)
            for name, (conn, mark) in floors.items():
                samples[name]["next"].append(floor_next(*readers[name]))
                samples[name]["write"].append(floor_write(conn, mark))
        for name in results:
            results[name]["next_ms"] = median_ms(samples[name]["next"])
            results[name]["write_ms"] = median_ms(samples[name]["write"])
        for conn, _ in [*floors.values(), *readers.values()]:
            conn.close()
        for store in stores.values():
            getattr(store.s, "close", lambda: None)()

    print(
        f"{args.rows:,} tweets; import: median of {args.repeats} fresh stores per kind;"
        f" {args.queries} interleaved queries per store\n"
    )
    print(f"{'':16} {'import s':>9} {'export s':>9} {'next ms':>8} {'write ms':>9}")
    for name, r in results.items():
        cells = [
            f"{r['import_s']:9.2f}",
            f"{r['export_s']:9.2f}" if "export_s" in r else f"{'-':>9}",
            f"{r['next_ms']:8.2f}",
            f"{r['write_ms']:9.2f}",
        ]
        label = name if name in makers else f"floor {name}"
        print(f"{label:16} {' '.join(cells)}")
    v1, sq, pgr = results["v1 SQLite"], results["new SQLite"], results["new PostgreSQL"]
    print("\nratios (lower is better)")
    for key in ("import_s", "export_s", "next_ms", "write_ms"):
        print(f"  new SQLite / v1 {key:9} {sq[key] / v1[key]:5.2f}x   (goal <= 1.2x)")
    for key in ("next_ms", "write_ms"):
        floor = results["PostgreSQL"][key]
        print(f"  new PostgreSQL / floor {key:9} {pgr[key] / floor:5.2f}x   (goal <= 2x)")
    for key in ("import_s", "next_ms", "write_ms"):
        print(f"  new SQLite / floor {key:9} {sq[key] / results['SQLite'][key]:5.2f}x")


if __name__ == "__main__":
    main()
