"""Data: upload tweets (or use the bundled sample), map columns, import, and look at what is there."""

import hashlib

import streamlit as st

from labeler.io.columns import detect_columns, no_text_column_message
from labeler.io.formats import SUPPORTED
from labeler.io.prepare import prepare_items
from labeler.io.read import read_table
from labeler.jobs.learning import ensure_embedding_job
from labeler.sample import create_sample_project
from labeler.workspace import SAMPLE_DATA
from ui.charts import histogram
from ui.common import (
    get_store,
    in_app,
    plain,
    require_manager,
    require_project,
    select_project,
    show_error,
    user_errors,
)

in_app(__file__)

store = get_store()
project = require_project(store)
require_manager(store, project, "import or change its tweets")
st.title("📥 Data")
st.caption(f"Project: {plain(project.name)}")


def _rows(n: int) -> str:
    return f"{n:,} row{'s' * (n != 1)}"


source = st.radio(
    "Source",
    ["Upload a file", "Bundled sample (synthetic tweets)"],
    horizontal=True,
    key="data_source",
)
if source.startswith("Bundled"):
    st.write(
        f"{plain(SAMPLE_DATA.name)}: hand-written synthetic tweets about a four-day work week, with "
        "gold stance labels. Import them into this project below, or open the sample project."
    )
    if st.button("Open the sample project with its gold labels", key="data_sample_gold"):
        with user_errors():
            sample = create_sample_project(store, with_labels=True)
            select_project(sample.id)
            st.rerun()
    name, payload = SAMPLE_DATA.name, SAMPLE_DATA.read_bytes()
else:
    upload = st.file_uploader(
        "Tweets file",
        type=[ext.lstrip(".") for ext in SUPPORTED],
        key="data_upload",
        help="CSV, TSV, XLSX, JSONL or Parquet; one tweet per row.",
    )
    name, payload = (upload.name, upload.getvalue()) if upload else (None, None)

if payload is not None:
    # the whole content identifies an upload: an edited file of the same name and size (or the
    # same first kilobytes) must be read again, never shown or imported from the old parse
    cache_key = (name, hashlib.sha256(payload).hexdigest())
    if st.session_state.get("data_cache_key") != cache_key:
        st.session_state.pop("data_frame", None)
        st.session_state["data_cache_key"] = cache_key
        with user_errors():
            st.session_state["data_frame"] = read_table(payload, name=name)
    df = st.session_state.get("data_frame")
    if df is not None:
        st.subheader(f"Preview of {plain(name)}: {len(df):,} rows")
        st.dataframe(df.head(20), width="stretch", hide_index=True)
        guess = detect_columns(df)
        cols = list(df.columns)
        none = "(none)"
        if guess.text is None:  # numbers, ids and dates never become tweets by default
            show_error(
                no_text_column_message(
                    df,
                    name,
                    fix="Choose the file that holds the tweets, or add a column with the tweet "
                    "texts; if one of these columns really is the text, pick it below.",
                )
            )
        c1, c2, c3 = st.columns(3)
        text_col = c1.selectbox(
            "Text column",
            cols,
            index=cols.index(guess.text) if guess.text in cols else None,
            placeholder="Choose the text column",
            key="data_text_col",
        )
        id_opts = [none, *cols]
        id_col = c2.selectbox(
            "Id column",
            id_opts,
            index=id_opts.index(guess.id) if guess.id in cols else 0,
            key="data_id_col",
        )
        label_col = c3.selectbox(
            "Existing labels (imported as such)",
            id_opts,
            index=id_opts.index(guess.label) if guess.label in cols else 0,
            key="data_label_col",
            help=f"Values must be this project's labels ({plain(', '.join(project.labels))}); "
            "case is ignored.",
        )
        merge = st.toggle(
            "Merge exact duplicate texts into one item",
            value=True,
            key="data_merge",
            help="Duplicates always land on the same side of the held-out split.",
        )
        clicked = st.button("Import", type="primary", key="data_import", disabled=text_col is None)
        if clicked and text_col is not None:
            with user_errors():
                prepared = prepare_items(
                    df,
                    text_col=text_col,
                    id_col=None if id_col == none else id_col,
                    label_col=None if label_col == none else label_col,
                    duplicates="merge" if merge else "keep",
                )
                report = store.items.import_frame(
                    project.id, prepared.items, source_name=name, skip_existing=merge
                )
                ensure_embedding_job(store, project.id)  # embeds new tweets in the background
                # Two rules, never mixed up: rows of this file that repeat an earlier row are
                # merged by prepare_items; texts the project held before are skipped by the store.
                in_file = "the exact same text, ignoring spaces around it"
                repeats = _rows(prepared.duplicate_rows)
                lines = [
                    f"Imported {report.imported:,} tweets ({report.heldout:,} held out for "
                    f"testing, {report.labelled:,} with labels) from {prepared.rows:,} rows; "
                    f"skipped empty: {prepared.skipped_empty:,}."
                ]
                if merge:
                    lines += [
                        f"Merged as repeats within this file ({in_file}): {repeats}.",
                        "Already in the project before this import (the same text, ignoring "
                        "case and spacing), not added again: "
                        f"{_rows(report.already_in_project)}.",
                    ]
                else:
                    lines.append(
                        f"Repeats within this file ({in_file}), imported as separate tweets "
                        f"because merging is off: {repeats}; texts the project already held "
                        "were imported again."
                    )
                st.success("  \n".join(lines))
                for warning in prepared.warnings:
                    st.warning(plain(warning))
                if report.unknown_labels:
                    listed = ", ".join(f"{k!r} ×{v}" for k, v in report.unknown_labels.items())
                    st.warning(
                        f"Label values not in this project's labels were not imported: {plain(listed)}. "
                        "Rename them in the file, or create a project with these labels."
                    )

st.divider()
# counts from SQL and a page of rows: a page never loads every tweet (1M of them: seconds, GBs)
counts = store.items.overview(project.id)
if not counts["items"]:
    st.info("No tweets in this project yet.")
    st.stop()
st.subheader(f"In this project: {counts['items']:,} tweets")
lengths, measured = store.items.text_lengths(project.id)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Held out (test set)", f"{counts['heldout']:,}")
c2.metric("Labelled", f"{counts['labelled']:,}")
c3.metric("Median length", f"{int(lengths.median()):,} chars")
c4.metric("Duplicate texts", f"{store.items.duplicate_texts(project.id):,}")
st.plotly_chart(histogram(lengths, "Tweet lengths", "characters per tweet"), width="stretch")
if len(lengths) < measured:
    st.caption(f"Lengths of a uniform sample of {len(lengths):,} of the {measured:,} tweets.")
rows = store.items.page(project.id, limit=500)
st.dataframe(
    rows[["id", "text", "split", "label", "label_source"]], width="stretch", hide_index=True
)
