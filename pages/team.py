"""Team & codebook: who codes the project, how much is double-coded, and the codebook."""

import streamlit as st

from labeler.db.schema import ROLES
from labeler.db.team import MAX_CODERS
from ui.codebook_form import codebook_editor
from ui.common import annotator, can_manage, get_store, in_app, plain, require_project, user_errors

in_app(__file__)

store = get_store()
project = require_project(store)
st.title("👥 Team & codebook")
manager = can_manage(store, project)
who = annotator()
team = store.team.settings(project.id)

st.subheader("Progress per person")
progress = store.team.progress(project.id)
overlap_items = progress.attrs.get("overlap_items", 0)
if len(progress):
    st.dataframe(
        progress,
        hide_index=True,
        column_config={
            "annotator": "Person",
            "role": "Role",
            "codes": st.column_config.NumberColumn("Labels", format="%d"),
            "today": st.column_config.NumberColumn("Today", format="%d"),
            "overlap": st.column_config.NumberColumn("Overlap items coded", format="%d"),
            "overlap_share": st.column_config.ProgressColumn(
                "Share of the overlap set", format="percent", min_value=0.0, max_value=1.0
            ),
        },
    )
else:
    st.info("Nobody has labelled yet and the roster is empty.")
st.caption(
    f"The overlap set holds {overlap_items:,} tweets: every held-out tweet and "
    f"{team.overlap_share:.0%} of the pool. Each is coded by {team.needed:d} "
    f"{'person' if team.needed == 1 else 'people'}, blind to each other's labels"
    + (" and to the model's suggestion." if team.blind_suggestions else ".")
    + (
        ""
        if team.needed > 1
        else " With fewer than two annotators on the roster, one label per tweet is enough."
    )
)

if not manager:
    st.info("The project's owner manages the roster, the overlap set and the codebook.")
    st.stop()

st.subheader("Roster")
roster = store.users.roster(project.id)
with st.form("roster_add", clear_on_submit=True):
    a, b, c = st.columns([3, 2, 1], vertical_alignment="bottom")
    name = a.text_input("Name", placeholder="as they sign in, or as they type it on the card")
    role = b.selectbox("Role", ROLES, index=ROLES.index("annotator"))
    if c.form_submit_button("Add or change"):
        with user_errors():
            store.users.add_member(project.id, name, role)
            st.rerun()
if roster:
    names = [n for n, _ in roster]
    gone = st.selectbox("Remove from the roster", ["(nobody)", *names], key="team_remove")
    if gone != "(nobody)" and st.button(f"Remove {plain(gone)}", key="team_remove_go"):
        with user_errors():
            store.users.remove_member(project.id, gone)
            st.rerun()
st.caption(
    "Annotators label; an adjudicator also decides disputed tweets; an owner manages the "
    "project. Overlap tweets are coded by the roster's annotators. Labels already given stay."
)

st.subheader("Double coding")
with st.form("team_settings"):
    share = st.slider(
        "Share of the pool in the overlap set (all held-out tweets are in it too)",
        0.0, 1.0, team.overlap_share, 0.05,
    )  # fmt: skip
    k = st.number_input(
        "Coders per overlap tweet", 1, MAX_CODERS, team.coders_per_item,
        help="Capped by the number of annotators on the roster.",
    )  # fmt: skip
    blind = st.toggle(
        "Hide the model's suggestion on overlap tweets (no anchoring)", team.blind_suggestions
    )
    if st.form_submit_button("Save"):
        with user_errors():
            store.team.update(
                project.id, overlap_share=share, coders_per_item=int(k), blind_suggestions=blind
            )
            st.success("Saved: it applies to the next tweets given out.")

st.subheader("Codebook")
codebook_editor(store, project, who)
