"""Nothing a person or a document wrote is ever run or rendered as code, in a real browser.

Files with hostile names and contents are uploaded through the Documents page; a question that repeats
them is asked on Compare (its four cards show the passages and their file names, the answers may quote
them); a model file with a hostile name sits in the catalogue. No dialog may open, no ``javascript:``
link may exist, no injected element may appear, and the hostile text must be on the page as text.
Uses the app, server and browser of ``test_browser.py`` (``bench/browser.py``).
"""

from __future__ import annotations

import os
import re
import time

import pytest

from bench.browser import chromium, serve

pytestmark = pytest.mark.slow

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = "[open me](javascript:alert(1))"
DOCUMENT = f"""# Vault {IMG}

The vault code is 4242. {SCRIPT} {LINK} <b>bold?</b> **strong?**

| cell-a | cell-b |
|--------|--------|
| {IMG} | {LINK} |

## Heading two {SCRIPT}
"""
HTML_PAGE = (
    "<html><body><h1>Archive</h1><p>The archive opens at 0700.</p>"
    "<script>alert(3)</script><a href='javascript:alert(3)'>archive link</a>"
    "<img src=x onerror=alert(3)></body></html>"
)
FILES = [
    (f"vault {IMG}.md", DOCUMENT, "text/markdown"),
    (f"{LINK}.txt", f"The backup code is 9191. {IMG} {LINK}\n", "text/plain"),
    ("archive.html", HTML_PAGE, "text/html"),
    (f"{LINK} <svg onload=alert(4)>.pdf", "%PDF-1.7 not a pdf at all", "application/pdf"),  # refused: name shown
]
QUESTION = f"What is the vault code? {IMG} {LINK} # Heading"


def _injected(page) -> dict[str, int]:
    """What would be there if any text had been rendered as HTML or Markdown, in every frame."""
    counts = {"javascript links": 0, "injected elements": 0, "scripts with alert": 0, "markdown rendered": 0}
    for frame in page.frames:
        counts["javascript links"] += frame.locator("a[href^='javascript:' i]").count()
        counts["injected elements"] += frame.locator("img[src='x'], svg[onload], [onerror], [onload]").count()
        counts["scripts with alert"] += frame.locator("script", has_text="alert(").count()
        counts["markdown rendered"] += frame.locator("h1, h2, h3", has_text="Heading").count()
        counts["markdown rendered"] += frame.locator("strong, b", has_text=re.compile(r"^(bold|strong)\?$")).count()
        counts["markdown rendered"] += frame.locator("a", has_text="open me").count()
    return counts


def test_hostile_names_contents_and_answers_stay_text(tmp_path):
    from playground.models.embedded import bundled_model_path

    started = time.perf_counter()
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    # A model whose file name is hostile: it is listed in the catalogue and the sidebar's pickers.
    os.symlink(bundled_model_path(), home / "models" / f"{LINK} {IMG}.gguf")
    dialogs: list[str] = []
    marks: dict[str, float] = {}  # seconds from the start to each step, for a failure's message
    with serve(home, warm_up=False) as (url, _), chromium(height=1600) as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url, timeout=120_000)
        page.get_by_role("button", name="New workspace").click(timeout=120_000)
        page.get_by_label("Name").fill("hostile")
        page.get_by_role("button", name="Create").click()
        page.get_by_text("no documents yet").wait_for(timeout=120_000)
        page.locator("input[type=file]").set_input_files(
            [{"name": name, "mimeType": mime, "buffer": text.encode()} for name, text, mime in FILES]
        )
        page.get_by_text("Added 3 file(s)").wait_for(timeout=120_000)
        page.get_by_text("was not added").wait_for()
        assert f"{LINK} <svg onload=alert(4)>.pdf" in page.locator("body").inner_text(), "the name is shown as text"
        clean = {"javascript links": 0, "injected elements": 0, "scripts with alert": 0, "markdown rendered": 0}
        assert _injected(page) == clean, "Documents"
        marks["documents"] = time.perf_counter() - started

        page.get_by_role("link", name="Compare").click()
        page.get_by_text("Workspace hostile:").wait_for(timeout=180_000)  # indexed
        marks["indexed"] = time.perf_counter() - started
        for name, least in (("Passages (top-k)", 1), ("Longest answer (tokens)", 16)):  # short prompts and answers
            page.get_by_role("slider", name=name).press("Home")
            page.wait_for_function(f"document.querySelector(\"input[aria-label='{name}']\").value == '{least}'")
        page.get_by_label("Question", exact=True).fill(QUESTION)
        page.get_by_label("Question", exact=True).press("Enter")
        page.get_by_role("button", name="Ask", exact=True).click()
        page.get_by_text("This session's questions (1)").wait_for(timeout=240_000)
        marks["answered"] = time.perf_counter() - started
        page.get_by_text("Sources (1)").first.wait_for()

        page.get_by_text("Show the exact prompt").first.click()  # a rerun: the answers are redrawn from the session
        page.get_by_text(f"Answers to: {QUESTION}").wait_for(timeout=60_000)
        page.get_by_text("The vault code is 4242.").first.wait_for(timeout=60_000)
        body = page.locator("body").inner_text()
        assert "The vault code is 4242." in body and SCRIPT in body, "document text is shown, as written"
        assert f"vault {IMG}.md" in body, "file names are shown, as written"
        assert "| cell-a | cell-b |" in body, "a Markdown table in a document stays text"
        assert _injected(page) == clean, "Compare"
        marks["compare"] = time.perf_counter() - started

        page.get_by_role("link", name="Models").click()
        page.get_by_text("Catalogue").wait_for(timeout=60_000)
        page.wait_for_timeout(500)
        page.get_by_role("combobox", name="Base model").click()  # the base model's choices: every model's name
        option = page.get_by_role("option").filter(has_text=f"{LINK} {IMG}".lower())
        assert option.count() == 1, "the model's name is listed, as written"
        assert _injected(page) == clean, "Models"
        page.keyboard.press("Escape")
    assert not dialogs, f"a script ran: {dialogs}"
    marks["end"] = time.perf_counter() - started
    assert marks["end"] < 240, {k: round(v, 1) for k, v in marks.items()}
