"""The annotation card's sitting: the tweets the browser holds, and the actions it sends back.

The browser holds the tweet on screen and a few behind it (AHEAD) and shows the next one itself
on a key press, so a person never waits for the server between tweets. Every action travels as a
numbered event ({"seq", "kind", "id", ...}); the browser sends every event the server has not
acknowledged with each update, so two updates merged into one lose none. The server applies each
event once, in number order, and only on a tweet it sent to this sitting and that is still held
there, and a label only if it is one of the project's; anything else is refused and counted, and
the card says so. Events are untrusted JSON: nothing in them is used unchecked.
"""

from __future__ import annotations

import secrets
from typing import Any

from .db.projects import Project
from .db.store import Store
from .db.team import TeamSettings

AHEAD = 4  # tweets the browser holds: the one on screen and three behind it
KINDS = ("label", "skip", "undo", "unsure", "comment")
COMMENT_MAX = 2_000
SEQ_GAP = 10_000  # the most events a browser can send ahead of the acknowledged one


def tab_token(given: Any = None) -> str:
    """The holder a card's leases name: the tab's own (kept in its address, so a reload is the
    same holder and gets its tweets back) when it is one of ours, else a new one."""
    if isinstance(given, str) and len(given) == 16 and all(c in "0123456789abcdef" for c in given):
        return given
    return secrets.token_hex(8)


def new_sitting(token: str | None = None) -> dict[str, Any]:
    """A sitting's state (kept in the session): `held`, the ids sent to the browser and not yet
    acted on, in order; `exclude`, those skipped or done in this sitting; `acked`, the newest
    event applied; `refused`, events refused so far and `reported`, those a payload carried;
    `token`, the holder its leases name (one person's two tabs are two holders) and `leased`,
    whether it holds leases now."""
    return {
        "held": [], "exclude": [], "acked": 0, "refused": 0, "reported": 0, "sig": None,
        "token": token or tab_token(), "leased": False,
        "project": None, "who": None, "keep_out": False,  # what the card was drawn for
    }  # fmt: skip


