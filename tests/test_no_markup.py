"""No user string is ever rendered as Markdown or HTML.

Project and label names, annotator names (from ?annotator=), external ids, file names, cell values
quoted in messages, guidelines and model names come from users. Streamlit renders Markdown in
st.markdown, st.write, st.caption, the alerts, headings, metrics, and every widget's label and
tooltip: a name such as `[link](http://evil.example)` would become a link, `![x](http://...)` a
remote image. Such text goes through `st.text`/`st.code`, or through `ui.common.plain` inside a
Markdown string.

Two checks: a static one over every module that draws (app.py, pages/*.py, ui/*.py), which names
file:line of each Markdown-rendering call whose text is not provably safe; and the pages walked
through AppTest with hostile names, reading what each element would render.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from labeler.db.store import Store, open_store
from tests.card_client import Browser, card_data, on_screen

ROOT = Path(__file__).resolve().parents[1]
DRAWING = sorted([ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py")])

# -- the static guard ---------------------------------------------------------------------------

EVERY = "every positional argument"
BODY = ((0,), ("body",))
LABEL = ((0,), ("label",))
# Streamlit calls -> (positions, keywords) of the arguments whose text renders as Markdown.
MARKDOWN_TEXT: dict[str, tuple] = {
    "markdown": BODY, "caption": BODY, "title": BODY, "header": BODY, "subheader": BODY,
    "success": BODY, "info": BODY, "warning": BODY, "error": BODY, "toast": BODY,
    "write": (EVERY, ()),
    "metric": ((0, 1, 2), ("label", "value", "delta")),
    "page_link": ((1,), ("label",)),
    "expander": LABEL, "popover": LABEL, "status": LABEL,
    "tabs": ((0,), ("tabs",)),
    "spinner": ((0,), ("text",)),
    "progress": ((1,), ("text",)),
    **{
        widget: LABEL
        for widget in (
            "button", "download_button", "form_submit_button", "link_button", "checkbox",
            "toggle", "radio", "selectbox", "multiselect", "text_input", "text_area",
            "number_input", "slider", "select_slider", "file_uploader", "date_input",
            "time_input", "color_picker", "pills", "segmented_control", "chat_input",
        )
    },
}  # fmt: skip
# Widgets whose options render Markdown too (a selectbox's options are plain text).
MARKDOWN_OPTIONS = {"radio", "pills", "segmented_control"}
# Receivers that are not Streamlit: `store.items.progress(project_id, who)` counts labels.
NOT_STREAMLIT = {"store"}

# Expressions that are provably not user strings (matched against `ast.unparse`). Keep it short.
ALLOWED = {
    r"fmt_duration\(.*\)": "ui.common.fmt_duration: a duration formatted from a number",
    r"HELP\['\w+'\]": "labeler.training.plan.HELP: the app's own help texts, constants",
    r"SOURCES\[resolved\.source\]": "pages/train.py's constant sentences, keyed by a fixed kind",
    r"BUNDLED": "labeler.models.resolve.BUNDLED, the bundled model's constant spec",
    r"_rows\(.*\)": "pages/data.py's count of rows: f'{n:,} row(s)'",
}
# A format spec that a str would refuse (`,` or `_` grouping, a numeric presentation type): the
# field is a number.
NUMERIC_SPEC = re.compile(r"[,_]|[bcdeEfFgGnoxX%]$")


class _Module:
    def __init__(self, path: Path):
        self.path = path
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    def scope(self, node: ast.AST) -> ast.AST:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                return node
        return self.tree

    def values_of(self, name: ast.Name, scope: ast.AST | None = None) -> list[ast.expr] | None:
        """Every value bound to `name` in its scope (assignments, +=, .append/.extend), else in
        the module (a global), or None when something else binds it (a parameter, a loop or
        `with` target, an import)."""
        scope = self.scope(name) if scope is None else scope
        found: list[ast.expr] = []
        params = scope.args if isinstance(scope, (ast.FunctionDef, ast.Lambda)) else None
        if params is not None and name.id in {
            a.arg for a in ast.walk(params) if isinstance(a, ast.arg)
        }:
            return None
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name.id for t in node.targets
            ):
                found.append(node.value)
            elif (
                isinstance(node, (ast.AugAssign, ast.AnnAssign))
                and getattr(node.target, "id", None) == name.id
            ):
                if node.value is not None:
                    found.append(node.value)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("append", "extend")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name.id
            ):
                found.extend(node.args)
            elif isinstance(node, (ast.For, ast.comprehension, ast.withitem, ast.NamedExpr)):
                target = getattr(node, "target", None) or getattr(node, "optional_vars", None)
                if target is not None and any(
                    isinstance(t, ast.Name) and t.id == name.id for t in ast.walk(target)
                ):
                    return None
        if not found and scope is not self.tree:
            return self.values_of(name, self.tree)
        return found or None


def _is_safe(module: _Module, expr: ast.expr | None, seen: frozenset = frozenset()) -> bool:
    """Whether `expr`'s text is free of user strings, or carries them only through plain()."""
    if expr is None or isinstance(expr, ast.Constant):
        return True
    source = ast.unparse(expr)
    if any(re.fullmatch(pattern, source) for pattern in ALLOWED):
        return True
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "plain":
        return True
    if isinstance(expr, ast.JoinedStr):
        for part in expr.values:
            if isinstance(part, ast.Constant):
                continue
            spec = "".join(
                v.value
                for v in getattr(part.format_spec, "values", [])
                if isinstance(v, ast.Constant)
            )
            if not (NUMERIC_SPEC.search(spec) or _is_safe(module, part.value, seen)):
                return False
        return True
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        return _is_safe(module, expr.left, seen) and _is_safe(module, expr.right, seen)
    if isinstance(expr, ast.IfExp):
        return _is_safe(module, expr.body, seen) and _is_safe(module, expr.orelse, seen)
    if isinstance(expr, ast.BoolOp):
        return all(_is_safe(module, v, seen) for v in expr.values)
    if isinstance(expr, (ast.List, ast.Tuple)):
        return all(_is_safe(module, e, seen) for e in expr.elts)
    if isinstance(expr, ast.Dict):
        return all(_is_safe(module, v, seen) for v in expr.values)
    if (  # "sep".join(parts): safe when the separator and every part are
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr == "join"
        and isinstance(expr.func.value, ast.Constant)
        and len(expr.args) == 1
    ):
        return _is_safe(module, expr.args[0], seen)
    if isinstance(expr, ast.Attribute) and expr.attr == "get" and isinstance(expr.value, ast.Dict):
        return _is_safe(module, expr.value, seen)  # format_func={...}.get
    if isinstance(expr, ast.Lambda):
        return _is_safe(module, expr.body, seen)
    if isinstance(expr, ast.Name):
        if expr.id in seen:
            return True  # x = x + "...": the other bindings decide
        values = module.values_of(expr)
        return values is not None and all(_is_safe(module, v, seen | {expr.id}) for v in values)
    return False


