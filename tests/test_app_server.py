"""The app server's settings that a key press's latency depends on (timings: bench/annotate_speed.py).

Streamlit's default full garbage collection after every script and fragment run held the GIL for
~100 ms in this process while the card's next tweet waited to be sent; the two guards against it
are checked here the way the server meets them: in a fresh process started in the repository.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _fresh_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_server_does_not_collect_every_object_after_each_run():
    out = _fresh_python(
        "import streamlit.config as c; c.get_config_options(force_reparse=True); "
        "print(c.get_option('runner.postScriptGC'), c.get_option('runner.fastReruns'))"
    )
    assert out == "False True"


def test_what_the_app_imports_is_kept_out_of_the_collectors_scans():
    frozen, tracked = _fresh_python(
        "import gc, ui.common; print(gc.get_freeze_count(), len(gc.get_objects()))"
    ).split()
    # the imports' objects (streamlit, pandas, SQLAlchemy, the store) are frozen, so a full
    # collection scans only what runs create
    assert int(frozen) > 50_000
    assert int(tracked) < int(frozen) / 10
