"""Prototype for issue 16: a client-side card, measured by bench/client_card_speed.py.

Not the app's card. The browser holds the next few tweets and shows the next one itself on a key
press; every label travels as a numbered event in the component's state (the whole list of
events not yet acknowledged, so Streamlit coalescing two reruns loses none), and the server
applies the new ones once each by number, acknowledges them and sends the next few tweets. A key
pressed while the browser holds no tweet the person has seen is refused and counted on screen.
Tweet text goes into the page as textContent only: data, never markup. It trusts the item ids
the browser sends, which is fine for a bench on its own scratch table and not for the app: the
app's card must accept only the tweets it sent to that sitting, and only the project's labels.
"""

import os
import sqlite3

import streamlit as st

DB = os.environ["BARE_DB"]
AHEAD = 5
LABELS = ["AGAINST", "FAVOR", "NONE"]

JS = """
export default function ({ data, parentElement, setStateValue }) {
  const s = (parentElement.__card ||= { events: [], seq: 0, queue: [], refused: 0 });
  if (!s.text) {
    s.text = document.createElement("div");
    s.text.className = "tweet";
    s.text.style.fontSize = "1.6rem";
    s.note = document.createElement("div");
    s.note.className = "refused";
    parentElement.append(s.text, s.note);
  }
  s.data = data;
  s.events = s.events.filter((e) => e.seq > data.acked);
  const pending = new Set(s.events.map((e) => e.id));
  s.queue = data.items.filter((it) => !pending.has(it.id));
  const draw = () => {
    const d = s.data;
    s.text.textContent = s.queue.length ? s.queue[0].text : d.items.length ? "..." : "Nothing left";
    s.note.textContent = s.refused ? `${s.refused} key(s) ignored: no tweet on screen yet` : "";
  };
  draw();
  // one listener for the card's life (this function runs again on every new payload)
  if (!s.onKey) {
    s.onKey = (e) => {
      if (!/^[1-3]$/.test(e.key)) return;
      e.preventDefault();
      if (!s.queue.length) { s.refused += 1; draw(); return; }
      const it = s.queue.shift();
      s.seq = Math.max(s.seq, s.data.acked) + 1;
      s.events.push({ seq: s.seq, id: it.id, label: s.data.labels[Number(e.key) - 1] });
      draw();
      setStateValue("events", s.events.slice());
    };
    window.addEventListener("keydown", s.onKey, true);
  }
}
"""
card_component = st.components.v2.component("bench.client_card", js=JS, isolate_styles=False)


@st.fragment
def card() -> None:
    acked = st.session_state.setdefault("acked", 0)
    events = (st.session_state.get("ann_card") or {}).get("events") or []
    fresh = [e for e in events if e["seq"] > acked]
    with sqlite3.connect(DB) as conn:
        if fresh:
            conn.executemany(
                "UPDATE items SET label=? WHERE id=?", [(e["label"], e["id"]) for e in fresh]
            )
            acked = st.session_state["acked"] = max(e["seq"] for e in fresh)
        rows = conn.execute(
            "SELECT id, text FROM items WHERE label IS NULL ORDER BY id LIMIT ?", (AHEAD,)
        ).fetchall()
    card_component(
        key="ann_card",
        data={"items": [{"id": i, "text": t} for i, t in rows], "acked": acked, "labels": LABELS},
        on_events_change=lambda: None,
    )


card()
