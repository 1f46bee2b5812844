"""Annotate: one tweet at a time with keyboard shortcuts, or many at once in a table."""

import streamlit as st

from labeler.suggestions import suggestion_runs
from ui.annotate_card import CARD_CSS, annotation_card, key_gate, table_mode
from ui.common import annotator, get_store, in_app, require_items, require_project

in_app(__file__)

store = get_store()
project = require_project(store)
require_items(store, project)
st.title("✍️ Annotate")

runs = suggestion_runs(store, project.id)
with st.sidebar:
    st.subheader("Queue")
    order = st.selectbox(
        "Order",
        ["loaded", "random", "least-confident", "by-label"],
        key="ann_order",
        format_func={
            "loaded": "As loaded",
            "random": "Random",
            "least-confident": "Least confident first",
            "by-label": "By suggested label",
        }.get,
    )
    run_name = st.selectbox(
        "Suggestions from",
        list(runs) or ["(none yet: run Pre-label)"],
        key="ann_run",
    )
    where = st.selectbox(
        "Show",
        ["unlabelled", "unsure", "review", "disagree", "labelled", "all"],
        key="ann_where",
        format_func={
            "unlabelled": "Unlabelled",
            "unsure": "Marked unsure",
            "review": "Accepted suggestions to audit",
            "disagree": "Human vs model disagreement",
            "labelled": "Labelled",
            "all": "All",
        }.get,
    )
    label_filter = st.selectbox("With label", ["(any)", *project.labels], key="ann_label")
    search = st.text_input("Text contains", key="ann_search")

queue = dict(
    order=order,
    run_id=runs[run_name]["id"] if run_name in runs else None,
    where=where,
    label=None if label_filter == "(any)" else label_filter,
    search=search,
)
st.html(CARD_CSS)
with st.popover("Guidelines"):
    st.text(project.guidelines or "No guidelines written for this project yet.")
# Only the open tab is drawn: no hidden card takes label keys while the table is open, and
# opening the table reruns the page, so it shows the labels just given on the card.
one, table = st.tabs(["One at a time", "Table"], key="ann_mode", on_change="rerun")
if one.open:
    with one:
        key_gate()
        annotation_card(store, project, annotator(), queue)
if table.open:
    with table:
        table_mode(store, project, annotator(), queue)
