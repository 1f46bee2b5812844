"""`python -m labeler agreement`: how far coders agree on the items they labelled in common.

INPUT is either wide (one row per item, one column per coder, an empty cell = not coded; name
the coder columns with --coders) or long (one row per code; name its columns with --item-col,
--coder-col, --label-col). Writes OUT.json: alpha (nominal Krippendorff's alpha, null where
undefined), alpha_ci (its seeded bootstrap 95% interval), per_label, pairwise_kappa, pairwise_n,
percent_agreement, n_items (items coded by two or more coders), n_codes (all codes), reading
(alpha against Krippendorff's .800 and .667 in words), coders, labels, draws, seed; and prints
a short summary.

Examples:
  python -m labeler agreement coded.xlsx --coders ana,ben,chloe -o agreement.json
  python -m labeler agreement codes.csv --item-col tweet_id --coder-col coder \\
      --label-col stance --labels AGAINST,FAVOR,NONE -o agreement.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, SettingsError
from .args import READ_FORMATS

if TYPE_CHECKING:
    import pandas as pd

MIN_DRAWS = 100


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "agreement",
        help="inter-coder agreement (Krippendorff's alpha, Cohen's kappa) of a coded file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="INPUT", help=f"coded file ({READ_FORMATS})")
    p.add_argument("-o", "--output", required=True, metavar="OUT.json", help="JSON to write")
    p.add_argument("--coders", metavar="A,B[,C...]", help="wide form: the coders' columns")
    p.add_argument("--item-col", metavar="COLUMN", help="long form: the item column")
    p.add_argument(
        "--coder-col", default="coder", metavar="COLUMN", help="long form (default: 'coder')"
    )
    p.add_argument(
        "--label-col", default="label", metavar="COLUMN", help="long form (default: 'label')"
    )
    p.add_argument("--labels", metavar="A,B,C", help="the allowed labels (default: those used)")
    p.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        metavar="N",
        help=f"bootstrap draws for alpha's interval (default: 1000; at least {MIN_DRAWS}, "
        "1000 or more recommended)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="N", help="bootstrap seed (default: 0)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..team.agreement import agreement_report

    if args.bootstrap < MIN_DRAWS:
        raise SettingsError(
            f"--bootstrap {args.bootstrap} is too few draws for an interval: give at least "
            f"{MIN_DRAWS} (1000 or more recommended)."
        )
    labels = _split(args.labels) if args.labels else None
    report = agreement_report(read_codes(args), labels=labels, draws=args.bootstrap, seed=args.seed)
    data = {**report.to_json(), "input": str(args.input)}
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    out.write_text(text + "\n", encoding="utf-8")
    shown = "undefined" if report.alpha is None else f"{report.alpha:.3f}"
    if report.alpha is not None and None not in report.alpha_ci:
        shown += " [{:.3f}, {:.3f}]".format(*report.alpha_ci)
    print(
        f"alpha {shown} on {report.n_items} items coded by 2+ coders "
        f"({report.n_coders} coders, {report.n_codes} codes)"
    )
    print(report.reading)
    print(f"wrote agreement to {out}")
    return 0


def read_codes(args: argparse.Namespace) -> pd.DataFrame:
    """INPUT as a codes table (item, coder, label), from the wide or the long form."""
    from ..io.columns import require_column
    from ..team.agreement import tidy_codes, wide_to_long
    from .args import read_input

    if (args.coders is None) == (args.item_col is None):
        given = "both were" if args.coders else "neither was"
        raise InputError(
            "Give either --coders A,B (wide: one column per coder) or --item-col COLUMN "
            f"(long: one row per code); {given} given."
        )
    if args.coders is None:
        df = read_input(args.input, item=args.item_col, coder=args.coder_col, label=args.label_col)
        return tidy_codes(df, item=args.item_col, coder=args.coder_col, label=args.label_col)
    coders = _split(args.coders)
    df = read_input(args.input)
    for name in coders:
        require_column(
            df.columns, name, "coder", source=args.input, fix="Fix the name in --coders."
        )
    return wide_to_long(df, coders)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
