"""What every page needs: the store, the current project, the annotator, safe error display.

The current project lives in the URL (?project=ID) so a browser refresh or a shared link lands on
the same project; the annotator's name does too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from labeler.db.engine import default_url
from labeler.db.projects import Project
from labeler.db.store import Store, open_store
from labeler.durations import format_duration
from labeler.errors import LabelerError
from labeler.models.policy import ModelPolicy
from labeler.sample import ensure_sample

PAGES = {
    "home": "pages/home.py",
    "data": "pages/data.py",
    "prelabel": "pages/prelabel.py",
    "annotate": "pages/annotate.py",
    "train": "pages/train.py",
    "evaluate": "pages/evaluate.py",
    "export": "pages/export.py",
    "tokenizer": "pages/tokenizer.py",
}


def in_app(page_file: str) -> None:
    """Run this page inside app.py's navigation, also on a deep link to a fresh server.

    Until some session has run app.py, Streamlit serves /annotate by running pages/annotate.py
    alone in its legacy multipage mode (no sidebar, no project picker). Send such a run through
    app.py, which then switches to the page that was asked for, with its query parameters.
    """
    if st.session_state.get("app_nav"):
        return
    st.session_state["deep_link"] = (f"pages/{Path(page_file).name}", dict(st.query_params))
    st.switch_page("app.py")


def follow_deep_link() -> None:
    """Called by app.py once its navigation exists: finish what `in_app` started."""
    st.session_state["app_nav"] = True
    link = st.session_state.pop("deep_link", None)
    if link is not None:
        st.switch_page(link[0], query_params=link[1] or None)


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    store = open_store(url)
    ensure_sample(store)
    return store


def get_store() -> Store:
    """The server's store, or a sentence saying why it cannot be opened and an early stop."""
    try:
        return _store(default_url())
    except LabelerError as exc:
        show_error(f"The store cannot be opened: {exc}")
        st.stop()


def current_project(store: Store) -> Project | None:
    projects = store.projects.all()
    if not projects:
        return None
    wanted = st.query_params.get("project")
    for p in projects:
        if str(p.id) == wanted:
            return p
    st.query_params["project"] = str(projects[0].id)
    return projects[0]


def select_project(project_id: int) -> None:
    st.query_params["project"] = str(project_id)


def require_project(store: Store) -> Project:
    """The current project, or a sentence saying what to do and an early stop."""
    project = current_project(store)
    if project is None:
        st.info("No project yet: create one on the Projects page.")
        st.page_link(PAGES["home"], label="Go to Projects", icon="🏠")
        st.stop()
    return project


def require_items(store: Store, project: Project) -> int:
    n = store.items.count(project.id)
    if n == 0:
        st.info(f"Project “{plain(project.name)}” has no tweets yet: import some on the Data page.")
        st.page_link(PAGES["data"], label="Go to Data", icon="📥")
        st.stop()
    return n


def annotator() -> str:
    name = st.session_state.get("annotator") or st.query_params.get("annotator")
    return name or os.environ.get("TWEET_LABELER_ANNOTATOR", "annotator")


def sidebar(store: Store) -> None:
    """Project picker and annotator name, on every page."""
    projects = store.projects.all()
    with st.sidebar:
        if projects:
            current = current_project(store)
            names = {p.id: p.name for p in projects}
            # The URL is the source of truth (pages and forms change it); the widget follows it.
            st.session_state["sidebar_project"] = current.id
            st.selectbox(
                "Project",
                list(names),
                format_func=names.get,
                key="sidebar_project",
                on_change=lambda: select_project(st.session_state["sidebar_project"]),
            )
        name = st.text_input(
            "Your name (recorded with each label)", value=annotator(), key="sidebar_annotator"
        )
        if name.strip() and name.strip() != st.session_state.get("annotator"):
            st.session_state["annotator"] = name.strip()
            st.query_params["annotator"] = name.strip()


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: str) -> str:
    """A message as literal text inside Markdown-rendering widgets (st.error and friends):
    file names, URLs and cell values quoted in messages must not turn into links or markup."""
    return _MARKDOWN.sub(r"\\\1", text)


def show_error(text: str) -> None:
    """An error as literal text; on a server with sign-in on, without its absolute paths."""
    try:
        text = ModelPolicy.from_env().redact(text)
    except OSError:  # a workspace that cannot be created: nothing of it to hide
        pass
    st.error(plain(text), icon="⚠️")


@contextmanager
def user_errors() -> Iterator[None]:
    """Show the core's errors as a sentence on the page, never as a traceback."""
    try:
        yield
    except LabelerError as exc:
        show_error(str(exc))


def fmt_duration(seconds: float | None) -> str:
    return format_duration(seconds, unknown="—")
