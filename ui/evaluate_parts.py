"""Evaluate's sections: a model's scores with their intervals and small-sample warnings, every
model side by side on the same held-out tweets, a labelled file scored, and the mistakes.

Numbers come from `labeler.comparison` and `labeler.evaluation`; this module only draws them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import streamlit as st

from labeler.comparison import (
    MIN_SCORED,
    MIN_TEST_ITEMS,
    SCORE_NAMES,
    comparable_runs,
    compare_with_zeroshot,
    comparison_wide,
    default_comparison,
    errors_table,
    heldout_report,
    labelled_rows,
    model_name,
    run_label,
    score_labelled,
    side_by_side,
    side_by_side_notes,
    unknown_labels,
    when,
)
from labeler.db.projects import Project
from labeler.db.store import Store
from labeler.evaluation.bootstrap import Interval
from labeler.evaluation.intervals import HELDOUT_TODO
from labeler.io.columns import detect_columns
from labeler.io.read import read_table
from ui.charts import confusion_heatmap, interval_bars, pr_curve, roc_curve
from ui.common import PAGES, plain, show_error, user_errors
from ui.label_file import FILE_ROWS_LIMIT, FORMATS
from ui.label_file import _classifier as cached_classifier  # one cached model per folder
from ui.models import model_policy, pick_trained_model

SCORE_COLUMNS = ["precision", "recall", "F1"]


def interval_text(interval: Interval | None) -> str:
    """ "95% interval 0.61 – 0.78 · n 52", or why there is none."""
    if interval is None or interval.low is None or interval.high is None:
        n = 0 if interval is None else interval.n
        return f"no interval: undefined on too many resamples · n {n:,}"
    return f"95% interval {interval.low:.2f} – {interval.high:.2f} · n {interval.n:,}"


def _warnings(metrics: dict[str, Any]) -> None:
    """The small-sample warnings: the whole set's first, then one box for every small label."""
    warnings = list(metrics["warnings"])
    if warnings and warnings[0].startswith("Only "):
        st.warning(plain(warnings.pop(0)), icon="⚠️")
    if warnings:
        st.warning(plain("  \n".join(warnings)), icon="⚠️")


def show_scores(metrics: dict[str, Any], prefix: str, noun: str) -> None:
    """Headline scores with their intervals, warnings, the per-label report with low/high
    columns, the confusion matrix and (two labels) ROC and PR curves. Widget keys: `prefix`_*."""
    m, ivs = metrics, metrics["intervals"]
    st.caption(
        f"Each score's 95% interval: {m['draws']:,} bootstrap resamples of the {m['n']:,} "
        f"{plain(noun)} (seed {m['seed']:d}); the range a new test set of the same size would "
        "likely give."
    )
    _warnings(m)
    cards = st.columns(4)
    headline = [
        ("Accuracy", "accuracy", "Share of items the model gets right."),
        ("Macro-F1", "macro_f1", "Mean of the per-label F1 scores."),
        ("MCC", "mcc", "Matthews correlation: 0 is chance, 1 perfect."),
    ]
    if m.get("stance_f1") is not None:
        headline.append(("Stance F1", "stance_f1", "Mean F1 of AGAINST and FAVOR."))
    for card, (title, key, explain) in zip(cards, headline, strict=False):
        card.metric(plain(title), f"{m[key]:.3f}", help=plain(explain))
        card.caption(plain(interval_text(ivs.get(key))))
    if len(headline) == 3:
        cards[3].metric(f"Scored {plain(noun)}", f"{m['n']:,}")
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("Per label")
        table = m["report_table"]
        bounds = [c for c in table.columns if c.split(" ")[0] in SCORE_COLUMNS]
        st.dataframe(
            table.style.format("{:.3f}", subset=bounds, na_rep="—").format(
                "{:,.0f}", subset=["support"]
            ),
            width="stretch",
            key=f"{prefix}_report",
        )
    with right:
        normalized = st.toggle("Row shares instead of counts", key=f"{prefix}_normalize")
        matrix = m["confusion_matrix_normalized" if normalized else "confusion_matrix"]
        st.plotly_chart(
            confusion_heatmap(matrix, m["confusion_labels"], normalized),
            width="stretch",
            key=f"{prefix}_confusion",
        )
    if m.get("roc_curve"):
        c1, c2 = st.columns(2)
        pos = m["positive_label"]
        c1.plotly_chart(roc_curve(m["roc_curve"], m["roc_auc"], pos), width="stretch",
                        key=f"{prefix}_roc")  # fmt: skip
        c1.caption(plain(f"ROC-AUC: {interval_text(ivs.get('roc_auc'))}"))
        c2.plotly_chart(pr_curve(m["pr_curve"], m["pr_auc"], pos), width="stretch",
                        key=f"{prefix}_pr")  # fmt: skip
        c2.caption(plain(f"PR-AUC: {interval_text(ivs.get('pr_auc'))}"))


