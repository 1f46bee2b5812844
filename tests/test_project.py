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
        f"labeler.{m.name}"
        for m in pkgutil.walk_packages(labeler.__path__)
        if not m.ispkg and m.name != "__main__"  # __main__ runs the CLI
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('streamlit' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


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
