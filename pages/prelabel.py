"""Pre-label: zero-shot scores for every tweet, from an NLI model or the offline method."""

import pandas as pd
import streamlit as st

from labeler.jobs.runner import start_job
from labeler.zeroshot.settings import EMBEDDING_DISPLAY_NAME, ZeroShotSettings
from ui.charts import binned_bars, label_bars, score_bars
from ui.common import (
    fmt_duration,
    get_store,
    in_app,
    plain,
    require_items,
    require_manager,
    require_project,
    user_errors,
)
from ui.engine_choice import engine_params
from ui.jobs_panel import job_panel
from ui.models import cached_zeroshot, model_choice

in_app(__file__)

store = get_store()
project = require_project(store)
require_manager(store, project, "pre-label its tweets")
n_items = require_items(store, project)
st.title("🔮 Pre-label")
st.caption(
    "A natural-language-inference model reads each tweet with one hypothesis per label and "
    "scores how much the tweet entails it. No training needed."
)

method, model = model_choice()
if method == "nli" and not model:  # none typed yet, or one this server does not let it read
    st.info("Type the hub id or the folder of an NLI model, or pick one above.")
    st.stop()
c1, c2 = st.columns(2)
template = c1.text_input(
    "Hypothesis template",
    value=project.template,
    key="pl_template",
    help="{} is the label's phrase; {target} is the project's target.",
)
target = c2.text_input("Target", value=project.target, key="pl_target")
phrase_cols = st.columns(len(project.labels))
phrases = [
    col.text_input(f"Phrase for {plain(lab)}", value=project.phrases[j], key=f"pl_phrase_{j}")
    for j, (col, lab) in enumerate(zip(phrase_cols, project.labels))
]
settings = None
with user_errors():
    settings = ZeroShotSettings(
        model=model,
        labels=project.labels,
        phrases=phrases,
        template=template,
        target=target,
        method=method,
    )
if settings is None:
    st.stop()
if (template, target, phrases) != (project.template, project.target, project.phrases):
    if st.button("Save template and phrases to the project", key="pl_save"):
        with user_errors():
            store.projects.update(project.id, template=template, target=target, phrases=phrases)
            st.rerun()
st.markdown("**Hypotheses**")
for lab, hyp in zip(project.labels, settings.hypotheses()):
    st.text(f"{lab}: {hyp}")

st.subheader("Try a tweet")
example = st.text_input("Tweet", value="i love going to school", key="pl_try_text")
if st.button("Score it", key="pl_try"):
    with user_errors(), st.spinner("Loading the model…"):
        scores = cached_zeroshot(settings).score_one(example)
        st.plotly_chart(score_bars(scores), width="stretch")

st.subheader("Pre-label the project")
live = job_panel(store, project.id, "zeroshot")
c1, c2, c3 = st.columns(3)
sample = c1.number_input("How many tweets (0 = all)", 0, n_items, 0, step=50, key="pl_sample")
batch = c2.number_input("Batch size", 1, 256, 32, key="pl_batch")
precision = c3.selectbox(
    "Precision",
    ["fp32", "bf16", "int8"],
    key="pl_precision",
    format_func={
        "fp32": "Exact (fp32)",
        "bf16": "Fast bf16 (CPU): same labels on 99.7% of tweets",
        "int8": "Fast int8 (CPU): same labels on ~93% of tweets",
    }.get,
    help="Measured on real tweets with a MiniLM NLI model (bench/zeroshot.py): bf16 about 1.7x "
    "and int8 about 1.5x the exact engine's speed on a CPU with native bf16; fp32 scores equal "
    "transformers' pipeline.",
)
todo = sample or n_items
engine = engine_params("pl", n_items)
if st.button("Estimate time", key="pl_estimate"):
    with user_errors(), st.spinner("Timing a short sample…"):
        texts = store.items.page(project.id, limit=todo)["text"].tolist()
        secs = cached_zeroshot(settings).estimate_seconds(texts, cache=store)
        st.info(f"About {fmt_duration(secs)} for {todo:,} tweets (already scored ones are free).")
if st.button("Start pre-labelling", type="primary", disabled=live, key="pl_start"):
    with user_errors():
        params = {
            **settings.__dict__,
            "batch_size": int(batch),
            "quantize": precision == "int8",
            "bf16": precision == "bf16",
            "sample": int(sample) or None,
            **engine,
        }
        start_job(store, project.id, "zeroshot", params, total=todo)
        st.rerun()

run = store.runs.latest(project.id, "zeroshot")
if run is not None:
    per_label = store.predictions.label_counts(run["id"])  # counted in SQL, never loaded
    st.subheader(
        f"Results of run #{run['id']:d}: {sum(per_label.values()):,} tweets · "
        f"{plain(run['model'] or '')}"
    )
    if run.get("model") == EMBEDDING_DISPLAY_NAME:
        st.caption("Scores from embedding similarity, not NLI: treat them as rough suggestions.")
    c1, c2 = st.columns(2)
    dist = pd.Series(per_label, dtype=int).reindex(project.labels, fill_value=0)
    c1.plotly_chart(label_bars(dist, "Suggested labels"), width="stretch")
    bins = store.predictions.score_bins(run["id"], bins=20)
    c2.plotly_chart(binned_bars(bins, "Confidence", "top score"), width="stretch")
    st.page_link("pages/annotate.py", label="Correct them on Annotate", icon="✍️")