def _receiver_root(func: ast.Attribute) -> str | None:
    node: ast.expr = func.value
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _markdown_arguments(call: ast.Call) -> list[ast.expr]:
    if not isinstance(call.func, ast.Attribute) or _receiver_root(call.func) in NOT_STREAMLIT:
        return []
    name = call.func.attr
    found = [k.value for k in call.keywords if k.arg == "help"]  # tooltips render Markdown
    if name in MARKDOWN_TEXT:
        positions, keywords = MARKDOWN_TEXT[name]
        found += (
            list(call.args)
            if positions == EVERY
            else [a for i, a in enumerate(call.args) if i in positions]
        )
        found += [k.value for k in call.keywords if k.arg in keywords]
    if name in MARKDOWN_OPTIONS:
        found += call.args[1:2] + [
            k.value for k in call.keywords if k.arg in ("options", "captions", "format_func")
        ]
    return found


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def markup_offenders(paths: list[Path]) -> list[str]:
    offenders = []
    for path in paths:
        module = _Module(path)
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            for arg in _markdown_arguments(node):
                if not _is_safe(module, arg):
                    offenders.append(
                        f"{_name(path)}:{arg.lineno}: {node.func.attr}("
                        f"{ast.unparse(arg)[:80]}) renders Markdown: wrap the user part in plain()"
                    )
    return offenders


