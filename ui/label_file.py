"""Predict & export's "Label a file" tab: an uploaded file labelled by a trained model.

The file is identified by a hash of its whole content (an edited file of the same name is labelled
afresh), a file with no text column is never labelled by default, and files over
FILE_ROWS_LIMIT rows are sent to the command line, which does not hold up the page.
"""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from labeler.io.columns import detect_columns, no_text_column_message
from labeler.io.formats import SUPPORTED
from labeler.io.read import read_table
from labeler.io.write import to_bytes
from labeler.models.classifier import load_classifier, predict
from labeler.models.policy import ModelPolicy
from ui.common import show_error, user_errors
from ui.models import pick_trained_model

FILE_ROWS_LIMIT = 5000
FORMATS = [ext.lstrip(".") for ext in SUPPORTED]


@st.cache_resource(show_spinner=False, max_entries=2)
def _classifier(folder: str):
    return load_classifier(folder)


def label_file_tab(runs: list, policy: ModelPolicy) -> None:
    model = pick_trained_model(runs, "ex_file_model")
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
