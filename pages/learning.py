"""Live model: where suggestions come from, how the live model learns as labels arrive, when
more labels stop paying, and which labels it doubts."""

import streamlit as st

from labeler.jobs.learning import maybe_retrain
from labeler.learning.live import live_state, suggestion_source
from ui.charts import learning_curve_chart, png_config
from ui.common import PAGES, get_store, in_app, plain, require_items, require_project, user_errors
from ui.jobs_panel import job_panel

in_app(__file__)

store = get_store()
project = require_project(store)
require_items(store, project)
st.title("🧠 Live model")
st.caption(
    "A light classifier on sentence embeddings, retrained in the background after every 10 new "
    "gold labels. Its suggestions replace zero-shot's once cross-validation says it is better."
)
source = suggestion_source(store, project.id)
st.info(f"Suggestions now come from: {plain(source.description)}", icon="💡")

embedding = job_panel(store, project.id, "embed", unit="tweets")
retraining = job_panel(store, project.id, "live", unit="steps")
state = live_state(store, project.id)
if st.button("Retrain now", disabled=embedding or retraining, key="live_retrain"):
    with user_errors():
        if maybe_retrain(store, project.id, every=1):
            st.rerun()
        st.info("Nothing new to learn from: label a tweet of the pool first.")
if state.run is None:
    st.info("No live model yet: label 10 pool tweets of at least two labels on Annotate.")
    st.page_link(PAGES["annotate"], label="Go to Annotate", icon="✍️")
    st.stop()

m = state.metrics
cols = st.columns(3)
cv, std = m.get("cv_macro_f1"), m.get("cv_std")
cols[0].metric(
    "Live model, CV macro-F1",
    "—" if cv is None else f"{cv:.2f} ± {std or 0:.2f}",
    help=f"{int(m.get('folds', 0)):d}-fold cross-validation on the pool's gold labels; ± is the spread "
    "over folds.",
)
zs = m.get("zeroshot_macro_f1")
cols[1].metric(
    "Zero-shot on the same labels", "—" if zs is None else f"{zs:.2f}",
    help="The newest zero-shot run's macro-F1 on the same gold labels (accepted suggestions "
    "are never gold).",
)  # fmt: skip
cols[2].metric("Gold labels behind it", f"{m.get('n_labels', 0):,}")
st.caption(
    f"Run #{state.run['id']:d} · features: {plain(m.get('features') or '—')} · "
    f"fit in {m.get('fit_seconds', 0):.2f} s"
)

curve = m.get("curve")
st.subheader("Learning curve")
if curve:
    figure = learning_curve_chart(curve)
    if figure is not None:
        st.plotly_chart(figure, config=png_config("learning-curve"), width="stretch")
    st.text(m.get("projection") or curve.get("note") or "")
short = m.get("short_labels") or {}
if short:
    listing = plain(", ".join(f"{lab} {int(n):,d}" for lab, n in short.items()))
    st.warning(
        f"Short of examples (fewer than 30 gold labels each): {listing}. Label more of these; "
        "the queue ordered by suggested label finds them fastest.",
        icon="📉",
    )
st.subheader("When to stop")
st.text(m.get("stop_message") or "The stopping signal appears after two retrains.")
st.subheader("Suspect labels")
suspects = m.get("suspects", 0)
if suspects:
    st.write(
        f"{suspects:,} gold label(s) the live model doubts (out-of-fold probabilities, "
        "cleanlab). Check them on Annotate: a correction is an ordinary new label."
    )
    if st.button("Open the suspect labels on Annotate", key="live_suspects"):
        st.session_state["ann_where"] = "suspect"
        st.switch_page(PAGES["annotate"])
else:
    st.write("No label looks suspect to the live model.")
