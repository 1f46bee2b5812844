"""The export table: every item with its gold label, each coder's label and every model's scores.

The columns are defined here once, for the CLI, the pages and every later feature:

    text, id, label, label_source, label_by_<annotator>..., disagreement, codebook_version,
    zs_label, zs_score, zs_score_<LABEL>...,  pred_label, pred_score, pred_score_<LABEL>...,
    item_id, ext_id, split, annotator, labelled_at_utc, unsure, comment, source_name,
    source_row, then the imported file's other columns.

`id` is the id the file gave the tweet, else the store's item id. `label` is the gold label
(derived: one coder's, the agreed one, or the adjudicator's; empty while coders disagree or an
overlap item waits for its second coder) and `label_source` how it came (human,
accepted-suggestion, imported, adjudicated). `label_by_<name>` is each person's own code in effect
(their newest not undone; imported labels under the importer's name), and `disagreement` is true
where people gave different codes, adjudicated or not. `codebook_version` is the codebook version
the gold label was given under. `zs_*` are the newest zero-shot run's suggestion and scores;
`pred_*` the newest prediction run's.
"""

from __future__ import annotations

import json

import pandas as pd

from .engine import Database
from .projects import Projects
from .runs import Predictions, Runs
from .sql import frame, to_utc

LEAD = ["text", "id", "label", "label_source"]
TAIL = [
    "item_id",
    "ext_id",
    "split",
    "annotator",
    "labelled_at_utc",
    "unsure",
    "comment",
    "source_name",
    "source_row",
]


def coder_labels(db: Database, project_id: int) -> pd.DataFrame:
    """item_id, annotator, label: each person's code in effect."""
    return frame(
        db,
        "SELECT item_id, annotator, label FROM codes WHERE project_id=:p AND label IS NOT NULL"
        " AND source IN ('human', 'imported') ORDER BY item_id, annotator",
        {"p": project_id},
    )


def gold_versions(db: Database, project_id: int) -> pd.Series:
    """The codebook version of the annotation behind each item's gold label, by item id."""
    rows = frame(
        db,
        "SELECT a.item_id, a.codebook_version FROM annotations a JOIN items i ON i.id=a.item_id"
        " WHERE a.project_id=:p AND i.label IS NOT NULL AND a.label=i.label"
        " AND a.source=i.label_source ORDER BY a.id",
        {"p": project_id},
    )
    return rows.groupby("item_id")["codebook_version"].last()


class Export:
    def __init__(self, db: Database, projects: Projects, runs: Runs, predictions: Predictions):
        self.db = db
        self.projects = projects
        self.runs = runs
        self.predictions = predictions

    def frame(self, project_id: int) -> pd.DataFrame:
        project = self.projects.get(project_id)
        items = frame(
            self.db,
            "SELECT i.id AS item_id, i.ext_id, i.text, i.split, i.label, i.label_source,"
            " i.annotator, i.labelled_at, i.unsure, i.comment, i.extra, i.source_name,"
            " i.source_row FROM items i WHERE i.project_id=:p ORDER BY i.id",
            {"p": project_id},
        )
        items["labelled_at_utc"] = to_utc(items.pop("labelled_at"))
        items["id"] = items["ext_id"].where(items["ext_id"].notna(), items["item_id"].astype(str))
        items["codebook_version"] = items["item_id"].map(gold_versions(self.db, project_id))
        coders = coder_labels(self.db, project_id)
        by = pd.DataFrame(index=items.index)
        for name, theirs in coders.groupby("annotator", sort=True):
            by[f"label_by_{name}"] = items["item_id"].map(theirs.set_index("item_id")["label"])
        distinct = coders.groupby("item_id")["label"].nunique()
        items["disagreement"] = items["item_id"].map(distinct > 1).fillna(False).astype(bool)
        runs = self._run_columns(project, items["item_id"])
        extras = self._extras(items.pop("extra"), items.index)
        out = pd.concat(
            [
                items[LEAD],
                by,
                items[["disagreement", "codebook_version"]],
                runs,
                items[TAIL],
            ],
            axis=1,
        )
        extras = extras[[c for c in extras.columns if c not in out.columns]]
        return pd.concat([out, extras], axis=1)

    def _run_columns(self, project, item_ids: pd.Series) -> pd.DataFrame:
        out = pd.DataFrame(index=item_ids.index)
        for kind, prefix in (("zeroshot", "zs"), ("predict", "pred")):
            run = self.runs.latest(project.id, kind)
            if run is None:
                continue
            labels = run["params"].get("labels") or project.labels
            preds = self.predictions.frame(run["id"]).set_index("item_id")
            out[f"{prefix}_label"] = item_ids.map(preds["label"])
            out[f"{prefix}_score"] = item_ids.map(preds["score"])
            matrix = preds["scores"].to_dict()
            for j, lab in enumerate(labels):
                out[f"{prefix}_score_{lab}"] = [
                    matrix[i][j] if i in matrix else None for i in item_ids
                ]
        return out

    @staticmethod
    def _extras(column: pd.Series, index: pd.Index) -> pd.DataFrame:
        extras = [json.loads(e) if isinstance(e, str) and e else {} for e in column]
        if not any(extras):
            return pd.DataFrame(index=index)
        return pd.DataFrame(extras, index=index)
