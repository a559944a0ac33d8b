"""The app in a real browser: ``streamlit run`` driven through Debian's Chromium by Playwright.

Screenshots go to ``$PLAYGROUND_SCREENSHOTS`` when set (the README's picture is made this way:
``PLAYGROUND_SCREENSHOTS=docs python -m pytest tests/test_browser.py``), else to the test's temp folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bench.browser import ask_sample_question, cards, chromium, serve

pytestmark = pytest.mark.slow


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("PLAYGROUND_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_newcomer_reaches_four_answers_with_sources_in_one_click_and_one_question(tmp_path, shots):
    with serve(tmp_path / "home") as (url, _), chromium(height=1900) as page:
        page.goto(url)
        page.get_by_text("Ready: ").wait_for(timeout=120_000)  # the embedded engine, on the home page
        page.screenshot(path=str(shots / "home.png"))

        ask_sample_question(page, url, timeout_s=420)
        text = cards(page)
        assert list(text) == ["Base", "Base+RAG", "Fine-tuned", "Fine-tuned+RAG"]
        for label, body in text.items():
            answer = body.split("\n\n")[2]  # heading, model caption, then the streamed answer
            assert len(answer.split()) >= 3, f"{label} card has no real answer: {body!r}"
            assert re.search(r"\d+\.\d\d s · first token \d+\.\d\d s · \d+ tok/s", body), label
        # The Base+RAG card opens its sources: real passages from the sample documents, with scores.
        assert "Sources (3)" in text["Base+RAG"] and "Sources (3)" in text["Fine-tuned+RAG"]
        assert re.search(r"\[1\] product_catalog\.pdf, page \d+ — score \d\.\d\d", text["Base+RAG"])
        assert "GALE-9" in text["Base+RAG"]
        assert page.locator("mark").count() > 0, "the spans the answer used are highlighted"
        page.get_by_text("Latency (s)").wait_for()  # the cost chart
        page.screenshot(path=str(shots / "compare.png"))
        assert (shots / "compare.png").stat().st_size > 50_000
