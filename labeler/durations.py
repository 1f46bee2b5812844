"""How long something takes, as people read it: one formatter for the pages, the CLI and the jobs.

Pure Python (no torch, no streamlit), so anything may import it.
"""

from __future__ import annotations

import math

UNKNOWN = "?"


def format_duration(seconds: float | None, unknown: str = UNKNOWN) -> str:
    """'45 s', '3 min 05 s', '2 h 07 min'; `unknown` when there is no sensible number.

    None, NaN, infinities and negative values are unknown (an ETA before any rate is measured).
    """
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return unknown
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
