"""Documents from the web read as a person reads them: a page's main content without its chrome, Markdown without
its image, link and markup lines, and a title that is the document's own. Pages are built here, as sites lay
them out, and read through the real code path (the bounded worker for HTML)."""

from __future__ import annotations

from pathlib import Path

import pytest

from playground import parsing
from playground.config import ChunkSettings
from playground.documents import chunk, load_bytes, load_folder
from playground.outline import Outline, title_of
from playground.parsing import MAIN_MIN_SHARE, Parser, read_here

ARTICLE = """
<article class="post">
  <h1>Calibrating the rain gauge</h1>
  <p class="byline">By Ines Verbeke, field engineer</p>
  <p>A tipping-bucket rain gauge drifts as its pivot wears, so every station's gauge is calibrated once a
  season. The procedure takes about forty minutes and needs a measuring cylinder, a stopwatch and a level.</p>
  <h2>Before you start</h2>
  <p>Clear the funnel of leaves and insects, and check that the gauge stands level on its mount: a tilt of
  two degrees changes the reading by almost one percent, more than the drift you are correcting.</p>
  <ul>
    <li>Measuring cylinder, 500 ml, class A</li>
    <li>Stopwatch with tenths of a second</li>
    <li>Spirit level, at least 20 cm long</li>
  </ul>
  <h2>Pouring the test volume</h2>
  <p>Pour exactly 500 ml through the funnel at a steady rate over ten minutes. Count the tips: a gauge with a
  0.2 mm bucket and a 200 cm² funnel should tip 125 times. Write the count in the station log.</p>
  <h2>Adjusting the stops</h2>
  <p>If the count is off by more than two tips, turn both stop screws by the same quarter turn, out for too
  many tips and in for too few, and pour again. Never adjust one screw alone: the bucket then tips unevenly.</p>
  <ol>
    <li>Loosen the lock nuts on both stop screws.</li>
    <li>Turn each screw a quarter turn in the same direction.</li>
    <li>Tighten the lock nuts and pour the test volume again.</li>
  </ol>
</article>
"""

CHROME = [
    "Skip to content",
    "Weatherlink Stations",
    "Products",
    "Pricing",
    "Sign in",
    "Related articles",
    "Replacing the anemometer cups",
    "Cleaning solar panels in winter",
    "Subscribe to our newsletter for monthly station tips",
    "We use cookies to improve your experience. Accept all or manage your preferences.",
    "© 2025 Weatherlink Stations BV · Privacy · Terms · Imprint",
]

PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Calibrating the rain gauge | Weatherlink Stations Blog</title>
<script>window.dataLayer = [];</script></head>
<body>
<div id="cookie-banner" class="cookie-consent"><p>{CHROME[9]}</p><button>Accept all</button>
<button>Manage preferences</button></div>
<header class="site-header">
  <a class="skip-link" href="#main">{CHROME[0]}</a>
  <div class="logo"><a href="/">{CHROME[1]}</a></div>
  <div class="menu"><ul><li><a href="/products">{CHROME[2]}</a></li><li><a href="/pricing">{CHROME[3]}</a></li>
  <li><a href="/login">{CHROME[4]}</a></li></ul></div>
</header>
<div class="layout">
  <main id="main">{ARTICLE}</main>
  <aside class="sidebar">
    <h3>{CHROME[5]}</h3>
    <ul><li><a href="/anemometer">{CHROME[6]}</a></li><li><a href="/solar">{CHROME[7]}</a></li></ul>
    <div class="newsletter"><p>{CHROME[8]}</p><form><input type="email"><button>Subscribe</button></form></div>
  </aside>
