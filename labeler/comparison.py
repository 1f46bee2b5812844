"""Trained models of a project and their scores on the held-out items, next to zero-shot's.

Every number here comes from `evaluation.metrics.evaluate_with_intervals` (scikit-learn's scores
with a seeded bootstrap interval each, and a warning per label with too few gold items). The gold
labels are the held-out items' current labels from a person, an import or an adjudicator
(`GOLD`; an accepted model suggestion is never gold), so a label fixed on Annotate changes the
scores at once.

- `heldout_report`: one run's scores on the gold held-out items it scored;
- `side_by_side`: zero-shot runs, live-model runs and fine-tuned models on the SAME items (those
  every compared run scored), one row each with intervals and n;
- `compare_with_zeroshot` / `comparison_wide`: each fine-tuned model against the latest zero-shot
  run, pair by pair (more items per pair when models scored different items);
- `labelled_rows` / `score_labelled`: a trained model scored on an uploaded labelled file, through
  the same loader and predictor as `python -m labeler evaluate`.

Nothing is drawn here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .db.annotations import GOLD_SOURCES
from .db.projects import Project
from .db.store import Store
from .errors import DataError
from .evaluation.intervals import MIN_TEST_ITEMS as MIN_TEST_ITEMS  # for the pages
from .evaluation.metrics import evaluate_with_intervals, misclassified

MIN_SCORED = 2  # one held-out tweet is too few to score a model: every score would be 0 or 1
GOLD = GOLD_SOURCES  # a person's, an import's or an adjudicator's label: never a suggestion
DRAWS, SEED = 1000, 0  # the bootstrap behind every interval here


def trained_models(store: Store, project_id: int) -> list[dict[str, Any]]:
    """Finished training runs that saved a model, newest first (cancelled or failed ones never)."""
    return [
        r
        for r in store.runs.list(project_id, "train")
        if r["status"] == "done" and r["artifact_path"]
    ]


def when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "—"


def model_name(run: dict[str, Any]) -> str:
    """A short, unique name for a trained model: "Model #7 · all-MiniLM-L6-v2 (bundled)"."""
    base = (run.get("metrics") or {}).get("base_model") or run.get("model") or "model"
    return f"Model #{run['id']} · {base}"


def models_table(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per trained model: date, base model, train size, held-out scores, settings."""
    rows = []
    for r in runs:
        m, p = r.get("metrics") or {}, r.get("params") or {}
        rows.append(
            {
                "model": f"#{r['id']}",
                "trained": when(r.get("finished_at")),
                "base model": m.get("base_model") or r.get("model"),
                "train size": m.get("n_train"),
                "held-out size": m.get("n_test"),
                "macro-F1": m.get("macro_f1"),
                "accuracy": m.get("accuracy"),
                "epochs": p.get("epochs"),
                "minutes": round(m["seconds"] / 60, 1) if m.get("seconds") else None,
                "folder": r["artifact_path"],
            }
        )
    return pd.DataFrame(rows)


def gold_heldout(store: Store, project_id: int) -> pd.DataFrame:
    """Held-out items with a gold label (`GOLD`: never an accepted suggestion): id, text, label,
    label_source, by id."""
    return store.items.gold(project_id, GOLD, split="heldout")  # never every held-out item


@dataclass
class HeldoutReport:
    """A model's (or zero-shot's) scores on the gold held-out items it has predictions for."""

    metrics: dict[str, Any] | None  # evaluate_with_intervals(...), None when no item overlaps
    items: pd.DataFrame  # id, text, gold, predicted, label_source, confidence, scores
    labels: list[str]
    n_gold: int  # held-out items with a human label
    n_scored: int  # of those, how many this run scored

    @property
    def n_unscored(self) -> int:
        return self.n_gold - self.n_scored


def heldout_predictions(store: Store, project_id: int, run_id: int) -> pd.DataFrame:
    """A run's predictions on the project's labelled held-out items only (a zero-shot run scores
    every item: reading 1M rows of scores to compare a few hundred would slow every page view;
    only labelled items are ever joined to the gold ones)."""
    return store.predictions.frame(run_id, project_id=project_id, split="heldout", labelled=True)


def _joined(gold: pd.DataFrame, preds: pd.DataFrame) -> pd.DataFrame:
    merged = gold.rename(columns={"label": "gold"}).merge(
        preds.rename(columns={"item_id": "id", "label": "predicted", "score": "confidence"}),
        on="id",
        how="inner",
    )
    return merged.sort_values("id").reset_index(drop=True)


