"""The card's server half (labeler/card.py) on a real store: what the browser's events may and may
not do. The page-level tests drive the same code through the app (tests/test_pages_labelling.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from labeler.card import AHEAD, apply_events, new_sitting, payload, restart
from labeler.db.store import Store
from labeler.errors import StoreError

LABELS = ["AGAINST", "FAVOR", "NONE"]
QUEUE = dict(order="loaded", run_id=None, where="unlabelled", label=None, search="")


@pytest.fixture
def card(tmp_path):
    store = Store(tmp_path / "labeler.sqlite")
    project = store.projects.create("Card", LABELS)
    texts = [f"tweet {i} on the four-day week" for i in range(12)]
    store.items.import_frame(project.id, pd.DataFrame({"text": texts}))
    sitting = new_sitting()
    sitting.update(project=project.id, who="ana")
    held = payload(store, project, "ana", sitting, QUEUE)["items"]
    return store, project, sitting, [it["id"] for it in held]


def test_a_write_that_fails_is_kept_for_the_next_update_and_nothing_after_it_jumps_ahead(card):
    store, project, sitting, held = card
    events = [
        {"seq": 1, "kind": "label", "id": held[0], "label": "FAVOR"},
        {"seq": 2, "kind": "label", "id": held[1], "label": "NONE"},
    ]
    real_add, calls = store.labels.add, []

    def locked_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise StoreError("The store is busy (database is locked); try again.")
        return real_add(*args, **kwargs)

    store.labels.add = locked_once
    with pytest.raises(StoreError):
        apply_events(store, project, sitting, events)
    assert sitting["acked"] == 0 and store.labels.history(project.id).empty
    # the browser sends both again with its next update: both land, in order, once
    done = apply_events(store, project, sitting, events)
    assert done == {"labels": 2, "refused": 0}
    history = store.labels.history(project.id)
    assert history["item_id"].tolist() == held[:2]
    assert history["label"].tolist() == ["FAVOR", "NONE"]


@pytest.mark.parametrize("seq", [True, 10**18, "2", 0, -1])
def test_event_numbers_the_browser_never_sends_change_nothing(card, seq):
    """A bool, a number far ahead, a string, zero: ignored, so the person's real event 1 is
    still applied afterwards (none of them moved the acknowledged number)."""
    store, project, sitting, held = card
    forged = {"seq": seq, "kind": "label", "id": held[0], "label": "FAVOR"}
    apply_events(store, project, sitting, [forged])
    assert sitting["acked"] == 0 and store.labels.history(project.id).empty
    real = {"seq": 1, "kind": "label", "id": held[0], "label": "NONE"}
    apply_events(store, project, sitting, [forged, real])
    assert store.labels.history(project.id)["label"].tolist() == ["NONE"]


def test_a_comment_keeps_its_text_without_nul_characters(card):
    store, project, sitting, held = card
    event = {"seq": 1, "kind": "comment", "id": held[0], "text": "sar\x00casm?"}
    apply_events(store, project, sitting, [event])
    assert store.team.my_code(held[0], "ana")["comment"] == "sarcasm?"


def test_a_held_tweet_labelled_elsewhere_leaves_the_card(card):
    """Labelled from the table (or by an import) while the card held it: the card drops it and
    tops up, so the person is never shown a tweet that is no longer in their queue."""
    store, project, sitting, held = card
    store.labels.add(held[1], "AGAINST", annotator="ana", source="human")
    shown = [it["id"] for it in payload(store, project, "ana", sitting, QUEUE)["items"]]
    assert held[1] not in shown and len(shown) == AHEAD
    assert shown[:3] == [held[0], held[2], held[3]]  # the rest keep their places


def test_refusals_are_reported_once_to_the_card_that_shows_them(card):
    store, project, sitting, held = card
    apply_events(store, project, sitting, [{"seq": 1, "kind": "skip", "id": -5}])
    first = payload(store, project, "ana", sitting, QUEUE)
    again = payload(store, project, "ana", sitting, QUEUE)
    assert (first["refused"], first["refused_new"]) == (1, 1)
    assert (again["refused"], again["refused_new"]) == (1, 0)


def test_a_card_started_over_on_another_queue_gives_its_tweets_back_at_once(card):
    store, project, sitting, held = card
    restart(store, sitting, "another filter", project.id, "ana", keep_out=True)
    ben = [t["id"] for t in store.queue.take(project.id, AHEAD, annotator="ben")]
    assert ben == held  # free for a colleague now, not in ten minutes
