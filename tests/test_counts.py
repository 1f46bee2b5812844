"""The counts pages read at scale equal a COUNT over the tables, after every kind of write.

`item_counts` (per split, label and source) and `projects.duplicate_texts` are kept by the
writes themselves (labeler/db/counts.py); the other page counts read small partial indexes. Each
step below (imports with and without merging, a label, a change of mind, undos, two coders who
agree or disagree, an adjudication, accepted suggestions, a restored archive, a workspace from
the first version) is followed by a comparison with a direct COUNT. Runs on SQLite and
PostgreSQL (`db_url`).
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from labeler.db.counts import overlap_items
from labeler.db.gold import overlap_cut
from labeler.db.store import Store
from labeler.project_archive import export_project, restore_project

LABELS = ["AGAINST", "FAVOR", "NONE"]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def store(db_url) -> Store:
    s = Store(db_url)
    yield s
    s.close()


def query(store: Store, sql: str, **args) -> list[tuple]:
    with store.db.read() as conn:
        return [tuple(r) for r in conn.execute(text(sql), args).all()]


def assert_counts_match(store: Store, pid: int) -> None:
    """Every count a page reads equals the same count taken over the tables."""
    direct = Counter()
    for split, label, source, n in query(
        store,
        "SELECT split, label, label_source, COUNT(*) FROM items WHERE project_id=:p"
        " GROUP BY split, label, label_source",
        p=pid,
    ):
        direct[(split, label or "", source or "" if label else "")] += n
    assert Counter({(s, lab, src): n for s, lab, src, n in store.items.counts(pid)}) == +direct
    ((items, labelled, heldout, heldout_labelled),) = query(
        store,
        "SELECT COUNT(*), COUNT(label), SUM(CASE WHEN split='heldout' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN split='heldout' AND label IS NOT NULL THEN 1 ELSE 0 END)"
        " FROM items WHERE project_id=:p",
        p=pid,
    )
    per_label = dict(
        query(store, "SELECT label, COUNT(*) FROM items WHERE project_id=:p AND label IS NOT NULL"
              " GROUP BY label", p=pid)
    )  # fmt: skip
    assert store.items.overview(pid) == {
        "items": items, "labelled": labelled, "heldout": int(heldout or 0),
        "heldout_labelled": int(heldout_labelled or 0), "per_label": per_label,
    }  # fmt: skip
    assert store.items.count(pid) == items
    assert store.items.count_labelled(pid) == labelled
    progress = store.items.progress(pid, "ana")
    assert (progress["items"], progress["labelled"], progress["heldout_labelled"]) == (
        items, labelled, int(heldout_labelled or 0),
    )  # fmt: skip
    for include in (False, True):
        train, test = store.labels.train_and_test(pid, include_accepted=include)
        counted = store.labels.train_and_test_counts(pid, include_accepted=include)
        assert counted == (train["label"].value_counts().to_dict(),
                           test["label"].value_counts().to_dict())  # fmt: skip
    texts = store.items.texts(pid)["text"]
    assert store.items.duplicate_texts(pid) == int(texts.duplicated().sum())
    cut = store.team.settings(pid).cut
    (overlap,) = query(
        store,
        "SELECT COUNT(*) FROM items WHERE project_id=:p AND (split='heldout' OR shuffle<:cut)",
        p=pid,
        cut=cut,
    )[0]
    assert store.team.progress(pid).attrs["overlap_items"] == overlap
    # cuts on a slice's edge (share 0.5), and next to pool items, labelled or not: those are
    # counted item by item in the slice the cut falls in
    pool = query(
        store, "SELECT shuffle FROM items WHERE project_id=:p AND split='pool' ORDER BY id", p=pid
    )
    near = [rank + d for (rank,) in pool[:8] + pool[-8:] for d in (0, 1)]
    for cut in [overlap_cut(share) for share in (0.0, 0.37, 0.5, 1.0)] + near:
        (direct_overlap,) = query(
            store,
            "SELECT COUNT(*) FROM items WHERE project_id=:p AND (split='heldout' OR shuffle<:cut)",
            p=pid,
            cut=cut,
        )[0]
        with store.db.read() as conn:
            assert overlap_items(conn, pid, cut) == direct_overlap, cut
    (disputed,) = query(
        store, "SELECT COUNT(*) FROM items WHERE project_id=:p AND disputed=1", p=pid
    )[0]
    assert store.team.count_disputes(pid) == disputed
    assert store.team.disputes(pid)["item_id"].nunique() == disputed


def ids(store: Store, pid: int) -> list[int]:
    return [int(i) for i in store.items.texts(pid)["id"]]


def test_counts_follow_imports_labels_undos_and_accepted_suggestions(store):
    project = store.projects.create("Counts", LABELS, heldout_share=0.3)
    other = store.projects.create("Other", LABELS)
    store.items.import_frame(other.id, pd.DataFrame({"text": ["elsewhere", "elsewhere"]}))
    texts = [f"tweet {i % 17} on the four-day week" for i in range(40)]  # exact repeats
    labels = [LABELS[i % 3] if i % 4 == 0 else ("favour" if i == 5 else None) for i in range(40)]
    store.items.import_frame(project.id, pd.DataFrame({"text": texts, "label": labels}))
    assert_counts_match(store, project.id)
    # merging: repeats of what the project holds are skipped; a case change is no exact repeat
    more = ["tweet 3 on the four-day week", "TWEET 3 ON THE FOUR-DAY WEEK", "new one", "new one"]
    store.items.import_frame(project.id, pd.DataFrame({"text": more}))
    assert_counts_match(store, project.id)
    # merging off: everything is added, and repeats of the project's texts count
    store.items.import_frame(project.id, pd.DataFrame({"text": more}), skip_existing=False)
    assert_counts_match(store, project.id)
    every = ids(store, project.id)
    for item in every[:12]:
        store.labels.add(item, "FAVOR", annotator="ana")
    store.labels.add(every[0], "NONE", annotator="ana")  # a change of mind
    assert_counts_match(store, project.id)
    for _ in range(3):  # back to the imported labels, then to nothing
        store.labels.undo(project.id, "ana")
        assert_counts_match(store, project.id)
    run = store.runs.create(project.id, "zeroshot", {"labels": LABELS}, total=len(every))
    store.predictions.put(run, [(i, LABELS[i % 3], 0.9, [0.9, 0.05, 0.05]) for i in every])
    accepted, _ = store.labels.accept_suggestions(project.id, run, 0.5, annotator="ana")
    assert accepted > 0
    assert_counts_match(store, project.id)
    store.labels.add(every[-1], "AGAINST", annotator="ben")  # a person over a suggestion
    assert_counts_match(store, project.id)
    assert_counts_match(store, other.id)
    store.projects.delete(other.id)
    assert store.items.counts(other.id) == []


def test_counts_follow_two_coders_and_an_adjudication(store):
    project = store.projects.create("Team", LABELS, heldout_share=0.5)
    store.items.import_frame(
        project.id, pd.DataFrame({"text": [f"coded tweet {i}" for i in range(12)]})
    )
    store.team.update(project.id, overlap_share=0.5, coders_per_item=2)
    for name in ("ana", "ben"):
        store.users.add_member(project.id, name, "annotator")
    every = ids(store, project.id)
    for k, item in enumerate(every):
        store.labels.add(item, "FAVOR", annotator="ana")
        store.labels.add(item, "FAVOR" if k % 2 else "NONE", annotator="ben")
        assert_counts_match(store, project.id)
    disputes = store.team.disputes(project.id)
    assert len(disputes)
    store.team.adjudicate(int(disputes["item_id"].iloc[0]), "AGAINST", "ana")
    assert_counts_match(store, project.id)
    decided = store.team.disputes(project.id, include_decided=True)
    assert int(disputes["item_id"].iloc[0]) in set(decided["item_id"])
    store.labels.undo(project.id, "ben")  # a coder takes a code back: gold may go
    assert_counts_match(store, project.id)
    # a restored archive counts its items afresh
    restored = restore_project(store, export_project(store, project.id))
    assert_counts_match(store, restored.id)
    assert store.items.counts(restored.id) == store.items.counts(project.id)


def test_first_version_workspace_is_counted_on_upgrade(tmp_path):
    path = tmp_path / "labeler.sqlite"
    shutil.copy(FIXTURES / "v1_workspace.sqlite", path)
    store = Store(path)
    projects = store.projects.all()
    assert projects
    for project in projects:
        assert_counts_match(store, project.id)
    assert any(store.items.count_labelled(p.id) for p in projects)
    store.close()


def test_a_workspace_from_before_the_counts_is_counted_on_upgrade(db_url):
    """Migration 0004 fills the counts of projects that already hold items."""
    store = Store(db_url)
    project = store.projects.create("Before", LABELS, heldout_share=0.3)
    texts = [f"old tweet {i % 7}" for i in range(30)]
    labels = [LABELS[i % 3] if i % 2 else None for i in range(30)]
    store.items.import_frame(
        project.id, pd.DataFrame({"text": texts, "label": labels}), skip_existing=False
    )
    store.labels.add(ids(store, project.id)[1], "NONE", annotator="ana")
    with store.db.write() as conn:  # back to revision 0003: no counts, none of its indexes
        conn.execute(text("DROP TABLE item_counts"))
        conn.execute(text("DROP TABLE shuffle_counts"))
        for index in ("items_project", "items_disputed", "annotations_newest",
                      "annotations_human", "annotations_decisions", "codes_human"):  # fmt: skip
            conn.execute(text(f"DROP INDEX {index}"))
        conn.execute(text("ALTER TABLE projects DROP COLUMN duplicate_texts"))
        conn.execute(text("UPDATE alembic_version SET version_num='0003'"))
        if store.db.dialect == "sqlite":
            conn.execute(text("PRAGMA user_version=3"))
    store.close()
    store = Store(db_url)
    assert store.items.duplicate_texts(project.id) == 23
    assert_counts_match(store, project.id)
    store.close()
