"""The annotation card (a fragment: only it reruns on a key press) and table mode.

Every label button's key and callback carry the id of the item it was drawn with: a key press
that reaches the server after the card moved on hits a button that no longer exists and labels
nothing, so a fast second press never labels a tweet the person has not seen.
"""

from __future__ import annotations

import os
import time
from typing import Any

import streamlit as st

from labeler.db.projects import Project
from labeler.db.store import Store
from ui.common import user_errors

CARD_CSS = """<style>
.st-key-ann_card [data-testid="stText"] { font-size: 1.6rem; line-height: 1.5; }
.st-key-ann_card { padding: 0.5rem 0.25rem; }
</style>"""
SHORTCUTS = [str(i) for i in range(1, 10)]
SHOW_TIMING = os.environ.get("TWEET_LABELER_TIMING") == "1"


def _sitting() -> dict[str, Any]:
    return st.session_state.setdefault("ann_sitting", {"current": None, "exclude": [], "sig": None})


def _advance(sitting: dict[str, Any], item_id: int, keep_out: bool) -> None:
    if keep_out and item_id not in sitting["exclude"]:
        sitting["exclude"].append(item_id)
    sitting["current"] = None


def _on_label(store: Store, item_id: int, label: str, who: str, keep_out: bool) -> None:
    started = time.perf_counter()
    store.labels.add(item_id, label, annotator=who, source="human")
    st.session_state["ann_callback_s"] = time.perf_counter() - started
    st.session_state["ann_flash"] = f"Labelled {label}."
    _advance(_sitting(), item_id, keep_out)


def _on_skip(item_id: int) -> None:
    _advance(_sitting(), item_id, keep_out=True)
    st.session_state["ann_flash"] = "Skipped for now."


def _on_undo(store: Store, project_id: int, who: str) -> None:
    item_id = store.labels.undo(project_id, who)
    sitting = _sitting()
    if item_id is None:
        st.session_state["ann_flash"] = "Nothing of yours to undo."
        return
    if item_id in sitting["exclude"]:
        sitting["exclude"].remove(item_id)
    sitting["current"] = item_id
    st.session_state["ann_flash"] = "Undone: the tweet is back."


def _on_unsure(store: Store, item_id: int) -> None:
    store.items.set_unsure(item_id, bool(st.session_state.get("ann_unsure")))


def _on_comment(store: Store, item_id: int) -> None:
    store.items.set_comment(item_id, st.session_state.get("ann_comment", ""))


@st.fragment
def annotation_card(store: Store, project: Project, who: str, queue: dict[str, Any]) -> None:
    started = time.perf_counter()
    sitting = _sitting()
    sig = repr(sorted(queue.items()))
    if sitting["sig"] != sig:
        sitting.update(current=None, exclude=[], sig=sig)
    item = None
    if sitting["current"] is not None:
        item = store.items.get(sitting["current"])
    if item is None:
        item = store.queue.next(project.id, exclude=sitting["exclude"], **queue)
        sitting["current"] = item["id"] if item else None

    counts = store.items.progress(project.id, who)
    flash = st.session_state.pop("ann_flash", None)
    # One markdown element for counter and last action: every element is paint time per key press.
    st.markdown(
        f"**{counts['labelled']:,} of {counts['items']:,} labelled**, {counts['today']:,} today "
        f"by {who} · held-out labelled: {counts['heldout_labelled']:,}"
        + (f" · _{flash}_" if flash else "")
    )
    if item is None:
        st.success(
            "Nothing left in this queue. Change the filter in the sidebar, or train a model."
        )
        st.button(
            "Undo last label",
            key="ann_undo_end",
            shortcut="Z",
            on_click=_on_undo,
            args=(store, project.id, who),
        )
        return

    item_id = item["id"]
    if sitting.get("shown") != item_id:  # stable widgets (no remount per tweet) take its values
        st.session_state["ann_unsure"] = bool(item["unsure"])
        st.session_state["ann_comment"] = item["comment"]
        sitting["shown"] = item_id
    keep_out = queue.get("where") != "unlabelled"
    with st.container(border=True, key="ann_card"):
        st.text(item["text"])  # tweet text is data: never markdown, never HTML
    meta = [f"#{item['ext_id']}" if item.get("ext_id") else f"item {item_id}"]
    suggestion = None
    if item["split"] == "heldout":
        meta.append("held-out test item: labelled blind, no suggestion shown")
    elif queue.get("run_id") is not None:
        suggestion = store.predictions.get(queue["run_id"], item_id)
        if suggestion:
            meta.append(f"suggestion: **{suggestion['label']}** ({suggestion['score']:.0%})")
    if item.get("label"):
        meta.append(f"current label: **{item['label']}** ({item['label_source']})")
    st.markdown(" · ".join(meta))

    cols = st.columns(len(project.labels))
    for j, (col, label) in enumerate(zip(cols, project.labels)):
        col.button(
            label,
            key=f"ann_label_{item_id}_{j}",
            shortcut=SHORTCUTS[j] if j < 9 else None,
            type="primary" if suggestion and suggestion["label"] == label else "secondary",
            on_click=_on_label,
            args=(store, item_id, label, who, keep_out),
            width="stretch",
        )
    a, b, c, d = st.columns([1, 1, 1, 3])
    a.button(
        "Skip",
        key="ann_skip",
        shortcut="S",
        on_click=_on_skip,
        args=(item_id,),
        width="stretch",
    )
    b.button(
        "Undo",
        key="ann_undo",  # stable: undo does not depend on the tweet on screen
        shortcut="Z",
        on_click=_on_undo,
        args=(store, project.id, who),
        width="stretch",
    )
    c.toggle("Unsure", key="ann_unsure", on_change=_on_unsure, args=(store, item_id))
    d.text_input(
        "Comment",
        key="ann_comment",
        on_change=_on_comment,
        args=(store, item_id),
        label_visibility="collapsed",
        placeholder="Comment (saved on Enter)",
    )
    if SHOW_TIMING:  # for bench/annotate_speed.py: the server's share of a key press
        spent = time.perf_counter() - started + st.session_state.pop("ann_callback_s", 0.0)
        st.caption(f"server: {spent * 1e3:.1f} ms")


