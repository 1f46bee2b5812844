"""A real `streamlit run app.py` for browser tests: start on a free port, wait for health, stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"  # screenshots and server logs (git-ignored)
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CARD = ".st-key-ann_card .tweet"  # the tweet on the card (ui/card.js)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_browser():
    """Playwright's sync API, or a module-level skip where Debian's chromium is missing (an
    error instead under TWEET_LABELER_REQUIRE_BROWSER, as in CI)."""
    import pytest

    if not CHROMIUM.exists():
        if os.environ.get("TWEET_LABELER_REQUIRE_BROWSER"):
            raise RuntimeError(
                "Chromium is required here (TWEET_LABELER_REQUIRE_BROWSER) but missing"
            )
        pytest.skip(
            "Debian's chromium is not installed (apt install chromium)", allow_module_level=True
        )
    return pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(playwright):
    """Debian's Chromium, headless (never a browser `playwright install` would download)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@contextmanager
def app_server(workspace: Path, log_path: Path, **env: str) -> Iterator[str]:
    """The app on `workspace`, its output in `log_path`; yields its URL."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    environ = {
        **os.environ,
        "TWEET_LABELER_HOME": str(workspace),
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
        f"--server.port={port}", "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise AssertionError("server did not start:\n" + log_path.read_text()[-3000:])
    try:
        yield url
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)


def idle(page, paint_s: float = 0.15) -> None:
    """The app's script has finished; a moment more lets the last delta paint."""
    page.wait_for_selector(IDLE, timeout=60_000)
    time.sleep(paint_s)