def test_every_module_that_draws_is_scanned():
    names = {str(p.relative_to(ROOT)) for p in DRAWING}
    assert {"app.py", "pages/home.py", "pages/data.py", "pages/export.py", "ui/common.py",
            "ui/annotate_card.py", "ui/jobs_panel.py", "ui/models.py"} <= names  # fmt: skip


def test_user_strings_reach_markdown_only_through_plain():
    assert markup_offenders(DRAWING) == []


def test_the_guard_catches_what_it_should(tmp_path):
    """The guard's own test: each unsafe shape is named, each safe one passes."""
    page = tmp_path / "page.py"
    page.write_text(
        "import streamlit as st\n"
        "from ui.common import plain\n"
        "def f(project, n, who, rows):\n"
        "    st.header(project.name)\n"  # 4: unsafe
        "    st.info(f'Project {project.name} has {n:,} tweets')\n"  # 5: unsafe
        "    st.caption(f'Project {plain(project.name)} has {n:,} tweets ({n / 3:.0%})')\n"
        "    c = st.columns(2)\n"
        "    c[0].metric('Tweets', n)\n"  # 8: unsafe (not provably a number)
        "    c[1].button(who, help=f'by {who}')\n"  # 9: unsafe twice
        "    meta = [f'#{n:d}']\n"
        "    meta.append(f'by {plain(who)}')\n"
        "    st.markdown(' · '.join(meta))\n"
        "    parts = [f'#{n:d}']\n"
        "    parts.append(who)\n"
        "    st.markdown(' · '.join(parts))\n"  # 15: unsafe
        "    for row in rows:\n"
        "        st.warning(row)\n"  # 17: unsafe
        "    store.items.progress(project.id, who)\n"
        "    st.text(who)\n"
        "    st.radio('Scope', ['a'], format_func={'a': f'All ({n:,})'}.get)\n"
        "    st.radio('Scope', ['a'], format_func=lambda o: who)\n",  # 21: unsafe
        encoding="utf-8",
    )
    lines = sorted(int(o.split(":")[1]) for o in markup_offenders([page]))
    assert lines == [4, 5, 8, 9, 9, 15, 17, 21]


# -- the pages, walked with hostile names --------------------------------------------------------

PROJECT = "**Bold** [link](http://evil.example) ![img](http://evil.example/x.png)"
ANNOTATOR = "<img src=x onerror=alert(1)>_x_"
LABELS = ["A*B", "FAVOR", "NONE"]
GUIDELINES = (
    "# Rules\n**Be bold**, read [this](http://evil.example/rules) ![x](http://evil.example/y.png)"
)
FILE = "[x](y).csv"
CELL = "**NOPE** [z](http://evil.example/z)"
MODEL = "[model](http://evil.example/m) **m**"
HOSTILE = [PROJECT, ANNOTATOR, "A*B", GUIDELINES, FILE, CELL, MODEL]

# Proto fields that Streamlit renders as Markdown: bodies, labels, tooltips, metric deltas,
# progress text. Text elements (st.text) and widgets' values and selectbox options are plain.
MARKDOWN_FIELDS = {"body", "label", "help", "delta", "text"}
PLAIN_ELEMENTS = {"text", "code", "exception"}
LINK = re.compile(r"(?<!\\)\]\(")  # "](" with an unescaped "]": a Markdown link or image


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def _strings(message, prefix=""):
    for field, value in message.ListFields():
        values = value if field.type in (field.TYPE_STRING, field.TYPE_MESSAGE) and not isinstance(
            value, (str, bytes)) and not hasattr(value, "ListFields") else [value]  # fmt: skip
        for v in values:
            if isinstance(v, str):
                yield field.name, v
            elif hasattr(v, "ListFields"):
                yield from _strings(v, f"{prefix}{field.name}.")


def rendered(at: AppTest) -> list[tuple[str, str, bool]]:
    """(element type, text, rendered as Markdown?) for every string the page sends."""
    out = []
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None:
            continue
        kind = getattr(node, "type", "")
        for field, value in _strings(proto):
            markdown = kind not in PLAIN_ELEMENTS and (
                field in MARKDOWN_FIELDS or (kind == "radio" and field == "options")
            )
            out.append((kind, value, markdown))
    return out


