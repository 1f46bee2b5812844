"""The annotation card (a fragment: only it reruns on a key press) and table mode.

A label goes to the tweet that was on screen when its key was pressed, or nowhere, visibly:

- Each card-changing button (labels, Skip, Undo) carries the item it shows and the card it was
  drawn on (`card`: a number that changes whenever the card moves to another tweet). Its callback
  acts on that item, and only while that card is still the sitting's card; a press that reaches
  the server after the card moved on is refused and the card says so ("1 key ignored: ...").
- Streamlit runs fragment reruns one at a time and coalesces those requested meanwhile: presses of
  different buttons then reach their callbacks together, in widget order rather than press order,
  and two presses of one button merge into one. So the browser lets one card key (or click)
  through per drawing of the card (KEY_GATE_JS; the buttons' keys carry the drawing's number) and
  ignores, with a notice, the keys pressed before the next drawing is on screen.

Table mode keys every edit by the item id its row showed when drawn (the editor's key names the
rows it was drawn with), so a page that shifts under the person never moves a label.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

import streamlit as st

from labeler.db.codebook import as_text
from labeler.db.projects import Project
from labeler.db.store import Store
from labeler.errors import LabelerError
from labeler.jobs.learning import maybe_retrain
from ui.common import plain, show_error

CARD_CSS = """<style>
.st-key-ann_card [data-testid="stText"] { font-size: 1.6rem; line-height: 1.5; }
.st-key-ann_card { padding: 0.5rem 0.25rem; }
.st-key-ann_key_gate { display: none; }
[class*="st-key-ann_server_ignored_"] { display: none; }
</style>"""
SHORTCUTS = [str(i) for i in range(1, 10)]
# bench/annotate_speed.py: a file that gets the server's share of each card rerun (ms, one a line);
# kept off the page, where an element would be drawing work the bench measures
TIMING_LOG = os.environ.get("TWEET_LABELER_TIMING")
PAGE_ROWS = 50

# The browser's half of "one key per card": a key (1-9, S, Z) or click on a card button passes
# only if that button belongs to a newer drawing of the card than the last one that passed; it
# clicks the button now on screen itself (a just-replaced button's shortcut can still be bound
# for a frame). Static code: no user data is ever put into it.
KEY_GATE_JS = """
export default function () {
  const gate = (window.__annKeyGate ||= { sent: null, ignored: 0, total: 0, timer: 0 });
  const ACTION = /(?:^|\\s)st-key-ann_(label|skip|undo)_(\\d+)(?:_(\\d+))?(?=\\s|$)/;
  const parse = (el) => {
    const m = el && typeof el.className === "string" && el.className.match(ACTION);
    return m ? { kind: m[1], draw: m[2], j: m[3] } : null;
  };
  const find = (key) => {
    const kind = key === "s" ? "skip" : key === "z" ? "undo" : "label";
    const j = kind === "label" ? String(Number(key) - 1) : undefined;
    for (const el of document.querySelectorAll('[class*="st-key-ann_"]')) {
      const a = parse(el);
      if (!a || a.kind !== kind || a.j !== j) continue;
      const button = el.querySelector("button");
      if (button && !button.disabled && button.offsetParent !== null) return { draw: a.draw, button };
    }
    return null;
  };
  const refuse = () => {
    gate.ignored += 1;
    gate.total += 1;
    let note = document.getElementById("ann-key-notice");
    if (!note) {
      note = document.createElement("div");
      note.id = "ann-key-notice";
      note.setAttribute("role", "status");
      note.setAttribute("aria-live", "polite");
      Object.assign(note.style, {
        position: "fixed", top: "4.5rem", left: "50%", transform: "translateX(-50%)",
        zIndex: "1000100", padding: "0.5rem 1rem", borderRadius: "0.5rem",
        background: "#8a4b00", color: "#fff", font: "600 1rem sans-serif",
        boxShadow: "0 2px 10px rgba(0,0,0,.35)", pointerEvents: "none",
      });
      document.body.appendChild(note);
    }
    const n = gate.ignored;
    note.textContent = `${n} key${n === 1 ? "" : "s"} ignored: the card had not caught up`;
    note.dataset.total = String(gate.total);
    note.hidden = false;
    clearTimeout(gate.timer);
    gate.timer = setTimeout(() => { note.hidden = true; gate.ignored = 0; }, 2500);
  };
  const onKey = (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    const key = typeof e.key === "string" ? e.key.toLowerCase() : "";
    if (!/^([1-9]|s|z)$/.test(key)) return;
    const t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    const hit = find(key);
    if (!hit) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    if (hit.draw === gate.sent) return refuse();
    gate.sent = hit.draw;
    hit.button.click();
  };
  const onClick = (e) => {
    if (!e.isTrusted || !(e.target instanceof Element)) return;
    const button = e.target.closest("button");
    const a = button && parse(button.closest('[class*="st-key-ann_"]'));
    if (!a) return;
    if (a.draw === gate.sent) {
      e.preventDefault();
      e.stopImmediatePropagation();
      return refuse();
    }
    gate.sent = a.draw;
  };
  window.addEventListener("keydown", onKey, true);
  window.addEventListener("click", onClick, true);
  return () => {
    window.removeEventListener("keydown", onKey, true);
    window.removeEventListener("click", onClick, true);
  };
}
"""
_key_gate = st.components.v2.component("tweet_labeler.annotate_key_gate", js=KEY_GATE_JS)


def key_gate() -> None:
    """Mount the browser's key gate (invisible) next to the card."""
    _key_gate(key="ann_key_gate")


