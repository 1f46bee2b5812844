"""Model pickers shared by the pages, and models cached once per server process."""

from __future__ import annotations

import json
import os

import streamlit as st

from labeler.comparison import model_name
from labeler.models.policy import ModelPolicy
from labeler.models.resolve import (
    CURATED_NLI,
    CURATED_TRAIN,
    hub_reachable,
    is_cached,
    resolve_model,
)
from labeler.zeroshot.settings import EMBEDDING_DISPLAY_NAME, ZeroShotSettings
from ui.common import PAGES, plain, user_errors

CUSTOM = "Custom: hub id or local folder"
NLI_ENV = "TWEET_LABELER_NLI_MODEL"


def availability(model_id: str) -> str:
    if is_cached(model_id):
        return "cached"
    return "on the hub" if hub_reachable() else "not available offline"


@st.cache_resource(show_spinner=False, max_entries=4)
def _load(key: str):
    from labeler.zeroshot.load import load_zeroshot  # torch: only when a model loads

    return load_zeroshot(ZeroShotSettings(**json.loads(key)))


def cached_zeroshot(settings: ZeroShotSettings):
    return _load(json.dumps(settings.__dict__, sort_keys=True))


def model_policy() -> ModelPolicy:
    """Which model folders this server lets the app read (all of them on a laptop)."""
    return ModelPolicy.from_env()


def folder_options(policy: ModelPolicy) -> dict[str, str]:
    """Model folders under TWEET_LABELER_MODEL_DIRS: folder -> name shown (never the path)."""
    return {path: f"{name} (model folder)" for path, name in policy.folders()}


def _custom_spec(label: str, key: str, policy: ModelPolicy) -> str:
    """A typed hub id or folder; on a server, "" (and the reason shown) when the policy
    refuses it, before anything reads that folder."""
    spec = st.text_input(plain(label), key=key).strip()
    if spec and policy.restricted:
        allowed = None
        with user_errors():
            allowed = resolve_model(spec, policy=policy)
        if allowed is None:
            return ""
    return spec


def model_choice(key: str = "pl") -> tuple[str, str]:
    """(method, model spec) picked by the user; offline method first when nothing else is here.
    The spec is "" when an NLI model is wanted but none is given (or the server refused it)."""
    policy = model_policy()
    configured = os.environ.get(NLI_ENV, "").strip()
    folders = folder_options(policy)
    options = ([configured] if configured else []) + [EMBEDDING_DISPLAY_NAME]
    options += [m.id for m in CURATED_NLI] + list(folders) + [CUSTOM]
    notes = {m.id: f"{m.id} — {m.size}; {availability(m.id)}" for m in CURATED_NLI}
    notes[EMBEDDING_DISPLAY_NAME] = f"{EMBEDDING_DISPLAY_NAME} — bundled, works offline"
    notes.update(folders)
    if configured:
        shown = policy.name_folder(configured) if os.path.isdir(configured) else configured
        notes[configured] = f"{shown} — configured NLI model ({NLI_ENV})"
    choice = st.selectbox(
        "Zero-shot model", options, format_func=lambda o: notes.get(o, o), key=f"{key}_model"
    )
    info = {m.id: m.note for m in CURATED_NLI}.get(choice)
    if info:
        st.caption(plain(info))
    if choice == EMBEDDING_DISPLAY_NAME:
        st.caption(
            "Offline method: cosine similarity of sentence embeddings, not NLI. Use an NLI "
            "model when you have one: it reads stance far better."
        )
        return "embedding", ""
    if choice == CUSTOM:
        return "nli", _custom_spec("Hub id or folder of an NLI model", f"{key}_custom", policy)
    return "nli", choice


def train_model_options(trained: dict[str, str] | None = None) -> dict[str, str]:
    """The base models the Train page offers: spec -> what the picker shows. `trained` maps the
    project's trained model folders to their names."""
    policy = model_policy()
    options = {m.id: f"{m.id} — {m.size}" for m in CURATED_TRAIN}
    options.update(folder_options(policy))
    options.update({path: f"{name} (trained here)" for path, name in (trained or {}).items()})
    options[CUSTOM] = CUSTOM
    return options


def train_model_choice(key: str = "tr", trained: dict[str, str] | None = None) -> str:
    options = train_model_options(trained)
    choice = st.selectbox("Base model", list(options), format_func=options.get, key=f"{key}_model")
    if choice == CUSTOM:
        return _custom_spec("Hub id or folder of an encoder", f"{key}_custom", model_policy())
    return choice


def pick_trained_model(runs: list, key: str) -> dict | None:
    """A trained model of the project to use, or a pointer to Train when there is none."""
    if not runs:
        st.info("No trained model yet: train one on the Train page.")
        st.page_link(PAGES["train"], label="Go to Train", icon="🏋️")
        return None
    by_id = {r["id"]: r for r in runs}
    return by_id[
        st.selectbox("Model", list(by_id), format_func=lambda i: model_name(by_id[i]), key=key)
    ]
