"""Train: fine-tune an encoder on the pool's human labels in a background job, scored on held-out."""

import streamlit as st

from labeler.comparison import model_name, models_table, trained_models
from labeler.jobs.runner import is_live, start_job
from labeler.models.resolve import BUNDLED, resolve_model
from labeler.training.plan import (
    HELP,
    estimate_seconds,
    label_counts,
    total_steps,
    training_problem,
)
from labeler.training.settings import HEAD_INITS, TrainSettings
from ui.charts import loss_curve
from ui.common import (
    PAGES,
    fmt_duration,
    get_store,
    in_app,
    plain,
    require_items,
    require_manager,
    require_project,
    user_errors,
)
from ui.jobs_panel import job_panel
from ui.models import model_policy, train_model_choice, train_model_options
from ui.train_form import default_model, gpu_available, show_settings_of

in_app(__file__)

SOURCES = {
    "bundled": "bundled with the app, works offline",
    "cache": "from this machine's Hugging Face cache",
    "hub": "downloaded from the model hub on first use",
    "local": "a model folder on this machine",
}
store = get_store()
project = require_project(store)
require_manager(store, project, "train its models")
require_items(store, project)
policy = model_policy()
st.title("🏋️ Train a classifier")
st.caption(
    "Fine-tunes a pre-trained encoder on the pool's human labels. Held-out tweets never train: "
    "they are the test set for every model and for zero-shot."
)
mine = {r["artifact_path"]: model_name(r) for r in trained_models(store, project.id)}
runs = store.runs.list(project.id, "train")
going = runs[0] if runs and is_live(runs[0]) else None
if going is not None:
    # A reload (a new session) or another person's run: the form shows what is training now.
    if st.session_state.get("tr_shown_run") != going["id"]:
        show_settings_of(going, train_model_options(mine))
        st.session_state["tr_shown_run"] = going["id"]
    st.info(
        f"Run #{going['id']:d} is training now, with the settings shown below (its own). "
        "A new run can start when it ends; its progress and Cancel are further down.",
        icon="⏳",
    )

left, right = st.columns([3, 2], gap="large")
with left:
    st.session_state.setdefault("tr_model", default_model())
    spec = train_model_choice("tr", trained=mine)
    resolved = None
    if spec:
        with user_errors():
            resolved = resolve_model(spec, policy=policy)
    if resolved is not None:
        st.success(
            f"Will train from {plain(resolved.display)}: {SOURCES[resolved.source]}.", icon="✅"
        )
        st.caption(f"Loaded from {plain(policy.describe(resolved))}")
    elif spec:
        st.info(f"Pick “{BUNDLED}” to train offline with the bundled model.")
with right:
    include = st.toggle(
        "Include accepted suggestions in training",
        key="tr_include",
        help="Pool tweets whose zero-shot or model suggestion was accepted in bulk. Never in "
        "the test set: only human (or imported) labels test.",
    )
    counts = label_counts(store, project, include)
    st.dataframe(counts, hide_index=True, width="stretch")
problem = training_problem(store, project, include, counts)
if problem:
    st.warning(plain(problem))
    st.page_link(PAGES["annotate"], label="Label tweets on Annotate", icon="✍️")
    if not int(counts["train (pool)"].iloc[-1]):
        st.stop()  # nothing to train on: the settings would only distract