def _score(
    items: pd.DataFrame, labels: list[str], *, per_label: bool = True
) -> dict[str, Any] | None:
    """`evaluate_with_intervals` of joined items (gold, predicted, scores); None for no item."""
    if items.empty:
        return None
    probs = np.array(items["scores"].tolist(), dtype=float)
    if probs.shape != (len(items), len(labels)):
        probs = None  # scores stored in another label order cannot be used for curves
    return evaluate_with_intervals(
        items["gold"], items["predicted"], labels, probs=probs, per_label=per_label,
        draws=DRAWS, seed=SEED,
    )  # fmt: skip


def heldout_report(
    store: Store, project: Project, run_id: int, gold: pd.DataFrame | None = None
) -> HeldoutReport:
    """Scores of one run's predictions (scores in project label order) on the gold held-out items."""
    gold = gold_heldout(store, project.id) if gold is None else gold
    items = _joined(gold, heldout_predictions(store, project.id, run_id))
    return HeldoutReport(
        _score(items, project.labels), items, project.labels, len(gold), len(items)
    )


def errors_table(report: HeldoutReport) -> pd.DataFrame:
    """The misclassified held-out items, most confident mistakes first (engine's `misclassified`)."""
    items = report.items
    cols = ["item_id", "text", "gold", "predicted", "confidence", "p_gold", "label_source"]
    if items.empty:
        return pd.DataFrame(columns=cols)
    probs = np.array(items["scores"].tolist(), dtype=float)
    wrong = misclassified(
        items["text"].tolist(),
        items["gold"].tolist(),
        items["predicted"].tolist(),
        probs=probs if probs.shape[1:] == (len(report.labels),) else None,
        labels=report.labels,
    )
    src = items.iloc[wrong["index"].tolist()]
    return pd.DataFrame(
        {
            "item_id": src["id"].to_numpy(),
            "text": wrong["text"],
            "gold": wrong["true_label"],
            "predicted": wrong["pred_label"],
            "confidence": wrong["confidence"],
            "p_gold": wrong.get("prob_true", np.nan),
            "label_source": src["label_source"].to_numpy(),
        }
    )


SCORES = ("accuracy", "macro_f1", "mcc", "stance_f1")
SCORE_NAMES = {
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "mcc": "MCC",
    "stance_f1": "stance-F1",
}
SCORE_COLUMNS = [f"{s}{end}" for s in SCORES for end in ("", "_low", "_high")]


def _score_columns(metrics: dict[str, Any] | None) -> dict[str, float | None]:
    """Each score of `SCORES` with its interval's bounds (None where undefined)."""
    out: dict[str, float | None] = dict.fromkeys(SCORE_COLUMNS)
    if metrics is None:
        return out
    for score in SCORES:
        interval = metrics["intervals"].get(score)
        out[score] = metrics.get(score)
        out[f"{score}_low"] = None if interval is None else interval.low
        out[f"{score}_high"] = None if interval is None else interval.high
    return out