def table_mode(store: Store, project: Project, who: str, queue: dict[str, Any]) -> None:
    run_id = queue.get("run_id")
    if run_id is not None:
        st.subheader("Accept confident suggestions")
        threshold = st.slider(
            "Accept every suggestion at or above", 0.5, 1.0, 0.9, 0.01, key="ann_threshold"
        )
        n = store.labels.acceptable(project.id, run_id, threshold)
        st.write(
            f"{n:,} unlabelled pool tweets would get their suggested label (stored as "
            "'accepted-suggestion'; held-out tweets are never touched; 5% are queued for audit)."
        )
        if st.button(f"Accept {n:,} suggestions", disabled=n == 0, key="ann_accept"):
            accepted, audit = store.labels.accept_suggestions(
                project.id, run_id, threshold, annotator=who
            )
            st.success(
                f"Accepted {accepted:,}; {audit:,} queued for your audit (Show: "
                "'Accepted suggestions to audit')."
            )
    st.subheader("Correct many at once")
    page = st.number_input("Page (50 tweets each)", min_value=1, value=1, key="ann_page")
    df = store.items.page(
        project.id,
        where=queue["where"],
        label=queue["label"],
        search=queue["search"],
        run_id=run_id,
        offset=(page - 1) * 50,
        limit=50,
    )
    if df.empty:
        st.info("No tweets match these filters.")
        return
    if "suggestion" in df:  # held-out items are labelled blind
        blind = df["split"] == "heldout"
        df.loc[blind, ["suggestion", "confidence"]] = None
    view = df[[c for c in ["id", "text", "split", "suggestion", "confidence", "label"] if c in df]]
    st.data_editor(
        view,
        key="ann_table",
        hide_index=True,
        num_rows="fixed",
        width="stretch",
        disabled=[c for c in view.columns if c != "label"],
        column_config={
            "label": st.column_config.SelectboxColumn("label", options=project.labels),
            "confidence": st.column_config.ProgressColumn(
                "confidence", min_value=0, max_value=1, format="percent"
            ),
            "text": st.column_config.TextColumn("text", width="large"),
        },
    )
    edits = st.session_state.get("ann_table", {}).get("edited_rows", {})
    changes = {
        int(view.iloc[int(row)]["id"]): vals.get("label")
        for row, vals in edits.items()
        if "label" in vals
    }
    if st.button(
        f"Save {len(changes)} change(s)", disabled=not changes, key="ann_save_table", type="primary"
    ):
        with user_errors():
            saved = store.labels.apply_edits(project.id, changes, annotator=who)
            st.session_state.pop("ann_table", None)
            st.success(f"Saved {saved} label(s).")
            st.rerun()