def unescaped(text: str) -> str:
    """What a person reads of a Markdown string: backslash escapes removed (ui.common.plain)."""
    return re.sub(r"\\(.)", r"\1", text)


def assert_no_markup(at: AppTest) -> list[str]:
    """Every hostile string is shown only as text; returns what a person reads on the page."""
    assert not at.exception, at.exception
    seen = []
    for kind, value, markdown in rendered(at):
        if markdown:
            assert not LINK.search(value), f"{kind} renders a Markdown link or image: {value!r}"
            for hostile in HOSTILE:
                assert hostile not in value, f"{kind} renders {hostile!r} as Markdown: {value!r}"
            seen.append(unescaped(value))
        else:
            seen.append(value)
    return seen


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def shows(seen: list[str], text: str) -> bool:
    return any(text in s for s in seen)


@pytest.fixture
def hostile(workspace):
    """A session whose annotator, project, labels and guidelines are hostile Markdown."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["annotator"] = ANNOTATOR
    at.run()
    (name,) = [t for t in at.sidebar.text_input if t.label.startswith("Your name")]
    assert name.value == ANNOTATOR  # a widget's value: plain text
    store = open_store(workspace / "labeler.sqlite")
    project = store.projects.create(PROJECT, LABELS, guidelines=GUIDELINES, heldout_share=0.5)
    at.query_params["project"] = str(project.id)
    at.run()
    assert not at.exception, at.exception
    return at, store, project


def _upload(at: AppTest) -> AppTest:
    rows = ["id,text,label"]
    for i in range(24):
        label = CELL if i == 0 else {0: "A*B", 1: "FAVOR", 2: ""}[i % 3]
        rows.append(f"[e{i}](http://evil.example/e),tweet {i} about **things** {i * 7 % 5},{label}")
    at = goto(at, "data")
    at.file_uploader(key="data_upload").set_value((FILE, "\n".join(rows).encode(), "text/csv"))
    at.run()
    return at


def test_projects_page_shows_names_and_guidelines_as_text(hostile):
    at, _, _ = hostile  # app.py ran: the Projects page and the sidebar
    seen = assert_no_markup(at)
    assert shows(seen, PROJECT)  # the header and the delete warning
    assert GUIDELINES in [t.value for t in at.text]  # st.text: never Markdown


def test_data_page_quotes_file_names_and_cells_as_text(hostile):
    at, store, project = hostile
    at = _upload(at)
    seen = assert_no_markup(at)
    assert shows(seen, f"Preview of {FILE}")
    assert shows(seen, f"Project: {PROJECT}")
    assert shows(seen, "A*B, FAVOR, NONE")  # the label column's tooltip
    at.button(key="data_import").click().run()
    seen = assert_no_markup(at)
    assert shows(seen, "Imported 24 tweets")
    assert shows(seen, repr(CELL))  # the unknown label value, quoted in the warning
    assert store.items.count(project.id) == 24


def test_annotate_card_shows_annotator_labels_and_ids_as_text(hostile):
    at, store, project = hostile
    at = _upload(at)
    at.button(key="data_import").click().run()
    pool = store.items.texts(project.id, split="pool")["id"].tolist()
    run = store.runs.create(project.id, "zeroshot", {"labels": LABELS}, model=MODEL)
    store.predictions.put(run, [(int(i), "A*B", 0.9, [0.9, 0.05, 0.05]) for i in pool])
    store.runs.update(run, status="done")
    items = store.items.texts(project.id)
    tweet = items[(items["split"] == "pool") & items["label"].isna()].iloc[0]
    ext_id = store.items.get(int(tweet["id"]))["ext_id"]
    at = goto(at, "annotate")
    at.text_input(key="ann_search").set_value(tweet["text"]).run()  # that pool tweet on the card
    assert_no_markup(at)
    # the card's strings go to ui/card.js as they are and onto the page as text (textContent)
    card = on_screen(at)
    assert card["id"] == tweet["id"] and card["text"] == tweet["text"]
    assert f"by {ANNOTATOR}" in card_data(at)["progress"]
    assert card["meta"].startswith(f"#{ext_id} · suggestion: A*B (90%)")
    assert ext_id.startswith("[e")
    assert GUIDELINES in [t.value for t in at.text]  # the Guidelines popover: st.text
    assert card_data(at)["labels"] == LABELS
    Browser(at).label(LABELS[0])
    assert_no_markup(at)
    assert store.labels.history(project.id)["annotator"].iloc[-1] == ANNOTATOR


def _model_runs(store: Store, project, tmp_path: Path) -> None:
    """A finished model (its folder gone), zero-shot and prediction runs, named hostilely."""
    held = store.items.texts(project.id, split="heldout")
    rows = [(int(i), LABELS[k % 3], 0.8, [0.8, 0.1, 0.1]) for k, i in enumerate(held["id"])]
    for kind in ("zeroshot", "train", "predict"):
        run = store.runs.create(project.id, kind, {"labels": LABELS, "epochs": 1}, model=MODEL)
        store.predictions.put(run, rows)
        extra = {}
        if kind == "train":
            extra = dict(
                artifact_path=str(tmp_path / "[folder](x)"),
                metrics={"base_model": MODEL, "n_train": 3, "macro_f1": 0.5, "accuracy": 0.5},
            )
        store.runs.update(run, status="done", **extra)


def test_model_pages_show_model_names_and_folders_as_text(hostile, tmp_path):
    at, store, project = hostile
    at = _upload(at)
    at.button(key="data_import").click().run()
    _model_runs(store, project, tmp_path)
    seen = assert_no_markup(goto(at, "prelabel"))
    assert shows(seen, f"· {MODEL}")  # the results' heading
    assert "Phrase for A*B" in [unescaped(t.label) for t in at.text_input]
    assert_no_markup(goto(at, "train"))
    seen = assert_no_markup(goto(at, "evaluate"))
    assert shows(seen, f"({MODEL})")  # the zero-shot run, in the comparison's caption
    seen = assert_no_markup(goto(at, "export"))
    assert shows(seen, MODEL)  # the newest predictions' caption
    assert shows(seen, "[folder](x) is missing")  # the missing folder's warning
    assert_no_markup(goto(at, "tokenizer"))


def test_a_failed_runs_reason_is_text(hostile):
    at, store, project = hostile
    at = _upload(at)
    at.button(key="data_import").click().run()
    run = store.runs.create(project.id, "zeroshot", {"labels": LABELS}, model=MODEL)
    store.runs.update(run, status="failed", error=f"Model '{MODEL}' is not an NLI model.")
    seen = assert_no_markup(goto(at, "prelabel"))
    assert shows(seen, f"Run #{run} failed: Model '{MODEL}'")


def test_chart_text_is_never_plotly_html():
    """Plotly reads <b>, <a href=...> and <br> in tick labels and titles: user text is escaped."""
    from ui.charts import comparison_bars, confusion_heatmap, label_bars, score_bars

    tag = "<a href='http://evil.example'>L</a><br>&"
    bars = label_bars(pd.Series({tag: 3, "B": 1}), "Labels")
    assert list(bars.data[0].x) == [
        "&lt;a href='http://evil.example'&gt;L&lt;/a&gt;&lt;br&gt;&amp;",
        "B",
    ]
    heat = confusion_heatmap([[1, 0], [0, 1]], [tag, "B"])
    assert "<" not in "".join(map(str, heat.data[0].x)) + "".join(map(str, heat.data[0].y))
    assert "<" not in "".join(map(str, score_bars({tag: 0.7, "B": 0.3}).data[0].x))
    long = pd.DataFrame({"model": [f"Model #1 · {tag}"] * 2, "system": ["zero-shot", "fine-tuned"],
                         "items": [5, 5], "macro_f1": [0.4, 0.6]})  # fmt: skip
    assert all("<" not in str(x) for t in comparison_bars(long).data for x in t.x)


def test_the_browser_card_puts_strings_on_the_page_as_text_only():
    """ui/card.js draws tweets, labels, names and ids the server sends: as textContent only,
    never through an HTML sink (the e2e test also shows a script-bearing tweet literally)."""
    source = (ROOT / "ui" / "card.js").read_text(encoding="utf-8")
    assert "textContent" in source
    sinks = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "Fragment(")
    assert [s for s in sinks if s in source] == []
