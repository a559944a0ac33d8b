"""Drive the real app in a real browser: ``streamlit run`` on a free port, Debian's Chromium via Playwright.

Shared by the browser test and the end-to-end benchmark, so both measure the same path a person takes:
open the app → open the sample workspace → ask an example question → four answers with sources.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("PLAYGROUND_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Quiet, offline Chromium: no background fetches, no GPU (there is none), sandbox off for root in CI.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


CARD_TESTID = "stVerticalBlock"  # a bordered st.container is a vertical block


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(home: Path, port: int | None = None, timeout_s: float = 120.0) -> Iterator[tuple[str, float]]:
    """Start ``streamlit run app.py`` with ``PLAYGROUND_HOME=home``; yield (url, seconds until healthy)."""
    port = port or free_port()
    env = {**os.environ, "PLAYGROUND_HOME": str(home), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.setdefault("OLLAMA_HOST", f"http://127.0.0.1:{free_port()}")  # nothing listens there: Ollama is down
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
        "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "streamlit.log", "wb")  # noqa: SIM115 (closed below, after the process)
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}: see {home / 'streamlit.log'}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    break
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError(f"streamlit did not answer /_stcore/health within {timeout_s:.0f} s")
            time.sleep(0.2)
        yield url, time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A Playwright page in Debian's Chromium (never a downloaded browser build)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (the Makefile does)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def ask_sample_question(page: Any, url: str, timeout_s: float = 240.0) -> dict[str, float]:
    """Open the app, open the sample workspace, ask its first example; wait for all four answers.

    Returns seconds from navigation to: the Compare page ready, and the four answers done.
    """
    timeout_ms = timeout_s * 1000
    started = time.perf_counter()
    page.goto(url, timeout=timeout_ms)
    page.get_by_role("button", name="Open the sample workspace").click(timeout=timeout_ms)
    ask = page.get_by_role("button", name="Ask", exact=True)
    ask.wait_for(timeout=timeout_ms)
    page.get_by_text("Workspace sample:").wait_for(timeout=timeout_ms)  # the index is open
    ready = time.perf_counter() - started
    ask.click()
    # The history appears after the last card finished and the cost chart was drawn.
    page.get_by_text("This session's questions (1)").wait_for(timeout=timeout_ms)
    return {"compare_ready_s": ready, "answered_s": time.perf_counter() - started}


def cards(page: Any) -> dict[str, str]:
    """The visible text of each answer card, by condition label."""
    out = {}
    for label in ("Base", "Base+RAG", "Fine-tuned", "Fine-tuned+RAG"):
        heading = page.get_by_role("heading", name=label, exact=True)
        out[label] = heading.locator(f"xpath=ancestor::div[@data-testid='{CARD_TESTID}'][1]").inner_text()
    return out
