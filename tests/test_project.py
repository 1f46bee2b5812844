"""House rules a contributor could break without noticing: layering, lint, secrets of the UI."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import labeler

ROOT = Path(__file__).resolve().parents[1]


def test_core_never_imports_streamlit():
    modules = [
        m.name
        for m in pkgutil.walk_packages(labeler.__path__, prefix="labeler.")
        if not m.ispkg
        and not m.name.endswith("__main__")  # __main__ runs the CLI
        and ".migrations." not in m.name  # Alembic loads those itself, with its context
    ]
    assert "labeler.db.store" in modules and "labeler.zeroshot.nli" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('streamlit' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_store_settings_and_files_load_without_torch():
    """The Projects and Data pages and the CLI's store commands must not wait 2 s for torch."""
    light = ["labeler.settings", "labeler.db.store", "labeler.io.read", "labeler.io.prepare",
             "labeler.zeroshot.settings", "labeler.training.settings", "labeler.cli.main"]  # fmt: skip
    code = f"import importlib, sys\nfor m in {light!r}: importlib.import_module(m)\n"
    code += "print(sorted(m for m in ('torch', 'transformers', 'streamlit') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_ruff_finds_nothing():
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_tweet_text_is_never_rendered_as_html():
    offenders = [
        str(p.relative_to(ROOT))
        for p in [ROOT / "app.py", *ROOT.glob("pages/*.py")]
        if p.exists() and "unsafe_allow_html=True" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
