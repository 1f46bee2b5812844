// The Annotate card in the browser (ui/annotate_card.py, labeler/card.py). It holds the tweet on
// screen and a few behind it and shows the next one itself on a key press or click, so nobody
// waits for the server between tweets. Every action is a numbered event; every event the server
// has not acknowledged goes with each update (Streamlit may merge two updates into one rerun).
// A key pressed while the card holds no tweet (all sent, or an undo on its way) is refused and
// counted on screen. Every string from the server goes in as textContent: data, never markup.
export default function ({ data, parentElement, setStateValue }) {
  const s = (parentElement.__card ||= {
    events: [], seq: 0, queue: [], waiting: 0, shown: null, flash: "",
    ignored: 0, total: 0, timer: 0, serverSeen: null, labelsKey: "",
  });
  s.send = setStateValue;
  if (!s.root) build(s, parentElement);
  s.data = data;
  s.seq = Math.max(s.seq, data.acked);
  s.events = s.events.filter((e) => e.seq > data.acked);
  if (s.waiting && data.acked >= s.waiting) {
    s.waiting = 0;
    s.flash = data.note || s.flash;
  }
  const moved = new Set(
    s.events.filter((e) => e.kind === "label" || e.kind === "skip").map((e) => e.id)
  );
  s.queue = s.waiting ? [] : data.items.filter((it) => !moved.has(it.id)).map((it) => ({ ...it }));
  for (const e of s.events) { // notes set here and not acknowledged yet stay as set
    const it = s.queue.find((q) => q.id === e.id);
    if (it && e.kind === "unsure") it.unsure = e.value;
    if (it && e.kind === "comment") it.comment = e.text;
  }
  // a card drawn afresh (after the table or another page) still shows what was refused meanwhile
  if (s.serverSeen === null) s.serverSeen = data.refused - data.refused_new;
  if (data.refused > s.serverSeen) refuse(s, data.refused - s.serverSeen);
  s.serverSeen = data.refused;
  const key = JSON.stringify(data.labels);
  if (key !== s.labelsKey) {
    s.labelsKey = key;
    s.buttons.replaceChildren(...data.labels.map((label, j) =>
      button(label, j < 9 ? String(j + 1) : "", press(s, "label", label))
    ));
  }
  draw(s);
  if (!s.onKey) {
    s.onKey = (e) => onKey(e, s, parentElement);
    window.addEventListener("keydown", s.onKey, true);
  }
  return () => {
    window.removeEventListener("keydown", s.onKey, true);
    s.onKey = null;
  };
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label, shortcut, onClick) {
  const b = el("button", "tl-button");
  b.type = "button";
  b.append(el("span", "tl-label", label));
  if (shortcut) b.append(el("kbd", "", shortcut));
  b.addEventListener("click", onClick);
  return b;
}

function build(s, parent) {
  s.root = el("div", "tl-card");
  s.root.dataset.refused = "0";
  s.progress = el("div", "progress");
  s.tweet = el("div", "tweet");
  s.meta = el("div", "meta");
  s.buttons = el("div", "labels");
  const actions = el("div", "actions");
  s.skip = button("Skip", "S", press(s, "skip"));
  s.undo = button("Undo", "Z", press(s, "undo"));
  const unsure = el("label", "unsure");
  s.unsure = el("input");
  s.unsure.type = "checkbox";
  unsure.append(s.unsure, document.createTextNode(" Unsure"));
  s.comment = el("input", "comment");
  s.comment.type = "text";
  s.comment.placeholder = "Comment (saved on Enter)";
  s.comment.setAttribute("aria-label", "Comment");
  actions.append(s.skip, s.undo, unsure, s.comment);
  s.flashLine = el("div", "flash");
  s.notice = el("div", "notice");
  s.notice.setAttribute("role", "status");
  s.notice.setAttribute("aria-live", "polite");
  s.notice.hidden = true;
  s.root.append(s.progress, s.tweet, s.meta, s.buttons, actions, s.flashLine, s.notice);
  parent.append(s.root);
  s.unsure.addEventListener("change", () => {
    const it = s.queue[0];
    if (!it || s.waiting) { s.unsure.checked = !s.unsure.checked; return refuse(s, 1); }
    it.unsure = s.unsure.checked;
    s.unsure.blur(); // the label keys go on working after a click on the box
    push(s, { kind: "unsure", id: it.id, value: it.unsure });
    flush(s);
  });
  s.comment.addEventListener("change", () => { // Enter, or leaving the box
    const it = s.queue[0];
    if (!it || s.waiting || s.comment.value === it.comment) return;
    it.comment = s.comment.value;
    push(s, { kind: "comment", id: it.id, text: it.comment });
    s.flash = "Comment saved.";
    draw(s);
    flush(s);
  });
  s.comment.addEventListener("keydown", (e) => { if (e.key === "Enter") s.comment.blur(); });
}

