"""Baseline for bench/annotate_speed.py: a bare Streamlit fragment with three shortcut buttons
over the same SQLite rows, doing the least a labelling app can (read one row, write one label)."""

import os
import sqlite3

import streamlit as st

DB = os.environ["BARE_DB"]


def label(item_id: int, lab: str) -> None:
    with sqlite3.connect(DB) as conn:
        conn.execute("UPDATE items SET label=? WHERE id=?", (lab, item_id))


@st.fragment
def card() -> None:
    conn = sqlite3.connect(DB)
    row = conn.execute(
        "SELECT id, text FROM items WHERE label IS NULL ORDER BY id LIMIT 1"
    ).fetchone()
    with st.container(key="ann_card"):
        st.text(row[1])
    for j, lab in enumerate(["AGAINST", "FAVOR", "NONE"]):
        st.button(
            lab, key=f"b{row[0]}_{j}", shortcut=str(j + 1), on_click=label, args=(row[0], lab)
        )


card()
