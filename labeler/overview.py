"""What a project's overview says: its numbers and the one next step that moves the work on."""

from __future__ import annotations

from dataclasses import dataclass

from .store import Store


@dataclass
class NextStep:
    page: str  # page file under pages/
    text: str


def project_overview(store: Store, project_id: int) -> dict:
    stats = store.stats(project_id)
    zs = store.latest_run(project_id, "zeroshot")
    models = [r for r in store.runs(project_id, "train") if r["status"] == "done"]
    stats["prelabelled"] = 0
    if zs is not None:
        stats["prelabelled"] = store.conn.execute(
            "SELECT COUNT(*) FROM predictions WHERE run_id=?", (zs["id"],)
        ).fetchone()[0]
    stats["models"] = len(models)
    return stats


def next_step(stats: dict, min_per_label: int = 8) -> NextStep:
    """The single most useful thing to do now, in the loop's order."""
    if stats["items"] == 0:
        return NextStep("pages/data.py", "Import tweets: upload a file or use the bundled sample.")
    if stats["prelabelled"] == 0:
        return NextStep(
            "pages/prelabel.py", "Get zero-shot pre-labels so the least certain tweets come first."
        )
    per_label = stats["per_label"]
    if not per_label or min(per_label.values(), default=0) < min_per_label or len(per_label) < 2:
        return NextStep(
            "pages/annotate.py",
            f"Label more tweets: each label needs at least {min_per_label} examples to train.",
        )
    if stats["heldout_labelled"] < 10:
        return NextStep(
            "pages/annotate.py",
            f"Label more held-out tweets ({stats['heldout_labelled']} so far): they are the test "
            "set every model is scored on.",
        )
    if stats["models"] == 0:
        return NextStep("pages/train.py", "Fine-tune a classifier on your labels.")
    return NextStep(
        "pages/evaluate.py", "Compare the models with zero-shot, then predict and export."
    )