// a click on a card button; the second click of a double-click is refused: one action per click
function press(s, kind, label) {
  return (e) => (e.detail > 1 ? refuse(s, 1) : act(s, kind, label));
}

function push(s, event) {
  s.seq += 1;
  s.events.push({ seq: s.seq, ...event });
}

// every event not acknowledged yet, with each update: Streamlit may merge two updates into one
function flush(s) {
  s.send("events", s.events.slice());
}

function act(s, kind, label) {
  if (kind === "undo") {
    push(s, { kind });
    s.waiting = s.seq;
    s.queue = [];
    s.flash = "Undoing your last label…";
  } else {
    if (s.waiting || !s.queue.length) {
      if (s.events.length) flush(s); // in case an update went missing
      return refuse(s, 1);
    }
    const it = s.queue.shift();
    push(s, kind === "label" ? { kind, id: it.id, label } : { kind, id: it.id });
    s.flash = kind === "label" ? `Labelled ${label}.` : "Skipped for now.";
  }
  draw(s);
  flush(s);
}

function onKey(e, s, parent) {
  if (!parent.isConnected || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
  const t = e.target;
  const typing = t && t.tagName === "INPUT" && !/^(checkbox|radio|button)$/.test(t.type);
  if (t && (typing || t.isContentEditable || /^(TEXTAREA|SELECT)$/.test(t.tagName))) return;
  const key = typeof e.key === "string" ? e.key.toLowerCase() : "";
  let kind = null, label;
  if (/^[1-9]$/.test(key)) {
    label = s.data.labels[Number(key) - 1];
    if (label === undefined) return;
    kind = "label";
  } else if (key === "s") kind = "skip";
  else if (key === "z") kind = "undo";
  else return;
  e.preventDefault();
  e.stopImmediatePropagation();
  if (e.repeat) return refuse(s, 1); // a key held down labels one tweet, not the next ones
  act(s, kind, label);
}

function refuse(s, n) {
  s.ignored += n;
  s.total += n;
  s.root.dataset.refused = String(s.total);
  const why = s.waiting || s.data.items.length ? "the card had not caught up" : "nothing left here";
  s.notice.textContent = `${s.ignored} key${s.ignored === 1 ? "" : "s"} ignored: ${why}`;
  s.notice.hidden = false;
  clearTimeout(s.timer);
  s.timer = setTimeout(() => { s.notice.hidden = true; s.ignored = 0; }, 2500);
}

function draw(s) {
  const d = s.data, it = s.queue[0];
  s.progress.textContent = d.progress;
  s.tweet.textContent = it ? it.text : s.waiting || d.items.length ? "…" : d.empty;
  s.tweet.dataset.item = it ? String(it.id) : "";
  s.meta.textContent = it ? it.meta : "";
  s.flashLine.textContent = s.flash;
  if (it && s.shown !== it.id) { // another tweet: its own note (coders stay blind to others')
    s.shown = it.id;
    s.unsure.checked = it.unsure;
    s.comment.value = it.comment;
  }
  s.unsure.disabled = s.comment.disabled = !it;
  if (!it) s.shown = null;
}
