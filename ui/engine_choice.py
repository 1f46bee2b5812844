"""Engine choice of the batch jobs (Pre-label, Predict): this machine, or a Ray cluster.

The cluster's address is the server's setting (TWEET_LABELER_RAY_ADDRESS, e.g. "auto" on a Ray
head node), never typed on a page: users of a shared server cannot point it at other hosts.
Without it the Ray engine is a private Ray on this server's cores.
"""

from __future__ import annotations

import streamlit as st

from labeler.distributed.engine import RAY_ADDRESS_ENV, ray_address, ray_available
from ui.common import plain

BIG = 50_000  # from here on the choice is offered first, open


def engine_params(prefix: str, n_items: int) -> dict:
    """The job parameters of the chosen engine: {} for this machine."""
    with st.expander("Engine", expanded=n_items >= BIG):
        if not ray_available():
            st.caption(
                "Runs on this machine. For millions of tweets install Ray "
                "(python3 -m pip install -r requirements-ray.txt) and restart the app."
            )
            return {}
        engine = st.radio(
            "Run on",
            ["local", "ray"],
            format_func={"local": "This machine", "ray": "Ray cluster"}.get,
            horizontal=True,
            key=f"{prefix}_engine",
        )
        if engine == "local":
            return {}
        address = ray_address()
        where = (
            f"Ray cluster at {address}."
            if address
            else f"A private Ray on this machine's cores; set {RAY_ADDRESS_ENV} to use a cluster."
        )
        st.caption(plain(where))
        actors = st.number_input(
            "Model copies (0 = one per GPU, or share the CPUs)", 0, 1024, 0, key=f"{prefix}_actors"
        )
        return {"engine": "ray", "actors": int(actors) or None}
