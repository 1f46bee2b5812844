"""Evaluate: a trained model's scores on the held-out tweets, next to zero-shot, and its mistakes."""

import streamlit as st

from labeler.comparison import (
    MIN_SCORED,
    compare_with_zeroshot,
    comparison_wide,
    errors_table,
    heldout_report,
    model_name,
    trained_models,
    when,
)
from ui.charts import comparison_bars, confusion_heatmap, pr_curve, roc_curve
from ui.common import (
    PAGES,
    get_store,
    in_app,
    plain,
    require_items,
    require_project,
    user_errors,
)

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

by_id = {r["id"]: r for r in runs}
run_id = st.selectbox(
    "Model",
    list(by_id),
    format_func=lambda i: f"{model_name(by_id[i])} · trained {when(by_id[i]['finished_at'])}",
    key="ev_model",
)
report = None
with user_errors():
    report = heldout_report(store, project, run_id)
if report is None:
    st.stop()
if report.metrics is None:
    st.info(
        "None of the held-out tweets that carry a human label has a prediction from this model: "
        "label held-out tweets on Annotate, then train again."
    )
    st.stop()
if report.n_scored < MIN_SCORED:
    st.info(
        f"Only {report.n_scored:,} held-out tweet with a human label has a prediction from this "
        "model, and one tweet is too few to score a model: every score would be 0 or 1. Label "
        "more held-out tweets on Annotate (they are marked held-out), then train again: the "
        "scores mean something from a few dozen on."
    )
    st.page_link(PAGES["annotate"], label="Label held-out tweets on Annotate", icon="✍️")
    st.stop()
m = report.metrics
note = (
    f"; {report.n_unscored:,} held-out tweets labelled after this model was trained are not scored"
    if report.n_unscored
    else ""
)
st.caption(f"Scored on {report.n_scored:,} held-out tweets with a human label{note}.")
cards = st.columns(4)
cards[0].metric("Accuracy", f"{m['accuracy']:.3f}")
cards[1].metric("Macro-F1", f"{m['macro_f1']:.3f}", help="Mean of the per-label F1 scores.")
cards[2].metric("MCC", f"{m['mcc']:.3f}", help="Matthews correlation: 0 is chance, 1 perfect.")
if m.get("stance_f1") is not None:
    cards[3].metric("Stance F1", f"{m['stance_f1']:.3f}", help="Mean F1 of AGAINST and FAVOR.")
else:
    cards[3].metric("Held-out tweets", f"{m['n']:,}")

left, right = st.columns(2, gap="large")
with left:
    st.subheader("Per label")
    table = m["report_df"].drop(index="accuracy", errors="ignore")
    table = table.rename(columns={"f1-score": "F1"})
    st.dataframe(table.style.format("{:.3f}", subset=["precision", "recall", "F1"]).format(
        "{:,.0f}", subset=["support"]), width="stretch", key="ev_report")  # fmt: skip
with right:
    normalized = st.toggle("Row shares instead of counts", key="ev_normalize")
    matrix = m["confusion_matrix_normalized" if normalized else "confusion_matrix"]
    st.plotly_chart(
        confusion_heatmap(matrix, m["confusion_labels"], normalized),
        width="stretch",
        key="ev_confusion",
    )
if m.get("roc_curve"):
    c1, c2 = st.columns(2)
    pos = m["positive_label"]
    c1.plotly_chart(roc_curve(m["roc_curve"], m["roc_auc"], pos), width="stretch", key="ev_roc")
    c2.plotly_chart(pr_curve(m["pr_curve"], m["pr_auc"], pos), width="stretch", key="ev_pr")

st.subheader("Zero-shot vs fine-tuned, on the same held-out tweets")
long, facts = compare_with_zeroshot(store, project, runs)
zs = facts["zeroshot_run"]
if zs is None:
    st.info(
        f"{facts['n_gold']:,} held-out tweets carry a human label. No zero-shot run yet: run "
        "Pre-label to compare the models with it."
    )
    st.page_link(PAGES["prelabel"], label="Go to Pre-label", icon="🔮")
else:
    st.caption(
        f"{facts['n_gold']:,} held-out tweets carry a human label; zero-shot run #{zs['id']:d} "
        f"scored {facts['zeroshot_scored']:,} of them ({plain(zs.get('model') or '')}). Each "
        "model is compared with zero-shot on the tweets both scored."
    )
wide = comparison_wide(long)
st.dataframe(
    wide,
    hide_index=True,
    width="stretch",
    column_config={c: st.column_config.NumberColumn(format="%.3f") for c in wide.columns[2:]},
    key="ev_compare",
)
if not long.empty and long["items"].ge(MIN_SCORED).any():
    st.plotly_chart(comparison_bars(long), width="stretch", key="ev_compare_chart")
elif not long.empty and long["items"].gt(0).any():
    st.caption("Too few tweets scored by both to compare them in a chart.")

st.subheader("Misclassified held-out tweets")
errors = errors_table(report)
if errors.empty:
    st.success("The model gets every scored held-out tweet right.")
    st.stop()
st.caption(
    f"{len(errors):,} mistakes, most confident first (click a header to sort). A confident "
    "mistake is often a wrong human label: select a row to fix it on Annotate."
)
picked = st.dataframe(
    errors,
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    column_config={
        "item_id": st.column_config.NumberColumn("item", format="%d"),
        "text": st.column_config.TextColumn("tweet", width="large"),
        "confidence": st.column_config.ProgressColumn(min_value=0, max_value=1, format="%.2f"),
        "p_gold": st.column_config.NumberColumn("p(gold)", format="%.2f"),
    },
    key="ev_errors",
)
rows = picked.selection.rows
if rows:
    row = errors.iloc[rows[0]]
    st.text(f"Selected tweet #{row['item_id']} (gold {row['gold']}, model {row['predicted']}):")
    st.code(row["text"], language=None, wrap_lines=True)
    if st.button("Fix its label on Annotate", key="ev_fix", icon="✍️"):
        st.session_state["ann_search"] = row["text"]
        st.session_state["ann_where"] = "all"
        st.session_state["ann_label"] = "(any)"
        st.switch_page(PAGES["annotate"])
