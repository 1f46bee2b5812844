"""House rules a contributor could break without noticing: layering, lint, secrets of the UI."""

from __future__ import annotations

import ast
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


DRAWING = sorted([ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py")])


def _string_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level names bound once to a string literal (CARD_CSS = "<style>...")."""
    bound: dict[str, list] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    bound.setdefault(target.id, []).append(node.value)
    return {
        name: values[0].value
        for name, values in bound.items()
        if len(values) == 1
        and isinstance(values[0], ast.Constant)
        and isinstance(values[0].value, str)
    }


def _constant(expr: ast.expr, known: dict[str, str]) -> bool:
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, str)
    return isinstance(expr, ast.Name) and expr.id in known


def html_offenders(paths: list[Path]) -> list[str]:
    """st.html(...) and any call with unsafe_allow_html=True whose content is not a constant."""
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in paths}
    constants = {p: _string_constants(t) for p, t in trees.items()}
    offenders = []
    for path, tree in trees.items():
        known = dict(constants[path])
        for node in tree.body:  # names imported from another drawing module
            if isinstance(node, ast.ImportFrom) and node.module:
                source = ROOT / (node.module.replace(".", "/") + ".py")
                for alias in node.names:
                    if alias.name in constants.get(source, {}):
                        known[alias.asname or alias.name] = constants[source][alias.name]

        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            unsafe = [
                k
                for k in node.keywords
                if k.arg == "unsafe_allow_html"
                and not (isinstance(k.value, ast.Constant) and k.value.value is False)
            ]
            is_html = isinstance(node.func, ast.Attribute) and node.func.attr == "html"
            if not (unsafe or is_html):
                continue
            content = list(node.args) + [k.value for k in node.keywords if k.arg == "body"]
            if not content or not all(_constant(arg, known) for arg in content):
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
                offenders.append(f"{where}:{node.lineno}: {ast.unparse(node)[:100]}")
    return offenders


def test_no_user_string_is_ever_rendered_as_html():
    """HTML is only ever the app's own constants: in every module that draws (app.py, pages/,
    ui/), st.html and unsafe_allow_html=True take a string literal or a module constant."""
    assert {"app.py", "pages/annotate.py", "ui/annotate_card.py", "ui/common.py"} <= {
        str(p.relative_to(ROOT)) for p in DRAWING
    }
    assert html_offenders(DRAWING) == []


def test_the_html_guard_names_what_it_finds(tmp_path):
    page = tmp_path / "page.py"
    page.write_text(
        "import streamlit as st\n"
        "CSS = '<style>p {color: red}</style>'\n"
        "def f(project, c):\n"
        "    st.html(CSS)\n"
        "    st.markdown('<b>fixed</b>', unsafe_allow_html=True)\n"
        "    st.markdown(f'<b>{project.name}</b>', unsafe_allow_html=True)\n"  # 6
        "    c.markdown(project.guidelines, unsafe_allow_html=1)\n"  # 7
        "    st.html(f'<p>{project.name}</p>')\n"  # 8
        "    st.markdown(project.name, unsafe_allow_html=False)\n",
        encoding="utf-8",
    )
    assert [int(o.split(":")[1]) for o in html_offenders([page])] == [6, 7, 8]
