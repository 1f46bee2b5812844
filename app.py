"""Tweet Labeler: load tweets, pre-label them zero-shot, correct them, fine-tune, evaluate, export."""

import streamlit as st

from ui.auth import require_sign_in
from ui.common import PAGES, follow_deep_link, get_store, settle_card, sidebar

st.set_page_config(page_title="Tweet Labeler", page_icon="🏷️", layout="wide")

navigation = st.navigation(
    {
        "Label": [
            st.Page(PAGES["home"], title="Projects", icon="🏠", default=True),
            st.Page(PAGES["data"], title="Data", icon="📥"),
            st.Page(PAGES["prelabel"], title="Pre-label", icon="🔮"),
            annotate := st.Page(PAGES["annotate"], title="Annotate", icon="✍️"),
        ],
        "Team": [
            st.Page(PAGES["team"], title="Team & codebook", icon="👥"),
            st.Page(PAGES["agreement"], title="Agreement", icon="🤝"),
            st.Page(PAGES["adjudicate"], title="Adjudicate", icon="⚖️"),
        ],
        "Model": [
            st.Page(PAGES["learning"], title="Live model", icon="🧠"),
            st.Page(PAGES["train"], title="Train", icon="🏋️"),
            st.Page(PAGES["evaluate"], title="Evaluate", icon="📊"),
            st.Page(PAGES["export"], title="Predict & export", icon="📤"),
            st.Page(PAGES["tokenizer"], title="Tokenizer", icon="🔤"),
        ],
    }
)
follow_deep_link()
store = get_store()
require_sign_in(store)  # with TWEET_LABELER_AUTH on: nobody signed in, no page
# a card's last keys, when the person left Annotate right after them; off Annotate, the
# tweets the card held go back to the team
settle_card(store, away=navigation.url_path != annotate.url_path)
sidebar(store)
navigation.run()
