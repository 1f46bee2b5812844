"""A coding team on one project: each person's queue and leases, blind double coding of the
overlap set, gold labels derived from the codes, adjudication, the codebook's versions.

Every test runs on SQLite and PostgreSQL (the `db_url` fixture)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

import pandas as pd
import pytest

from labeler.db.codebook import Entry, as_text
from labeler.db.store import Store
from labeler.errors import StoreError

LABELS = ["AGAINST", "FAVOR", "NONE"]


@pytest.fixture
def store(db_url) -> Store:
    s = Store(db_url)
    yield s
    s.close()


def make_project(store: Store, n: int, *, heldout=0.0, overlap=0.0, k=2, roster=("ana", "ben")):
    project = store.projects.create("Team", LABELS, heldout_share=heldout)
    texts = [f"tweet number {i} about the four-day week" for i in range(n)]
    store.items.import_frame(project.id, pd.DataFrame({"text": texts}))
    store.team.update(project.id, overlap_share=overlap, coders_per_item=k)
    for name in roster:
        store.users.add_member(project.id, name, "annotator")
    return project


def ids_of(store: Store, project) -> list[int]:
    return [int(i) for i in store.items.texts(project.id)["id"]]


def take(store, project, who, **kw):
    item = store.queue.next(project.id, annotator=who, **kw)
    return None if item is None else item["id"]


def test_single_coded_tweets_are_never_given_to_two_people_at_once(store):
    project = make_project(store, 6)
    a, b = take(store, project, "ana"), take(store, project, "ben")
    assert a != b  # ben is not shown the tweet ana has open
    store.labels.add(a, "FAVOR", annotator="ana")
    seen_by_ben = set()
    while (item := take(store, project, "ben")) is not None:
        seen_by_ben.add(item)
        store.labels.add(item, "NONE", annotator="ben")
    assert a not in seen_by_ben  # coded once by ana: nobody else's queue offers it
    assert store.items.get(a)["label"] == "FAVOR"  # and ben never replaced her label


def test_a_lease_expires_and_taking_another_tweet_frees_the_first(store):
    project = make_project(store, 3)
    a = take(store, project, "ana", lease_s=0.2)
    assert take(store, project, "ben") != a
    time.sleep(0.3)  # ana walked away: her tweet is free again
    assert take(store, project, "ben") == a
    b = take(store, project, "ana")
    store.queue.release(project.id, "ana")  # ana closes the queue: nothing held
    assert take(store, project, "cleo") == b


def test_the_tweets_a_card_holds_ahead_stay_its_own_while_it_works(store):
    """The card holds the tweet on screen and a few behind it: none of them goes to a colleague,
    also after the card topped itself up (its held tweets are leased again with the new ones)."""
    project = make_project(store, 12)
    ana = [t["id"] for t in store.queue.take(project.id, 4, annotator="ana")]
    ben = [t["id"] for t in store.queue.take(project.id, 4, annotator="ben")]
    assert len(ana) == len(ben) == 4 and not set(ana) & set(ben)
    store.labels.add(ana[0], "FAVOR", annotator="ana")  # ana moves on and tops up
    topped = store.queue.take(project.id, 4, hold=ana[1:], exclude=ana[:1], annotator="ana")
    assert [t["id"] for t in topped][:3] == ana[1:]  # the held ones first, in their order
    ana = [t["id"] for t in topped]
    assert len(ana) == 4 and not set(ana) & set(ben)
    store.queue.take(project.id, 4, hold=ben, annotator="ben")  # ben's card tops up too
    cleo = [t["id"] for t in store.queue.take(project.id, 4, annotator="cleo")]
    assert not set(cleo) & (set(ana) | set(ben)), (cleo, ana, ben)


@pytest.mark.parametrize("overlap", [0.0, 1.0])
def test_one_persons_two_tabs_hold_different_tweets_and_give_back_only_their_own(store, overlap):
    """ana works in two tabs: they never show the same tweet, single- or double-coded (she would
    code it twice), and one tab giving its tweets back (closed, left for another page) leaves the
    other tab's tweets held: a colleague still does not get them (single-coded)."""
    project = make_project(store, 12, overlap=overlap)
    one = [t["id"] for t in store.queue.take(project.id, 4, annotator="ana", sitting="tab1")]
    two = [t["id"] for t in store.queue.take(project.id, 4, annotator="ana", sitting="tab2")]
    assert len(one) == len(two) == 4 and not set(one) & set(two)
    # the first tab tops up: the second tab's tweets stay held, and it keeps its own
    again = store.queue.take(project.id, 4, hold=one, annotator="ana", sitting="tab1")
    assert [t["id"] for t in again] == one
    store.queue.release(project.id, "ana", "tab1")
    if overlap:  # double-coded tweets go to ben as well, held by ana or not
        return
    ben = [t["id"] for t in store.queue.take(project.id, 8, annotator="ben")]
    assert set(ben) == set(one) | (set(ids_of(store, project)) - set(one) - set(two))
    assert not set(ben) & set(two)


