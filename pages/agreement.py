"""Agreement: how far the coders agree with each other (Krippendorff's alpha, Cohen's kappa per
pair), and, beside it, how each coder and each model scores on the held-out items."""

import json

import streamlit as st

from labeler.team.report import ProjectAgreement, data_version, project_agreement
from ui.charts import kappa_heatmap, label_alpha_bars, pair_confusion_heatmap, png_config
from ui.common import PAGES, get_store, in_app, plain, require_project, user_errors

DRAWS, SEED = 1000, 0

in_app(__file__)


@st.cache_data(show_spinner="Computing agreement…", max_entries=16)
def _agreement(store_key: str, project_id: int, version: tuple, _store) -> ProjectAgreement:
    """Recomputed only when `version` (labels, decisions, runs, settings) changes: a rerun
    without new labels does not repeat the bootstrap."""
    return project_agreement(_store, project_id, draws=DRAWS, seed=SEED)


store = get_store()
project = require_project(store)
st.title("🤝 Agreement")
result = None
with user_errors():
    version = data_version(store, project.id)
    result = _agreement(repr(store.db.url), project.id, version, store)
if result is None:
    st.stop()
if result.missing:
    st.info(plain(result.missing))
    st.page_link(PAGES["team"], label="Go to Team", icon="👥")
    st.stop()
report = result.report
st.button("Refresh", key="agr_refresh", icon="🔄", help="Take in labels given since.")

human, machines = st.columns([3, 2], gap="large")
with human:
    st.subheader("Coders with each other")
    low, high = report.alpha_ci
    cards = st.columns(3)
    cards[0].metric(
        "Krippendorff's alpha",
        "—" if report.alpha is None else f"{report.alpha:.3f}",
        help="Nominal alpha over every item two or more people coded: 1 is perfect agreement, "
        "0 what chance would give.",
    )
    cards[1].metric(
        "95% interval", "—" if low is None or high is None else f"{low:.2f} to {high:.2f}"
    )
    share = report.percent_agreement
    cards[2].metric(
        "Percent agreement",
        "—" if share is None else f"{share:.1%}",
        help="Items on which every coder gave the same label (chance not removed).",
    )
    st.caption(
        f"{report.n_items:,} items coded by two or more people · {report.n_codes:,} codes · "
        f"{report.n_coders:,} coders. The interval is a seeded bootstrap of {report.draws:,} "
        "draws over the items."
    )
    st.text(report.reading)
    st.plotly_chart(
        label_alpha_bars(report.per_label, report.alpha),
        config=png_config("agreement-per-label"),
        width="stretch",
        key="agr_labels",
    )

with machines:
    st.subheader("People and models on held-out items")
    st.caption(
        f"Scored on held-out items only ({result.n_heldout_gold:,} carry a gold label): the "
        "models learnt from the rest. Each coder is scored against gold formed without them (the "
        "other coders' label where they agree, else an adjudicator's decision that is not "
        "theirs); models against the items' gold label, never an accepted suggestion."
    )
    if result.models_missing:
        st.info(plain(result.models_missing))
    else:
        number = st.column_config.NumberColumn
        st.dataframe(
            result.people_vs_models,
            hide_index=True,
            width="stretch",
            column_config={
                "who": st.column_config.TextColumn("who", width="medium"),
                "n": number("items", format="%d"),
                "accuracy": number("accuracy", format="%.3f"),
                "accuracy_low": number("acc. low", format="%.3f"),
                "accuracy_high": number("acc. high", format="%.3f"),
                "macro_f1": number("macro-F1", format="%.3f"),
                "macro_f1_low": number("F1 low", format="%.3f"),
                "macro_f1_high": number("F1 high", format="%.3f"),
                "kappa": number("κ vs gold", format="%.3f"),
            },
            key="agr_models",
        )
        st.caption("Low and high: the 95% bootstrap interval. κ: Cohen's kappa against gold.")

st.subheader("Pairs of coders")
st.plotly_chart(
    kappa_heatmap(report.coders, report.pairwise_kappa, report.pairwise_n),
    config=png_config("agreement-kappa"),
    width="stretch",
    key="agr_kappa",
)
left, right = st.columns(2)
first = left.selectbox("Coder (rows)", report.coders, index=0, key="agr_pair_a")
second = right.selectbox("Coder (columns)", report.coders, index=1, key="agr_pair_b")
if first == second:
    st.info("Pick two different coders to see where they differ.")
else:
    table = result.pair(first, second)
    if table.to_numpy().sum() == 0:
        st.info("These two coders share no item yet.")
    else:
        st.plotly_chart(
            pair_confusion_heatmap(table, first, second),
            config=png_config("agreement-pair"),
            width="stretch",
            key="agr_pair",
        )

st.subheader("Downloads")
st.caption(
    "The report as JSON (every number, the reading and the held-out table) or as CSV (one row "
    "per statistic). Each chart downloads as PNG from the camera button in its top-right corner."
)
downloads = st.columns(3)
downloads[0].download_button(
    "Report (JSON)",
    json.dumps(result.to_json(), indent=2, ensure_ascii=False, allow_nan=False),
    file_name=f"agreement-project-{project.id}.json",
    mime="application/json",
    key="agr_json",
    icon="⬇️",
)
downloads[1].download_button(
    "Report (CSV)",
    report.to_frame().to_csv(index=False),
    file_name=f"agreement-project-{project.id}.csv",
    mime="text/csv",
    key="agr_csv",
    icon="⬇️",
)
downloads[2].download_button(
    "Held-out table (CSV)",
    result.people_vs_models.to_csv(index=False),
    file_name=f"people-vs-models-project-{project.id}.csv",
    mime="text/csv",
    key="agr_table_csv",
    icon="⬇️",
)
