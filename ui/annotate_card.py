"""The annotation card and table mode.

The card runs in the browser (ui/card.js): it holds the tweet on screen and a few behind it, shows
the next one itself on a key press, and sends each action as a numbered event; the fragment here
applies them (labeler/card.py: once each, in order, only on tweets this sitting holds) and sends
the tweets to show next. A label goes to the tweet that was on screen when its key was pressed,
or nowhere, visibly.

Table mode keys every edit by the item id its row showed when drawn (the editor's key names the
rows it was drawn with), so a page that shifts under the person never moves a label.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import streamlit as st

from labeler.card import new_sitting, payload, restart, tab_token
from labeler.db.codebook import as_text
from labeler.db.projects import Project
from labeler.db.store import Store
from labeler.errors import LabelerError
from labeler.jobs.learning import maybe_retrain
from ui.common import plain, settle_card, show_error

CARD_CSS = """
.tl-card { padding: 0.25rem 0.25rem 0.5rem; font-family: inherit; color: inherit; }
.tl-card .progress { font-size: 0.9rem; opacity: 0.8; margin-bottom: 0.5rem; }
.tl-card .tweet { font-size: 1.6rem; line-height: 1.5; white-space: pre-wrap;
  overflow-wrap: anywhere; padding: 0.75rem 1rem; border: 1px solid rgba(128, 128, 128, 0.35);
  border-radius: 0.5rem; min-height: 4.5rem; }
.tl-card .meta { font-size: 0.95rem; margin: 0.5rem 0 0.75rem; opacity: 0.85; }
.tl-card .labels { display: grid; grid-template-columns: repeat(auto-fit, minmax(7rem, 1fr));
  gap: 0.5rem; }
.tl-card .actions { display: flex; gap: 0.5rem; align-items: center; margin-top: 0.5rem; }
.tl-card .tl-button { font: inherit; color: inherit; background: transparent; cursor: pointer;
  border: 1px solid rgba(128, 128, 128, 0.45); border-radius: 0.5rem; padding: 0.4rem 0.75rem;
  display: flex; justify-content: center; align-items: center; gap: 0.5rem; min-height: 2.5rem; }
