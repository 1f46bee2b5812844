"""The Annotate card's browser half, as AppTest needs it: what the card was sent, and the events
ui/card.js sends back (numbered; every one not acknowledged goes with each update)."""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest

CARD = "tweet_labeler.annotate_card"


def card_data(at: AppTest) -> dict[str, Any] | None:
    """What the browser's card got on the last run (None: no card on the page)."""
    cards = [e for e in at.get("bidi_component") if e.proto.component_name == CARD]
    assert len(cards) <= 1
    return json.loads(cards[0].proto.json) if cards else None


def on_screen(at: AppTest) -> dict[str, Any]:
    """The tweet the card shows (the first it holds), as the browser got it."""
    data = card_data(at)
    assert data and data["items"], data
    return data["items"][0]


class Browser:
    """The events a person's card sends, numbered as ui/card.js numbers them."""

    def __init__(self, at: AppTest):
        self.at, self.events, self.seq = at, [], 0

    def send(self, *events: dict[str, Any], resend: bool = False) -> AppTest:
        """Send these events with the ones sent before (the server applies each once);
        `resend`: the earlier ones too, as a browser that missed the acknowledgement does."""
        for event in events:
            self.seq += 1
            self.events.append({"seq": self.seq, **event})
        acked = (card_data(self.at) or {}).get("acked", 0)
        pending = self.events if resend else [e for e in self.events if e["seq"] > acked]
        self.at.session_state["ann_card"] = {"events": list(pending)}
        self.at.run()
        assert not self.at.exception, self.at.exception
        return self.at

    def label(self, label: str, item: dict[str, Any] | None = None) -> AppTest:
        """Press a label's key on the tweet on screen (or on `item`)."""
        return self.send(
            {"kind": "label", "id": (item or on_screen(self.at))["id"], "label": label}
        )
