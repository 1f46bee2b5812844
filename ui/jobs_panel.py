"""A background job's live panel: progress bar, rate, ETA, cancel; polls the store once a second.

The panel is a fragment that ticks while the job is alive; when the job ends it reruns the whole
page once so the results appear without a manual reload.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from labeler.db.store import Store
from labeler.jobs.runner import cancel_job, effective_status, is_live
from labeler.models.policy import ModelPolicy
from ui.common import fmt_duration, plain


def _latest(store: Store, project_id: int, kind: str) -> dict[str, Any] | None:
    runs = store.runs.list(project_id, kind)
    return runs[0] if runs else None


def _draw(store: Store, project_id: int, kind: str, unit: str, rate_unit: str) -> None:
    run = _latest(store, project_id, kind)
    key = f"job_seen_{kind}"
    if run is None:
        return
    status = effective_status(run)
    live = is_live(run)
    was_live = st.session_state.get(key) == run["id"]
    if live:
        st.session_state[key] = run["id"]
        total, done = run["total"] or 0, run["done"] or 0
        frac = done / total if total else 0.0
        rate = f"{run['rate']:.1f} {plain(rate_unit)}/s" if run.get("rate") else "measuring speed…"
        st.progress(
            min(frac, 1.0),
            text=f"{plain(run.get('message') or 'Working…')} — {done:,} of {total:,} · {rate} · "
            f"ETA {fmt_duration(run.get('eta_s'))}",
        )
        if st.button("Cancel", key=f"job_cancel_{kind}_{run['id']}"):
            cancel_job(store, run["id"])
            st.rerun()
        return
    if was_live:  # it just ended: redraw the whole page with its results
        st.session_state.pop(key, None)
        st.rerun(scope="app")
    if status == "failed":
        reason = ModelPolicy.from_env().redact(run.get("error") or "no reason recorded")
        st.error(f"Run #{run['id']:d} failed: {plain(reason)}", icon="⚠️")
    elif status == "stopped":
        st.warning(
            f"Run #{run['id']:d} stopped without finishing (its process is gone). Start it again"
            + (
                ": nothing half-trained was kept."
                if kind == "train"
                else ": finished parts are kept and it resumes from there."
            )
        )
    elif status == "cancelled":
        st.info(f"Run #{run['id']:d} was cancelled. {plain(run.get('message') or '')}")


def job_panel(
    store: Store, project_id: int, kind: str, unit: str = "tweets", rate_unit: str | None = None
) -> bool:
    """Draw the panel for the project's newest `kind` run; True while one is alive."""
    run = _latest(store, project_id, kind)
    live = run is not None and is_live(run)
    st.fragment(_draw, run_every=1.0 if live else None)(
        store, project_id, kind, unit, rate_unit or unit
    )
    return live
