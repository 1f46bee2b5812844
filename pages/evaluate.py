"""Evaluate: how good a trained model is, and how sure we are of it.

Every score carries a 95% bootstrap interval and n; a label with too few held-out tweets gets a
warning. Tabs: the picked model on the held-out tweets (and its mistakes), every model side by
side on the same held-out tweets, and a model scored on an uploaded labelled file.
"""

import streamlit as st

from labeler.comparison import trained_models
from ui.common import PAGES, get_store, in_app, require_items, require_project
from ui.evaluate_parts import file_section, heldout_section, side_by_side_section

in_app(__file__)

store = get_store()
project = require_project(store)
require_items(store, project)
st.title("📊 Evaluate")
runs = trained_models(store, project.id)
if not runs:
    st.info("No trained model yet: train one on the Train page.")
    st.page_link(PAGES["train"], label="Go to Train", icon="🏋️")
    st.stop()

heldout, together, upload = st.tabs(
    ["Held-out tweets", "All models side by side", "Score a labelled file"]
)
with heldout:
    heldout_section(store, project, runs)
with together:
    st.subheader("Zero-shot, live and fine-tuned models on the same held-out tweets")
    side_by_side_section(store, project, runs)
with upload:
    st.subheader("Score a trained model on a labelled file")
    file_section(runs)
