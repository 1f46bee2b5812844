"""Benchmark: zero-shot NLI, the reference notebook's loop vs this project's engine (fp32, int8).

Not a test. On one MiniLM-sized NLI cross-encoder and the same real tweets, in one process:

  (a) loop: one `pipeline("zero-shot-classification")` call per tweet (the reference notebook);
  (b) ours, fp32: `labeler.zeroshot.nli` (batched pairs, length-sorted, padded per batch);
  (c) ours, int8: the same with dynamic int8 quantization of the linear layers.

Repetitions are interleaved (a, b at each batch size, c at each batch size, then again) and the
median is reported, because other work shares the machine; ratios are against (a) of the same run.
The model is the bundled all-MiniLM-L6-v2 encoder with a seeded 3-way NLI head of wide weights:
its labels mean nothing, only speed and agreement do. The tweets are read from --data (the shared
TweetEval stance files) and never copied into the repository.

    python bench/zeroshot.py                      # 300 tweets, batch sizes 8,16,32,64, 3 reps
    python bench/zeroshot.py --n 100 --reps 1     # quick look
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

# The random-head model (--tune 0) is scored on stance hypotheses, as the project uses it.
LABELS = ["AGAINST", "FAVOR", "NONE"]
PHRASES = ["against", "in favor of", "neutral towards"]
TEMPLATE = "The author of this tweet is {} {target}."
TARGET = "abortion"
# The tuned model (--tune N) is taught the tweets' topic, which a few steps can learn.
TOPIC_LABELS = ["ABORTION", "RELIGION", "SPORTS"]
TOPIC_PHRASES = ["abortion", "religion", "sports"]
TOPIC_TEMPLATE = "This tweet is about {}."
TOPIC_OF = {"abortion": "abortion", "atheism": "religion"}


def load_tweets(data: Path, n: int) -> list[str]:
    """Up to n tweets, taken in turn from each target's test.csv (then train.csv)."""
    per_file: list[list[str]] = []
    for split in ("test", "train"):
        for f in sorted(data.glob(f"tweeteval-stance/*/{split}.csv")):
            with f.open(newline="", encoding="utf-8") as fh:
                per_file.append([row["text"] for row in csv.DictReader(fh)])
    if not per_file:
        raise SystemExit(f"No tweeteval-stance/*/test.csv under {data}: pass --data.")
    tweets: list[str] = []
    i = 0
    while len(tweets) < n and any(i < len(rows) for rows in per_file):
        tweets.extend(rows[i] for rows in per_file if i < len(rows))
        i += 1
    return tweets[:n]


def build_nli_minilm(out: Path, seed: int = 0, std: float = 0.5) -> Path:
    """The bundled MiniLM with a seeded 3-way NLI head of wide weights, saved to `out`."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from labeler.models.resolve import bundled_minilm_path

    src = bundled_minilm_path()
    id2label = {0: "contradiction", 1: "neutral", 2: "entailment"}
    model = AutoModelForSequenceClassification.from_pretrained(
        src,
        num_labels=3,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
        dtype=torch.float32,
    )
    torch.manual_seed(seed)
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, std)
        model.classifier.bias.normal_(0.0, std)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(src).save_pretrained(out)
    return out


def run_loop(pipe, tweets: list[str], hypothesis: str) -> tuple[float, np.ndarray]:
    """The notebook's loop; returns seconds and scores [n, L] in PHRASES order."""
    t0 = time.perf_counter()
    out = [pipe(t, PHRASES, hypothesis_template=hypothesis) for t in tweets]
    secs = time.perf_counter() - t0
    scores = np.array([[dict(zip(r["labels"], r["scores"]))[p] for p in PHRASES] for r in out])
    return secs, scores


def run_ours(zs, tweets: list[str]) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    res = zs.score(tweets)
    return time.perf_counter() - t0, res.scores


def profile(zs, tweets: list[str]) -> None:
    """Where our engine's time goes: tokenizing vs the model's forward pass (pairs, unsorted)."""
    hyps = zs.hypotheses()
    pairs = [(t, h) for t in tweets for h in hyps]
    size = zs.settings.batch_size
    t_tok = t_fwd = 0.0
    for b in range(0, len(pairs), size):
        chunk = pairs[b : b + size]
        t0 = time.perf_counter()
        inputs = zs._encode([p for p, _ in chunk], [h for _, h in chunk])
        t1 = time.perf_counter()
        with torch.inference_mode():
            zs.model(**inputs)
        t_fwd += time.perf_counter() - t1
        t_tok += t1 - t0
    print(f"  profile: tokenize {t_tok:.2f} s, forward {t_fwd:.2f} s")