def _sitting() -> dict[str, Any]:
    return st.session_state.setdefault(
        "ann_sitting", {"current": None, "exclude": [], "sig": None, "card": 0, "draw": 0}
    )


def _move(sitting: dict[str, Any], current: int | None) -> None:
    """The card moves to another tweet (None: the queue's next): presses drawn before are stale."""
    sitting["current"] = current
    sitting["card"] += 1


def _advance(sitting: dict[str, Any], item_id: int, keep_out: bool) -> None:
    if keep_out and item_id not in sitting["exclude"]:
        sitting["exclude"].append(item_id)
    _move(sitting, None)


def _stale(card: int) -> bool:
    """Whether a press was made on a card that has moved on since; counted for the notice."""
    if card == _sitting()["card"]:
        return False
    st.session_state["ann_ignored"] = st.session_state.get("ann_ignored", 0) + 1
    st.session_state["ann_ignored_total"] = st.session_state.get("ann_ignored_total", 0) + 1
    return True


def _on_label(
    store: Store, project_id: int, item_id: int, card: int, label: str, who: str, keep_out: bool
) -> None:
    if _stale(card):
        return
    started = time.perf_counter()
    store.labels.add(item_id, label, annotator=who, source="human")
    st.session_state["ann_callback_s"] = time.perf_counter() - started
    maybe_retrain(store, project_id)  # every 10th new gold label: the live model refits
    st.session_state["ann_flash"] = f"Labelled {label}."
    _advance(_sitting(), item_id, keep_out)


def _on_skip(item_id: int, card: int) -> None:
    if _stale(card):
        return
    _advance(_sitting(), item_id, keep_out=True)
    st.session_state["ann_flash"] = "Skipped for now."


def _on_undo(store: Store, project_id: int, who: str, card: int) -> None:
    if _stale(card):
        return
    item_id = store.labels.undo(project_id, who)
    sitting = _sitting()
    if item_id is None:
        st.session_state["ann_flash"] = "Nothing of yours to undo."
        return
    if item_id in sitting["exclude"]:
        sitting["exclude"].remove(item_id)
    _move(sitting, item_id)
    st.session_state["ann_flash"] = "Undone: the tweet is back."


def _on_unsure(store: Store, item_id: int, who: str) -> None:
    store.team.set_note(item_id, who, unsure=bool(st.session_state.get("ann_unsure")))


def _on_comment(store: Store, item_id: int, who: str) -> None:
    store.team.set_note(item_id, who, comment=st.session_state.get("ann_comment", ""))


def _toggle_codebook() -> None:
    st.session_state["ann_codebook"] = not st.session_state.get("ann_codebook", False)


def _codebook_text(store: Store, project_id: int) -> str:
    book = store.codebook.current(project_id)
    examples = {
        label: store.codebook.example_texts(project_id, entry)
        for label, entry in book.entries.items()
    }
    return as_text(book, examples)


def _item(store: Store, item_id: int | None) -> dict[str, Any] | None:
    if item_id is None:
        return None
    try:
        return store.items.get(item_id)
    except LabelerError:  # deleted meanwhile
        return None