def compare_with_zeroshot(
    store: Store, project: Project, runs: list[dict[str, Any]]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Zero-shot vs each trained model, each pair on the same gold held-out items.

    Returns a long frame (model, system, items, then each score with its interval: accuracy,
    accuracy_low, accuracy_high, macro_f1, ...; one row for zero-shot and one for the model per
    trained model) and facts for the page: n_gold, zeroshot run, how many gold items zero-shot
    scored.
    """
    gold = gold_heldout(store, project.id)
    zs_run = store.runs.latest(project.id, "zeroshot")
    zs = _joined(gold, heldout_predictions(store, project.id, zs_run["id"])) if zs_run else None
    rows: list[dict[str, Any]] = []
    for run in runs:
        mine = _joined(gold, heldout_predictions(store, project.id, run["id"]))
        if zs is not None:
            common = sorted(set(mine["id"]) & set(zs["id"]))
            mine = mine[mine["id"].isin(common)]
            sides = [("zero-shot", zs[zs["id"].isin(common)]), ("fine-tuned", mine)]
        else:
            sides = [("fine-tuned", mine)]
        for system, items in sides:
            m = _score(items.reset_index(drop=True), project.labels, per_label=False)
            row = {"model": model_name(run), "system": system, "items": len(items)}
            row.update(_score_columns(m))
            rows.append(row)
    facts = {
        "n_gold": len(gold),
        "zeroshot_run": zs_run,
        "zeroshot_scored": 0 if zs is None else len(zs),
    }
    return pd.DataFrame(rows, columns=["model", "system", "items", *SCORE_COLUMNS]), facts


def comparison_wide(long: pd.DataFrame) -> pd.DataFrame:
    """One row per model: items compared, then "zero-shot X" and "model X" side by side per score."""
    rows = []
    for model, group in long.groupby("model", sort=False):
        row: dict[str, Any] = {"model": model, "items compared": int(group["items"].max())}
        by_system = group.set_index("system")
        for score in SCORES:
            if by_system[score].isna().all():
                continue  # e.g. stance F1 on a project without AGAINST/FAVOR labels
            for system in by_system.index:
                side = "model" if system == "fine-tuned" else system
                name = f"{side} {SCORE_NAMES[score]}"
                row[name] = by_system.at[system, score]
                if f"{score}_low" in by_system:
                    row[f"{name} low"] = by_system.at[system, f"{score}_low"]
                    row[f"{name} high"] = by_system.at[system, f"{score}_high"]
        rows.append(row)
    return pd.DataFrame(rows)


# -- every model side by side, on the same items -----------------------------------------------

SIDE_KINDS = {"zeroshot": "zero-shot", "live": "live model", "train": "fine-tuned"}
SIDE_COLUMNS = ["model", "kind", "run", "n", *SCORE_COLUMNS]


def run_label(run: dict[str, Any]) -> str:
    """How a compared run is named: "Zero-shot run #3 (model)", "Live model run #5",
    "Model #7 · base"."""
    if run["kind"] == "zeroshot":
        return f"Zero-shot run #{run['id']} ({run.get('model') or 'model'})"
    if run["kind"] == "live":
        return f"Live model run #{run['id']}"
    return model_name(run)


def comparable_runs(store: Store, project_id: int) -> list[dict[str, Any]]:
    """Finished runs that can be set side by side: zero-shot runs, live-model runs and trained
    models that saved a model; zero-shot first, then live, then fine-tuned, oldest first."""
    order = list(SIDE_KINDS)
    runs = [
        r
        for r in store.runs.list(project_id)
        if r["status"] == "done"
        and r["kind"] in SIDE_KINDS
        and (r["kind"] != "train" or r["artifact_path"])
    ]
    return sorted(runs, key=lambda r: (order.index(r["kind"]), r["id"]))


def default_comparison(runs: list[dict[str, Any]]) -> list[int]:
    """The runs compared unless the user picks others: the newest zero-shot run, the newest
    live-model run and every fine-tuned model (ids, in `runs` order)."""
    newest = {
        kind: max((r["id"] for r in runs if r["kind"] == kind), default=None)
        for kind in ("zeroshot", "live")
    }
    return [r["id"] for r in runs if r["kind"] == "train" or r["id"] == newest.get(r["kind"])]


@dataclass
class SideBySide:
    """Runs scored on the same gold held-out items: the ones every compared run scored."""

    table: pd.DataFrame  # SIDE_COLUMNS, one row per compared run, in the order given
    item_ids: list[int]  # the gold held-out items every compared run scored
    n_gold: int  # held-out items with a gold label
    coverage: dict[int, int]  # run id -> gold held-out items that run scored on its own
    labels: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.item_ids)

    def limiting(self) -> list[int]:
        """The runs that scored the fewest gold items (those that shrink the common set)."""
        if not self.coverage:
            return []
        fewest = min(self.coverage.values())
        return [run for run, k in self.coverage.items() if k == fewest and k < self.n_gold]


def side_by_side(
    store: Store,
    project: Project,
    runs: list[dict[str, Any]],
    *,
    draws: int = DRAWS,
    seed: int = SEED,
) -> SideBySide:
    """Every run of `runs` scored on the gold held-out items ALL of them scored (never an
    accepted suggestion as gold): accuracy, macro-F1, MCC and stance-F1 with seeded bootstrap
    intervals, and n. A label a run predicts outside the project's labels counts as a label of
    its own (every run is scored over the same labels)."""
    gold = gold_heldout(store, project.id)
    joined = {r["id"]: _joined(gold, heldout_predictions(store, project.id, r["id"])) for r in runs}
    common = set(gold["id"])
    for items in joined.values():
        common &= set(items["id"])
    ids = sorted(common)
    shared = {run: items[items["id"].isin(common)] for run, items in joined.items()}
    seen = set(gold.loc[gold["id"].isin(common), "label"])
    for items in shared.values():
        seen |= set(items["predicted"])
    labels = [*project.labels, *sorted(str(x) for x in seen - set(project.labels))]
    rows = []
    for run in runs:
        items = shared[run["id"]].reset_index(drop=True)
        metrics = None
        if len(items):
            metrics = evaluate_with_intervals(
                items["gold"], items["predicted"], labels, per_label=False, draws=draws, seed=seed
            )
        rows.append(
            {
                "model": run_label(run),
                "kind": SIDE_KINDS.get(run["kind"], run["kind"]),
                "run": run["id"],
                "n": len(items),
                **_score_columns(metrics),
            }
        )
    return SideBySide(
        table=pd.DataFrame(rows, columns=SIDE_COLUMNS),
        item_ids=ids,
        n_gold=len(gold),
        coverage={run: len(items) for run, items in joined.items()},
        labels=labels,
    )


def side_by_side_notes(result: SideBySide, names: dict[int, str]) -> list[str]:
    """Sentences for the page: what was compared, who limits it, and a warning when few items."""
    notes = []
    if result.table.empty:
        return notes
    scored = "; ".join(
        f"{names.get(run, f'run #{run}')} scored {k:,} of them"
        for run, k in result.coverage.items()
    )
    notes.append(
        f"{result.n_gold:,} held-out tweets carry a human label; {scored}. Every model below is "
        f"scored on the {result.n:,} that all of them scored."
    )
    limiting = result.limiting()
    if limiting and result.n < result.n_gold:
        who = ", ".join(names.get(run, f"run #{run}") for run in limiting)
        notes.append(f"Leave out {who} to compare the others on more held-out tweets.")
    return notes


# -- a trained model scored on a labelled file -------------------------------------------------

FILE_NOUN = ("row", "rows")
FILE_TODO = "add labelled rows of it to the file, or score a bigger labelled file"


@dataclass
class LabelledRows:
    """The rows of a file that carry a label: their texts and labels, and how many had none."""

    texts: list[str]
    gold: list[str]
    skipped: int
    label_col: str = "label"


def labelled_rows(df: pd.DataFrame, text_col: str, label_col: str, name: str) -> LabelledRows:
    """Texts and labels of a table as `read_table` reads it, exactly as `python -m labeler
    evaluate` takes them: labels stripped, rows with an empty label skipped (counted)."""
    labels = df[label_col].astype(str).str.strip()
    keep = labels != ""
    if not keep.any():
        raise DataError(
            f"'{name}' has no labelled rows: the label column '{label_col}' is empty in all "
            f"{len(df):,} rows. Pick the column that holds the labels."
        )
    texts = df.loc[keep, text_col].astype(str).tolist()
    return LabelledRows(texts, labels[keep].tolist(), int((~keep).sum()), label_col)


def unknown_labels(gold: Sequence[str], model_labels: Sequence[str], label_col: str) -> str | None:
    """A sentence when the file's labels include some the model does not know; else None."""
    counts = pd.Series(list(gold)).value_counts()
    unknown = [lab for lab in counts.index if lab not in set(model_labels)]
    if not unknown:
        return None
    listed = ", ".join(f"'{lab}' ({counts[lab]:,} rows)" for lab in unknown[:8])
    more = f" and {len(unknown) - 8} more" if len(unknown) > 8 else ""
    known = ", ".join(f"'{lab}'" for lab in model_labels)
    return (
        f"The column '{label_col}' holds {len(unknown)} label"
        f"{'s' if len(unknown) != 1 else ''} the model does not know: {listed}{more}. The model "
        f"knows {known}. Rename those labels in the file to the model's, drop their rows, or "
        "pick the column that holds the labels."
    )


def score_labelled(
    classifier: Any,
    rows: LabelledRows,
    *,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 64,
    draws: int = DRAWS,
    seed: int = SEED,
) -> dict[str, Any]:
    """A loaded classifier (`models.classifier.load_classifier`) scored on labelled rows: the
    predictor and scores of `python -m labeler evaluate`, with intervals and small-sample
    warnings. Raises DataError (with `unknown_labels`' sentence) before predicting when the rows
    carry labels the model does not know."""
    from .models.classifier import predict

    message = unknown_labels(rows.gold, classifier.label_names, rows.label_col)
    if message:
        raise DataError(message)
    preds = predict(classifier, rows.texts, batch_size=batch_size, progress=progress)
    return evaluate_with_intervals(
        rows.gold, preds.labels, classifier.label_names, probs=preds.probs,
        draws=draws, seed=seed, noun=FILE_NOUN, todo=FILE_TODO,
    )  # fmt: skip
