"""Key press to next tweet on screen, at 100k tweets, in headless Chromium.

Two apps in one run, on the same 100k-row data: Tweet Labeler's Annotate page (with zero-shot
suggestions and the least-confident queue) and a bare Streamlit fragment with three shortcut
buttons (bench/bare_fragment_app.py), the least a labelling page can do. Prints the median and
p95 latency from key press to the new tweet's text in the page, the ratio between the two, and
our server's share (label write + card rerun, shown by the card when TWEET_LABELER_TIMING=1).

    python bench/annotate_speed.py [--rows 100000] [--presses 40]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from store_bench import synthetic_tweets  # noqa: E402

from labeler.db.store import Store  # noqa: E402

CARD = ".st-key-ann_card [data-testid='stText']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(script: str, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            script,
            "--server.headless=true",
            f"--server.port={port}",
            "--server.fileWatcherType=none",
            "--browser.gatherUsageStats=false",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{script} did not start")


def measure(page, url: str, presses: int, server_share: list[float] | None) -> list[float]:
    page.goto(url)
    page.wait_for_selector(CARD, timeout=120_000)
    page.get_by_role("button", name="AGAINST").wait_for()
    page.wait_for_selector(IDLE)
    time.sleep(1.0)  # the first render settles (fonts, layout) before the clock starts
    page.locator(CARD).click()
    latencies = []
    for k in range(presses + 3):
        before = page.locator(CARD).inner_text()
        page.evaluate("() => { window.__t0 = performance.now(); }")
        page.keyboard.press(str(1 + k % 3))
        page.wait_for_function(
            "([sel, old]) => { const e = document.querySelector(sel);"
            " if (e && e.innerText !== old) { window.__t1 = window.__t1 || performance.now();"
            " return true; } return false; }",
            arg=[CARD, before],
            polling="raf",
            timeout=30_000,
        )
        elapsed = page.evaluate(
            "() => { const d = window.__t1 - window.__t0; window.__t1 = 0; return d; }"
        )
        page.wait_for_selector(IDLE)
        if k >= 3:  # the first presses warm caches and the websocket
            latencies.append(elapsed)
            if server_share is not None:
                caption = page.get_by_text(re.compile(r"^server: [\d.]+ ms$")).inner_text()
                server_share.append(float(caption.split()[1]))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--presses", type=int, default=40)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp())
    df = synthetic_tweets(args.rows)
    store = Store(tmp / "labeler.sqlite")
    project = store.projects.create("bench", ["AGAINST", "FAVOR", "NONE"])
    items = pd.DataFrame({"text": df["text"], "ext_id": df["id"]})
    store.items.import_frame(project.id, items)
    ids = store.items.texts(project.id)["id"].tolist()
    rng = random.Random(0)
    run_id = store.runs.create(project.id, "zeroshot", {"labels": project.labels}, model="bench")
    rows = []
    for i in ids:
        p = [rng.random() for _ in range(3)]
        s = sum(p)
        p = [x / s for x in p]
        j = max(range(3), key=p.__getitem__)
        rows.append((i, project.labels[j], p[j], p))
    store.predictions.put(run_id, rows)
    store.runs.update(run_id, status="done")
    bare_db = tmp / "bare.sqlite"
    with sqlite3.connect(bare_db) as conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, text TEXT, label TEXT)")
        conn.executemany("INSERT INTO items (text) VALUES (?)", [(t,) for t in df["text"]])

    ours, url_ours = serve(
        "app.py",
        {"TWEET_LABELER_HOME": str(tmp), "TWEET_LABELER_TIMING": "1", "HF_HUB_OFFLINE": "1"},
    )
    bare, url_bare = serve("bench/bare_fragment_app.py", {"BARE_DB": str(bare_db)})
    share: list[float] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            lat_ours, lat_bare = [], []
            for _ in range(2):  # interleaved halves: load drifts hit both apps alike
                lat_bare += measure(page, url_bare, args.presses // 2, None)
                lat_ours += measure(
                    page, f"{url_ours}/annotate?project={project.id}", args.presses // 2, share
                )
            browser.close()
    finally:
        ours.kill()
        bare.kill()

    def fmt(xs):
        return f"median {statistics.median(xs):6.1f} ms   p95 {sorted(xs)[int(0.95 * len(xs))]:6.1f} ms"

    print(f"items: {args.rows:,}; key presses measured per app: {len(lat_ours)}")
    print(f"bare fragment (baseline)     {fmt(lat_bare)}")
    print(f"Tweet Labeler Annotate       {fmt(lat_ours)}")
    print(
        f"ratio ours / bare (median)   {statistics.median(lat_ours) / statistics.median(lat_bare):.2f}"
    )
    print(f"our server share             {fmt(share)}")


if __name__ == "__main__":
    main()