.tl-card .tl-button:hover, .tl-card .tl-button:focus-visible { border-color: #ff4b4b;
  color: #ff4b4b; outline: none; }
.tl-card kbd { font-size: 0.75rem; opacity: 0.6; border: 1px solid rgba(128, 128, 128, 0.45);
  border-radius: 0.25rem; padding: 0 0.3rem; }
.tl-card .unsure { display: flex; align-items: center; gap: 0.25rem; white-space: nowrap; }
.tl-card .comment { flex: 1; font: inherit; color: inherit; background: transparent;
  border: 1px solid rgba(128, 128, 128, 0.45); border-radius: 0.5rem; padding: 0.4rem 0.6rem; }
.tl-card .flash { font-style: italic; min-height: 1.4rem; margin-top: 0.4rem; }
.tl-card .notice { color: #b35c00; font-weight: 600; min-height: 1.4rem; }
"""
# bench/annotate_speed.py: a file that gets the server's share of each card rerun (ms, one a line);
# kept off the page, where an element would be drawing work the bench measures
TIMING_LOG = os.environ.get("TWEET_LABELER_TIMING")
PAGE_ROWS = 50

_card = st.components.v2.component(
    "tweet_labeler.annotate_card",
    js=(Path(__file__).with_name("card.js")).read_text(encoding="utf-8"),
    css=CARD_CSS,
    isolate_styles=False,
)


def _toggle_codebook() -> None:
    st.session_state["ann_codebook"] = not st.session_state.get("ann_codebook", False)


def _codebook_text(store: Store, project_id: int) -> str:
    book = store.codebook.current(project_id)
    examples = {
        label: store.codebook.example_texts(project_id, entry)
        for label, entry in book.entries.items()
    }
    return as_text(book, examples)


def _sitting() -> dict[str, Any]:
    """This session's card state. Its lease holder is kept in the tab's address (?tab=): a
    reloaded tab is a new session, and as the same holder it gets back the tweets it held
    instead of waiting ten minutes for its own leases to run out."""
    sitting = st.session_state.get("ann_sitting")
    if sitting is None:
        sitting = new_sitting(tab_token(st.query_params.get("tab")))
        st.session_state["ann_sitting"] = sitting
    if st.query_params.get("tab") != sitting["token"]:
        st.query_params["tab"] = sitting["token"]
    return sitting


@st.fragment
def annotation_card(
    store: Store,
    project: Project,
    who: str,
    queue: dict[str, Any],
    source: str = "",
    n_items: int | None = None,
) -> None:
    """`source` says where the suggestions come from (kept out of `queue`: a retrain that
    changes it must not move the card); `n_items`, the project's tweets as the page counted them
    (a key press reruns only this fragment: counting 1M items each time took ~70 ms)."""
    started = time.perf_counter()
    sitting = _sitting()
    settle_card(store, away=False)
    sig = repr((project.id, who, sorted(queue.items())))
    if sitting["sig"] != sig:  # another queue: the card starts over on it
        keep_out = queue.get("where") != "unlabelled"  # filters where a labelled tweet stays
        restart(store, sitting, sig, project.id, who, keep_out)
    data = payload(store, project, who, sitting, queue, source, n_items)
    _card(key="ann_card", data=data, on_events_change=lambda: None)
    st.button("Codebook", key="ann_codebook_button", shortcut="K", on_click=_toggle_codebook)
    if st.session_state.get("ann_codebook"):
        with st.container(border=True, key="ann_codebook_text"):
            st.text(_codebook_text(store, project.id))  # the owner's words: plain text only
    if TIMING_LOG:
        with open(TIMING_LOG, "a", encoding="utf-8") as log:
            log.write(f"{(time.perf_counter() - started) * 1e3:.2f}\n")


# -- table mode ---------------------------------------------------------------------------------


def _unsaved(project_id: int) -> dict[int, str]:
    """Labels picked in the table and not saved yet, by item id (they outlive a redrawn table)."""
    return st.session_state.setdefault("ann_table_unsaved", {}).setdefault(project_id, {})


def _collect_edits(project_id: int) -> dict[int, str]:
    """Fold the drawn editor's edits into the unsaved labels: the editor reports row positions,
    which name the items its rows showed when it was drawn (kept with its key)."""
    unsaved = _unsaved(project_id)
    drawn = st.session_state.get("ann_table_drawn")
    if not drawn or drawn["project"] != project_id:
        return unsaved
    ids = drawn["ids"]
    edits = (st.session_state.get(drawn["key"]) or {}).get("edited_rows") or {}
    for row, values in edits.items():
        if "label" not in values or not 0 <= int(row) < len(ids):
            continue
        if values["label"] is None:
            unsaved.pop(ids[int(row)], None)
        else:
            unsaved[ids[int(row)]] = values["label"]
    return unsaved


def _fresh_editor() -> None:
    """The next table is a new editor: the browser drops the edits its old one still holds."""
    st.session_state["ann_table_version"] = st.session_state.get("ann_table_version", 0) + 1
    st.session_state["ann_table_drawn"] = None


def _on_save(store: Store, project_id: int, who: str) -> None:
    changes = _collect_edits(project_id)
    try:
        saved = store.labels.apply_edits(project_id, dict(changes), annotator=who)
        maybe_retrain(store, project_id)
    except LabelerError as exc:
        st.session_state["ann_table_error"] = str(exc)
        return
    changes.clear()
    _fresh_editor()
    st.session_state["ann_save_flash"] = f"Saved {saved:,} label(s)."


def _on_discard(project_id: int) -> None:
    _unsaved(project_id).clear()
    _fresh_editor()


def _on_accept(store: Store, project_id: int, run_id: int, who: str) -> None:
    threshold = st.session_state["ann_threshold"]
    accepted, audit = store.labels.accept_suggestions(project_id, run_id, threshold, annotator=who)
    _fresh_editor()
    st.session_state["ann_accept_flash"] = (
        f"Accepted {accepted:,}; {audit:,} queued for your audit (Show: "
        "'Accepted suggestions to audit')."
    )


def table_mode(store: Store, project: Project, who: str, queue: dict[str, Any]) -> None:
    run_id = queue.get("run_id")
    if run_id is not None:
        st.subheader("Accept confident suggestions")
        threshold = st.slider(
            "Accept every suggestion at or above", 0.5, 1.0, 0.9, 0.01, key="ann_threshold"
        )
        n = store.labels.acceptable(project.id, run_id, threshold)  # after any accept: what's left
        st.write(
            f"{n:,} unlabelled pool tweets would get their suggested label (stored as "
            "'accepted-suggestion'; held-out tweets are never touched; 5% are queued for audit)."
        )
        st.button(
            f"Accept {n:,} suggestions",
            disabled=n == 0,
            key="ann_accept",
            on_click=_on_accept,
            args=(store, project.id, run_id, who),
        )
        if done := st.session_state.pop("ann_accept_flash", None):
            st.success(plain(done))
    st.subheader("Correct many at once")
    page = st.number_input(
        f"Page ({PAGE_ROWS:d} tweets each)", min_value=1, value=1, key="ann_page"
    )
    unsaved = _collect_edits(project.id)
    df = store.items.page(
        project.id,
        where=queue["where"],
        label=queue["label"],
        search=queue["search"],
        run_id=run_id,
        offset=(page - 1) * PAGE_ROWS,
        limit=PAGE_ROWS,
    )
    if df.empty:
        st.info("No tweets match these filters.")
    else:
        if "suggestion" in df:  # held-out items are labelled blind
            blind = df["split"] == "heldout"
            df.loc[blind, ["suggestion", "confidence"]] = None
        picked = df["id"].map(unsaved)  # unsaved picks show on their tweets, wherever they are now
        df.loc[picked.notna(), "label"] = picked[picked.notna()]
        ids = [int(i) for i in df["id"]]
        digest = hashlib.blake2b(repr(ids).encode(), digest_size=6).hexdigest()
        key = f"ann_table_{st.session_state.get('ann_table_version', 0)}_{digest}"
        st.session_state["ann_table_drawn"] = {"project": project.id, "key": key, "ids": ids}
        # the tweet whole and the label beside it; the row's id and split at the far end
        columns = ["text", "label", "suggestion", "confidence", "split", "id"]
        view = df[[c for c in columns if c in df]]
        st.data_editor(
            view,
            key=key,
            hide_index=True,
            num_rows="fixed",
            width="stretch",
            height=36 + 6 * 96,  # six tweets at a time
            row_height=96,  # room for a whole tweet (up to 280 characters) to wrap
            disabled=[c for c in view.columns if c != "label"],
            column_config={
                "text": st.column_config.TextColumn("text", width=520),
                "label": st.column_config.SelectboxColumn(
                    "label", options=project.labels, width="small"
                ),
                "suggestion": st.column_config.TextColumn("suggestion", width="small"),
                "confidence": st.column_config.ProgressColumn(
                    "confidence", min_value=0, max_value=1, format="percent", width="small"
                ),
                "split": st.column_config.TextColumn("split", width="small"),
                "id": st.column_config.NumberColumn("id", width="small"),
            },
        )
    elsewhere = len(set(unsaved) - set(df["id"].astype(int)))
    save, discard = st.columns([1, 1])
    save.button(
        f"Save {len(unsaved):,} change(s)",
        disabled=not unsaved,
        key="ann_save_table",
        type="primary",
        on_click=_on_save,
        args=(store, project.id, who),
        width="stretch",
    )
    discard.button(
        "Discard unsaved changes",
        disabled=not unsaved,
        key="ann_discard_table",
        on_click=_on_discard,
        args=(project.id,),
        width="stretch",
    )
    if elsewhere:
        st.caption(f"{elsewhere:,} of the unsaved changes are on tweets not shown on this page.")
    if error := st.session_state.pop("ann_table_error", None):
        show_error(error)
    if done := st.session_state.pop("ann_save_flash", None):
        st.success(plain(done))