</div>
<footer class="site-footer"><p>{CHROME[10]}</p></footer>
</body></html>""".encode()


def test_a_pages_main_content_is_kept_with_its_headings_and_lists_and_its_chrome_is_dropped() -> None:
    loaded = load_bytes("rain-gauge.html", PAGE)
    assert loaded.ok, loaded.error
    text = loaded.documents[0].text
    for passage in ("A tipping-bucket rain gauge drifts", "Write the count in the station log.",
                    "Never adjust one screw alone"):  # fmt: skip
        assert passage in text
    assert text.startswith("# Calibrating the rain gauge\n")
    lines = text.splitlines()
    for heading in ("## Before you start", "## Pouring the test volume", "## Adjusting the stops"):
        assert heading in lines
    assert "- Stopwatch with tenths of a second" in lines
    assert "- Turn each screw a quarter turn in the same direction." in lines
    for chrome in CHROME:
        assert chrome not in text, chrome
    assert {"- Sign in", CHROME[9], CHROME[10]} <= set(loaded.dropped), "what was left out is recorded, as read"
    assert loaded.reading.startswith("main content: ")
    o = Outline(text, loaded.file_name)
    assert o.title == "Calibrating the rain gauge"
    assert o.section(text.index("Pour exactly")) == ["Pouring the test volume"]
    chunks = chunk([loaded], ChunkSettings(chunk_size=128, chunk_overlap=0))
    assert not any(c in n.text for n in chunks for c in CHROME), "no chunk is made of chrome"


def test_extraction_runs_in_the_bounded_worker() -> None:
    with Parser(max_text_chars=1024 * 1024, timeout_s=30, memory_mb=1024) as parser:
        parsed = parser.parse("html", PAGE)
        assert parsed.where == "worker" and parser.worker_pid is not None and parser.started == 1
    assert parsed.error is None and parsed.peak_mb is not None
    assert parsed.reading.startswith("main content: ") and CHROME[10] in parsed.dropped
    assert "Pour exactly 500 ml" in parsed.parts[0][1] and CHROME[9] not in parsed.parts[0][1]


THREAD = (
    b"""<!doctype html><html><head><title>Rain gauge keeps over-reading - Station forum</title></head><body>
<h1>Rain gauge keeps over-reading</h1>
<section id="comments" class="comments">"""
    + b"".join(
        b'<div class="comment"><p class="author">%s</p><p>%s</p></div>' % (who, said)
        for who, said in [
            (
                b"martijn_v",
                b"Since April my WS-140 reports about 8 percent more rain than the municipal gauge two streets "
                b"away. The funnel is clean and the mast is straight. Has anyone seen this?",
            ),
            (
                b"ines.field",
                b"Check the stop screws. A worn pivot lets the bucket tip early; a quarter turn outward on "
                b"both screws fixed the same drift on three of our stations.",
            ),
            (
                b"martijn_v",
                b"That was it: the left screw had backed out almost a full turn. After the calibration pour "
                b"the gauge tipped 125 times for 500 ml, exactly as the manual says.",
            ),
        ]
    )
    + b"</section></body></html>"
)


def test_a_page_where_extraction_finds_too_little_is_read_whole() -> None:
    """A forum thread, whose posts sit in the comments section an extractor leaves out: it finds almost
    nothing, so the whole page is read rather than nothing."""
    loaded = load_bytes("thread.html", THREAD)
    assert loaded.ok, loaded.error
    text = loaded.documents[0].text
    assert loaded.reading.startswith("whole page (main-content extraction kept"), loaded.reading
    assert f"under {MAIN_MIN_SHARE:.0%}" in loaded.reading and loaded.dropped == []
    assert text.splitlines()[:3] == [
        "Rain gauge keeps over-reading - Station forum",
        "",
        "# Rain gauge keeps over-reading",
    ]
    assert title_of(text, loaded.file_name) == "Rain gauge keeps over-reading", "the page's heading, not its <title>"
    assert "a quarter turn outward on both screws fixed the same drift" in text
    assert "the gauge tipped 125 times for 500 ml" in text


def test_a_short_page_is_read_whole_and_a_failing_extractor_costs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    short = read_here("html", b"<p>Still read after the trouble.</p>", 1024 * 1024)
    assert short.parts == [(None, "Still read after the trouble.")] and short.reading.startswith("whole page")

    def broken(data: bytes) -> str:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(parsing, "_extract_main", broken)
    parsed = read_here("html", PAGE, 1024 * 1024)
    assert parsed.error is None
    assert parsed.reading == "whole page (main-content extraction failed: RecursionError)"
    assert CHROME[10] in parsed.parts[0][1] and "Pour exactly 500 ml" in parsed.parts[0][1]


SAVED_MARKDOWN = """![Rain gauge on a mast](/_next/image?url=%2Fimages%2Fgauge.jpg&w=3840&q=75)

Build awareness and adoption for your software startup with Weatherlink

[Home](/) | [Blog](/blog) | [Pricing](/pricing) | [Sign in](/login)