@st.fragment
def annotation_card(
    store: Store,
    project: Project,
    who: str,
    queue: dict[str, Any],
    source: str = "",
    n_items: int | None = None,
) -> None:
    """`source` says where the suggestions come from (kept out of `queue`: a retrain that
    changes it must not move the card); `n_items`, the project's tweets as the page counted them
    (a key press reruns only this fragment: counting 1M items each time took ~70 ms)."""
    started = time.perf_counter()
    sitting = _sitting()
    sig = repr(sorted(queue.items()))
    if sitting["sig"] != sig:
        sitting.update(exclude=[], sig=sig)
        _move(sitting, None)
    item = _item(store, sitting["current"])
    if item is None:
        # with the person's name: their own queue, and the tweet is leased to them
        item = store.queue.next(project.id, exclude=sitting["exclude"], annotator=who, **queue)
        if (item["id"] if item else None) != sitting["current"]:
            _move(sitting, item["id"] if item else None)
    sitting["draw"] += 1
    draw = sitting["draw"]  # in the buttons' keys: the browser's gate sees each new drawing
    card = sitting["card"]  # in their callbacks: which card they were pressed on

    counts = store.items.progress(project.id, who, items=n_items)
    line = [
        f"**{counts['labelled']:,} of {counts['items']:,} labelled**, {counts['today']:,} today "
        f"and {counts['mine']:,} in all by {plain(who)} · "
        f"held-out labelled: {counts['heldout_labelled']:,}"
    ]
    if flash := st.session_state.pop("ann_flash", None):
        line.append(f"_{plain(flash)}_")
    if ignored := st.session_state.pop("ann_ignored", 0):
        word = "key" if ignored == 1 else "keys"
        line.append(f"**:orange[{ignored:d} {word} ignored: the card had not caught up]**")
    # One markdown element for counter and last action: every element is paint time per key press.
    st.markdown(" · ".join(line))
    if total := st.session_state.get("ann_ignored_total", 0):
        # presses the server refused in this sitting, for tools that check every press is
        # accounted for (bench, browser tests): the count is in the hidden element's key
        with st.container(key=f"ann_server_ignored_{int(total):d}"):
            st.text(str(int(total)))
    if item is None:
        st.success(
            "Nothing left for you in this queue (tweets someone else is coding right now, or "
            "that have all the coders they need, are not shown). Change the filter in the "
            "sidebar, or train a model."
        )
        st.button(
            "Undo last label",
            key=f"ann_undo_{draw}",
            shortcut="Z",
            on_click=_on_undo,
            args=(store, project.id, who, card),
        )
        return

    item_id = item["id"]
    team = store.team.settings(project.id)
    mine = store.team.my_code(item_id, who) or {}
    if sitting.get("shown") != item_id:  # stable widgets (no remount per tweet) take its values
        st.session_state["ann_unsure"] = bool(mine.get("unsure"))  # one's own note only:
        st.session_state["ann_comment"] = mine.get("comment") or ""  # coders stay blind
        sitting["shown"] = item_id
    keep_out = queue.get("where") != "unlabelled"
    with st.container(border=True, key="ann_card"):
        st.text(item["text"])  # tweet text is data: never markdown, never HTML
    # names, ids and labels are the user's: plain() keeps them literal in this Markdown line
    meta = [f"#{plain(str(item['ext_id']))}" if item.get("ext_id") else f"item {item_id:d}"]
    # an overlap item is coded by several people, each blind to the others' labels
    blind = team.needed > 1 and team.is_overlap(item) and not mine.get("label")
    if item["split"] == "heldout":
        meta.append("held-out test item: labelled blind, no suggestion shown")
    elif team.hides_suggestion(item):
        meta.append(f"overlap item, coded by {team.needed:d} people: no suggestion shown")
    elif queue.get("run_id") is not None:
        # the model's guess is a note beside the tweet; every label button looks the same
        suggestion = store.predictions.get(queue["run_id"], item_id)
        if suggestion:
            meta.append(f"suggestion: **{plain(suggestion['label'])}** ({suggestion['score']:.0%})")
            if source:
                meta.append(f"from {plain(source)}")
    if mine.get("label"):
        meta.append(f"your label: **{plain(mine['label'])}**")
    if item.get("label") and not blind:
        meta.append(f"gold: **{plain(item['label'])}** ({plain(item['label_source'] or '')})")
    st.markdown(" · ".join(meta))

    # st.columns, one card button per column: with the buttons in one horizontal container the
    # fast-key browser test lost a press now and then (2 runs in 5), never with columns
    cols = st.columns(len(project.labels))
    for j, (col, label) in enumerate(zip(cols, project.labels)):
        col.button(
            plain(label),
            key=f"ann_label_{draw}_{j}",
            shortcut=SHORTCUTS[j] if j < 9 else None,
            on_click=_on_label,
            args=(store, project.id, item_id, card, label, who, keep_out),
            width="stretch",
        )
    _actions(store, project.id, item_id, who, card, draw)
    if st.session_state.get("ann_codebook"):
        with st.container(border=True, key="ann_codebook_text"):
            st.text(_codebook_text(store, project.id))  # the owner's words: plain text only
    if TIMING_LOG:
        spent = time.perf_counter() - started + st.session_state.pop("ann_callback_s", 0.0)
        with open(TIMING_LOG, "a", encoding="utf-8") as log:
            log.write(f"{spent * 1e3:.2f}\n")


