"""The Ray engine's overhead: prediction of 5k tweets, one Ray actor on one thread against the
local engine on one thread, interleaved in one run (these machines are noisy).

The classifier is all-MiniLM-L6-v2 (the bundled backbone) with a 3-label head, saved the way
`train` saves a model; its speed is a fine-tuned MiniLM's (training changes weights, not
work). The tweets are the real ones in ../shared/data when present (repeated up to --rows),
else synthetic ones. Both sides are the command a user runs, timed from start to exit:
`python -m labeler predict` (read, load, predict, write Parquet), the Ray one with
`--engine ray --address auto` on a Ray head started here first (`ray start --head`): a cluster
is started once, not per job, so its start is reported apart.

Prints the overhead (Ray time / local time - 1; goal: within 15%), and the per-actor rate the
README's paper plan for 50M tweets is built on. On 2 cores more actors cannot scale: each
actor wants a core, and the second core is the driver's and Ray's.

    python bench/ray_predict.py [--rows 5000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from store_bench import synthetic_tweets  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "tweeteval-stance"


def tweets(n: int) -> pd.DataFrame:
    files = sorted(SHARED.glob("*/*.csv"))
    texts = pd.concat([pd.read_csv(f)["text"] for f in files]) if files else pd.Series([], str)
    if texts.empty:
        texts = synthetic_tweets(n)["text"]
    texts = texts.astype(str).tolist()
    rows = [texts[i % len(texts)] for i in range(n)]
    return pd.DataFrame({"id": [str(i) for i in range(n)], "text": rows})


def minilm_classifier(folder: Path) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from labeler.models.resolve import bundled_minilm_path

    base = bundled_minilm_path()
    torch.manual_seed(0)
    labels = {0: "AGAINST", 1: "FAVOR", 2: "NONE"}
    model = AutoModelForSequenceClassification.from_pretrained(
        str(base), num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()}
    )
    model.save_pretrained(str(folder), safe_serialization=True)
    AutoTokenizer.from_pretrained(str(base)).save_pretrained(str(folder))
    return folder


def timed(argv: list[str]) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def predict_cmd(model: Path, data: Path, out: Path, *extra: str) -> list[str]:
    cli = [sys.executable, "-m", "labeler", "predict", str(model), str(data), "-o", str(out)]
    return [*cli, "--batch-size", "64", *extra]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ray-bench-"))
    model = minilm_classifier(tmp / "model")
    data = tmp / "tweets.parquet"
    tweets(args.rows).to_parquet(data, index=False)
    ray_cli = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    start_s = timed([ray_cli, "start", "--head", "--num-cpus=2", "--include-dashboard=false"])
    local, remote = [], []
    try:
        for r in range(args.repeats):  # interleaved: a busy spell hits both sides alike
            local.append(timed(predict_cmd(model, data, tmp / f"local-{r}.parquet")))
            ray_args = ["--engine", "ray", "--address", "auto", "--actors", "1"]
            remote.append(
                timed(
                    predict_cmd(
                        model, data, tmp / f"ray-{r}", *ray_args, "--threads-per-actor", "1"
                    )
                )
            )
            print(f"run {r + 1}: local {local[-1]:.1f} s, Ray {remote[-1]:.1f} s", flush=True)
    finally:
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True)
    lo, ra = statistics.median(local), statistics.median(remote)
    load = os.getloadavg()[0]
    print(f"\n{args.rows} tweets, fine-tuned-shaped MiniLM, one thread each, load {load:.1f}")
    print(f"local engine: {lo:.1f} s ({args.rows / lo:.1f} tweets/s), median of {len(local)}")
    print(f"Ray, 1 actor: {ra:.1f} s ({args.rows / ra:.1f} tweets/s per actor)")
    print(f"Ray overhead: {100 * (ra / lo - 1):+.1f}% (goal: within 15%)")
    print(f"Ray cluster start (once per cluster, not in the above): {start_s:.1f} s")


if __name__ == "__main__":
    main()