def heldout_section(store: Store, project: Project, runs: list[dict[str, Any]]) -> None:
    """The picked model's scores on the gold held-out tweets it scored, then its mistakes."""
    by_id = {r["id"]: r for r in runs}
    run_id = st.selectbox(
        "Model", list(by_id), key="ev_model",
        format_func=lambda i: f"{model_name(by_id[i])} · trained {when(by_id[i]['finished_at'])}",
    )  # fmt: skip
    report = None
    with user_errors():
        report = heldout_report(store, project, run_id)
    if report is None:
        return
    if report.metrics is None:
        st.info(
            "None of the held-out tweets that carry a human label has a prediction from this "
            "model: label held-out tweets on Annotate, then train again."
        )
        return
    if report.n_scored < MIN_SCORED:
        st.info(
            f"Only {report.n_scored:,} held-out tweet with a human label has a prediction from "
            "this model, and one tweet is too few to score a model: every score would be 0 or 1. "
            "Label more held-out tweets on Annotate (they are marked held-out), then train "
            "again: the scores mean something from a few dozen on."
        )
        st.page_link(PAGES["annotate"], label="Label held-out tweets on Annotate", icon="✍️")
        return
    note = (
        f"; {report.n_unscored:,} held-out tweets labelled after this model was trained are not "
        "scored"
        if report.n_unscored
        else ""
    )
    st.caption(f"Scored on {report.n_scored:,} held-out tweets with a human label{note}.")
    show_scores(report.metrics, "ev", "held-out tweets")
    mistakes_section(report)


# -- side by side ------------------------------------------------------------------------------


def side_by_side_section(store: Store, project: Project, runs: list[dict[str, Any]]) -> None:
    """Zero-shot, live-model and fine-tuned runs on the held-out tweets all of them scored."""
    candidates = comparable_runs(store, project.id)
    names = {r["id"]: run_label(r) for r in candidates}
    chosen = st.multiselect(
        "Models to compare", list(names), default=default_comparison(candidates),
        format_func=names.get, key="ev_side_runs",
        help="Only the held-out tweets every chosen model scored are used.",
    )  # fmt: skip
    if not any(r["kind"] == "zeroshot" for r in candidates):
        st.info("No zero-shot run yet: run Pre-label to compare the models with it.")
        st.page_link(PAGES["prelabel"], label="Go to Pre-label", icon="🔮")
    if not chosen:
        return
    result = side_by_side(store, project, [r for r in candidates if r["id"] in chosen])
    for note in side_by_side_notes(result, names):
        st.caption(plain(note))
    if result.n < MIN_SCORED:
        st.info(
            f"{result.n:,} held-out tweets were scored by every chosen model: too few to compare "
            "them. Choose fewer models, or label more held-out tweets on Annotate."
        )
    else:
        if result.n < MIN_TEST_ITEMS:
            st.warning(
                f"Only {result.n:,} held-out tweets were scored by every chosen model: one error "
                f"more or fewer moves a model's accuracy by {1 / result.n:.3f} and the intervals "
                f"overlap widely. Tell models apart from {MIN_TEST_ITEMS:d} on: {plain(HELDOUT_TODO)}.",
                icon="⚠️",
            )
        table = result.table
        scores = [s for s in SCORE_NAMES if table[s].notna().any()]
        score = st.selectbox(
            "Score", scores, index=scores.index("macro_f1"), format_func=SCORE_NAMES.get,
            key="ev_side_score",
        )  # fmt: skip
        st.plotly_chart(
            interval_bars(table, score, SCORE_NAMES[score]), width="stretch",
            key="ev_compare_chart",
        )  # fmt: skip
        shown = {"model": "model", "kind": "kind", "n": "n"}
        for s in scores:
            for end, what in (("", ""), ("_low", " low"), ("_high", " high")):
                shown[f"{s}{end}"] = f"{SCORE_NAMES[s]}{what}"
        st.dataframe(
            table[list(shown)].rename(columns=shown), hide_index=True, width="stretch",
            column_config={c: st.column_config.NumberColumn(format="%.3f")
                           for c in shown.values() if c not in ("model", "kind", "n")},
            key="ev_side",
        )  # fmt: skip
    with st.expander("Each fine-tuned model against the newest zero-shot run, pair by pair"):
        long, facts = compare_with_zeroshot(store, project, runs)
        st.caption(
            "Each pair on the held-out tweets both scored: more tweets per pair when the models "
            f"scored different ones. {facts['zeroshot_scored']:,} of the {facts['n_gold']:,} "
            "gold held-out tweets have a zero-shot prediction."
        )
        wide = comparison_wide(long)
        st.dataframe(
            wide, hide_index=True, width="stretch",
            column_config={c: st.column_config.NumberColumn(format="%.3f")
                           for c in wide.columns[2:]},
            key="ev_compare",
        )  # fmt: skip


