"""Predict & export: label tweets with a trained model, download labels, models and the project."""

import hashlib
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from labeler.comparison import model_name, trained_models
from labeler.io.columns import detect_columns, no_text_column_message
from labeler.io.formats import SUPPORTED
from labeler.io.read import read_table
from labeler.io.write import to_bytes
from labeler.jobs.runner import start_job
from labeler.models.classifier import load_classifier, predict
from labeler.project_archive import (
    archive_name,
    export_project,
    export_table,
    restore_project,
    slug,
    zip_model_folder,
)
from ui.charts import label_bars
from ui.common import (
    PAGES,
    get_store,
    in_app,
    plain,
    require_items,
    require_project,
    select_project,
    show_error,
    user_errors,
)
from ui.jobs_panel import job_panel
from ui.models import model_policy

in_app(__file__)

FILE_ROWS_LIMIT = 5000  # larger files: the command line, which does not hold up the page
FORMATS = [ext.lstrip(".") for ext in SUPPORTED]


@st.cache_resource(show_spinner=False, max_entries=2)
def _classifier(folder: str):
    return load_classifier(folder)


def _pick_model(runs: list, key: str) -> dict | None:
    if not runs:
        st.info("No trained model yet: train one on the Train page.")
        st.page_link(PAGES["train"], label="Go to Train", icon="🏋️")
        return None
    by_id = {r["id"]: r for r in runs}
    return by_id[
        st.selectbox("Model", list(by_id), format_func=lambda i: model_name(by_id[i]), key=key)
    ]


store = get_store()
project = require_project(store)
n_items = require_items(store, project)
policy = model_policy()  # on a server with sign-in on: no absolute paths on this page
st.title("📤 Predict & export")
name = slug(project)
runs = trained_models(store, project.id)
tab_job, tab_file, tab_get, tab_project = st.tabs(
    ["Label the project", "Label a file", "Download", "Whole project"]
)

with tab_job:
    model = _pick_model(runs, "ex_model")
    if model is not None:
        unlabelled = n_items - store.items.count_labelled(project.id)
        scope = st.radio(
            "Tweets", ["unlabelled", "all"], horizontal=True, key="ex_scope",
            format_func={"unlabelled": f"Unlabelled ({unlabelled:,})", "all": f"All ({n_items:,})"}.get,
        )  # fmt: skip
        total = unlabelled if scope == "unlabelled" else n_items
        st.caption(
            "Scores go to the store: they become suggestions on Annotate and pred_ columns in "
            "the download; human labels are never changed."
        )
        live = job_panel(store, project.id, "predict")
        if not total:
            st.info("Every tweet has a label already: choose All to compare the model with them.")
        if st.button("Label them", type="primary", disabled=live or not total, key="ex_predict"):
            with user_errors():
                params = {"model_run": model["id"], "scope": scope, "labels": project.labels}
                start_job(store, project.id, "predict", params, total=total)
                st.rerun()
    done = store.runs.latest(project.id, "predict")
    if done is not None:
        preds = store.predictions.frame(done["id"])
        st.caption(
            f"Newest predictions: run #{done['id']:d}, {len(preds):,} tweets, "
            f"{plain(done['model'] or '')}"
        )
        dist = preds["label"].value_counts().reindex(project.labels, fill_value=0)
        st.plotly_chart(label_bars(dist, "Predicted labels"), width="stretch", key="ex_dist")
        st.page_link(PAGES["annotate"], label="Review them on Annotate", icon="✍️")

with tab_file:
    model = _pick_model(runs, "ex_file_model")
    upload = st.file_uploader(
        "File of tweets", type=[*FORMATS, "txt", "json"], key="ex_upload", disabled=model is None
    )
    df = None
    if upload is not None and model is not None:
        with user_errors():
            df = read_table(upload.getvalue(), upload.name)
    upload_id = None if upload is None else hashlib.sha256(upload.getvalue()).hexdigest()
    if df is not None:
        guess = detect_columns(df).text
        cols = list(df.columns)
        if guess is None:  # never label a column of numbers by default
            show_error(no_text_column_message(df, upload.name))
        text_col = st.selectbox(
            "Text column", cols, index=cols.index(guess) if guess in cols else None,
            key="ex_text_col",
        )  # fmt: skip
        folder = model["artifact_path"]
        if len(df) > FILE_ROWS_LIMIT:
            st.info(
                f"{len(df):,} rows is more than this page labels at once ({FILE_ROWS_LIMIT:,}): "
                "use the command line, or import the file as a project on Data."
            )
            shown = Path(folder).name if policy.restricted else folder  # the unzipped folder
            st.code(f'python -m labeler predict "{shown}" "{upload.name}" -o labelled.csv '
                    f'--text-col "{text_col}"', language="bash")  # fmt: skip
        elif st.button(
            f"Label {len(df):,} rows", type="primary", key="ex_file_go", disabled=text_col is None
        ):
            with user_errors():
                bar = st.progress(0.0, text="Loading the model…")
                clf = _classifier(folder)
                preds = predict(
                    clf, df[text_col].tolist(),
                    progress=lambda done, n: bar.progress(done / n, text=f"{done:,} of {n:,}"),
                )  # fmt: skip
                result = pd.concat([df, preds.to_frame()], axis=1)
                st.session_state["ex_file_result"] = (upload_id, upload.name, model["id"], result)
    saved = st.session_state.get("ex_file_result")
    if saved and saved[0] == upload_id:  # the very file on screen, not one of the same name
        _, file_name, model_id, result = saved
        st.caption(f"{len(result):,} rows labelled by model #{model_id:d}; first rows:")
        st.dataframe(result.head(20), hide_index=True, key="ex_file_preview")
        fmt = st.selectbox("Format", FORMATS, key="ex_file_fmt")
        st.download_button(
            "Download the labelled file", partial(to_bytes, result, fmt),
            file_name=f"{file_name.rsplit('.', 1)[0]}-labelled.{fmt}", on_click="ignore",
            key="ex_dl_file", icon="⬇️",
        )  # fmt: skip

