"""What every page needs: the store, the current project, the annotator, safe error display.

The current project lives in the URL (?project=ID) so a browser refresh or a shared link lands on
the same project. With sign-in off (TWEET_LABELER_AUTH, `ui/auth.py`) the annotator's name does
too; with sign-in on, the name is the signed-in person's only, and a person sees only the projects
whose roster has them (a global owner sees all).
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from labeler.card import apply_events, has_new, leave
from labeler.db.engine import default_url
from labeler.db.projects import Project
from labeler.db.store import Store, open_store
from labeler.db.users import Users
from labeler.durations import format_duration
from labeler.errors import LabelerError
from labeler.jobs.learning import maybe_retrain
from labeler.models.policy import ModelPolicy
from labeler.sample import ensure_sample
from labeler.team.auth import AuthMode

PAGES = {
    "home": "pages/home.py",
    "data": "pages/data.py",
    "prelabel": "pages/prelabel.py",
    "annotate": "pages/annotate.py",
    "train": "pages/train.py",
    "evaluate": "pages/evaluate.py",
    "export": "pages/export.py",
    "tokenizer": "pages/tokenizer.py",
    "team": "pages/team.py",
    "agreement": "pages/agreement.py",
    "adjudicate": "pages/adjudicate.py",
    "learning": "pages/learning.py",
}

# Once per server process (a module runs once): what the imports built lives as long as the
# process, so the collector stops scanning it. A full collection of these ~200k objects took
# ~100 ms, holding the GIL while a key press's new card waited to be sent
# (.streamlit/config.toml turns Streamlit's collection after every run off for the same reason).
gc.freeze()


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


def auth_mode() -> AuthMode:
    """The server's sign-in mode; a wrong TWEET_LABELER_AUTH stops every page with a sentence."""
    try:
        return AuthMode.from_env()
    except LabelerError as exc:
        show_error(str(exc))
        st.stop()


AUTH_USER = "auth_user"  # the signed-in name, set by ui.auth.require_sign_in on every run


def users_of(store: Store) -> Users:
    """The store's people, sessions and rosters."""
    return getattr(store, "users", None) or Users(store.db)


def visible_projects(store: Store) -> list[Project]:
    """Every project with sign-in off; else those the signed-in person may open."""
    projects = store.projects.all()
    if not auth_mode().signs_in:
        return projects
    allowed = users_of(store).projects_of(st.session_state.get(AUTH_USER))
    return projects if allowed is None else [p for p in projects if p.id in allowed]


def can_manage(store: Store, project: Project) -> bool:
    """Whether this person may change the project's labels, codebook, roster, held-out share,
    training and export: anyone with sign-in off, else its owners (and global owners)."""
    if not auth_mode().signs_in:
        return True
    return users_of(store).role_of(project.id, st.session_state.get(AUTH_USER)) == "owner"


def can_create_projects(store: Store) -> bool:
    """Anyone with sign-in off; else a global owner."""
    if not auth_mode().signs_in:
        return True
    user = users_of(store).get(st.session_state.get(AUTH_USER) or "")
    return bool(user and user.is_owner)


def require_manager(store: Store, project: Project, what: str = "change this") -> None:
    """Stop the page with a sentence unless this person may manage the project."""
    if can_manage(store, project):
        return
    owners = users_of(store).owners(project.id)
    ask = ", ".join(owners) if owners else "whoever runs this server"
    st.info(f"Only the project's owner can {plain(what)}; ask {plain(ask)}.")
    st.stop()


def current_project(store: Store) -> Project | None:
    projects = visible_projects(store)
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


def settle_card(store: Store, *, away: bool) -> None:
    """Apply the Annotate card's events the server has not applied yet, whatever this run
    draws: a person may open the table or another page a moment after their last key, and the
    events then come with that run instead of a card rerun (ui/card.js sends them with every
    run). They go to the project and person the card was drawn for. `away`: this run does not
    show the card, so the tweets it held go back to the team now."""
    sitting = st.session_state.get("ann_sitting")
    if sitting is None:
        return
    events = (st.session_state.get("ann_card") or {}).get("events")
    with user_errors():
        if has_new(sitting, events):
            project = store.projects.get(sitting["project"])
            done = apply_events(store, project, sitting, events)
            if done["labels"]:
                maybe_retrain(store, project.id)  # every 10th new gold label: the live model refits
        if away:
            leave(store, sitting)


def require_project(store: Store, *, card: bool = False) -> Project:
    """The current project, or a sentence saying what to do and an early stop (after storing
    any label the Annotate card sent with this run; `card`: this page may show the card, else
    the tweets the card held are given back)."""
    settle_card(store, away=not card)
    project = current_project(store)
    if project is None:
        if not can_create_projects(store):
            st.info("You are on no project's roster yet: ask a project's owner to add you.")
            st.stop()
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
    """The name each label carries. With sign-in on: the signed-in person's, nothing else (a
    `?annotator=` in the link is ignored); with it off: the sidebar's name or the link's."""
    if auth_mode().signs_in:
        name = st.session_state.get(AUTH_USER)
        if not name:  # app.py signs people in before any page runs: only a bare page gets here
            st.info("Sign in first.")
            st.stop()
        return name
    name = st.session_state.get("annotator") or st.query_params.get("annotator")
    return name or os.environ.get("TWEET_LABELER_ANNOTATOR", "annotator")


def sidebar(store: Store) -> None:
    """Project picker and annotator name (with sign-in on: who is signed in, and Sign out), on
    every page."""
    projects = visible_projects(store)
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
        if auth_mode().signs_in:
            from ui.auth import account  # ui.auth imports this module

            account(store)
            return
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
