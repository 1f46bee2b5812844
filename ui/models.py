"""Model pickers shared by the pages, and models cached once per server process."""

from __future__ import annotations

import json
import os

import streamlit as st

from labeler.models.resolve import CURATED_NLI, CURATED_TRAIN, hub_reachable, is_cached
from labeler.zeroshot.settings import EMBEDDING_DISPLAY_NAME, ZeroShotSettings

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


def model_choice(key: str = "pl") -> tuple[str, str]:
    """(method, model spec) picked by the user; offline method first when nothing else is here."""
    configured = os.environ.get(NLI_ENV, "").strip()
    options = ([configured] if configured else []) + [EMBEDDING_DISPLAY_NAME]
    options += [m.id for m in CURATED_NLI] + [CUSTOM]
    notes = {m.id: f"{m.id} — {m.size}; {availability(m.id)}" for m in CURATED_NLI}
    notes[EMBEDDING_DISPLAY_NAME] = f"{EMBEDDING_DISPLAY_NAME} — bundled, works offline"
    if configured:
        notes[configured] = f"{configured} — configured NLI model ({NLI_ENV})"
    choice = st.selectbox(
        "Zero-shot model", options, format_func=lambda o: notes.get(o, o), key=f"{key}_model"
    )
    info = {m.id: m.note for m in CURATED_NLI}.get(choice)
    if info:
        st.caption(info)
    if choice == EMBEDDING_DISPLAY_NAME:
        st.caption(
            "Offline method: cosine similarity of sentence embeddings, not NLI. Use an NLI "
            "model when you have one: it reads stance far better."
        )
        return "embedding", ""
    if choice == CUSTOM:
        spec = st.text_input("Hub id or folder of an NLI model", key=f"{key}_custom")
        return "nli", spec.strip()
    return "nli", choice


def train_model_choice(key: str = "tr") -> str:
    options = [m.id for m in CURATED_TRAIN] + [CUSTOM]
    notes = {m.id: f"{m.id} — {m.size}" for m in CURATED_TRAIN}
    choice = st.selectbox(
        "Base model", options, format_func=lambda o: notes.get(o, o), key=f"{key}_model"
    )
    if choice == CUSTOM:
        return st.text_input("Hub id or folder of an encoder", key=f"{key}_custom").strip()
    return choice
