"""Tokenizer: what a model reads — a sentence as word pieces and ids, [CLS] and [SEP] included."""

import streamlit as st

from labeler.comparison import model_name, trained_models
from labeler.models.resolve import BUNDLED, resolve_model
from labeler.tokenize_demo import EXAMPLE, load_tokenizer, tokenize
from ui.common import current_project, get_store, in_app, user_errors
from ui.models import model_policy

in_app(__file__)

CUSTOM = "Custom: hub id or local folder"


@st.cache_resource(show_spinner=False, max_entries=4)
def _tokenizer(spec: str):
    return load_tokenizer(spec)


store = get_store()
project = current_project(store)
st.title("🔤 Tokenizer")
st.caption(
    "Models do not read words: a tokenizer cuts text into word pieces from a fixed vocabulary "
    "(BERT: ~30k) and maps each to an id. A word outside the vocabulary is split into known "
    "pieces (“##” marks a piece that continues a word), so nothing is ever out of vocabulary. "
    "[CLS] opens every input (its vector feeds the classifier) and [SEP] closes it."
)

options = {f"{BUNDLED} (bundled MiniLM, BERT's uncased vocabulary)": BUNDLED}
if project is not None:
    for run in trained_models(store, project.id):
        options[f"{model_name(run)} (trained here)"] = run["artifact_path"]
options[CUSTOM] = ""
choice = st.selectbox("Tokenizer of", list(options), key="tk_model")
spec = options[choice]
if choice == CUSTOM:
    spec = st.text_input("Hub id or model folder", key="tk_custom").strip()
    if not spec:
        st.info("Type a hub id (e.g. bert-base-uncased) or the path of a model folder.")
        st.stop()
text = st.text_area("Sentence", value=EXAMPLE, key="tk_text", height=90)
tokenizer = None
with user_errors(), st.spinner("Loading the tokenizer…"):
    policy = model_policy()
    if choice == CUSTOM and policy.restricted:
        resolve_model(spec, policy=policy)  # a folder this server does not allow: refused unread
    tokenizer = _tokenizer(spec)
if tokenizer is None or not text.strip():
    st.stop()
result = tokenize(tokenizer, text)
pieces = len(result.ids) - int((result.table["kind"] == "special").sum())
c = st.columns(4)
c[0].metric("Word pieces", f"{pieces:,}")
c[1].metric("Ids with [CLS]/[SEP]", f"{len(result.ids):,}")
c[2].metric("Unknown ([UNK])", f"{result.unknown:,}")
c[3].metric("Vocabulary", f"{result.vocab_size:,}")
if result.truncated:
    st.warning("The sentence is longer than the model's 512 positions: the rest is cut off.")

left, right = st.columns([2, 3], gap="large")
with left:
    st.dataframe(
        result.table,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(result.table), 600),
        column_config={
            "position": st.column_config.NumberColumn("#", width="small"),
            "token": st.column_config.TextColumn("token"),
            "id": st.column_config.NumberColumn("id", format="%d"),
        },
        key="tk_table",
    )
with right:
    st.markdown("**`tokenizer.tokenize(text)`**: the word pieces")
    st.code(repr(result.pieces), language="python", wrap_lines=True)
    st.markdown("**`tokenizer.encode(text)`**: their ids, with [CLS] first and [SEP] last")
    st.code(repr(result.ids), language="python", wrap_lines=True)
    st.markdown("**`tokenizer.decode(ids)`**: back to text (lower-cased, pieces joined)")
    st.code(result.decoded, language=None, wrap_lines=True)