with tab_get:
    st.markdown("**Tweets with their labels**")
    st.caption(
        f"{n_items:,} tweets: human label, its source and annotator, split, the newest "
        "zero-shot and model predictions with per-label scores, and the imported columns."
    )
    fmt = st.selectbox("Format", FORMATS, key="ex_fmt")
    safe = False
    if fmt == "xlsx":
        st.caption(
            "Excel cells hold at most 32,767 characters; CSV and Parquet keep everything. "
            "Every tweet is stored as text, never run as a formula."
        )
    elif fmt in ("csv", "tsv"):
        csv_for = st.radio(
            f"{plain(fmt.upper())} for", ["exact", "spreadsheet"], horizontal=True, key="ex_csv_for",
            format_func={"exact": "Exact (scripts, re-import)",
                         "spreadsheet": "For spreadsheets (Excel, Google Sheets)"}.get,
        )  # fmt: skip
        st.caption(
            "Exact keeps every tweet byte for byte; For spreadsheets puts a ' before every cell "
            "that starts with =, +, -, @, a tab or a carriage return, so that Excel or Google "
            "Sheets cannot run it as a formula (those cells then differ from the tweets)."
        )
        safe = csv_for == "spreadsheet"
    kind = "-for-spreadsheets" if safe else ""
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download tweets and labels",
        partial(export_table, store, project.id, "items", fmt, spreadsheet_safe=safe),
        file_name=f"{name}-labels{kind}.{fmt}", on_click="ignore", key="ex_dl_items", icon="⬇️",
    )  # fmt: skip
    c2.download_button(
        "Download the full label history",
        partial(export_table, store, project.id, "history", fmt, spreadsheet_safe=safe),
        file_name=f"{name}-history{kind}.{fmt}", on_click="ignore", key="ex_dl_history", icon="⬇️",
        help="Every label ever given, with who, when, and whether it was human, imported or an "
        "accepted suggestion.",
    )  # fmt: skip
    st.markdown("**A trained model**")
    model = _pick_model(runs, "ex_zip_model")
    if model is not None:
        folder = model["artifact_path"]
        st.download_button(
            "Download the model folder (zip)", partial(zip_model_folder, folder),
            file_name=f"{name}-model-{model['id']}.zip", on_click="ignore", key="ex_dl_model",
            icon="⬇️",
        )  # fmt: skip
        st.caption("Unzip it, then load it with transformers:")
        st.code(
            'from transformers import pipeline\n\nclf = pipeline("text-classification", '
            f'model="{Path(folder).name}", truncation=True)\nclf("text to label")'
        )
        card = Path(folder) / "README.md"
        if card.is_file():
            with st.expander("Its model card (README.md in the folder)"):
                card_text = policy.redact(card.read_text(encoding="utf-8"))  # no server paths
                st.code(card_text, language="markdown", wrap_lines=True)
        else:
            st.warning(
                f"The model folder {plain(policy.name_folder(folder))} is missing; train the "
                "model again."
            )

with tab_project:
    st.markdown("**Download the whole project**")
    st.caption(
        "One zip of readable JSON files: settings, tweets and splits, current labels, the full "
        "label history, zero-shot and model runs with their scores. Restore it on any install."
    )
    with_models = st.toggle(
        "Include trained model folders", key="ex_arch_models",
        help="Large: 90-500 MB per model, more than an upload here takes (200 MB by default).",
    )  # fmt: skip
    st.download_button(
        "Download the project", partial(export_project, store, project.id, include_models=with_models),
        file_name=archive_name(project), on_click="ignore", key="ex_dl_project", icon="⬇️",
    )  # fmt: skip
    st.markdown("**Restore a project from file**")
    archive = st.file_uploader("Project archive (.zip)", type=["zip"], key="ex_restore")
    if archive is not None and st.button("Restore as a new project", key="ex_restore_go"):
        with user_errors(), st.spinner("Restoring…"):
            restored = restore_project(store, archive.getvalue())
            st.session_state["ex_restored"] = restored.id
    restored_id = st.session_state.get("ex_restored")
    if restored_id and any(p.id == restored_id for p in store.projects.all()):
        new = store.projects.get(restored_id)
        st.success(f"Restored as “{plain(new.name)}” with {store.items.count(new.id):,} tweets.")
        if new.id != project.id and st.button("Open it", key="ex_open_restored"):
            select_project(new.id)
            st.rerun()
