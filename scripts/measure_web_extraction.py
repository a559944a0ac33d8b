"""Main-content extractors on real pages with chrome: how much of a page's text each keeps, how much of its
chrome survives, whether headings and list items stay marked, and the time per page.

The pages are Debian's HTML documentation (public, with navigation bars, menus and footers)::

    mkdir -p /tmp/webdocs && cd /tmp/webdocs && apt-get download sqlite3-doc debian-handbook git-doc
    for d in *.deb; do mkdir -p "${d%%_*}" && dpkg-deb -x "$d" "${d%%_*}"; done
    python scripts/measure_web_extraction.py /tmp/webdocs --pages 40

readability-lxml and jusText are measured when installed (``pip install readability-lxml``; jusText comes with
trafilatura). Their text goes through the playground's own page walker, so all are compared as the index
reads them. What counts as chrome, per package, is the XPath below: the site's menus, banners, navigation
and footers, read from the pages themselves.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.parsing import _extract_main, _html_text, _main_content, tidy

CORPORA = {  # folder under the root, its pages, and the XPath of its chrome
    "sqlite": (
        "sqlite3-doc/usr/share/doc/sqlite3",
        "//div[contains(@class,'menu')] | //div[contains(@class,'tagline')] | //div[@class='fancy_toc']"
        " | //p[@align='center'][.//small]",
    ),
    "debian-handbook": (
        "debian-handbook/usr/share/doc/debian-handbook/html/en-US",
        "//div[@class='banner'] | //ul[contains(@class,'docnav')]",
    ),
    "git": ("git-doc/usr/share/doc/git-doc", "//div[@id='footer']"),
}
ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+")


def words(text: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", text).lower().split())


def truth(data: bytes, chrome_xpath: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """The page's chrome lines, and its content paragraphs, headings and list items outside the chrome."""
    from lxml import html

    tree = html.fromstring(data)
    for bad in tree.xpath("//script|//style|//head"):
        bad.drop_tree()
    chrome = [w for e in tree.xpath(chrome_xpath) for t in e.itertext() if len(w := words(t)) >= 3]
    for e in tree.xpath(chrome_xpath):
        e.drop_tree()
    paragraphs = [
        w for e in tree.xpath("//p|//dd|//pre|//div[@class='para']") if len(w := words(e.text_content())) >= 40
    ]
    headings = [w for e in tree.xpath("//h1|//h2|//h3|//h4") if (w := words(e.text_content()))]
    items = [w[:40] for e in tree.xpath("//li") if len(w := words(e.text_content())) >= 10]
    return chrome, paragraphs, headings, items


def whole(data: bytes) -> str:
    return tidy(_html_text(data, 50 * 1024 * 1024))


def extractors() -> dict[str, Callable[[bytes], str]]:
    found: dict[str, Callable[[bytes], str]] = {
        "whole page (before)": whole,
        "playground (trafilatura + page lines)": lambda d: _main_content(whole(d), d)[0],
        "trafilatura alone (Markdown)": _extract_main,
    }
    try:
        from readability import Document

        found["readability-lxml"] = lambda d: whole(Document(d).summary(html_partial=True).encode())
    except ImportError:
        pass
    try:
        import justext

        def jt(data: bytes) -> str:
            paragraphs = justext.justext(data, justext.get_stoplist("English"))
            return "\n\n".join(("## " if p.heading else "") + p.text for p in paragraphs if not p.is_boilerplate)

        found["jusText"] = jt
    except ImportError:
        pass
    return found


def score(text: str, chrome: list[str], paragraphs: list[str], headings: list[str], items: list[str]) -> dict:
    joined = words(text)
    lines = text.splitlines()
    plain = {words(line) for line in lines}
    marked = {words(line.lstrip("#")) for line in lines if line.startswith("#")}
    listed = [words(ITEM.sub("", line)) for line in lines if ITEM.match(line)]

    def share(found: int, of: list[str]) -> float | None:
        return found / len(of) if of else None

    return {
        "chars": len(text),
        "content": share(sum(p in joined for p in paragraphs), paragraphs),
        "chrome": share(sum(c in plain for c in chrome), chrome),
        "headings": share(sum(h in marked for h in headings), headings),
        "items": share(sum(any(x.startswith(i) for x in listed) for i in items), items),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="the folder the Debian packages were unpacked in")
    parser.add_argument("--pages", type=int, default=40, help="pages per corpus, drawn with a fixed seed")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    methods = extractors()
    print("| corpus | reader | chars/page | content kept | chrome kept | headings marked | items marked | ms/page |")
    print("|---|---|---|---|---|---|---|---|")
    for corpus, (folder, chrome_xpath) in CORPORA.items():
        pages = sorted((args.root / folder).glob("*.html"))
        if not pages:
            continue
        rows: dict[str, list[dict]] = {name: [] for name in methods}
        for page in random.Random(0).sample(pages, min(args.pages, len(pages))):
            data = page.read_bytes()
            truths = truth(data, chrome_xpath)
            for name, read in methods.items():
                started = time.perf_counter()
                text = read(data)
                rows[name].append({**score(text, *truths), "s": time.perf_counter() - started})
        for name, got in rows.items():

            def mean(key: str, got: list[dict] = got) -> float:
                values = [r[key] for r in got if r[key] is not None]
                return statistics.fmean(values) if values else float("nan")

            print(
                f"| {corpus} ({len(got)}) | {name} | {mean('chars'):,.0f} | {mean('content'):.2f} | "
                f"{mean('chrome'):.2f} | {mean('headings'):.2f} | {mean('items'):.2f} | {1000 * mean('s'):.0f} |"
            )


if __name__ == "__main__":
    main()
