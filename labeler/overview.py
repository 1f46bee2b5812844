"""What a project's overview says: its numbers and the one next step that moves the work on."""

from __future__ import annotations

from dataclasses import dataclass

from .db.store import Store


@dataclass
class NextStep:
    stage: str  # the loop's stage: data, prelabel, annotate, train, evaluate (the UI maps it)
    text: str


def project_overview(store: Store, project_id: int) -> dict:
    stats = store.items.overview(project_id)  # index-only counts: no scan of every tweet
    zs = store.runs.latest(project_id, "zeroshot")
    models = [r for r in store.runs.list(project_id, "train") if r["status"] == "done"]
    stats["prelabelled"] = 0
    if zs is not None:
        stats["prelabelled"] = store.predictions.count(zs["id"])
    stats["models"] = len(models)
    return stats


def next_step(stats: dict, min_per_label: int = 8) -> NextStep:
    """The single most useful thing to do now, in the loop's order."""
    if stats["items"] == 0:
        return NextStep("data", "Import tweets: upload a file or use the bundled sample.")
    per_label = stats["per_label"]  # every label counts, imported ones too
    enough = len(per_label) >= 2 and min(per_label.values()) >= min_per_label
    if not enough and stats["prelabelled"] == 0:  # with enough labels, pre-labels can wait
        return NextStep(
            "prelabel", "Get zero-shot pre-labels so the least certain tweets come first."
        )
    if not enough:
        return NextStep(
            "annotate",
            f"Label more tweets: each label needs at least {min_per_label} examples to train.",
        )
    if stats["heldout_labelled"] < 10:
        return NextStep(
            "annotate",
            f"Label more held-out tweets ({stats['heldout_labelled']} so far): they are the test "
            "set every model is scored on.",
        )
    if stats["models"] == 0:
        return NextStep("train", "Fine-tune a classifier on your labels.")
    return NextStep("evaluate", "Compare the models with zero-shot, then predict and export.")