[![Build status](https://ci.example/badge.svg)](https://ci.example) [![Licence](https://img.example/mit.svg)](LICENSE)

# Calibrating the rain gauge

<div align="center">

A tipping-bucket rain gauge drifts as its pivot wears, so every station's gauge is calibrated once a season.
The procedure takes about forty minutes; see [the station log](log.md) for the form to fill in.

</div>

---

## Pouring the test volume

Pour exactly 500 ml through the funnel at a steady rate over ten minutes.

```
tips = 500 / (0.2 * 20)
---
```

Field notes
-----------

Count the tips twice.

[log]: https://example.com/log.md
https://example.com/rain-gauge
"""


def test_markdown_from_the_web_loses_its_image_link_and_markup_lines_and_keeps_its_own_title() -> None:
    loaded = load_bytes("rain-gauge.md", SAVED_MARKDOWN.encode())
    assert loaded.ok, loaded.error
    text = loaded.documents[0].text
    assert text.startswith("Build awareness and adoption"), "a line of words stays text"
    assert title_of(text, loaded.file_name) == "Calibrating the rain gauge", "the heading, not the banner"
    assert loaded.dropped == [
        "![Rain gauge on a mast](/_next/image?url=%2Fimages%2Fgauge.jpg&w=3840&q=75)",
        "[Home](/) | [Blog](/blog) | [Pricing](/pricing) | [Sign in](/login)",
        "[![Build status](https://ci.example/badge.svg)](https://ci.example) "
        "[![Licence](https://img.example/mit.svg)](LICENSE)",
        '<div align="center">',
        "</div>",
        "---",
        "[log]: https://example.com/log.md",
        "https://example.com/rain-gauge",
    ]
    assert "see [the station log](log.md) for the form" in text, "a link inside a sentence is text"
    assert "tips = 500 / (0.2 * 20)\n---\n```" in text, "code blocks are kept as they are"
    assert "Field notes\n-----------" in text, "an underline is a heading's, not a rule"
    assert loaded.reading == "8 line(s) of images, links or markup left out"
    assert [h.text for h in Outline(text, loaded.file_name).headings if h.marked] == [
        "Calibrating the rain gauge", "Pouring the test volume", "Field notes"
    ]  # fmt: skip


def test_a_file_of_only_images_and_links_says_so(tmp_path: Path) -> None:
    (tmp_path / "gallery.md").write_text("![one](1.png)\n![two](2.png)\n\n[Next page](/p/2)\n")
    (tmp_path / "plain.txt").write_text("Nothing here is dropped.\n\nNot even this line.\n")
    gallery, plain = load_folder(tmp_path)
    assert gallery.error == "no text found: only images, links or markup"
    assert plain.ok and plain.dropped == [] and plain.reading == ""


@pytest.mark.slow
def test_the_documents_page_shows_what_was_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from playground import ui
    from playground.workspace import Workspace

    from .ollama_replay import unused_url

    monkeypatch.setenv("OLLAMA_HOST", unused_url())
    st.cache_resource.clear()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=600)
    at.session_state["workspace"] = "web"
    at.run()
    at = at.switch_page("pages/documents.py").run()
    at.file_uploader[0].set_value([("rain-gauge.html", PAGE, "text/html"), ("saved.md", SAVED_MARKDOWN.encode(), "")])
    at.run()
    assert not at.exception
    [shown] = [e for e in at.expander if e.label.startswith("Dropped as page chrome")]
    loaded = {f.file_name: f for f in load_folder(Workspace("web").docs_dir)}
    lines = sum(len(f.dropped) for f in loaded.values())
    assert shown.label == f"Dropped as page chrome: {lines} line(s) from 2 file(s)"
    texts = [t.value for t in shown.text]
    assert texts == ["\n".join(loaded["rain-gauge.html"].dropped), "\n".join(loaded["saved.md"].dropped)]
    assert CHROME[9] in texts[0] and "[Home](/) | [Blog](/blog) | [Pricing](/pricing) | [Sign in](/login)" in texts[1]
    notes = [m.value for m in shown.markdown]
    assert notes[0] == f"**{ui.plain('rain-gauge.html')}** · {ui.plain(loaded['rain-gauge.html'].reading)}"
    st.cache_resource.clear()