def test_a_held_tweet_whose_lease_ran_out_and_went_to_someone_else_leaves_the_card(store):
    project = make_project(store, 12)
    ana = [t["id"] for t in store.queue.take(project.id, 4, annotator="ana", lease_s=0.2)]
    time.sleep(0.3)  # ana walked away; ben's queue now serves her tweets
    ben = [t["id"] for t in store.queue.take(project.id, 4, annotator="ben")]
    assert ben == ana
    back = [t["id"] for t in store.queue.take(project.id, 4, hold=ana, annotator="ana")]
    assert len(back) == 4 and not set(back) & set(ben)  # ana's card moves on to others


def test_overlap_tweets_go_to_k_people_blind_and_agreeing_codes_become_gold(store):
    project = make_project(store, 8, overlap=1.0, k=2, roster=("ana", "ben", "cleo"))
    team = store.team.settings(project.id)
    assert team.needed == 2
    x = take(store, project, "ana")
    assert take(store, project, "ben") == x  # an overlap tweet is shown to a second coder too
    assert take(store, project, "cleo") != x  # but not to a third while two hold it
    item = store.items.get(x)
    assert team.is_overlap(item) and team.hides_suggestion(item)
    store.labels.add(x, "FAVOR", annotator="ana")
    assert store.items.get(x)["label"] is None  # one of two codes: no gold yet
    store.queue.release(project.id, "ben")  # ben closes the tab: x is free for a second coder
    assert x not in _drain(store, project, "ana")  # but ana is not asked again
    assert x in _drain(store, project, "cleo")
    store.labels.add(x, "FAVOR", annotator="ben")
    item = store.items.get(x)
    assert (item["label"], item["label_source"], item["coders"]) == ("FAVOR", "human", 2)
    assert x not in _drain(store, project, "cleo")  # complete: out of every queue


def _drain(store, project, who) -> set[int]:
    """Every tweet this person's queue would offer, without labelling (skipping each)."""
    seen: list[int] = []
    while (item := store.queue.next(project.id, annotator=who, exclude=seen)) is not None:
        seen.append(item["id"])
    store.queue.release(project.id, who)
    return set(seen)


def test_with_one_annotator_on_the_roster_one_label_is_gold(store):
    project = make_project(store, 4, overlap=1.0, k=3, roster=("ana",))
    assert store.team.settings(project.id).needed == 1
    x = take(store, project, "ana")
    store.labels.add(x, "NONE", annotator="ana")
    assert store.items.get(x)["label"] == "NONE"
    assert not store.team.settings(project.id).hides_suggestion(store.items.get(x))


