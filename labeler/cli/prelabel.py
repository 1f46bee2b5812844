"""`python -m labeler prelabel`: zero-shot pre-labels for every row of a file.

Writes the input's columns plus zs_label (the top label), zs_score (its score) and one
zs_score_<label> per label; the output format follows OUTPUT's extension (csv, tsv, jsonl,
parquet, xlsx). With an NLI model (--model: hub id or folder) the scores are exactly those of
transformers' zero-shot pipeline. Without --model it uses the offline method, embedding
similarity with the bundled all-MiniLM-L6-v2, which is not NLI, and says so.

With --engine ray the same job runs on a Ray cluster (a private local one by default): INPUT may
be a folder or a glob of files, and -o a folder of resumable Parquet shards.

Example:
  python -m labeler prelabel tweets.csv -o prelabelled.csv --text-col text \\
      --labels AGAINST,FAVOR,NONE --phrases "against,in favor of,neutral towards" \\
      --template "The author of this tweet is {} {target}." --target "Joe Biden" \\
      --model facebook/bart-large-mnli
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import SettingsError
from .args import add_io_args, output_format, read_input, write_with_scores
from .cluster import ProgressLine, add_engine_args, check_local_args, run_on_ray


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "prelabel",
        help="zero-shot pre-labels for a file (NLI, or offline embedding similarity)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_io_args(p, input="file of tweets", output="table", columns={"text": "text"})
    p.add_argument(
        "--labels", required=True, help='comma-separated labels, e.g. "AGAINST,FAVOR,NONE"'
    )
    p.add_argument(
        "--phrases",
        default=None,
        help="one phrase per label for the template, comma-separated "
        "(default: the labels in lower case)",
    )
    p.add_argument(
        "--template",
        default=None,
        help="hypothesis with {} for the phrase and optionally {target} "
        '(default: "This tweet is {}.")',
    )
    p.add_argument(
        "--target", default=None, help='fills {target} in the template, e.g. "Joe Biden"'
    )
    p.add_argument(
        "--model",
        default=None,
        help="NLI model: hub id or local folder (default: none, so the offline embedding method)",
    )
    p.add_argument(
        "--method",
        choices=("nli", "embedding"),
        default=None,
        help="nli (needs --model) or embedding (offline, not NLI); "
        "default: nli with --model, else embedding",
    )
    p.add_argument(
        "--multi-label", action="store_true", help="score each label on its own (NLI only)"
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=32,
        help="(tweet, hypothesis) pairs per forward pass (default: 32)",
    )
    p.add_argument(
        "--max-length",
        type=int,
        default=128,
        help="tokens per pair; only the tweet is cut (default: 128)",
    )
    p.add_argument(
        "--quantize",
        action="store_true",
        help="int8 dynamic quantization: faster on CPU, scores shift (labels ~93%% the same)",
    )
    p.add_argument(
        "--bf16",
        action="store_true",
        help="bf16 autocast: the fastest on a CPU with native bf16 (AMX); labels almost always "
        "the fp32 ones (99.7%% on real tweets)",
    )
    add_engine_args(p)
    p.set_defaults(func=run)
    return p


def build_settings(args: argparse.Namespace):
    """ZeroShotSettings from the arguments, plus a notice to print (or None); loads nothing."""
    from ..settings import DEFAULT_TEMPLATE, split_list
    from ..zeroshot.settings import EMBEDDING_DISPLAY_NAME, ZeroShotSettings

    method, notice = args.method, None
    if method is None:
        method = "nli" if args.model else "embedding"
        if method == "embedding":
            notice = (
                "notice: no --model given and no NLI model is available offline, so this uses "
                f"the offline method '{EMBEDDING_DISPLAY_NAME}'. For NLI zero-shot pass --model "
                "with an NLI model (a hub id such as facebook/bart-large-mnli, or a local folder)."
            )
    if method == "nli" and not args.model:
        raise SettingsError(
            "--method nli needs --model (an NLI hub id or local folder); without one, use "
            f"--method embedding ('{EMBEDDING_DISPLAY_NAME}')."
        )
    settings = ZeroShotSettings(
        model=args.model or "",
        labels=split_list(args.labels),
        phrases=split_list(args.phrases) if args.phrases is not None else None,
        template=args.template if args.template is not None else DEFAULT_TEMPLATE,
        target=args.target,
        multi_label=args.multi_label,
        batch_size=args.batch_size,
        max_length=args.max_length,
        quantize=args.quantize,
        bf16=args.bf16,
        method=method,
    )
    return settings, notice


def run(args: argparse.Namespace) -> int:
    from ..zeroshot import load as zeroshot_load

    # Everything that can be wrong with the arguments fails here, before a model loads.
    settings, notice = build_settings(args)
    check_local_args(args)
    if args.engine == "ray":
        from ..distributed.workers import Job

        if notice:
            print(notice, file=sys.stderr, flush=True)
        job = Job("prelabel", args.text_col, args.batch_size, zeroshot=dict(settings.__dict__))
        return run_on_ray(args, job, "prelabel")
    fmt = output_format(args.output)
    df = read_input(args.input, text=args.text_col)
    if notice:
        print(notice, file=sys.stderr, flush=True)

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # its "Loading weights" bar would garble the progress line
    model = zeroshot_load.load_zeroshot(settings)
    print(f"prelabel: {len(df)} rows with {model.display_name}", file=sys.stderr, flush=True)
    line = ProgressLine("prelabel")
    try:
        result = model.score(df[args.text_col].astype(str).tolist(), progress=line)
    finally:
        line.close()
    summary = write_with_scores(
        df, result.to_frame("zs_"), args.output, fmt, result.labels, result.label_names
    )
    print(f"wrote {len(df)} rows to {args.output} ({summary}; {model.display_name})")
    return 0
