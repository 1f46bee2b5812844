"""The store: what a researcher relies on without seeing it (labels kept, splits stable, queues)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from labeler.db.migrate import HEAD, SQLITE_USER_VERSION
from labeler.db.store import Store
from labeler.errors import SettingsError, StoreError
from labeler.text import normalise_text

LABELS = ["AGAINST", "FAVOR", "NONE"]
ROOT = Path(__file__).resolve().parents[1]


def items_frame(texts, labels=None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": texts,
            "ext_id": [f"t{i}" for i in range(len(texts))],
            "source_row": range(1, len(texts) + 1),
            "label": labels if labels is not None else [None] * len(texts),
            "extra": [{"lang": "en"}] * len(texts),
        }
    )


@pytest.fixture
def store(db_url) -> Store:
    """The store on each engine: every test below using it runs on SQLite and PostgreSQL."""
    s = Store(db_url)
    yield s
    s.close()


def rows(store: Store, sql: str) -> list[tuple]:
    with store.db.read() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


@pytest.fixture
def project(store):
    return store.projects.create("Four-day week", LABELS, target="a four-day work week")


def test_schema_is_versioned_in_wal_with_foreign_keys(tmp_path):
    store = Store(tmp_path / "labeler.sqlite")
    assert rows(store, "PRAGMA user_version") == [(SQLITE_USER_VERSION,)]
    assert rows(store, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert rows(store, "PRAGMA journal_mode") == [("wal",)]
    assert rows(store, "PRAGMA foreign_keys") == [(1,)]


def test_newer_schema_is_refused_with_advice(tmp_path):
    path = tmp_path / "future.sqlite"
    sqlite3.connect(path).execute(f"PRAGMA user_version={SQLITE_USER_VERSION + 1}")
    with pytest.raises(StoreError, match="newer Tweet Labeler"):
        Store(path)


def test_project_settings_are_validated_with_advice(store):
    with pytest.raises(SettingsError, match="at least two"):
        store.projects.create("p", ["ONLY"])
    with pytest.raises(SettingsError, match="no \\{\\} placeholder"):
        store.projects.create("p", LABELS, template="This tweet is about it.")
    with pytest.raises(SettingsError, match="3 labels but 2 phrases"):
        store.projects.create("p", LABELS, phrases=["against", "for"])
    store.projects.create("p", LABELS)
    with pytest.raises(StoreError, match="exists already"):
        store.projects.create("P", LABELS)


def test_hypothesis_fills_target_and_phrase(store):
    p = store.projects.create(
        "Biden",
        LABELS,
        target="Joe Biden",
        template="The author of this tweet is {} {target}.",
        phrases=["against", "in favor of", "neutral towards"],
    )
    assert p.hypothesis(p.phrases[1]) == "The author of this tweet is in favor of Joe Biden."


def test_import_keeps_labels_as_imported_annotations(store, project):
    report = store.items.import_frame(
        project.id, items_frame(["a", "b", "c", "d"], ["FAVOR", "against", None, "MAYBE"])
    )
    assert report.imported == 4
    assert report.labelled == 2  # "against" matched case-insensitively; MAYBE is not a label
    assert report.unknown_labels == {"MAYBE": 1}
    history = store.labels.history(project.id)
    assert list(history["source"]) == ["imported", "imported"]
    assert list(history["label"]) == ["FAVOR", "AGAINST"]


def test_reimport_skips_texts_already_in_the_project(store, project):
    store.items.import_frame(project.id, items_frame(["one", "two"]))
    report = store.items.import_frame(
        project.id, items_frame(["two", "Two ", "three"], ["FAVOR", "FAVOR", "AGAINST"])
    )
    assert (report.imported, report.already_in_project) == (1, 2)
    assert store.items.count(project.id) == 3
    # the new row keeps its own id, line and label, not those of the rows skipped before it
    new = store.items.get(int(store.items.texts(project.id).set_index("text").loc["three", "id"]))
    assert (new["ext_id"], new["source_row"], new["label"]) == ("t2", 3, "AGAINST")


def test_heldout_share_is_close_to_setting_and_stable(tmp_path):
    texts = [f"tweet number {i} about #policy" for i in range(1000)]
    splits = []
    for attempt in range(2):
        s = Store(tmp_path / f"s{attempt}.sqlite")
        p = s.projects.create("p", LABELS, heldout_share=0.2)
        order = texts if attempt == 0 else list(reversed(texts))
        s.items.import_frame(p.id, items_frame(order))
        if attempt == 1:  # labelling order must not matter either
            for row in s.items.texts(p.id).head(50).itertuples():
                s.labels.add(row.id, "NONE")
        df = s.items.texts(p.id).set_index("text")["split"]
        splits.append(df.sort_index())
    share = (splits[0] == "heldout").mean()
    assert 0.17 <= share <= 0.23
    assert splits[0].equals(splits[1])


def test_duplicates_land_on_the_same_side(store, project):
    base = [f"Tweet {i} on the 4 day week" for i in range(300)]
    variants = [t.upper() + "  " for t in base]
    report = store.items.import_frame(project.id, items_frame(base + variants))
    # variants within one file are the file's business (the Data page merges or keeps them);
    # on an empty project none of them was "already in the project"
    assert (report.imported, report.already_in_project) == (600, 0)
    df = store.items.texts(project.id)
    df["norm"] = df["text"].map(normalise_text)
    assert df.groupby("norm")["split"].nunique().max() == 1
    assert (df["split"] == "heldout").any() and (df["split"] == "pool").any()


def test_label_undo_is_append_only_and_walks_back(store, project):
    store.items.import_frame(project.id, items_frame(["x", "y"]))
    x, y = store.items.texts(project.id)["id"]
    store.labels.add(x, "FAVOR", annotator="ana")
    store.labels.add(x, "AGAINST", annotator="ana")
    store.labels.add(y, "NONE", annotator="ana")
    assert store.labels.undo(project.id, "ana") == y
    assert store.items.get(y)["label"] is None
    assert store.labels.undo(project.id, "ana") == x
    assert store.items.get(x)["label"] == "FAVOR"
    assert store.labels.undo(project.id, "ana") == x
    assert store.items.get(x)["label"] is None
    assert store.labels.undo(project.id, "ana") is None
    history = store.labels.history(project.id)
    assert len(history) == 6  # 3 labels + 3 retractions, nothing deleted
    assert history["retracts"].notna().sum() == 3


def test_undo_restores_the_label_just_before_the_undone_one(store, project):
    store.items.import_frame(project.id, items_frame(["x"], ["NONE"]))  # imported first
    (x,) = store.items.texts(project.id)["id"]
    for label in ("AGAINST", "FAVOR", "AGAINST"):
        store.labels.add(x, label, annotator="ana")
    assert store.items.get(x)["label"] == "AGAINST"  # her newest label replaces her own
    assert store.labels.undo(project.id, "ana") == x
    assert (store.items.get(x)["label"], store.items.get(x)["label_source"]) == ("FAVOR", "human")
    assert store.labels.undo(project.id, "ana") == x
    assert store.items.get(x)["label"] == "AGAINST"
    assert store.labels.undo(project.id, "ana") == x
    assert (store.items.get(x)["label"], store.items.get(x)["label_source"]) == ("NONE", "imported")


def test_a_second_persons_label_never_replaces_the_first(store, project):
    store.items.import_frame(project.id, items_frame(["x"]))
    (x,) = store.items.texts(project.id)["id"]
    store.labels.add(x, "FAVOR", annotator="ana")
    store.labels.add(x, "NONE", annotator="ben")
    item = store.items.get(x)
    assert (item["label"], item["disputed"]) == (None, 1)  # no gold: the adjudicator decides
    codes = store.team.codes(project.id)
    assert dict(zip(codes["annotator"], codes["label"])) == {"ana": "FAVOR", "ben": "NONE"}
    store.labels.add(x, "NONE", annotator="ana")  # ana changes her mind: now they agree
    item = store.items.get(x)
    assert (item["label"], item["label_source"], item["disputed"]) == ("NONE", "human", 0)


def test_held_out_items_never_train_and_suggestions_never_test(store, project):
    store.items.import_frame(project.id, items_frame([f"tweet {i}" for i in range(60)]))
    df = store.items.texts(project.id)
    heldout, pool = df[df["split"] == "heldout"]["id"], df[df["split"] == "pool"]["id"]
    assert len(heldout) and len(pool)
    suggested = (int(pool.iloc[0]), int(heldout.iloc[0]))  # labelled by the model alone
    for i in df["id"]:
        if int(i) not in suggested:
            store.labels.add(int(i), "FAVOR", annotator="ana")
    run_id = _run_with_scores(store, project, {int(i): 0.9 for i in df["id"]})
    for i in suggested:
        store.labels.add(i, "NONE", source="accepted-suggestion", run_id=run_id)
    history = store.labels.history(project.id)  # the decision and the suggestion stay apart
    assert history["source"].tolist() == ["human"] * (len(df) - 2) + ["accepted-suggestion"] * 2
    for accepted in (False, True):
        train, test = store.labels.train_and_test(project.id, include_accepted=accepted)
        assert set(train["id"]) <= set(pool) and set(test["id"]) <= set(heldout)
        assert int(heldout.iloc[0]) not in set(test["id"])  # a suggestion is never test gold
        assert (int(pool.iloc[0]) in set(train["id"])) == accepted
        assert len(test) == len(heldout) - 1


def test_undo_is_per_annotator(store, project):
    store.items.import_frame(project.id, items_frame(["x", "y"]))
    x, y = store.items.texts(project.id)["id"]
    store.labels.add(x, "FAVOR", annotator="ana")
    store.labels.add(y, "NONE", annotator="ben")
    assert store.labels.undo(project.id, "ana") == x
    assert store.items.get(y)["label"] == "NONE"


def test_unknown_label_is_refused(store, project):
    store.items.import_frame(project.id, items_frame(["x"]))
    (x,) = store.items.texts(project.id)["id"]
    with pytest.raises(StoreError, match="not a label of this project"):
        store.labels.add(x, "MAYBE")


def test_stats_count_labels_sources_and_today(store, project):
    store.items.import_frame(project.id, items_frame(["a", "b", "c"], ["FAVOR", None, None]))
    ids = list(store.items.texts(project.id)["id"])
    store.labels.add(ids[1], "AGAINST", annotator="ana")
    store.items.set_unsure(ids[2], True)
    stats = store.items.stats(project.id, annotator="ana")
    assert stats["items"] == 3 and stats["labelled"] == 2 and stats["unsure"] == 1
    assert stats["per_label"] == {"FAVOR": 1, "AGAINST": 1}
    assert stats["per_source"] == {"imported": 1, "human": 1}
    assert stats["today"] == 1


def _run_with_scores(store, project, scores: dict[int, float], label="FAVOR") -> int:
    run_id = store.runs.create(project.id, "zeroshot", {"labels": LABELS})
    store.predictions.put(run_id, [(i, label, s, [s, 1 - s, 0.0]) for i, s in scores.items()])
    store.runs.update(run_id, status="done")
    return run_id


def test_queue_orders_and_exclusions(store, project):
    store.projects.update(project.id, heldout_share=0.0)
    store.items.import_frame(project.id, items_frame([f"t{i}" for i in range(5)]))
    ids = list(store.items.texts(project.id)["id"])
    run_id = _run_with_scores(store, project, dict(zip(ids, [0.9, 0.2, 0.5, 0.4, 0.95])))
    assert store.queue.next(project.id)["id"] == ids[0]
    assert store.queue.next(project.id, exclude=[ids[0]])["id"] == ids[1]
    least = store.queue.next(project.id, order="least-confident", run_id=run_id)
    assert least["id"] == ids[1]
    store.labels.add(ids[1], "NONE")
    assert store.queue.next(project.id, order="least-confident", run_id=run_id)["id"] == ids[3]
    random_first = store.queue.next(project.id, order="random")["id"]
    assert random_first == store.queue.next(project.id, order="random")["id"]


def test_heldout_items_are_interleaved_into_the_queue(store, project):
    store.items.import_frame(project.id, items_frame([f"tweet {i}" for i in range(200)]))
    seen = []
    for _ in range(60):
        item = store.queue.next(project.id)
        seen.append(item["split"])
        store.labels.add(item["id"], "NONE")
    assert 3 <= seen.count("heldout") <= 25


def test_accept_suggestions_skips_heldout_and_labelled_and_queues_audit(store, project):
    store.items.import_frame(project.id, items_frame([f"tweet {i}" for i in range(100)]))
    df = store.items.texts(project.id)
    run_id = _run_with_scores(store, project, {i: 0.95 for i in df["id"]})
    pool = df[df["split"] == "pool"]["id"].tolist()
    store.labels.add(pool[0], "AGAINST", annotator="ana")
    expected = len(pool) - 1
    assert store.labels.acceptable(project.id, run_id, 0.9) == expected
    accepted, audit = store.labels.accept_suggestions(project.id, run_id, 0.9, annotator="ana")
    assert accepted == expected and audit >= 1
    after = store.items.texts(project.id).set_index("id")
    assert after.loc[pool[0], "label"] == "AGAINST"
    assert after[after["split"] == "heldout"]["label"].isna().all()
    assert set(after.loc[pool[1:], "label_source"]) == {"accepted-suggestion"}
    train, test = store.labels.train_and_test(project.id)
    assert len(train) == 1 and len(test) == 0
    train, _ = store.labels.train_and_test(project.id, include_accepted=True)
    assert len(train) == len(pool)
    assert store.items.stats(project.id)["review"] == audit


def test_table_edits_are_keyed_by_item_id(store, project):
    store.items.import_frame(project.id, items_frame(["a", "b", "c"]))
    a, b, c = store.items.texts(project.id)["id"]
    assert store.labels.apply_edits(project.id, {c: "FAVOR", a: "NONE"}, annotator="ana") == 2
    labels = store.items.texts(project.id).set_index("id")["label"]
    assert labels[a] == "NONE" and labels[c] == "FAVOR" and pd.isna(labels[b])


def test_score_cache_round_trip(store):
    store.scores.put_scores("k1", {"t1": [0.1, 0.9], "t2": [0.5, 0.5]})
    assert store.scores.get_scores("k1", ["t1", "t3"]) == {"t1": [0.1, 0.9]}
    assert store.scores.get_scores("k2", ["t1"]) == {}


def test_export_has_labels_sources_and_run_scores(store, project):
    store.items.import_frame(project.id, items_frame(["a", "b"], ["FAVOR", None]))
    a, b = store.items.texts(project.id)["id"]
    _run_with_scores(store, project, {a: 0.7, b: 0.6})
    out = store.export.frame(project.id)
    assert out["label"].tolist()[0] == "FAVOR" and pd.isna(out["label"].tolist()[1])
    assert out["label_source"].tolist()[0] == "imported" and pd.isna(out["label_source"][1])
    assert list(out["zs_label"]) == ["FAVOR", "FAVOR"]
    assert out["zs_score_AGAINST"].tolist() == [0.7, 0.6]
    assert out["lang"].tolist() == ["en", "en"]


def test_export_has_the_contract_columns_and_each_coders_label(store, project):
    store.items.import_frame(project.id, items_frame(["a", "b", "c"]))
    a, b, c = store.items.texts(project.id)["id"]
    store.labels.add(a, "FAVOR", annotator="ana")
    store.labels.add(a, "AGAINST", annotator="ben")  # a disagreement
    store.labels.add(b, "NONE", annotator="ana")
    store.labels.add(b, "FAVOR", annotator="ana")
    store.labels.undo(project.id, "ana")  # ana's label on b is NONE again
    store.labels.add(c, "NONE", annotator="ben")
    out = store.export.frame(project.id)
    assert list(out.columns[:4]) == ["text", "id", "label", "label_source"]
    assert list(out.columns[4:8]) == [
        "label_by_ana", "label_by_ben", "disagreement", "codebook_version",
    ]  # fmt: skip
    by_text = out.set_index("text")
    assert by_text.loc["a", ["label_by_ana", "label_by_ben"]].tolist() == ["FAVOR", "AGAINST"]
    assert pd.isna(by_text.loc["a", "label"])  # disputed: no gold until someone decides
    assert by_text.loc["b", "label_by_ana"] == "NONE" and pd.isna(by_text.loc["b", "label_by_ben"])
    assert by_text["disagreement"].tolist() == [True, False, False]
    store.team.adjudicate(a, "AGAINST", "olga")
    by_text = store.export.frame(project.id).set_index("text")
    assert by_text.loc["a", ["label", "label_source", "annotator"]].tolist() == [
        "AGAINST", "adjudicated", "olga",
    ]  # fmt: skip
    assert by_text.loc["a", "disagreement"]  # still shown: the coders did disagree
    assert by_text["id"].tolist() == ["t0", "t1", "t2"]  # the file's ids


def test_delete_project_removes_its_items_only(store, project):
    other = store.projects.create("Other", LABELS)
    store.items.import_frame(project.id, items_frame(["a"]))
    store.items.import_frame(other.id, items_frame(["b"]))
    store.projects.delete(project.id)
    assert store.items.count(other.id) == 1
    assert rows(store, "SELECT COUNT(*) FROM items") == [(1,)]


# -- durability and concurrency ---------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from labeler.db.store import Store
    store = Store({db!r})
    for item_id in map(int, {ids!r}):
        store.labels.add(item_id, "FAVOR", annotator="writer")
        print(item_id, flush=True)  # acknowledged only after the commit returned
    """
)


