"""The Train page's form state: which widget shows which setting, and filling it from a run.

After a reload during training (a new session) the form must show the settings of the run that is
going, not the defaults: `show_settings_of` writes a run's params into the widgets' session state
before they are drawn.
"""

from __future__ import annotations

import streamlit as st

from labeler.errors import ModelError
from labeler.models.resolve import BUNDLED, default_train_model
from labeler.training.settings import TrainSettings
from ui.models import CUSTOM

# TrainSettings field -> the settings widget that shows it
WIDGETS = {
    "epochs": "tr_epochs",
    "learning_rate": "tr_lr",
    "batch_size": "tr_batch",
    "max_length": "tr_maxlen",
    "warmup": "tr_warmup",
    "head_epochs": "tr_head",
    "head_learning_rate": "tr_head_lr",
    "weight_decay": "tr_wd",
    "seed": "tr_seed",
    "class_weights": "tr_cw",
    "head_init": "tr_head_init",
    "average_epochs": "tr_average",
}


@st.cache_resource(show_spinner=False)
def gpu_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


@st.cache_resource(show_spinner=False)
def default_model() -> str:
    try:
        return default_train_model().spec
    except ModelError:
        return BUNDLED


def show_settings_of(run: dict, options: dict[str, str]) -> None:
    """Put a run's settings (its params) into the form, before the widgets are drawn."""
    params = run.get("params") or {}
    defaults = TrainSettings()
    for field, key in WIDGETS.items():
        if params.get(field) is not None:  # the widget's own type: 3 epochs, not 3.0
            st.session_state[key] = type(getattr(defaults, field))(params[field])
    st.session_state["tr_include"] = bool(params.get("include_accepted"))
    spec = params.get("model") or default_model()
    st.session_state["tr_model"] = spec if spec in options else CUSTOM
    st.session_state["tr_custom"] = "" if spec in options else spec