d = TrainSettings()
st.subheader("Settings")
c = st.columns(5)
values = dict(
    epochs=c[0].number_input("Epochs", 1, 100, d.epochs, key="tr_epochs", help=HELP["epochs"]),
    learning_rate=c[1].number_input(
        "Learning rate",
        1e-7,
        0.5,
        d.learning_rate,
        step=1e-5,
        format="%.0e",
        key="tr_lr",
        help=HELP["learning_rate"],
    ),  # fmt: skip
    batch_size=c[2].number_input(
        "Batch size", 1, 512, d.batch_size, key="tr_batch", help=HELP["batch_size"]
    ),
    max_length=c[3].number_input(
        "Max length", 16, 512, d.max_length, step=16, key="tr_maxlen", help=HELP["max_length"]
    ),
    warmup=c[4].number_input(
        "Warmup", 0.0, 0.95, d.warmup, step=0.05, key="tr_warmup", help=HELP["warmup"]
    ),
    head_epochs=c[0].number_input(
        "Head epochs", 0, 100, d.head_epochs, key="tr_head", help=HELP["head_epochs"]
    ),
    head_learning_rate=c[1].number_input(
        "Head learning rate",
        1e-6,
        0.5,
        d.head_learning_rate,
        step=1e-4,
        format="%.0e",
        key="tr_head_lr",
        help=HELP["head_learning_rate"],
    ),  # fmt: skip
    weight_decay=c[2].number_input(
        "Weight decay", 0.0, 0.99, d.weight_decay, step=0.01, key="tr_wd", help=HELP["weight_decay"]
    ),
    seed=c[3].number_input("Seed", 0, 2**31 - 1, d.seed, key="tr_seed", help=HELP["seed"]),
    class_weights=c[4].toggle(
        "Class weights", d.class_weights, key="tr_cw", help=HELP["class_weights"]
    ),
    head_init=c[0].selectbox(
        "Head start",
        HEAD_INITS,
        HEAD_INITS.index(d.head_init),
        key="tr_head_init",
        help=HELP["head_init"],
    ),
    average_epochs=c[1].number_input(
        "Average last epochs",
        0,
        100,
        d.average_epochs,
        key="tr_average",
        help=HELP["average_epochs"],
    ),  # fmt: skip
)
settings = None
with user_errors():
    settings = TrainSettings(model=spec or None, **values)

n_train = int(counts["train (pool)"].iloc[-1])
live = job_panel(store, project.id, "train", unit="steps", rate_unit="tweets")
if settings is not None and resolved is not None and n_train:
    steps = total_steps(n_train, settings)
    past = [r for p in store.projects.all() for r in store.runs.list(p.id, "train")]
    secs, basis = estimate_seconds(n_train, settings, resolved, past, gpu=gpu_available())
    st.info(
        f"{n_train:,} tweets × ({settings.head_epochs:,} head + {settings.epochs:,} full) epochs "
        f"= {steps:,} steps. Estimated time: about {fmt_duration(secs)} — a rough estimate "
        f"({plain(basis)}); the progress bar gives the real pace once it starts.",
        icon="⏱️",
    )
ready = settings is not None and resolved is not None and not problem
if st.button("Start training", type="primary", disabled=live or not ready, key="tr_start"):
    with user_errors():
        params = {**settings.to_dict(), "include_accepted": bool(include)}
        start_job(
            store, project.id, "train", params, total=total_steps(n_train, settings),
            model=resolved.display,
        )  # fmt: skip
        st.rerun()


def _loss(run_id: int) -> None:
    run = store.runs.get(run_id)
    fig = loss_curve(run.get("log"))
    if fig is not None:
        st.caption(f"Run #{run_id:d} ({plain(run['status'])})")
        st.plotly_chart(fig, width="stretch", key="tr_loss_chart")


runs = store.runs.list(project.id, "train")
if runs:
    st.fragment(_loss, run_every=1.0 if is_live(runs[0]) else None)(runs[0]["id"])

st.subheader("Trained models")
models = trained_models(store, project.id)
if not models:
    st.info("No trained model yet: start one above. Cancelled or failed runs leave no model.")
else:
    table = models_table(models)
    table["folder"] = table["folder"].map(policy.name_folder)  # on a server: never a server path
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "macro-F1": st.column_config.NumberColumn(format="%.3f"),
            "accuracy": st.column_config.NumberColumn(format="%.3f"),
        },
        key="tr_models",
    )
    st.page_link(PAGES["evaluate"], label="See their reports on Evaluate", icon="📊")
