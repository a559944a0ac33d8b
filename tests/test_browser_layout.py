"""Every page at a projector's 800 px, in dark mode: no button, label, tab or metric has its text cut.

Uses the app, server and browser of ``test_browser.py`` (``bench/browser.py``); one server, each page once.
Screenshots go to ``$PLAYGROUND_SCREENSHOTS`` when set, else to the test's temp folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.browser import chromium, serve

pytestmark = pytest.mark.slow

PAGES = {  # URL path -> a text the page shows once drawn
    "": "Ready: ",
    "documents": "document(s)",
    "models": "Models",
    "compare": "Ask",
    "claims": "Run all",
    "finetune": "Build dataset",
    "evaluate": "Run evaluation",
}
# The elements whose text must show whole: a cut one overflows its box (Streamlit ends it with "…").
CUT = """() => {
  const shown = ['button', '[role=tab]', 'label', '[data-testid=stMetricValue]', '[data-testid=stMetricLabel]']
    .flatMap((part) => [part, `${part} *`]).join(', ');  // the clipping box may be the text's parent
  const cut = [];
  for (const el of document.querySelectorAll(shown)) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || el.closest('[data-testid=stSidebar][aria-expanded=false]')) continue;
    const style = getComputedStyle(el);
    const clips = style.textOverflow === 'ellipsis' || style.overflowX === 'hidden' || style.overflow === 'hidden';
    if (clips && el.scrollWidth > el.clientWidth + 1 && el.innerText.trim()) cut.push(el.innerText.trim().slice(0, 80));
  }
  return cut;
}"""


def test_every_page_at_800_px_in_dark_mode_shows_every_label_whole(tmp_path):
    shots = Path(os.environ.get("PLAYGROUND_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    found = {}
    with serve(tmp_path / "home") as (url, _), chromium(width=800, height=1400) as page:
        page.emulate_media(color_scheme="dark")
        for path, ready in PAGES.items():
            page.goto(f"{url}/{path}")
            page.get_by_text(ready).first.wait_for(timeout=180_000)
            page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')", timeout=180_000)
            # Widgets are drawn lazily: a grey placeholder stands in until each one has loaded (and has a width)
            page.wait_for_function("!document.querySelector('[data-testid=stSkeleton]')", timeout=60_000)
            page.wait_for_timeout(500)  # the last widgets settle their width
            page.screenshot(path=str(shots / f"{path or 'home'}-800-dark.png"), full_page=True)
            found[path or "home"] = page.evaluate(CUT)
    assert not {name: cut for name, cut in found.items() if cut}, found
