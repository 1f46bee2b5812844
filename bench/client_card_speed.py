"""Issue 16's next step, measured before it is built: a client-side card against the bare fragment.

bench/client_card_app.py (a prototype, not the app's card: the browser holds the next few tweets
and shows the next one itself; labels travel as numbered events) and the bare three-button
fragment of bench/annotate_speed.py, on the same generated tweets, interleaved turns in one
headless Chromium. Prints both latency distributions (key press -> next tweet on screen), then
presses 20 keys without waiting and checks every stored label against the tweet that was on
screen when its key went down, in press order, with the refused presses counted.

    python bench/client_card_speed.py [--rows 100000] [--presses 60] [--rounds 6]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from annotate_speed import IDLE, bare_table, measure, serve  # noqa: E402
from store_bench import synthetic_tweets  # noqa: E402

TWEET = ".st-key-ann_card .tweet"
LABELS = ["AGAINST", "FAVOR", "NONE"]


# registered before the app's scripts, so it sees the tweet on screen as each key goes down
KEY_LOG = """
window.__shown = [];
window.addEventListener("keydown", () => {
  const el = document.querySelector(".st-key-ann_card .tweet");
  window.__shown.push(el ? el.textContent : null);
}, true);
"""


def fast_keys(browser, url: str, db: Path, n: int = 20) -> str:
    """n keys without waiting for the server: what was stored, against what was on screen."""
    page = browser.new_page()
    page.add_init_script(KEY_LOG)
    page.goto(url)
    page.wait_for_selector(TWEET)
    page.wait_for_selector(IDLE)
    with sqlite3.connect(db) as conn:
        before = {i for (i,) in conn.execute("SELECT id FROM items WHERE label IS NOT NULL")}
    for k in range(n):
        page.keyboard.press(str(1 + k % 3))
    time.sleep(2.0)
    page.wait_for_selector(IDLE)
    shown = list(zip(page.evaluate("() => window.__shown"), [LABELS[k % 3] for k in range(n)]))
    refused_line = page.locator(".st-key-ann_card .refused").inner_text()
    page.close()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, text, label FROM items WHERE label IS NOT NULL").fetchall()
    stored = sorted((i, t, lab) for i, t, lab in rows if i not in before)
    on_screen = [(t, lab) for t, lab in shown if t not in ("...", "Nothing left")]
    agree = [(t, lab) for _, t, lab in stored] == on_screen
    return (
        f"{n} keys without waiting: {len(stored)} labels stored, each on the tweet on screen when "
        f"its key went down, in press order: {agree}; refused on screen: {refused_line or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp())
    texts = synthetic_tweets(args.rows)["text"].tolist()
    bare, url_bare = serve(
        "bench/bare_fragment_app.py", {"BARE_DB": str(bare_table(tmp / "b", texts))}
    )
    client_db = bare_table(tmp / "c", texts)
    client, url_client = serve("bench/client_card_app.py", {"BARE_DB": str(client_db)})
    lat = {"bare fragment": [], "client-side card": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run"],
            )  # fmt: skip
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            turn = args.presses // args.rounds
            for _ in range(args.rounds):
                lat["bare fragment"] += measure(page, url_bare, turn, None)[0]
                lat["client-side card"] += measure(page, url_client, turn, None, TWEET)[0]
            check = fast_keys(browser, url_client, client_db)
            browser.close()
    finally:
        bare.kill()
        client.kill()
    print(f"items: {args.rows:,}; key presses measured per app: {len(lat['bare fragment'])}")
    for name, xs in lat.items():
        cuts = " ".join(f"{c:4.0f}" for c in statistics.quantiles(xs, n=10))
        print(f"{name:17s} median {statistics.median(xs):6.1f} ms   deciles (ms) {cuts}")
    ratio = statistics.median(lat["client-side card"]) / statistics.median(lat["bare fragment"])
    print(f"ratio client / bare (median)  {ratio:.2f}")
    print(check)


if __name__ == "__main__":
    main()
