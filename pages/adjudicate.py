"""Adjudicate: tweets whose coders disagree, one at a time, with every code, comment and the
codebook; the decision is stored as its own label (source "adjudicated") and becomes gold."""

import streamlit as st

from labeler.db.codebook import as_text
from ui.common import (
    annotator,
    auth_mode,
    can_manage,
    get_store,
    in_app,
    plain,
    require_project,
    user_errors,
)

in_app(__file__)

store = get_store()
project = require_project(store)
st.title("⚖️ Adjudicate")
who = annotator()
allowed = can_manage(store, project) or (
    auth_mode().signs_in and store.users.role_of(project.id, who) == "adjudicator"
)
if not allowed:
    st.info("Only the project's owner or a named adjudicator decides disputed tweets.")
    st.stop()

disputes = store.team.disputes(project.id)
skipped = st.session_state.setdefault("adj_skipped", {}).setdefault(project.id, [])
open_items = [i for i in dict.fromkeys(disputes["item_id"].tolist()) if i not in skipped]
st.markdown(
    f"**{disputes['item_id'].nunique():,} disputed tweet(s)** waiting for a decision"
    + (f" · {len(skipped):,} skipped in this sitting" if skipped else "")
)


def _decide(item_id: int, label: str) -> None:
    with user_errors():
        store.team.adjudicate(item_id, label, who)
        st.session_state["adj_flash"] = f"Decided: {label}."


def _skip(item_id: int) -> None:
    skipped.append(item_id)


if flash := st.session_state.pop("adj_flash", None):
    st.success(plain(flash))
if not open_items:
    st.success(
        "Nothing to decide: every tweet coded by several people has agreeing codes or a decision."
        if not skipped
        else "Only skipped tweets are left."
    )
    if skipped and st.button("Show the skipped tweets again"):
        skipped.clear()
        st.rerun()
else:
    item_id = int(open_items[0])
    rows = disputes[disputes["item_id"] == item_id]
    first = rows.iloc[0]
    with st.container(border=True):
        st.text(first["text"])  # tweet text is data, never markup
    where = "held-out test tweet" if first["split"] == "heldout" else "pool tweet"
    ident = f"#{plain(str(first['ext_id']))}" if first["ext_id"] else f"item {item_id:d}"
    st.caption(f"{ident} · {where}")
    codes = rows[["annotator", "label", "unsure", "comment"]].rename(
        columns={"annotator": "Coder", "label": "Label", "unsure": "Unsure", "comment": "Comment"}
    )
    codes["Unsure"] = codes["Unsure"].astype(bool)
    st.dataframe(codes, hide_index=True)
    cols = st.columns(len(project.labels) + 1)
    for j, (col, label) in enumerate(zip(cols, project.labels, strict=False)):
        col.button(
            plain(label),
            key=f"adj_{item_id}_{j}",
            on_click=_decide,
            args=(item_id, label),
            width="stretch",
            type="primary" if label in set(rows["label"]) else "secondary",
        )
    cols[-1].button("Skip", key=f"adj_skip_{item_id}", on_click=_skip, args=(item_id,))
    with st.expander("Codebook", expanded=False):
        book = store.codebook.current(project.id)
        examples = {
            lab: store.codebook.example_texts(project.id, e) for lab, e in book.entries.items()
        }
        st.text(as_text(book, examples))

decisions = store.team.decisions(project.id)
if len(decisions):
    with st.expander(f"Decisions so far ({len(decisions):,})"):
        st.dataframe(decisions.iloc[::-1], hide_index=True)
