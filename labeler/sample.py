"""The bundled sample project, so the app opens on something to label when the workspace is empty."""

from __future__ import annotations

from .db.projects import Project
from .db.store import Store
from .io.prepare import prepare_items
from .io.read import read_table
from .workspace import SAMPLE_DATA

SAMPLE_NAME = "Sample: four-day work week"
SAMPLE_LABELS = ["AGAINST", "FAVOR", "NONE"]
SAMPLE_GUIDELINES = (
    "Stance of the tweet's author toward a government-backed four-day (32-hour) work week with no "
    "pay cut.\n\n"
    "- AGAINST: the author opposes it (also by sarcasm or by mocking its supporters).\n"
    "- FAVOR: the author supports it (also by sarcasm aimed at its opponents).\n"
    "- NONE: no stance: news, questions, undecided, or about work in general.\n\n"
    "Label the author's real intent, not the words: quotes of the other side are common."
)


def create_sample_project(store: Store, *, with_labels: bool = False) -> Project:
    """Create the sample project from data/sample_tweets.csv (the synthetic, hand-written tweets).

    Without `with_labels` the gold stance stays an extra column, so there is labelling to do;
    with it, the gold labels are imported (source 'imported') for a training demo.
    """
    name = SAMPLE_NAME if not with_labels else SAMPLE_NAME + " (gold labels)"
    existing = store.projects.by_name(name)
    if existing is not None:
        return existing
    project = store.projects.create(
        name,
        SAMPLE_LABELS,
        guidelines=SAMPLE_GUIDELINES,
        target="a four-day work week",
        template="The author of this tweet is {} {target}.",
        phrases=["against", "in favor of", "neutral towards"],
    )
    df = read_table(SAMPLE_DATA)
    prepared = prepare_items(
        df, text_col="text", id_col="id", label_col="stance" if with_labels else None
    )
    store.items.import_frame(project.id, prepared.items, source_name=SAMPLE_DATA.name)
    return project


def ensure_sample(store: Store) -> Project | None:
    """On an empty workspace, create the sample project; otherwise do nothing."""
    if store.projects.all():
        return None
    return create_sample_project(store)