def tune_nli(folder: Path, data: Path, steps: int, seed: int = 0) -> None:
    """Fine-tune the bench model briefly so its scores depend on the tweet and the hypothesis.

    The random head reads MiniLM's pooled [CLS], which barely changes with the hypothesis: the
    median gap between a tweet's top two scores is ~0.005, and int8's error in [CLS] is larger
    than what the hypothesis changes there, so int8 "agreement" on it (~40%) measures noise, not
    the fast path. Stance cannot be learnt in a few dozen steps (the model learns the majority
    class, or nothing), topic can: (train tweet, "This tweet is about <topic>.") -> entailment for
    the tweet's own topic (abortion, or religion for atheism), contradiction for the others. The
    result has a real NLI model's trait: scores that move with the tweet and the hypothesis.
    Train tweets only; the timing uses test tweets.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tweets: list[tuple[str, str]] = []
    for f in sorted(data.glob("tweeteval-stance/*/train.csv")):
        with f.open(newline="", encoding="utf-8") as fh:
            tweets.extend((row["text"], TOPIC_OF[f.parent.name]) for row in csv.DictReader(fh))
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder, dtype=torch.float32)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for _ in range(steps):
        premises, hyps, ys = [], [], []
        for i in rng.choice(len(tweets), 6, replace=False):  # 6 tweets x 3 hypotheses a step
            text, topic = tweets[i]
            for phrase in TOPIC_PHRASES:
                premises.append(text)
                hyps.append(TOPIC_TEMPLATE.format(phrase))
                ys.append(2 if phrase == topic else 0)
        enc = tok(
            premises,
            hyps,
            truncation="only_first",
            max_length=128,
            padding=True,
            return_tensors="pt",
        )
        loss = model(**enc, labels=torch.tensor(ys)).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    model.save_pretrained(folder)


def main(argv: list[str] | None = None) -> int:
    global LABELS, PHRASES, TEMPLATE, TARGET  # --tune switches to the topic hypotheses
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--n", type=int, default=200, help="test tweets timed (default 200)")
    ap.add_argument("--sweep-n", type=int, default=100, help="tweets for the batch-size sweep")
    ap.add_argument("--batch-sizes", default="8,16,32,64", help="pairs per forward pass")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions (median)")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads for every engine (default: all cores; 1 is steadier on a busy machine)",
    )
    ap.add_argument(
        "--tune",
        type=int,
        default=20,
        help="fine-tuning steps so scores depend on the hypothesis (0: the random head only)",
    )
    ap.add_argument("--profile", action="store_true", help="split our time: tokenize vs forward")
    args = ap.parse_args(argv)

    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the engine leaves it alone then
        torch.set_num_threads(args.threads)

    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    from labeler.settings import fill_target
    from labeler.zeroshot.base import configure_threads
    from labeler.zeroshot.load import load_zeroshot
    from labeler.zeroshot.settings import ZeroShotSettings

    hf_logging.disable_progress_bar()
    t_start = time.perf_counter()
    tweets = load_tweets(args.data, args.n)
    sweep_tweets = tweets[: args.sweep_n]
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    threads = configure_threads()
    print(
        f"{len(tweets)} tweets x {len(LABELS)} labels, torch {torch.__version__}, "
        f"{threads} threads, cpu_count {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}"
    )
    if args.tune:
        LABELS, PHRASES, TEMPLATE, TARGET = TOPIC_LABELS, TOPIC_PHRASES, TOPIC_TEMPLATE, None
    hypothesis = fill_target(TEMPLATE, TARGET)
    print(f"hypotheses: {[hypothesis.format(p) for p in PHRASES]}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_nli_minilm(Path(tmp) / "nli-minilm")
        if args.tune:
            t0 = time.perf_counter()
            tune_nli(folder, args.data, args.tune)
            print(
                f"model: bundled MiniLM + NLI head, tuned {args.tune} steps "
                f"({time.perf_counter() - t0:.0f} s)"
            )
        else:
            print("model: bundled MiniLM + random wide NLI head (std 0.5), untuned")
        pipe = pipeline("zero-shot-classification", model=str(folder), device="cpu")

        def engine(bs: int, quantize: bool):
            return load_zeroshot(
                ZeroShotSettings(
                    str(folder),
                    LABELS,
                    PHRASES,
                    TEMPLATE,
                    target=TARGET,
                    batch_size=bs,
                    max_length=args.max_length,
                    quantize=quantize,
                )
            )

        ours = {("fp32", bs): engine(bs, False) for bs in sizes}
        ours.update({("int8", bs): engine(bs, True) for bs in sizes})
        tok = ours[("fp32", sizes[0])].tokenizer
        n_long = sum(len(tok(t, hypothesis)["input_ids"]) > args.max_length for t in tweets)
        print(
            f"pairs longer than max length {args.max_length}: {n_long} "
            "(the pipeline truncates at the tokenizer's 512)"
        )
        # Warm-up: first calls pay one-off costs (allocator, kernels, lazy imports).
        pipe(tweets[0], PHRASES, hypothesis_template=hypothesis)
        for zs in ours.values():
            zs.score(tweets[:8])
        if args.profile:
            profile(ours[("fp32", sizes[-1])], tweets)

        # 1. Batch-size sweep on the first --sweep-n tweets, next to one loop run of them.
        loop_secs, _ = run_loop(pipe, sweep_tweets, hypothesis)
        print(
            f"\nbatch-size sweep ({len(sweep_tweets)} tweets; loop "
            f"{len(sweep_tweets) / loop_secs:.1f} tweets/s):"
        )
        best: dict[str, str] = {}
        for kind in ("fp32", "int8"):
            secs = {bs: run_ours(ours[(kind, bs)], sweep_tweets)[0] for bs in sizes}
            cells = [
                f"bs={bs}: {len(sweep_tweets) / t:.1f}/s ({loop_secs / t:.2f}x)"
                for bs, t in secs.items()
            ]
            print(f"  {kind}: " + ", ".join(cells), flush=True)
            best[kind] = f"{kind} bs={min(secs, key=secs.get)}"

        # 2. The loop and the best size of each kind on all tweets, interleaved, so that load
        # from other work hits all of them alike; medians.
        times: dict[str, list[float]] = {}
        scores: dict[str, np.ndarray] = {}
        for rep in range(args.reps):
            secs, scores["loop"] = run_loop(pipe, tweets, hypothesis)
            times.setdefault("loop", []).append(secs)
            for name in best.values():
                kind, bs = name.split()[0], int(name.split("=")[1])
                secs, scores[name] = run_ours(ours[(kind, bs)], tweets)
                times.setdefault(name, []).append(secs)
            print(f"  rep {rep + 1}/{args.reps} done", flush=True)

    ref = scores["loop"].argmax(1)
    fp32 = scores[best["fp32"]]
    srt = np.sort(scores["loop"], axis=1)
    gap = srt[:, -1] - srt[:, -2]
    clear = gap >= 0.05
    print(
        f"\nloop scores: median gap between a tweet's top two labels {np.median(gap):.3f}; "
        f"{clear.sum()} of {len(gap)} tweets have a gap >= 0.05; labels: "
        + ", ".join(f"{lab} {int((ref == j).sum())}" for j, lab in enumerate(LABELS))
    )
    base = len(tweets) / statistics.median(times["loop"])
    print(
        f"\n{'engine':<12}{'tweets/s':>9}{'x loop':>8}{'agree/loop':>11}{'agree/fp32':>11}"
        f"{'agree gap>=.05':>15}{'max|diff|':>10}  runs (s)"
    )
    for name in ["loop", *best.values()]:
        ts = times[name]
        rate = len(tweets) / statistics.median(ts)
        pred = scores[name].argmax(1)
        agree_clear = f"{(pred == ref)[clear].mean():.1%}" if clear.any() else "-"
        diff = float(np.abs(scores[name] - scores["loop"]).max())
        runs = " ".join(f"{t:.1f}" for t in ts)
        print(
            f"{name:<12}{rate:>9.1f}{rate / base:>8.2f}{(pred == ref).mean():>11.1%}"
            f"{(pred == fp32.argmax(1)).mean():>11.1%}{agree_clear:>15}{diff:>10.2e}  {runs}"
        )
    print(f"(medians of {args.reps} interleaved runs; total {time.perf_counter() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
