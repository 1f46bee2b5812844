"""Predict & export: label tweets with a trained model, download labels, models and the project."""

from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from labeler.comparison import trained_models
from labeler.io.formats import SUPPORTED
from labeler.jobs.runner import start_job
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
    require_manager,
    require_project,
    select_project,
    user_errors,
)
from ui.engine_choice import engine_params
from ui.jobs_panel import job_panel
from ui.label_file import label_file_tab
from ui.models import model_policy, pick_trained_model

in_app(__file__)

FORMATS = [ext.lstrip(".") for ext in SUPPORTED]


store = get_store()
project = require_project(store)
require_manager(store, project, "predict with its models and export it")
n_items = require_items(store, project)
policy = model_policy()  # on a server with sign-in on: no absolute paths on this page
st.title("📤 Predict & export")
name = slug(project)
runs = trained_models(store, project.id)
tab_job, tab_file, tab_get, tab_project = st.tabs(
    ["Label the project", "Label a file", "Download", "Whole project"]
)

with tab_job:
    model = pick_trained_model(runs, "ex_model")
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
        engine = engine_params("ex", total)
        if not total:
            st.info("Every tweet has a label already: choose All to compare the model with them.")
        if st.button("Label them", type="primary", disabled=live or not total, key="ex_predict"):
            with user_errors():
                params = {
                    "model_run": model["id"],
                    "scope": scope,
                    "labels": project.labels,
                    **engine,
                }
                start_job(store, project.id, "predict", params, total=total)
                st.rerun()
    done = store.runs.latest(project.id, "predict")
    if done is not None:
        per_label = store.predictions.label_counts(done["id"])  # counted in SQL, never loaded
        st.caption(
            f"Newest predictions: run #{done['id']:d}, {sum(per_label.values()):,} tweets, "
            f"{plain(done['model'] or '')}"
        )
        dist = pd.Series(per_label, dtype=int).reindex(project.labels, fill_value=0)
        st.plotly_chart(label_bars(dist, "Predicted labels"), width="stretch", key="ex_dist")
        st.page_link(PAGES["annotate"], label="Review them on Annotate", icon="✍️")

with tab_file:
    label_file_tab(runs, policy)

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
    model = pick_trained_model(runs, "ex_zip_model")
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
