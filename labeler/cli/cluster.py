"""`--engine ray` of `prelabel` and `predict`: the same job on a Ray cluster (labeler.distributed).

With the Ray engine INPUT may be a file, a folder or a glob (local or a URI pyarrow reads), and
-o names a folder (Parquet shards, resumable) or one file (the shards are written beside it in
<OUTPUT>.shards/ and gathered into it at the end).
"""

from __future__ import annotations

import argparse
import sys
import time

from ..errors import InputError


def add_engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: a Ray cluster, for millions of tweets",
    )
    p.add_argument(
        "--address",
        default=None,
        help="Ray cluster to use: 'auto' or host:port (default: a private local Ray on this "
        "machine's cores)",
    )
    p.add_argument(
        "--actors",
        type=int,
        default=None,
        help="model copies working at once (default: one per GPU, else one per CPU thread budget)",
    )
    p.add_argument(
        "--threads-per-actor",
        type=int,
        default=None,
        help="CPU threads of each actor (default: the cluster's CPUs shared between actors)",
    )
    p.add_argument(
        "--shard-rows",
        type=int,
        default=10_000,
        help="rows per output shard, the unit a rerun skips when done (default: 10000)",
    )


def check_local_args(args: argparse.Namespace) -> None:
    """The Ray-only options are refused with the local engine rather than ignored."""
    given = [o for o in ("address", "actors", "threads_per_actor") if getattr(args, o) is not None]
    if args.engine == "local" and given:
        flag = "--" + given[0].replace("_", "-")
        raise InputError(f"{flag} applies to --engine ray only; add --engine ray or drop it")


class ProgressLine:
    """One stderr line, rewritten in place: done/total, rate, ETA."""

    def __init__(self, command: str, unit: str = "tweets", stream=None, every_s: float = 0.25):
        self.command, self.unit = command, unit
        self.stream = stream or sys.stderr  # looked up now: tests swap sys.stderr
        self.every_s = every_s
        self.last = 0.0
        self.width = 0
        self.text = ""

    def __call__(self, done: int, total: int, rate: float, eta: float | None) -> None:
        from ..durations import format_duration

        now = time.monotonic()
        if done < total and done > 0 and now - self.last < self.every_s:
            return
        pct = f"{100 * done / total:.0f}%" if total else "100%"
        text = (
            f"{self.command}: {done}/{total} {self.unit} ({pct}), {rate:.1f} {self.unit}/s, "
            f"ETA {format_duration(eta)}"
        )
        if text == self.text:
            return
        self.last, self.text = now, text
        self.stream.write("\r" + text.ljust(self.width))
        self.width = len(text)
        self.stream.flush()

    def close(self) -> None:
        if self.width:
            self.stream.write("\n")
            self.stream.flush()


def run_on_ray(args: argparse.Namespace, job, command: str) -> int:
    """Run `job` with the Ray engine as the arguments say; prints the outcome, returns the code."""
    from ..distributed.engine import check_output_name, require_ray, run_job
    from ..io.write import write_table

    require_ray()  # before anything is read: Ray missing is one line
    gather_fmt = check_output_name(args.output)
    folder = args.output + ".shards" if gather_fmt else args.output
    line = ProgressLine(command, "rows")
    try:
        summary = run_job(
            job,
            args.input,
            folder,
            address=args.address,
            actors=args.actors,
            threads=args.threads_per_actor,
            shard_rows_=args.shard_rows,
            progress=line,
        )
    finally:
        line.close()
    for path, why in summary.errors.items():
        print(f"error: input '{path}' failed: {why}", file=sys.stderr)
    where = f"{len(summary.written)} shards written"
    if summary.skipped:
        where += f", {len(summary.skipped)} already complete and skipped"
    print(f"{command}: {summary.rows} rows scored; {where} in {folder}", file=sys.stderr)
    if summary.errors:
        print(
            f"error: {len(summary.errors)} input file(s) failed; the other shards are kept in "
            f"{folder}: fix or remove those files and rerun, completed shards are skipped",
            file=sys.stderr,
        )
        return 2
    if gather_fmt:
        from ..distributed.shards import ShardFolder

        sources = {s.source.path for s in summary.shards}
        frame = ShardFolder(folder, "").gather(summary.shards, keep_source=len(sources) > 1)
        write_table(frame, args.output, gather_fmt)
        print(f"wrote {len(frame)} rows to {args.output}")
    else:
        print(f"wrote {sum(s.rows for s in summary.shards)} rows in {len(summary.shards)} "
              f"shards to {folder}")  # fmt: skip
    return 0