# -- a labelled file ---------------------------------------------------------------------------


def file_section(runs: list[dict[str, Any]]) -> None:
    """Upload a labelled file, pick its columns and a trained model, score it with intervals."""
    model = pick_trained_model(runs, "ev_file_model")
    upload = st.file_uploader(
        "Labelled file (a text column and a label column)", type=[*FORMATS, "txt", "json"],
        key="ev_upload", disabled=model is None,
    )  # fmt: skip
    if upload is None or model is None:
        st.caption("CSV, TSV, XLSX, JSON lines or Parquet: each row a text and its gold label.")
        return
    df = None
    with user_errors():
        df = read_table(upload.getvalue(), upload.name)
    if df is None:
        return
    cols, guess = list(df.columns), detect_columns(df)
    c1, c2 = st.columns(2)
    at = {c: i for i, c in enumerate(cols)}
    text_col = c1.selectbox("Text column", cols, index=at.get(guess.text), key="ev_file_text")
    label_col = c2.selectbox("Label column", cols, index=at.get(guess.label), key="ev_file_label")
    if text_col is None or label_col is None:
        st.info("Pick the column that holds the texts and the one that holds their labels.")
        return
    if text_col == label_col:
        st.info("The text and the label must come from two different columns.")
        return
    rows = None
    with user_errors():
        rows = labelled_rows(df, text_col, label_col, upload.name)
    if rows is None:
        return
    skipped = f"; {rows.skipped:,} rows without a label are left out" if rows.skipped else ""
    st.caption(f"{len(rows.texts):,} labelled rows{skipped}.")
    folder = model["artifact_path"]
    if len(rows.texts) > FILE_ROWS_LIMIT:
        st.info(
            f"{len(rows.texts):,} rows is more than this page scores at once "
            f"({FILE_ROWS_LIMIT:,}): use the command line."
        )
        shown = Path(folder).name if model_policy().restricted else folder
        st.code(f'python -m labeler evaluate "{shown}" "{upload.name}" --text-col "{text_col}" '
                f'--label-col "{label_col}"', language="bash")  # fmt: skip
        return
    clf = None
    with user_errors():
        clf = cached_classifier(folder)
    if clf is None:
        return
    message = unknown_labels(rows.gold, clf.label_names, label_col)
    if message:
        show_error(message)
        return
    digest = hashlib.sha256(upload.getvalue()).hexdigest()
    wanted = (digest, model["id"], text_col, label_col)
    if st.button(f"Score the model on {len(rows.texts):,} rows", type="primary",
                 key="ev_file_go"):  # fmt: skip
        with user_errors():
            bar = st.progress(0.0, text="Predicting…")
            metrics = score_labelled(
                clf, rows,
                progress=lambda done, n: bar.progress(done / n, text=f"{done:,} of {n:,} rows"),
            )  # fmt: skip
            bar.empty()
            st.session_state["ev_file_result"] = (wanted, metrics)
    saved = st.session_state.get("ev_file_result")
    if saved and saved[0] == wanted:  # this very file, model and columns
        show_scores(saved[1], "ev_file", "rows")


# -- mistakes ----------------------------------------------------------------------------------


def mistakes_section(report: Any) -> None:
    """The misclassified held-out tweets, most confident first; a row opens on Annotate."""
    st.subheader("Misclassified held-out tweets")
    errors = errors_table(report)
    if errors.empty:
        st.success("The model gets every scored held-out tweet right.")
        return
    st.caption(
        f"{len(errors):,} mistakes, most confident first (click a header to sort). A confident "
        "mistake is often a wrong human label: select a row to fix it on Annotate."
    )
    picked = st.dataframe(
        errors, hide_index=True, width="stretch", on_select="rerun",
        selection_mode="single-row",
        column_config={
            "item_id": st.column_config.NumberColumn("item", format="%d"),
            "text": st.column_config.TextColumn("tweet", width="large"),
            "confidence": st.column_config.ProgressColumn(min_value=0, max_value=1,
                                                          format="%.2f"),
            "p_gold": st.column_config.NumberColumn("p(gold)", format="%.2f"),
        },
        key="ev_errors",
    )  # fmt: skip
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
