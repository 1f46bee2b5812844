"""Trained models of a project and their scores on the held-out items, next to zero-shot's.

Every number here comes from `evaluate.evaluate_predictions` on the items both sides scored:
the gold labels are the held-out items' current human (or imported) labels
(`store.labels.train_and_test(...).test`), so a label fixed on Annotate changes the scores at once, and
zero-shot and a model are always compared on the same items. Nothing is drawn here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .db.projects import Project
from .db.store import Store
from .evaluation.metrics import evaluate_predictions, misclassified

MIN_SCORED = 2  # one held-out tweet is too few to score a model: every score would be 0 or 1


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
    """Held-out items with a human or imported label: id, text, label, label_source."""
    return store.labels.train_and_test(project_id).test


@dataclass
class HeldoutReport:
    """A model's (or zero-shot's) scores on the gold held-out items it has predictions for."""

    metrics: dict[str, Any] | None  # evaluate_predictions(...), None when no item overlaps
    items: pd.DataFrame  # id, text, gold, predicted, label_source, confidence, scores
    labels: list[str]
    n_gold: int  # held-out items with a human label
    n_scored: int  # of those, how many this run scored

    @property
    def n_unscored(self) -> int:
        return self.n_gold - self.n_scored


def heldout_predictions(store: Store, project_id: int, run_id: int) -> pd.DataFrame:
    """A run's predictions on the project's held-out items only (a zero-shot run scores every
    item: reading 100k rows of scores to compare a few hundred would slow every page view)."""
    return store.predictions.frame(run_id, project_id=project_id, split="heldout")


def _joined(gold: pd.DataFrame, preds: pd.DataFrame) -> pd.DataFrame:
    merged = gold.rename(columns={"label": "gold"}).merge(
        preds.rename(columns={"item_id": "id", "label": "predicted", "score": "confidence"}),
        on="id",
        how="inner",
    )
    return merged.sort_values("id").reset_index(drop=True)


def _score(items: pd.DataFrame, labels: list[str]) -> dict[str, Any] | None:
    if items.empty:
        return None
    probs = np.array(items["scores"].tolist(), dtype=float)
    if probs.shape != (len(items), len(labels)):
        probs = None  # scores stored in another label order cannot be used for curves
    return evaluate_predictions(items["gold"], items["predicted"], labels, probs=probs)


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


def compare_with_zeroshot(
    store: Store, project: Project, runs: list[dict[str, Any]]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Zero-shot vs each trained model, each pair on the same gold held-out items.

    Returns a long frame (model, system, items, accuracy, macro_f1, mcc, stance_f1; one row for
    zero-shot and one for the model per trained model) and facts for the page: n_gold, zeroshot
    run, how many gold items zero-shot scored.
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
            m = _score(items.reset_index(drop=True), project.labels)
            row = {"model": model_name(run), "system": system, "items": len(items)}
            row.update({k: (m or {}).get(k) for k in SCORES})
            rows.append(row)
    facts = {
        "n_gold": len(gold),
        "zeroshot_run": zs_run,
        "zeroshot_scored": 0 if zs is None else len(zs),
    }
    return pd.DataFrame(rows, columns=["model", "system", "items", *SCORES]), facts


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
                row[f"{side} {SCORE_NAMES[score]}"] = by_system.at[system, score]
        rows.append(row)
    return pd.DataFrame(rows)