def _actions(store: Store, project_id: int, item_id: int, who: str, card: int, draw: int) -> None:
    """Skip, Undo, Unsure, the comment and the codebook, in one row under the label buttons."""
    a, b, c, d, e = st.columns([1, 1, 1, 3, 1], vertical_alignment="center")
    a.button(
        "Skip",
        key=f"ann_skip_{draw}",
        shortcut="S",
        on_click=_on_skip,
        args=(item_id, card),
        width="stretch",
    )
    b.button(
        "Undo",
        key=f"ann_undo_{draw}",
        shortcut="Z",
        on_click=_on_undo,
        args=(store, project_id, who, card),
        width="stretch",
    )
    c.toggle("Unsure", key="ann_unsure", on_change=_on_unsure, args=(store, item_id, who))
    d.text_input(
        "Comment",
        key="ann_comment",
        on_change=_on_comment,
        args=(store, item_id, who),
        label_visibility="collapsed",
        placeholder="Comment (saved on Enter)",
    )
    # the button shows its shortcut itself: "Codebook (K)" was cut to "Codebook ..." beside it
    e.button("Codebook", key="ann_codebook_button", shortcut="K", on_click=_toggle_codebook)


# -- table mode ---------------------------------------------------------------------------------


def _unsaved(project_id: int) -> dict[int, str]:
    """Labels picked in the table and not saved yet, by item id (they outlive a redrawn table)."""
    return st.session_state.setdefault("ann_table_unsaved", {}).setdefault(project_id, {})


def _collect_edits(project_id: int) -> dict[int, str]:
    """Fold the drawn editor's edits into the unsaved labels: the editor reports row positions,
    which name the items its rows showed when it was drawn (kept with its key)."""
    unsaved = _unsaved(project_id)
    drawn = st.session_state.get("ann_table_drawn")
    if not drawn or drawn["project"] != project_id:
        return unsaved
    ids = drawn["ids"]
    edits = (st.session_state.get(drawn["key"]) or {}).get("edited_rows") or {}
    for row, values in edits.items():
        if "label" not in values or not 0 <= int(row) < len(ids):
            continue
        if values["label"] is None:
            unsaved.pop(ids[int(row)], None)
        else:
            unsaved[ids[int(row)]] = values["label"]
    return unsaved


def _fresh_editor() -> None:
    """The next table is a new editor: the browser drops the edits its old one still holds."""
    st.session_state["ann_table_version"] = st.session_state.get("ann_table_version", 0) + 1
    st.session_state["ann_table_drawn"] = None


def _on_save(store: Store, project_id: int, who: str) -> None:
    changes = _collect_edits(project_id)
    try:
        saved = store.labels.apply_edits(project_id, dict(changes), annotator=who)
        maybe_retrain(store, project_id)
    except LabelerError as exc:
        st.session_state["ann_table_error"] = str(exc)
        return
    changes.clear()
    _fresh_editor()
    st.session_state["ann_save_flash"] = f"Saved {saved:,} label(s)."


def _on_discard(project_id: int) -> None:
    _unsaved(project_id).clear()
    _fresh_editor()


