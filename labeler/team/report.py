"""A project's agreement, read from the store: how far its coders agree, and how each coder and
each model scores on the held-out items. Numbers and tables only; the Agreement page draws them.

`project_agreement` returns a `ProjectAgreement`:
- `report`: the `AgreementReport` (`labeler.team.agreement`) over every person's code in effect,
  on every item that two or more people coded, with the project's labels;
- `people_vs_models`: one row per coder and per finished run, on HELD-OUT items only (the models
  learnt from, or were tuned on, the rest). Each coder is scored against gold formed without
  them (`leave_one_out_gold`), so their own codes never make them look right; each model against
  the items' gold label (a person's, an imported or an adjudicated one, never an accepted model
  suggestion). Accuracy and macro-F1 carry 95% intervals from the project's one seeded bootstrap
  (`labeler.evaluation.bootstrap`); the point values are scikit-learn's.

Nothing raises for a project that is too small to score: `missing` (and `models_missing`) say in
a sentence what is missing and what to do. `data_version` is a cheap fingerprint of everything
the numbers rest on, so a page can cache them until a label, decision or run arrives.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text

from ..db.annotations import GOLD_SOURCES
from ..db.store import Store
from ..evaluation.bootstrap import Interval, bootstrap_interval
from ..evaluation.intervals import accuracy_statistic, macro_f1_statistic
from .agreement import (
    CODE_COLUMNS,
    AgreementReport,
    _no_nan,
    agreement_report,
    pair_confusion,
    tidy_codes,
)

HELDOUT = "heldout"  # the split models and coders are scored on (models learnt from the rest)
MODEL_GOLD = GOLD_SOURCES  # a person's, an import's or an adjudicator's label: never a suggestion
RUN_KINDS = {
    "zeroshot": "zero-shot",
    "live": "live model",
    "train": "trained model",
    "predict": "trained model",
}
TABLE_COLUMNS = [
    "who", "kind", "n", "accuracy", "accuracy_low", "accuracy_high",
    "macro_f1", "macro_f1_low", "macro_f1_high", "kappa",
]  # fmt: skip
NO_NAME = "(no name)"  # a code recorded without an annotator's name


@dataclass
class ProjectAgreement:
    """Everything the Agreement page shows for one project (see the module's docstring)."""

    report: AgreementReport | None  # None when `missing` says why
    missing: str | None
    people_vs_models: pd.DataFrame  # TABLE_COLUMNS
    models_missing: str | None  # why `people_vs_models` has no scored row, else None
    codes: pd.DataFrame  # item, coder, label: every person's code in effect
    coders: list[str]
    n_heldout_gold: int  # held-out items with a gold label (the models' test set)
    draws: int
    seed: int

    def to_json(self) -> dict[str, Any]:
        """The report's values and the held-out table's rows, plain values only (no NaN)."""
        table = self.people_vs_models
        rows = [dict(zip(table.columns, row, strict=True)) for row in table.itertuples(index=False)]
        report = self.report.to_json() if self.report is not None else {"missing": self.missing}
        return _no_nan({**report, "people_vs_models": rows})

    def pair(self, a: str, b: str) -> pd.DataFrame:
        """Coder `a`'s labels (rows) against coder `b`'s (columns) on the items both coded."""
        return pair_table(self.codes, a, b)


def pair_table(codes: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """`pair_confusion` of two coders: counts, rows `a`'s label, columns `b`'s."""
    return pair_confusion(codes, a, b)


def data_version(store: Store, project_id: int) -> tuple[Any, ...]:
    """A fingerprint that changes whenever the agreement numbers may: a label, an undo, an import
    or a decision (annotations are append-only), a finished or deleted run, a roster or setting
    change. One small query, for a cache key: annotations are never deleted but with their
    project and each new one has a higher id than all before it, so the project's newest id
    (annotations_newest) changes with every row added; counting them read every row."""
    with store.db.read() as conn:
        row = conn.execute(
            text(
                "SELECT (SELECT MAX(id) FROM annotations WHERE project_id=:p),"
                " (SELECT MAX(id) FROM runs WHERE project_id=:p AND status='done'),"
                " (SELECT COUNT(*) FROM runs WHERE project_id=:p AND status='done'),"
                " (SELECT COUNT(*) FROM members WHERE project_id=:p),"
                " p.labels, p.overlap_share, p.coders_per_item FROM projects p WHERE p.id=:p"
            ),
            {"p": project_id},
        ).first()
    return tuple(row) if row is not None else (None,)


def project_agreement(
    store: Store, project_id: int, *, draws: int = 1000, seed: int = 0
) -> ProjectAgreement:
    """The agreement report and the people-vs-models table of one project (never raises for
    missing data: `missing` and `models_missing` explain)."""
    project = store.projects.get(project_id)
    raw = store.team.codes(project_id)
    codes = _codes(raw)
    used = sorted(set(codes["label"]) - set(project.labels))
    labels = [*project.labels, *used]  # a label renamed since keeps its codes
    missing = _missing(codes, store, project_id)
    report = None if missing else agreement_report(codes, labels=labels, draws=draws, seed=seed)
    coders = sorted(codes["coder"].unique())
    heldout = _codes(raw[raw["split"] == HELDOUT]) if len(raw) else codes
    rows = [
        {"who": who, "kind": "coder", **scores(g["gold"], g["label"], draws=draws, seed=seed)}
        for who, g in _by_coder(leave_one_out_gold(heldout, _decisions(store, project_id)), coders)
    ]
    model_rows, n_gold = _model_rows(store, project_id, draws=draws, seed=seed)
    rows += model_rows
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    return ProjectAgreement(
        report=report,
        missing=missing,
        people_vs_models=table,
        models_missing=_models_missing(table, n_gold),
        codes=codes,
        coders=coders,
        n_heldout_gold=n_gold,
        draws=draws,
        seed=seed,
    )


def run_name(run: dict[str, Any]) -> str:
    """How a run is named on the pages: "Zero-shot run #3 (model)", "Model #7 · base"."""
    model = run.get("model") or "model"
    if run["kind"] == "zeroshot":
        return f"Zero-shot run #{run['id']} ({model})"
    if run["kind"] == "predict":
        return f"Predictions run #{run['id']} ({model})"
    if run["kind"] == "live":
        return f"Live model run #{run['id']}"
    base = (run.get("metrics") or {}).get("base_model") or model
    return f"Model #{run['id']} · {base}"


# -- leave-one-out gold ----------------------------------------------------------------------


def leave_one_out_gold(codes: pd.DataFrame, decisions: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """Per coder and item, the coder's label and the gold formed WITHOUT them: coder, item,
    label, gold.

    Only items that at least one other person coded count. Gold is the other coders' label when
    they are unanimous; else the adjudicator's decision (`decisions`: item -> (label,
    adjudicator)) unless the coder made it; else the item is not scored for this coder.
    """
    rows = []
    for item, group in codes.groupby("item", sort=False):
        if len(group) < 2:
            continue
        pairs = list(zip(group["coder"], group["label"], strict=True))
        for coder, label in pairs:
            others = {lab for who, lab in pairs if who != coder}
            if len(others) == 1:
                gold = next(iter(others))
            else:
                decision = decisions.get(item)
                if decision is None or decision[1] == coder:
                    continue
                gold = decision[0]
            rows.append((coder, item, label, gold))
    return pd.DataFrame(rows, columns=["coder", "item", "label", "gold"])


# -- scores ----------------------------------------------------------------------------------


def scores(gold: Any, predicted: Any, *, draws: int = 1000, seed: int = 0) -> dict[str, Any]:
    """n, accuracy, macro-F1 (scikit-learn's, over the labels either side used) with their
    bootstrap intervals, and Cohen's kappa; None where undefined (no item, kappa of one label)."""
    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score

    gold = np.asarray([str(g) for g in gold], dtype=object)
    predicted = np.asarray([str(p) for p in predicted], dtype=object)
    n = len(gold)
    out: dict[str, Any] = {"n": n}
    if not n:
        return out | {c: None for c in TABLE_COLUMNS[3:]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns on undefined kappa: None says it
        kappa = float(cohen_kappa_score(gold, predicted))
    accuracy = _interval(accuracy_statistic(gold, predicted), n, draws, seed)
    macro = _interval(macro_f1_statistic(gold, predicted), n, draws, seed)
    out |= {
        "accuracy": float(accuracy_score(gold, predicted)),
        "accuracy_low": accuracy.low,
        "accuracy_high": accuracy.high,
        "macro_f1": float(f1_score(gold, predicted, average="macro", zero_division=0)),
        "macro_f1_low": macro.low,
        "macro_f1_high": macro.high,
        "kappa": None if np.isnan(kappa) else kappa,
    }
    return out


def _interval(statistic: Any, n: int, draws: int, seed: int) -> Interval:
    return bootstrap_interval(statistic, n, draws=draws, seed=seed, counts=True)


# -- reading the store -----------------------------------------------------------------------


def _codes(raw: pd.DataFrame) -> pd.DataFrame:
    """The store's codes as a codes table (item, coder, label), a nameless coder named."""
    if raw.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in CODE_COLUMNS})
    codes = tidy_codes(raw, item="item_id", coder="annotator", label="label")
    codes.loc[codes["coder"] == "", "coder"] = NO_NAME
    return codes


def _decisions(store: Store, project_id: int) -> dict[str, tuple[str, str]]:
    """Each item's newest decision: item (as the codes table writes it) -> (label, adjudicator)."""
    decided = store.team.decisions(project_id)
    return {
        str(item): (str(label), str(who))
        for item, label, who in zip(
            decided["item_id"], decided["label"], decided["adjudicator"], strict=True
        )
        if label is not None
    }  # oldest first: a newer decision on the same item overwrites an older one


def _model_rows(
    store: Store, project_id: int, *, draws: int, seed: int, split: str | None = HELDOUT
) -> tuple[list[dict[str, Any]], int]:
    """One row per finished run with predictions on gold items of `split` (held-out: the models
    learnt from the rest), oldest run first; and how many such gold items there are."""
    gold = _model_gold(store, project_id, split)
    rows = []
    for run in sorted(store.runs.list(project_id), key=lambda r: r["id"]):
        if run["status"] != "done" or run["kind"] not in RUN_KINDS:
            continue
        preds = store.predictions.frame(
            run["id"], project_id=project_id, split=split, labelled=True
        )  # only labelled items meet the gold ones: never a whole run's 1M scores
        joined = gold.merge(preds, left_on="id", right_on="item_id", suffixes=("", "_pred"))
        if joined.empty:
            continue
        rows.append(
            {
                "who": run_name(run),
                "kind": RUN_KINDS[run["kind"]],
                **scores(joined["label"], joined["label_pred"], draws=draws, seed=seed),
            }
        )
    return rows, len(gold)


def _model_gold(store: Store, project_id: int, split: str | None) -> pd.DataFrame:
    """Items of `split` with a gold label that models may be scored on: id, label."""
    return store.items.gold(project_id, MODEL_GOLD, split=split)[["id", "label"]]


def _by_coder(loo: pd.DataFrame, coders: list[str]) -> list[tuple[str, pd.DataFrame]]:
    """Every coder with their scored items (none: an empty frame, so they still get a row)."""
    return [(c, loo[loo["coder"] == c]) for c in coders]


def _missing(codes: pd.DataFrame, store: Store, project_id: int) -> str | None:
    """Why agreement cannot be computed yet, in a sentence with what to do; None when it can."""
    per_item = codes.groupby("item")["coder"].nunique()
    shared = int((per_item >= 2).sum())
    if shared:
        return None
    people = codes["coder"].nunique()
    s = store.team.settings(project_id)
    found = f"{len(codes):,} codes from {people} {'person' if people == 1 else 'people'}"
    text_ = f"Agreement needs items coded by at least two people; 0 so far ({found})."
    if s.coders_per_item < 2:
        return text_ + (
            " Set coders per overlap item to 2 or more on the Team page: overlap items are then "
            "coded by that many people each."
        )
    if s.roster_coders < 2:
        return text_ + (
            " Add people to the roster on the Team page: overlap items are then coded by "
            f"{s.coders_per_item} people each."
        )
    return text_ + (
        f" Overlap items (every held-out item and {s.overlap_share:.0%} of the pool) are coded "
        f"by {s.needed} people each: label some on Annotate."
    )


def _models_missing(table: pd.DataFrame, n_gold: int) -> str | None:
    if table["n"].gt(0).any():
        return None
    if not n_gold:
        return (
            "No held-out item has a gold label yet, and none was coded by two people: label "
            "held-out items on Annotate (each is coded by every coder on the overlap set)."
        )
    return (
        f"{n_gold:,} held-out items have a gold label, but no coder shares one with another "
        "person and no finished run has predictions for them: run Pre-label or train a model."
    )
