"""Store speed at 100k tweets: file import, export, next-item query and one label write.

The issue's bar: import 100k rows in well under 10 s, export them in under 5 s, next-item and a
label write under 10 ms each. For scale, a peer (Label Studio) on this kind of machine imports
100k tweets in 25-36 s and exports them in 200-260 s.

    python bench/store_bench.py [--rows 100000] [--format csv]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeler import io  # noqa: E402
from labeler.store import Store  # noqa: E402

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


def timed(fn, repeat: int = 1):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", default="csv", choices=["csv", "tsv", "jsonl", "parquet"])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / f"tweets.{args.format}"
        io.write_table(synthetic_tweets(args.rows), src, args.format)
        store = Store(tmp / "labeler.sqlite")
        project = store.create_project("bench", ["AGAINST", "FAVOR", "NONE"])

        def do_import():
            df = io.read_table(src)
            prepared = io.prepare_items(df, text_col="text", id_col="id", label_col="stance")
            return store.import_items(project.id, prepared.items, source_name=src.name)

        report, (t_import,) = timed(do_import)

        def do_export():
            out = store.export_items(project.id)
            return io.to_bytes(out, "csv")

        data, (t_export,) = timed(do_export)

        rng = random.Random(1)
        next_times, label_times, orders = [], [], ["loaded", "random"]
        for k in range(200):
            start = time.perf_counter()
            item = store.next_item(project.id, order=orders[k % 2], seed=k)
            next_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            store.label(item["id"], rng.choice(["AGAINST", "FAVOR", "NONE"]), annotator="bench")
            label_times.append(time.perf_counter() - start)

    def ms(xs):
        return (
            f"median {statistics.median(xs) * 1e3:.2f} ms, p95 {sorted(xs)[int(len(xs) * 0.95)] * 1e3:.2f} ms"
        )  # noqa: E731
    print(f"rows: {args.rows:,} ({args.format})")
    print(
        f"import file -> store: {t_import:.2f} s ({report.imported:,} items, {report.labelled:,} labelled)"
    )
    print(f"export store -> CSV:  {t_export:.2f} s ({len(data) / 1e6:.1f} MB)")
    print(f"next item:            {ms(next_times)}")
    print(f"label write (commit): {ms(label_times)}")


if __name__ == "__main__":
    main()