def _on_accept(store: Store, project_id: int, run_id: int, who: str) -> None:
    threshold = st.session_state["ann_threshold"]
    accepted, audit = store.labels.accept_suggestions(project_id, run_id, threshold, annotator=who)
    _fresh_editor()
    st.session_state["ann_accept_flash"] = (
        f"Accepted {accepted:,}; {audit:,} queued for your audit (Show: "
        "'Accepted suggestions to audit')."
    )


def table_mode(store: Store, project: Project, who: str, queue: dict[str, Any]) -> None:
    run_id = queue.get("run_id")
    if run_id is not None:
        st.subheader("Accept confident suggestions")
        threshold = st.slider(
            "Accept every suggestion at or above", 0.5, 1.0, 0.9, 0.01, key="ann_threshold"
        )
        n = store.labels.acceptable(project.id, run_id, threshold)  # after any accept: what's left
        st.write(
            f"{n:,} unlabelled pool tweets would get their suggested label (stored as "
            "'accepted-suggestion'; held-out tweets are never touched; 5% are queued for audit)."
        )
        st.button(
            f"Accept {n:,} suggestions",
            disabled=n == 0,
            key="ann_accept",
            on_click=_on_accept,
            args=(store, project.id, run_id, who),
        )
        if done := st.session_state.pop("ann_accept_flash", None):
            st.success(plain(done))
    st.subheader("Correct many at once")
    page = st.number_input(
        f"Page ({PAGE_ROWS:d} tweets each)", min_value=1, value=1, key="ann_page"
    )
    unsaved = _collect_edits(project.id)
    df = store.items.page(
        project.id,
        where=queue["where"],
        label=queue["label"],
        search=queue["search"],
        run_id=run_id,
        offset=(page - 1) * PAGE_ROWS,
        limit=PAGE_ROWS,
    )
    if df.empty:
        st.info("No tweets match these filters.")
    else:
        if "suggestion" in df:  # held-out items are labelled blind
            blind = df["split"] == "heldout"
            df.loc[blind, ["suggestion", "confidence"]] = None
        picked = df["id"].map(unsaved)  # unsaved picks show on their tweets, wherever they are now
        df.loc[picked.notna(), "label"] = picked[picked.notna()]
        ids = [int(i) for i in df["id"]]
        digest = hashlib.blake2b(repr(ids).encode(), digest_size=6).hexdigest()
        key = f"ann_table_{st.session_state.get('ann_table_version', 0)}_{digest}"
        st.session_state["ann_table_drawn"] = {"project": project.id, "key": key, "ids": ids}
        # the tweet whole and the label beside it; the row's id and split at the far end
        columns = ["text", "label", "suggestion", "confidence", "split", "id"]
        view = df[[c for c in columns if c in df]]
        st.data_editor(
            view,
            key=key,
            hide_index=True,
            num_rows="fixed",
            width="stretch",
            height=36 + 6 * 96,  # six tweets at a time
            row_height=96,  # room for a whole tweet (up to 280 characters) to wrap
            disabled=[c for c in view.columns if c != "label"],
            column_config={
                "text": st.column_config.TextColumn("text", width=520),
                "label": st.column_config.SelectboxColumn(
                    "label", options=project.labels, width="small"
                ),
                "suggestion": st.column_config.TextColumn("suggestion", width="small"),
                "confidence": st.column_config.ProgressColumn(
                    "confidence", min_value=0, max_value=1, format="percent", width="small"
                ),
                "split": st.column_config.TextColumn("split", width="small"),
                "id": st.column_config.NumberColumn("id", width="small"),
            },
        )
    elsewhere = len(set(unsaved) - set(df["id"].astype(int)))
    save, discard = st.columns([1, 1])
    save.button(
        f"Save {len(unsaved):,} change(s)",
        disabled=not unsaved,
        key="ann_save_table",
        type="primary",
        on_click=_on_save,
        args=(store, project.id, who),
        width="stretch",
    )
    discard.button(
        "Discard unsaved changes",
        disabled=not unsaved,
        key="ann_discard_table",
        on_click=_on_discard,
        args=(project.id,),
        width="stretch",
    )
    if elsewhere:
        st.caption(f"{elsewhere:,} of the unsaved changes are on tweets not shown on this page.")
    if error := st.session_state.pop("ann_table_error", None):
        show_error(error)
    if done := st.session_state.pop("ann_save_flash", None):
        st.success(plain(done))