def test_disagreement_goes_to_adjudication_and_the_decision_is_gold(store):
    project = make_project(store, 4, heldout=0.5, overlap=1.0)
    x = ids_of(store, project)[0]
    store.labels.add(x, "FAVOR", annotator="ana")
    store.labels.add(x, "AGAINST", annotator="ben")
    assert store.items.get(x)["disputed"] == 1 and store.items.get(x)["label"] is None
    disputes = store.team.disputes(project.id)
    assert dict(zip(disputes["annotator"], disputes["label"])) == {"ana": "FAVOR", "ben": "AGAINST"}
    assert x not in _drain(store, project, "cleo")  # disputed: nobody codes it a third time
    train, test = store.labels.train_and_test(project.id)
    assert x not in set(train["id"]) | set(test["id"])  # no gold, so not trained or tested on
    with pytest.raises(StoreError, match="not a label"):
        store.team.adjudicate(x, "MAYBE", "olga")
    store.team.adjudicate(x, "AGAINST", "olga")
    item = store.items.get(x)
    assert (item["label"], item["label_source"], item["annotator"], item["disputed"]) == (
        "AGAINST", "adjudicated", "olga", 0,
    )  # fmt: skip
    assert store.team.count_disputes(project.id) == 0
    train, test = store.labels.train_and_test(project.id)
    both = pd.concat([train, test])
    assert both.set_index("id").loc[x, "label"] == "AGAINST"
    codes = store.team.codes(project.id)  # the coders' own codes are untouched
    assert dict(zip(codes["annotator"], codes["label"])) == {"ana": "FAVOR", "ben": "AGAINST"}
    with pytest.raises(StoreError, match="adjudicate"):
        store.labels.add(x, "NONE", annotator="olga", source="adjudicated")


def test_with_k_of_three_two_disagreeing_codes_wait_for_the_third(store):
    project = make_project(store, 2, overlap=1.0, k=3, roster=("ana", "ben", "cleo"))
    x = ids_of(store, project)[0]
    store.labels.add(x, "FAVOR", annotator="ana")
    store.labels.add(x, "AGAINST", annotator="ben")
    assert store.items.get(x)["disputed"] == 0  # not yet: cleo codes it independently first
    assert x in _drain(store, project, "cleo")
    store.labels.add(x, "FAVOR", annotator="cleo")
    assert (store.items.get(x)["disputed"], store.items.get(x)["label"]) == (1, None)
    assert x not in _drain(store, project, "dan")


def test_two_coders_labelling_one_tweet_at_once_both_count(store):
    project = make_project(store, 5, overlap=1.0)
    for x in ids_of(store, project):
        barrier = threading.Barrier(2)
        errors = []

        def label(who, x=x, barrier=barrier, errors=errors):
            try:
                barrier.wait(timeout=10)
                store.labels.add(x, "FAVOR", annotator=who)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=label, args=(who,)) for who in ("ana", "ben")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not errors
        item = store.items.get(x)  # each saw the other's code: two agreeing codes are gold
        assert (item["coders"], item["label"]) == (2, "FAVOR")


def test_undo_takes_back_only_ones_own_code(store):
    project = make_project(store, 2, overlap=1.0)
    x = ids_of(store, project)[0]
    store.labels.add(x, "FAVOR", annotator="ana")
    store.labels.add(x, "FAVOR", annotator="ben")
    assert store.items.get(x)["label"] == "FAVOR"
    assert store.labels.undo(project.id, "ben") == x
    codes = store.team.codes(project.id)
    assert dict(zip(codes["annotator"], codes["label"])) == {"ana": "FAVOR"}
    assert store.items.get(x)["label"] is None  # back to one code of two
    assert store.labels.undo(project.id, "ben") is None  # nothing else of ben's


def test_notes_are_each_persons_own(store):
    project = make_project(store, 1)
    x = ids_of(store, project)[0]
    store.team.set_note(x, "ana", comment="sarcasm?", unsure=True)
    assert store.team.my_code(x, "ben") is None  # ben sees none of ana's note
    store.labels.add(x, "FAVOR", annotator="ana")
    mine = store.team.my_code(x, "ana")
    assert (mine["label"], mine["unsure"], mine["comment"]) == ("FAVOR", 1, "sarcasm?")


def test_bulk_accept_leaves_the_overlap_set_and_coded_tweets_to_people(store):
    project = make_project(store, 30, overlap=0.5)
    ids = ids_of(store, project)
    team = store.team.settings(project.id)
    overlap = {i for i in ids if team.is_overlap(store.items.get(i))}
    assert 0 < len(overlap) < len(ids)
    coded = next(i for i in ids if i not in overlap)
    store.labels.add(coded, "NONE", annotator="ana")
    store.labels.add(coded, "AGAINST", annotator="ben")  # disputed: not the model's to settle
    run = store.runs.create(project.id, "zeroshot", {"labels": LABELS})
    store.predictions.put(run, [(i, "FAVOR", 0.9, [0.05, 0.9, 0.05]) for i in ids])
    accepted, _ = store.labels.accept_suggestions(project.id, run, 0.5, annotator="ana")
    assert accepted == len(ids) - len(overlap) - 1
    labels = store.items.texts(project.id).set_index("id")["label"]
    assert labels[list(overlap)].isna().all() and pd.isna(labels[coded])


