"""Projects: create, pick, edit, delete; the overview and the next step."""

import pandas as pd
import streamlit as st

from labeler.overview import next_step, project_overview
from labeler.settings import DEFAULT_TEMPLATE, split_list
from ui.charts import label_bars
from ui.common import (
    PAGES,
    can_create_projects,
    can_manage,
    current_project,
    get_store,
    in_app,
    plain,
    select_project,
    user_errors,
)

in_app(__file__)

store = get_store()
project = current_project(store)

st.title("🏷️ Tweet Labeler")
st.caption(
    "Load tweets, get zero-shot pre-labels, correct them by hand, fine-tune a classifier, "
    "read its report, label the rest and export."
)
just_created = st.session_state.pop("home_created", None)  # said once, after the rerun
if just_created:
    st.success(
        f"Created project “{plain(just_created)}”. Next: import tweets on the Data page.", icon="✅"
    )


def project_form(key: str, values: dict) -> dict | None:
    with st.form(key):
        name = st.text_input("Name", value=values.get("name", ""))
        labels = st.text_input(
            "Labels (comma-separated)",
            value=", ".join(values.get("labels", [])),
            help="e.g. AGAINST, FAVOR, NONE",
            disabled=values.get("labels_locked", False),
        )
        target = st.text_input(
            "Target",
            value=values.get("target", ""),
            help="What the stance is about; fills {target} in the template, e.g. 'Joe Biden'.",
        )
        template = st.text_input(
            "Hypothesis template",
            value=values.get("template", DEFAULT_TEMPLATE),
            help="{} is replaced by each label's phrase, {target} by the target.",
        )
        phrases = st.text_input(
            "Phrase per label (comma-separated, same order)",
            value=", ".join(values.get("phrases", [])),
            help="Left empty: the labels in lower case.",
        )
        guidelines = st.text_area("Guidelines", value=values.get("guidelines", ""), height=120)
        share = st.slider(
            "Held-out share (test set, labelled blind)",
            0.0,
            0.5,
            value=float(values.get("heldout_share", 0.2)),
            step=0.05,
        )
        if not st.form_submit_button("Save", type="primary"):
            return None
    label_list = split_list(labels)
    return dict(
        name=name,
        labels=label_list,
        target=target,
        template=template,
        phrases=split_list(phrases) or [lab.lower() for lab in label_list],
        guidelines=guidelines,
        heldout_share=share,
    )


if project is not None:
    stats = project_overview(store, project.id)
    st.header(plain(project.name))
    cols = st.columns(5)
    cols[0].metric("Tweets", f"{stats['items']:,}")
    cols[1].metric("Labelled", f"{stats['labelled']:,}")
    cols[2].metric("Held-out labelled", f"{stats['heldout_labelled']:,} / {stats['heldout']:,}")
    cols[3].metric("Pre-labelled", f"{stats['prelabelled']:,}")
    cols[4].metric("Models trained", f"{stats['models']:,}")
    step = next_step(stats)
    st.info(f"**Next:** {plain(step.text)}")
    st.page_link(PAGES[step.stage], label="Go there", icon="➡️")
    if stats["per_label"]:
        counts = pd.Series({lab: stats["per_label"].get(lab, 0) for lab in project.labels})
        st.plotly_chart(label_bars(counts, "Labels so far"), width="stretch")
    with st.expander("Guidelines"):
        st.text(project.guidelines or "No guidelines yet: add them under Edit project.")

if not can_create_projects(store) and not (project and can_manage(store, project)):
    if project is None:
        st.info("You are on no project's roster yet: ask a project's owner to add you.")
    st.stop()  # an annotator: projects are created and changed by their owners, not here
tab_new, tab_edit, tab_delete = st.tabs(["New project", "Edit project", "Delete project"])
with tab_new:
    # A new form (new widget ids) after each creation: the next project starts from the defaults.
    generation = st.session_state.setdefault("home_new_generation", 0)
    form_key = "home_new" if not generation else f"home_new_{generation}"
    if not can_create_projects(store):
        st.info("Only an owner of every project can create projects.")
        values = None
    else:
        values = project_form(form_key, {"labels": ["AGAINST", "FAVOR", "NONE"]})
    if values is not None:
        with user_errors():
            created = store.projects.create(values.pop("name"), values.pop("labels"), **values)
            select_project(created.id)
            st.session_state["home_new_generation"] = generation + 1
            st.session_state["home_created"] = created.name
            st.rerun()

manager = project is not None and can_manage(store, project)
with tab_edit:
    if project is None:
        st.info("No project to edit yet.")
    elif not manager:
        st.info("Only the project's owner can edit it.")
    else:
        locked = store.items.count_labelled(project.id) > 0
        values = project_form("home_edit", {**project.__dict__, "labels_locked": locked})
        if values is not None:
            with user_errors():
                if locked:
                    values.pop("labels")
                    values["phrases"] = values["phrases"][: len(project.labels)]
                store.projects.update(project.id, **values)
                st.success("Saved.")
                st.rerun()

with tab_delete:
    if project is None:
        st.info("No project to delete.")
    elif not manager:
        st.info("Only the project's owner can delete it.")
    else:
        st.warning(
            f"Deleting “{plain(project.name)}” removes its {store.items.count(project.id):,} tweets, "
            "every label and every run. This cannot be undone: export first if in doubt."
        )
        typed = st.text_input("Type the project's name to confirm", key="home_delete_name")
        if st.button("Delete project", disabled=typed.strip() != project.name, key="home_delete"):
            store.projects.delete(project.id)
            st.query_params.pop("project", None)
            st.rerun()