def _seq(event: Any) -> int | None:
    seq = event.get("seq") if isinstance(event, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def _fresh(events: Any, acked: int) -> list[dict[str, Any]]:
    """The events not applied yet, in number order. A number far ahead of the acknowledged
    one is not the browser's (it counts up by one): such events are ignored, so they cannot
    make the server skip the person's real events."""
    if not isinstance(events, list):
        return []
    fresh = [e for e in events if (seq := _seq(e)) is not None and acked < seq <= acked + SEQ_GAP]
    return sorted(fresh, key=lambda e: e["seq"])


def has_new(sitting: dict[str, Any] | None, events: Any) -> bool:
    """Whether the browser sent events this sitting has not applied (cheap: no store access)."""
    return bool(sitting and sitting.get("project") is not None and _fresh(events, sitting["acked"]))


def leave(store: Store, sitting: dict[str, Any]) -> None:
    """The card is off the screen (another page, the table, signed out) or starts over: the
    tweets it held go back to the team at once rather than when their leases run out (10
    minutes). The sitting keeps them otherwise: a key pressed as the table opened still counts,
    and the card shown again leases those still free before new ones."""
    if sitting["project"] is not None and sitting["leased"]:
        store.queue.release(sitting["project"], sitting["who"], sitting["token"])
        sitting["leased"] = False


def restart(
    store: Store, sitting: dict[str, Any], sig: str, project_id: int, who: str, keep_out: bool
) -> None:
    """The card starts over on another queue (filter, order, project or name changed)."""
    leave(store, sitting)
    sitting.update(
        held=[], exclude=[], sig=sig, project=project_id, who=who, keep_out=keep_out
    )  # fmt: skip


def _valid(event: Any, labels: list[str]) -> dict[str, Any] | None:
    """The event as the server will use it, or None when it is malformed."""
    if not isinstance(event, dict) or event.get("kind") not in KINDS:
        return None
    kind, item = event["kind"], event.get("id")  # its number was checked by _fresh
    if kind != "undo" and (not isinstance(item, int) or isinstance(item, bool)):
        return None
    if kind == "label" and event.get("label") not in labels:
        return None
    if kind == "unsure" and not isinstance(event.get("value"), bool):
        return None
    if kind == "comment" and not isinstance(event.get("text"), str):
        return None
    return event


def apply_events(
    store: Store, project: Project, sitting: dict[str, Any], events: Any
) -> dict[str, int]:
    """Apply the events newer than the sitting's acknowledged one, in number order, as the
    person the card was drawn for; returns how many labels were stored and how many events
    were refused."""
    done = {"labels": 0, "refused": 0}
    held: list[int] = sitting["held"]
    for raw in _fresh(events, sitting["acked"]):
        event = _valid(raw, project.labels)
        kind = event["kind"] if event else None
        if event is None or (kind != "undo" and event["id"] not in held):
            done["refused"] += 1  # malformed, or a tweet this sitting does not hold
            sitting["refused"] += 1
            sitting["acked"] = raw["seq"]
            continue
        # a write that fails raises before the event is acknowledged: the browser keeps it and
        # sends it again with its next update, and the events after it wait their turn
        _apply(store, project, sitting, event)
        sitting["acked"] = raw["seq"]
        done["labels"] += kind == "label"
    return done


def _apply(store: Store, project: Project, sitting: dict[str, Any], event: dict[str, Any]) -> None:
    """One valid event. `keep_out` (the sitting's): a labelled tweet stays out of this sitting's
    queue on filters where it would still be served (labelled, all...)."""
    held, who = sitting["held"], sitting["who"]
    kind, item_id = event["kind"], event.get("id")
    if kind == "label":
        store.labels.add(item_id, event["label"], annotator=who, source="human")
    elif kind == "unsure":
        store.team.set_note(item_id, who, unsure=event["value"])
        return
    elif kind == "comment":
        text = event["text"].replace("\x00", "")[:COMMENT_MAX]
        store.team.set_note(item_id, who, comment=text)
        return
    elif kind == "undo":
        undone = store.labels.undo(project.id, who)
        sitting["note"] = (
            "Nothing of yours to undo." if undone is None else "Undone: the tweet is back."
        )
        if undone is not None:  # the tweet comes back first
            held[:] = [undone, *(i for i in held if i != undone)]
            if undone in sitting["exclude"]:
                sitting["exclude"].remove(undone)
        return
    held.remove(item_id)  # a label or a skip: the card moves past it
    if (sitting["keep_out"] or kind == "skip") and item_id not in sitting["exclude"]:
        sitting["exclude"].append(item_id)


def refill(
    store: Store, project_id: int, who: str, sitting: dict[str, Any], queue: dict[str, Any]
) -> list[dict[str, Any]]:
    """The sitting's tweets: the held ones still in the queue first (one labelled from the
    table, deleted, or taken by a colleague after its lease ran out is dropped), topped up to
    AHEAD from the queue; leased to `who` in their own queue."""
    items = store.queue.take(
        project_id,
        AHEAD,
        hold=sitting["held"],
        exclude=sitting["exclude"],
        annotator=who,
        sitting=sitting["token"],
        **queue,
    )
    sitting["held"] = [int(it["id"]) for it in items]
    sitting["leased"] = bool(items)
    return items


def describe(
    store: Store,
    team: TeamSettings,
    item: dict[str, Any],
    who: str,
    run_id: int | None,
    source: str,
) -> dict[str, Any]:
    """One tweet as the browser shows it: its text, the line under it and the person's own
    note. Plain strings only: the browser puts them on the page as text, never markup."""
    mine = store.team.my_code(item["id"], who) or {}
    meta = [f"#{item['ext_id']}" if item.get("ext_id") else f"item {item['id']:d}"]
    # an overlap item is coded by several people, each blind to the others' labels
    blind = team.needed > 1 and team.is_overlap(item) and not mine.get("label")
    if item["split"] == "heldout":
        meta.append("held-out test item: labelled blind, no suggestion shown")
    elif team.hides_suggestion(item):
        meta.append(f"overlap item, coded by {team.needed:d} people: no suggestion shown")
    elif run_id is not None:  # the model's guess is a note beside the tweet
        suggestion = store.predictions.get(run_id, item["id"])
        if suggestion:
            meta.append(f"suggestion: {suggestion['label']} ({suggestion['score']:.0%})")
            if source:
                meta.append(f"from {source}")
    if mine.get("label"):
        meta.append(f"your label: {mine['label']}")
    if item.get("label") and not blind:
        meta.append(f"gold: {item['label']} ({item['label_source'] or ''})")
    return {
        "id": int(item["id"]),
        "text": item["text"],
        "meta": " · ".join(meta),
        "unsure": bool(mine.get("unsure")),
        "comment": mine.get("comment") or "",
    }


def progress_line(store: Store, project_id: int, who: str, n_items: int | None) -> str:
    counts = store.items.progress(project_id, who, items=n_items)
    return (
        f"{counts['labelled']:,} of {counts['items']:,} labelled, {counts['today']:,} today "
        f"and {counts['mine']:,} in all by {who} · held-out labelled: "
        f"{counts['heldout_labelled']:,}"
    )


def payload(
    store: Store,
    project: Project,
    who: str,
    sitting: dict[str, Any],
    queue: dict[str, Any],
    source: str = "",
    n_items: int | None = None,
) -> dict[str, Any]:
    """What the browser's card gets: the tweets it holds, the project's labels, the newest event
    applied, the server's refusals so far and the progress line."""
    items = refill(store, project.id, who, sitting, queue)
    reported, sitting["reported"] = sitting["reported"], sitting["refused"]
    team, run_id = store.team.settings(project.id), queue.get("run_id")  # once, not per tweet
    return {
        "items": [describe(store, team, it, who, run_id, source) for it in items],
        "labels": list(project.labels),
        "acked": sitting["acked"],
        "note": sitting.pop("note", ""),  # what the newest undo did
        "refused": sitting["refused"],
        "refused_new": sitting["refused"] - reported,  # since the last payload
        "progress": progress_line(store, project.id, who, n_items),
        "empty": (
            "Nothing left for you in this queue (tweets someone else is coding right now, or "
            "that have all the coders they need, are not shown). Change the filter in the "
            "sidebar, or train a model."
        ),
    }