def test_codebook_versions_and_labels_that_predate_them(store):
    project = make_project(store, 3, roster=())
    a, b, c = ids_of(store, project)
    store.labels.add(a, "FAVOR", annotator="ana")  # before any codebook
    v1 = store.codebook.save(
        project.id, {"FAVOR": Entry("Supports it", "explicit support", "irony", [a])}, author="o"
    )
    assert v1 == 1 and store.codebook.predating(project.id) == 1
    store.labels.add(b, "NONE", annotator="ana")
    assert store.codebook.save(project.id, {}, author="o") == 1  # nothing changed: no version
    v2 = store.codebook.save(project.id, {"NONE": Entry("Neither")}, author="o")
    assert v2 == 2 and store.codebook.predating(project.id) == 2
    store.labels.add(c, "NONE", annotator="ana")
    assert store.codebook.predating(project.id) == 2  # c was given under version 2
    history = store.labels.history(project.id)
    with store.db.read() as conn:
        versions = [r[0] for r in conn.exec_driver_sql("SELECT codebook_version FROM annotations")]
    assert versions == [0, 1, 2] and len(history) == 3
    book = store.codebook.current(project.id)
    assert book.entries["FAVOR"].definition == "Supports it"  # kept from version 1
    text = as_text(book, {"FAVOR": store.codebook.example_texts(project.id, book.entries["FAVOR"])})
    assert "Exclude: irony" in text and "tweet number 0" in text
    with pytest.raises(StoreError, match="not a label"):
        store.codebook.save(project.id, {"MAYBE": Entry("x")})
    with pytest.raises(StoreError, match="not tweets of this project"):
        store.codebook.save(project.id, {"FAVOR": Entry("x", examples=[10_000])})


def test_export_has_each_persons_column_gold_and_its_source(store):
    project = make_project(store, 3, overlap=1.0)
    a, b, c = ids_of(store, project)
    for who, labels in (("ana", ("FAVOR", "NONE")), ("ben", ("FAVOR", "AGAINST"))):
        store.labels.add(a, labels[0], annotator=who)
        store.labels.add(b, labels[1], annotator=who)
    store.team.adjudicate(b, "NONE", "olga")
    out = store.export.frame(project.id).set_index("item_id")
    assert out.loc[a, ["label", "label_source", "label_by_ana", "label_by_ben"]].tolist() == [
        "FAVOR", "human", "FAVOR", "FAVOR",
    ]  # fmt: skip
    assert out.loc[b, ["label", "label_source", "disagreement"]].tolist() == [
        "NONE", "adjudicated", True,
    ]  # fmt: skip
    assert not out.loc[a, "disagreement"] and pd.isna(out.loc[c, "label"])


LEASER = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, {root!r})
    from labeler.db.store import Store
    store = Store({url!r})
    while time.time() < {start}:
        time.sleep(0.001)
    got = []
    for _ in range(3):
        item = store.queue.next({project}, annotator={name!r})
        got.append(item and item["id"])
        if item:
            store.labels.add(item["id"], "FAVOR", annotator={name!r})
    print(json.dumps(got))
    """
)


@pytest.mark.slow
def test_eight_processes_leasing_at_once_never_get_the_same_tweet(store, db_url):
    project = make_project(store, 40, roster=[f"p{k}" for k in range(8)])
    start = time.time() + 2.5  # every process opens its store first, then all pick at once
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                LEASER.format(root=root, url=db_url, start=start, project=project.id, name=f"p{k}"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for k in range(8)
    ]
    got = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        got += json.loads(out)
    assert None not in got and len(got) == 24
    assert len(set(got)) == len(got), "two people were given the same single-coded tweet"
    coders = store.items.texts(project.id).set_index("id")
    assert coders.loc[got, "label"].eq("FAVOR").all()