def test_acknowledged_labels_survive_sigkill(tmp_path):
    db = tmp_path / "labeler.sqlite"
    store = Store(db)
    project = store.projects.create("p", LABELS)
    store.items.import_frame(project.id, items_frame([f"t{i}" for i in range(2000)]))
    ids = [int(i) for i in store.items.texts(project.id)["id"]]
    store.close()
    script = WRITER.format(root=str(ROOT), db=str(db), ids=ids)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    acknowledged = []
    stop_after = random.Random().randint(30, 300)
    for line in proc.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) >= stop_after:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    reopened = Store(db)
    assert rows(reopened, "PRAGMA integrity_check") == [("ok",)]
    labelled = set(reopened.items.texts(project.id).dropna(subset=["label"])["id"])
    assert set(acknowledged) <= labelled


def test_two_writers_at_once_lose_nothing(tmp_path):
    db = tmp_path / "labeler.sqlite"
    store = Store(db)
    project = store.projects.create("p", LABELS)
    store.items.import_frame(project.id, items_frame([f"t{i}" for i in range(400)]))
    ids = list(store.items.texts(project.id)["id"])
    errors = []

    def writer(chunk, name):
        try:
            for item_id in chunk:
                store.labels.add(int(item_id), "NONE", annotator=name)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=(ids[0::2], "ana")),
        threading.Thread(target=writer, args=(ids[1::2], "ben")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    history = store.labels.history(project.id)
    assert len(history) == 400
    assert store.items.count_labelled(project.id) == 400
    assert set(history["annotator"]) == {"ana", "ben"}


def test_label_write_and_next_item_are_quick_enough_to_use(tmp_path):
    """A behaviour guard, not a benchmark (bench/store_bench.py has the figures): at 20k items
    a label and a next-item query must not degrade into scans."""
    store = Store(tmp_path / "labeler.sqlite")
    project = store.projects.create("p", LABELS)
    store.items.import_frame(project.id, items_frame([f"tweet {i}" for i in range(20000)]))
    plan = rows(
        store,
        "EXPLAIN QUERY PLAN SELECT i.* FROM items i WHERE i.project_id=1 AND i.split='pool'"
        " AND i.label IS NULL ORDER BY i.id LIMIT 1",
    )
    assert any("USING INDEX items_queue" in row[-1] for row in plan), plan
    start = time.perf_counter()
    item = store.queue.next(project.id)
    store.labels.add(item["id"], "NONE")
    assert time.perf_counter() - start < 2.0
