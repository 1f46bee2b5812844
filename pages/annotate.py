"""Annotate: one tweet at a time with keyboard shortcuts, or many at once in a table."""

import streamlit as st

from labeler.suggestions import default_source, suggestion_runs
from ui.annotate_card import annotation_card, table_mode
from ui.common import annotator, get_store, in_app, require_items, require_project, settle_card

ORDER_NAMES = {
    "loaded": "As loaded",
    "random": "Random",
    "least-confident": "Least confident first",
    "margin": "Smallest margin first",
    "entropy": "Highest entropy first",
    "diverse": "Uncertain, spread over topics",
    "by-label": "By suggested label",
}

AUTO = "auto"

in_app(__file__)

store = get_store()
project = require_project(store, card=True)
n_items = require_items(store, project)  # counted once per page run, not per key press
st.title("✍️ Annotate")

runs = suggestion_runs(store, project.id)
source_run, source = default_source(store, project.id)
with st.sidebar:
    st.subheader("Queue")
    order = st.selectbox(
        "Order",
        list(ORDER_NAMES),
        key="ann_order",
        format_func=ORDER_NAMES.get,
        help="The model's orders ask first about the tweets it is least sure of; whether that "
        "beats random order on your tweets is shown on the Live model page.",
    )
    run_name = st.selectbox(
        "Suggestions from",
        [AUTO, *runs],
        key="ann_run",
        format_func=lambda name: (
            f"Best so far: {source_run or 'none yet'}" if name == AUTO else name
        ),
        help="Best so far: the live model once cross-validation says it beats zero-shot on "
        "your labels, else the newest zero-shot run (the Live model page has the numbers).",
    )
    where = st.selectbox(
        "Show",
        ["unlabelled", "unsure", "review", "disagree", "suspect", "labelled", "all"],
        key="ann_where",
        format_func={
            "unlabelled": "Unlabelled",
            "unsure": "Marked unsure",
            "review": "Accepted suggestions to audit",
            "disagree": "Human vs model disagreement",
            "suspect": "Suspect labels (the live model doubts them)",
            "labelled": "Labelled",
            "all": "All",
        }.get,
    )
    label_filter = st.selectbox("With label", ["(any)", *project.labels], key="ann_label")
    search = st.text_input("Text contains", key="ann_search")

chosen = runs.get(source_run) if run_name == AUTO else runs.get(run_name)
if where == "suspect":  # the live model's doubts live on its newest run
    chosen = next((r for r in runs.values() if r["kind"] == "live"), None)
queue = dict(
    order=order,
    run_id=chosen["id"] if chosen else None,
    where=where,
    label=None if label_filter == "(any)" else label_filter,
    search=search,
)
with st.popover("Guidelines"):
    st.text(project.guidelines or "No guidelines written for this project yet.")
# One mode at a time, picked on a segmented control (it reruns the page): the table is not drawn
# under the card, no hidden card takes label keys while the table is open, and opening the table
# shows the labels just given on the card. A segmented control rather than st.tabs: a tab bar is
# re-rendered by the browser on every card rerun (~15-20 ms of script per key press).
mode = st.segmented_control(
    "Mode",
    ["One at a time", "Table"],
    default="One at a time",
    required=True,
    key="ann_mode",
    label_visibility="collapsed",
)
if mode == "Table":
    settle_card(store, away=True)  # the card's held tweets go back to the team
    table_mode(store, project, annotator(), queue)
else:
    says = source.description if run_name == AUTO and where != "suspect" else ""
    annotation_card(store, project, annotator(), queue, says, n_items)
