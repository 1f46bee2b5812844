"""Import/export speed of the pure file layer (labeler.io), without the store.

Generates N synthetic tweet rows (seeded: random words, emoji, hashtags, mentions, 100-200
characters, an id, a label on half of them), writes them as CSV, TSV, JSONL and Parquet into a
temporary folder, then times per format:
- import: read_table + detect_columns + prepare_items from the file on disk;
- export: to_bytes of the prepared items (text, ext_id, label) table.
Wall and CPU seconds are both printed: on a shared machine CPU time is the steadier figure.
XLSX is timed on its own, last, and on at most --xlsx-rows rows: openpyxl needs ~60 us a cell
each way, so 100k rows take tens of seconds and would drown the other figures.

    python3 bench/io_bench.py                 # 100,000 rows
    python3 bench/io_bench.py --rows 20000 --xlsx-rows 5000
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from labeler.io.columns import detect_columns  # noqa: E402
from labeler.io.prepare import prepare_items  # noqa: E402
from labeler.io.read import read_table  # noqa: E402
from labeler.io.write import to_bytes  # noqa: E402

WORDS = (
    "the a to and of in is it you that for on my this with be at so just have not but me "
    "are was like what can your all no get out up if about now one people time love day good "
    "vote election debate policy climate vaccine trump biden sanders tax health care jobs "
    "really never always think know great today tonight news media"
).split()
EMOJI = ["😀", "😂", "🔥", "👍", "🙏", "💔", "🇺🇸", "😡", "🤔", "✨"]
LABELS = ["FAVOR", "AGAINST", "NONE"]


def synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    """N tweet-like rows: id (zero-padded text), text (100-200 chars), label (half empty)."""
    rng = random.Random(seed)
    ids, texts, labels = [], [], []
    for i in range(rows):
        target = rng.randint(100, 200)
        parts: list[str] = []
        length = 0
        while length < target:
            r = rng.random()
            if r < 0.06:
                tok = rng.choice(EMOJI)
            elif r < 0.1:
                tok = "#" + rng.choice(WORDS)
            elif r < 0.13:
                tok = "@user" + str(rng.randint(1, 999))
            elif r < 0.15:
                tok = rng.choice(WORDS) + ","
            else:
                tok = rng.choice(WORDS)
            parts.append(tok)
            length += len(tok) + 1
        ids.append(f"{10**17 + i:019d}")
        texts.append(" ".join(parts)[:target])
        labels.append(rng.choice(LABELS) if i % 2 == 0 else "")
    return pd.DataFrame({"id": ids, "text": texts, "label": labels})


def timed(fn):
    """(result, wall seconds, CPU seconds): CPU time stays meaningful on a shared, busy machine."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - start, time.process_time() - cpu


def bench_format(
    df: pd.DataFrame, fmt: str, folder: Path
) -> tuple[float, float, float, float, int]:
    path = folder / f"tweets.{fmt}"
    path.write_bytes(to_bytes(df, fmt))

    def import_file():
        table = read_table(path)
        guess = detect_columns(table)
        return prepare_items(table, guess.text, guess.id, guess.label)

    prepared, t_import, c_import = timed(import_file)
    assert prepared.imported == len(df), (fmt, prepared.imported, len(df))
    out = prepared.items[["text", "ext_id", "label"]]
    _, t_export, c_export = timed(lambda: to_bytes(out, fmt))
    return t_import, c_import, t_export, c_export, path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows to generate")
    parser.add_argument(
        "--xlsx-rows", type=int, default=20_000, help="rows for the separate XLSX timing (0: skip)"
    )
    args = parser.parse_args()

    df, t_gen, _ = timed(lambda: synthetic(args.rows))
    print(f"generated {len(df):,} rows in {t_gen:.2f} s")
    header = f"{'format':<8} {'rows':>8} {'MB':>6} {'import s':>9} {'cpu s':>6} {'rows/s':>9} "
    header += f"{'export s':>9} {'cpu s':>6} {'rows/s':>9}"
    print(header)
    print("-" * len(header))
    runs = [("csv", df), ("tsv", df), ("jsonl", df), ("parquet", df)]
    if args.xlsx_rows:
        runs.append(("xlsx", df.head(args.xlsx_rows)))
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, frame in runs:
            t_imp, c_imp, t_exp, c_exp, size = bench_format(frame, fmt, Path(tmp))
            n = len(frame)
            print(
                f"{fmt:<8} {n:>8,} {size / 1e6:>6.1f} {t_imp:>9.2f} {c_imp:>6.2f} "
                f"{n / t_imp:>9,.0f} {t_exp:>9.2f} {c_exp:>6.2f} {n / t_exp:>9,.0f}"
            )


if __name__ == "__main__":
    main()
