import json
from tests.card_client import card_data
def test_dbg(app, store):
    app.switch_page("pages/annotate.py").run()
    held = card_data(app)["items"]
    print("sitting", app.session_state["ann_sitting"])
    app.session_state["ann_card"] = {"events": [{"seq": 1, "kind": "label", "id": held[0]["id"], "label": "FAVOR"}]}
    app.session_state["ann_mode"] = "Table"
    import ui.annotate_card as m
    app.run()
    print("EXC", app.exception); print("after", app.session_state["ann_sitting"], app.session_state["ann_card"] if "ann_card" in app.session_state else None)
