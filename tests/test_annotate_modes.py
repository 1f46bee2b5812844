"""Annotate's two modes, one at a time (AppTest, no browser): the card, or the table.

The mode switch sits above both; whichever mode is off is not drawn at all, so no hidden card
takes label keys while the table is open, and the table opened after labelling on the card is
drawn afresh with those labels (the browser half is tests/e2e/test_annotate_browser.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.card_client import Browser, card_data, on_screen

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def app(app) -> AppTest:
    """conftest's app, on Annotate."""
    app.switch_page("pages/annotate.py").run()
    assert not app.exception, app.exception
    return app


def test_the_table_is_drawn_without_a_card_and_the_card_without_a_table(app, store):
    (project,) = store.projects.all()
    assert card_data(app)["labels"] == project.labels  # the card, with its label keys
    assert not app.dataframe  # and no table under it

    first = on_screen(app)
    Browser(app).label(project.labels[0])
    assert store.items.get(first["id"])["label"] == project.labels[0]

    app.session_state["ann_mode"] = "Table"
    app.run()
    assert not app.exception, app.exception
    assert card_data(app) is None  # no card, hidden or not, to take a label key
    (table,) = app.dataframe  # unlabelled tweets: the one just labelled on the card is not one
    assert first["id"] not in table.value["id"].tolist()

    app.session_state["ann_mode"] = "One at a time"
    app.run()
    assert card_data(app)["labels"] == project.labels
    assert not app.dataframe


def leave_card(app: AppTest, how: str) -> None:
    """Open Annotate's table, or another page."""
    if how == "table":
        app.session_state["ann_mode"] = "Table"
        app.run()
    else:
        app.switch_page("pages/train.py").run()
    assert not app.exception, app.exception


@pytest.mark.parametrize("leave", ["table", "page"])
def test_keys_pressed_just_before_leaving_the_card_are_stored(app, store, leave):
    """The card's last events can reach the server with the run that opens the table or another
    page (the browser sends them with it) instead of a card rerun: they are stored all the same,
    on their tweets, under the person and project the card was drawn for."""
    (project,) = store.projects.all()
    held = card_data(app)["items"]
    app.session_state["ann_card"] = {
        "events": [
            {"seq": 1, "kind": "label", "id": held[0]["id"], "label": "FAVOR"},
            {"seq": 2, "kind": "label", "id": held[1]["id"], "label": "NONE"},
        ]
    }
    leave_card(app, leave)
    history = store.labels.history(project.id)
    assert history["item_id"].tolist() == [held[0]["id"], held[1]["id"]]
    assert history["label"].tolist() == ["FAVOR", "NONE"]
    assert history["annotator"].tolist() == ["annotator"] * 2


def _leased(store, who: str) -> set[int]:
    with store.db.read() as conn:
        rows = conn.exec_driver_sql("SELECT item_id FROM leases WHERE annotator=?", (who,))
        return {r[0] for r in rows}


@pytest.mark.parametrize("leave", ["table", "page"])
def test_leaving_the_card_gives_the_tweets_it_held_back_to_the_team_at_once(app, store, leave):
    """The card leases the tweet on screen and the ones behind it; a person who opens the table
    or another page is no longer working on them, so colleagues may have them now rather than
    when the leases run out ten minutes later. Back on the card, it draws and leases afresh."""
    held = {it["id"] for it in card_data(app)["items"]}
    assert len(held) > 1 and _leased(store, "annotator") == held
    leave_card(app, leave)
    assert _leased(store, "annotator") == set()

    if leave == "table":
        app.session_state["ann_mode"] = "One at a time"
    else:
        app.switch_page("pages/annotate.py")
    app.run()
    again = {it["id"] for it in card_data(app)["items"]}
    assert again == held and _leased(store, "annotator") == held  # nobody took them meanwhile


def test_a_key_pressed_as_the_table_opens_still_counts(app, store):
    """The old card stays on screen for a moment while the run that opens the table draws: a
    key pressed then reaches the server after the card was left, and is stored all the same."""
    (project,) = store.projects.all()
    held = card_data(app)["items"]
    leave_card(app, "table")
    app.session_state["ann_card"] = {
        "events": [{"seq": 1, "kind": "label", "id": held[0]["id"], "label": "FAVOR"}]
    }
    app.run()
    assert not app.exception, app.exception
    assert store.items.get(held[0]["id"])["label"] == "FAVOR"


def test_a_reloaded_tab_gets_back_the_tweets_it_held(app, store):
    """A reload is a new session; the tab's address keeps its card's holder, so the tweets the
    old session held come back at once instead of being kept from this very person for ten
    minutes (as another tab's would be)."""
    held = [it["id"] for it in card_data(app)["items"]]
    token = app.query_params["tab"]
    reloaded = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    reloaded.query_params["tab"] = token
    reloaded.run()
    reloaded.switch_page("pages/annotate.py").run()
    assert not reloaded.exception, reloaded.exception
    assert [it["id"] for it in card_data(reloaded)["items"]] == held
    assert _leased(store, "annotator") == set(held)


def test_one_persons_two_tabs_show_different_tweets_and_leaving_one_keeps_the_others(app, store):
    """The same person in a second tab (a second session under the same name): its card holds
    other tweets than the first tab's, and that tab leaving the card gives back only its own."""
    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    other.run()
    other.switch_page("pages/annotate.py").run()
    assert not other.exception, other.exception
    first = {it["id"] for it in card_data(app)["items"]}
    second = {it["id"] for it in card_data(other)["items"]}
    assert first and second and not first & second
    assert _leased(store, "annotator") == first | second
    leave_card(other, "page")
    assert _leased(store, "annotator") == first
