"""A document's title and section headings, found in its text, so each chunk can say where it sits.

A chunk of a long article often never names what it is about ("it must then be set before the first
call"); the heading above it does. :func:`context_header` gives the title and section path a chunk
is embedded and BM25-indexed with (the index's contextual chunk headers), found from:

- Markdown headings (``#`` to ``######``) and underlined headings (Markdown setext, reStructuredText,
  where the level follows the order the underline styles first appear, as in reStructuredText);
- in text read from HTML, Word or PDF, where the markup is gone: a short standalone line without
  closing punctuation, followed by a longer line (one level: each replaces the previous).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

_ATX = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_UNDERLINE = re.compile(r"^([=\-~^\"*+#'.:_])\1{2,}\s*$")
_BULLET = re.compile(r"^\s*(?:[-*•▪–]|\d+[.)]|[a-z][.)])\s+")
_DIRECTIVE = re.compile(r"^\s*(?:\.\.\s|:\w+:|\|)")  # reStructuredText directives, fields, line blocks
MAX_HEADING = 90  # characters: a longer line is a sentence, not a heading


@dataclass(frozen=True)
class Heading:
    start: int  # character offset of the heading line in the text
    level: int  # 1 = top
    text: str
    marked: bool = True  # written as a heading (Markdown, an underline); False: a short line read as one


def outline(text: str) -> list[Heading]:
    """The headings of a text, in order.

    >>> [(h.level, h.text) for h in outline("# Guide\\n\\nIntro text here.\\n\\n## Install\\n\\nRun it.")]
    [(1, 'Guide'), (2, 'Install')]
    >>> [(h.level, h.text) for h in outline("Title\\n=====\\n\\nBody.\\n\\nPart\\n----\\n\\nMore body.\\n")]
    [(1, 'Title'), (2, 'Part')]
    >>> doc = "Returns policy\\nCustomers may return any product within 45 days of delivery, in its box.\\n"
    >>> [(h.level, h.text) for h in outline(doc)]
    [(1, 'Returns policy')]
    >>> outline("A short line, then\\nmore of the same sentence.\\n```\\n# a comment in code\\n```")
    []
    """
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    styles: list[tuple[str, bool]] = []  # underline styles in order of first use: their order is their level
    found: list[Heading] = []
    skip: set[int] = set()
    fenced = False
    for i, raw in enumerate(lines):
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            fenced = not fenced  # a Markdown code block: its "# comments" are no headings
            continue
        if fenced or i in skip or raw[:1] in (" ", "\t"):  # indented: code, quotes, continued list items
            continue
        atx = _ATX.match(raw)
        if atx:
            found.append(Heading(starts[i], len(atx.group(1)), atx.group(2).strip()))
            continue
        if not line or _UNDERLINE.match(line) or len(line) > MAX_HEADING:
            continue
        below = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if _UNDERLINE.match(below) and len(below) >= min(len(line), 3):
            above = lines[i - 1].strip() if i else ""
            over = bool(_UNDERLINE.match(above)) and above[0] == below[0]
            style = (below[0], over)
            if style not in styles:
                styles.append(style)
            found.append(Heading(starts[i - 1] if over else starts[i], styles.index(style) + 1, line))
            skip.add(i + 1)
            continue
        if _plain_heading(lines, i):
            found.append(Heading(starts[i], 1 + len(styles), line, marked=False))  # below any underlined levels
    return found


def _plain_heading(lines: list[str], i: int) -> bool:
    """A short line that starts a block and reads as a heading: no closing punctuation, and a paragraph
    (not another short line, as in a table or a list) right below it."""
    line = lines[i].strip()
    before = lines[i - 1].strip() if i else ""
    below = lines[i + 1].strip() if i + 1 < len(lines) else ""
    after = next((x.strip() for x in lines[i + 1 :] if x.strip()), "")
    # Hard-wrapped text sets a heading off with a blank line; elsewhere (Word, unwrapped text) the line below
    # is a whole paragraph. The first line of a wrapped paragraph is followed by more of the same.
    sentence = len(below.split()) >= 5 and below.endswith((".", "!", "?"))
    listed = bool(_BULLET.match(lines[i + 1])) if below else False  # a heading over a list
    paragraph = len(after) >= max(60, 2 * len(line)) or (len(after.split()) >= 5 and after.endswith((".", "!", "?")))
    return (
        (not below or len(below) >= 100 or sentence or listed)
        and not below[:1].islower()  # the rest of a wrapped sentence
        and (paragraph or listed)
        and (not before or before.endswith((".", "!", "?", ":")))
        and 1 <= len(line.split()) <= 8
        and len(line) <= 60
        and bool(re.search(r"[A-Za-z]{2}", line))
        and (line[0].isupper() or line[0].isdigit())
        and not line.endswith((".", ",", ";", ":", "!", "?", "|", ")"))
        and not _BULLET.match(lines[i])
        and not _DIRECTIVE.match(line)
    )


def title_of(text: str, file_name: str, headings: list[Heading] | None = None) -> str:
    """The document's title: its first heading when the text starts with one, else its file name as words.

    A heading written as one (Markdown ``#``, an underline) within the first 1,000 characters wins over the
    few short lines above it (at most 3, none longer than a heading: a site banner, a tagline, a date), which
    only look like headings; a paragraph above it makes it a section, not the title.
    A heading that is only an image or a link address is no title; link markup is read as its words.

    >>> title_of("# Field guide\\n\\nText.", "guide.md")
    'Field guide'
    >>> title_of("Plain text only, no heading at all in this one.", "release_notes-2024.txt")
    'release notes 2024'
    >>> banner = "Build awareness and adoption for your software startup with Acme\\n\\n"
    >>> title_of(banner + "# Pricing for teams\\n\\nEvery plan includes support and updates.", "p.md")
    'Pricing for teams'
    >>> title_of("Returns policy\\nCustomers may return any product within 45 days of delivery, in its original box, "
    ...          "with the receipt.\\n\\n## Details\\n\\nAsk the desk.", "r.txt")
    'Returns policy'
    >>> title_of("# ![logo](/img/logo.png)\\n\\n## [Install](install.md) guide\\n\\nRun it.", "x.md")
    'Install guide'
    """
    headings = outline(text) if headings is None else headings
    named = [h for h in headings if _words(h.text)]
    marked = next((h for h in named if h.marked and h.start < 1000), None)
    above = [line for line in text[: marked.start].split("\n") if line.strip()] if marked is not None else []
    if marked is not None and len(above) <= 3 and all(len(line) <= MAX_HEADING for line in above):
        return _words(marked.text)
    first = next((h for h in named if h.start < 400), None)  # near the top: a title, not a late section
    if first is not None:
        return _words(first.text)
    stem = PurePosixPath(file_name).stem
    return re.sub(r"[_\-.]+", " ", stem).strip() or file_name


def _words(heading: str) -> str:
    """A heading as it reads: images and link addresses gone, link text kept.

    >>> _words("[Guide](/docs/guide) to ![x](y.png) setup"), _words("![banner](/_next/image?url=%2Fimages)")
    ('Guide to setup', '')
    """
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<?https?://\S+>?", "", text)
    text = " ".join(text.split())
    return text if re.search(r"\w", text) else ""


class Outline:
    """A document's title and headings, to ask which section a character offset falls in."""

    def __init__(self, text: str, file_name: str):
        self.headings = outline(text)
        self.title = title_of(text, file_name, self.headings)
        self._starts = [h.start for h in self.headings]

    def section(self, offset: int) -> list[str]:
        """The heading path at ``offset`` (top level first), without the title itself.

        >>> o = Outline("# Guide\\n\\n## Install\\n\\nRun the installer.\\n\\n### Linux\\n\\nUse apt.\\n", "g.md")
        >>> o.section(50), o.section(5)
        (['Install', 'Linux'], [])
        """
        path: list[Heading] = []
        for h in self.headings[: bisect.bisect_right(self._starts, offset)]:
            path = [p for p in path if p.level < h.level] + [h]
        return [h.text for h in path if h.text != self.title]


def context_header(title: str, section: list[str]) -> str:
    """The line a chunk is embedded and searched with: its document's title, then its section path.

    >>> context_header("Field guide", ["Install", "Linux"])
    'Field guide › Install › Linux'
    >>> context_header("Field guide", [])
    'Field guide'
    """
    return " › ".join([title, *section[-2:]])  # the two nearest levels: deeper paths crowd out the text


__all__ = ["Heading", "Outline", "context_header", "outline", "title_of"]
