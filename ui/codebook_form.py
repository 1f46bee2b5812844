"""The codebook editor on the Team page: per label a definition, include and exclude rules and
example tweets picked from the tweets that carry that label."""

from __future__ import annotations

import streamlit as st

from labeler.db.codebook import Entry
from labeler.db.projects import Project
from labeler.db.store import Store
from ui.common import plain, user_errors

EXAMPLE_CHOICES = 200  # labelled tweets offered per label
SNIPPET = 90


def _snippet(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= SNIPPET else one_line[: SNIPPET - 1] + "…"


def codebook_editor(store: Store, project: Project, who: str) -> None:
    book = store.codebook.current(project.id)
    predating = store.codebook.predating(project.id)
    if book.version:
        st.caption(
            f"Version {book.version:d} in force. Every label records the version it was given "
            "under; saving a change makes a new version."
        )
        if predating:
            st.warning(
                f"{predating:,} label(s) in effect were given under an older codebook version "
                "(or before it was written). Recheck them if the change matters.",
                icon="🕰️",
            )
    else:
        st.caption("No codebook yet. Write one: annotators open it on the card with the K key.")
    pages = store.items.page(project.id, where="labelled", limit=EXAMPLE_CHOICES * 4)
    with st.form("codebook_form"):
        entries: dict[str, Entry] = {}
        for label in project.labels:
            entry = book.entries[label]
            st.markdown(f"**{plain(label)}**")
            definition = st.text_area("Definition", entry.definition, key=f"cb_def_{label}")
            a, b = st.columns(2)
            include = a.text_area("Include when", entry.include, key=f"cb_inc_{label}")
            exclude = b.text_area("Exclude when", entry.exclude, key=f"cb_exc_{label}")
            mine = pages[pages["label"] == label].head(EXAMPLE_CHOICES)
            texts = dict(zip(mine["id"].astype(int), mine["text"], strict=True))
            texts.update(
                {i: t for i, t in zip(entry.examples, store.codebook.example_texts(
                    project.id, entry), strict=False)}
            )  # fmt: skip
            examples = st.multiselect(
                "Examples (tweets labelled with it)",
                list(texts),
                default=[i for i in entry.examples if i in texts],
                format_func=lambda i, t=texts: _snippet(t[i]),
                key=f"cb_ex_{label}",
            )
            entries[label] = Entry(definition, include, exclude, [int(i) for i in examples])
        if st.form_submit_button("Save codebook", type="primary"):
            with user_errors():
                version = store.codebook.save(project.id, entries, author=who)
                st.success(f"Codebook version {version:d} saved.")
    versions = store.codebook.versions(project.id)
    if len(versions):
        with st.expander(f"Versions ({len(versions):,})"):
            st.dataframe(versions, hide_index=True)
