"""One file's bytes → its text, under a time, memory and text budget; a parser bug costs that file, never the app.

PDF, Word and HTML files are read in a worker process: this file, run as a script, under
``resource.setrlimit`` (address space ``memory_mb``, no core dumps) and a wall-clock timeout kept
by the caller. A worker that runs out of time or memory, or dies, is stopped and replaced, and
only its file is refused. One worker serves a whole batch: a fresh Python with the parser
libraries costs 0.1-0.4 s, a file already parsed costs nothing more (see ``python -m bench
--hostile`` for the measured overhead). Plain text and Markdown are decoded in the calling
process: Python's codecs and charset-normalizer's sampling are linear in the input, whose size
the file limit bounds, and text has no structure to loop on or unpack.

Cheap checks come before any parser: a Word file's zip directory is read for its unpacked size,
compression ratio and XML entity declarations before python-docx opens it; HTML is walked once,
in document order, whatever its nesting; PDFs keep pypdf's own stream limits and stop at the
text budget page by page.

A web page keeps its main content (trafilatura, in the same worker, under the same limits) and Markdown or
text loses its lines that are only images, links or markup; what either leaves out is returned with the text,
so a person can see it (:attr:`Parsed.dropped`).

Every refusal here is written for a person: what is wrong with this file and what to do. No
library's wording is passed on. This module imports nothing from ``playground``, so a worker
starts without loading the library (models, LlamaIndex: seconds).
"""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import os
import re
import resource
import select
import struct
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

MB = 1024 * 1024
READER_VERSION = 2  # how files become text; a change here makes every saved index out of date (2: web pages' chrome)
IN_PROCESS = ("text", "markdown")  # decoded here; everything else goes to a worker
DOCX_UNPACKED_PER_TEXT = 10  # a .docx may unpack to 10× the text budget: WordprocessingML is mostly markup
DOCX_MAX_RATIO = 200  # Word's own parts pack 2-30× (styles.xml ~30×); bombs pack 250-1000×
DOCX_MAX_PARTS = 10_000
PDF_PAGE_PER_TEXT = 2  # a page's drawing instructions may be twice the text budget: text-heavy pages are ~half text
_PARSING = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))  # files being parsed at once, process-wide
_HEAD = struct.Struct(">Q")  # frame length, before each message between the caller and a worker

_DROPPED_HTML = {"script", "style", "noscript", "template", "svg", "head", "nav"}  # not visible body text
_HTML_BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "ol", "p", "pre",
    "section", "table", "tr", "ul",
}  # fmt: skip
MAX_DROPPED_KEPT = 500  # dropped lines kept to show, per file: a sample, not a second copy of the page
MAIN_MIN_SHARE = 0.2  # extraction keeping less than this share of a page's text missed it: the page is read whole
MAIN_MIN_CHARS = 200  # nor fewer characters than this (a page this short is read whole)
BOX_PARAGRAPH = 150  # characters: a dropped box in the middle of the text with a line this long is a note, kept
_PROSE = re.compile(r"[.!?:)]$")
_HTML_MARKS = {**{f"h{n}": "#" * n + " " for n in range(1, 7)}, "li": "- "}  # Markdown-like, for the outline
_WIDE_ENCODINGS = ("utf-16", "utf-16le", "utf-16be", "utf-32", "utf-32le", "utf-32be")
_SPACES = re.compile(r"[ \t]{17,}")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f]")  # not tab, line breaks, form feed or ESC
_BOMS = [  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
]


class Unreadable(Exception):
    """A reason already written for a person; shown as is."""


@dataclass
class Parsed:
    """What reading one file gave: its text parts (``(page, text)``; page None outside PDFs) or why not."""

    parts: list[tuple[int | None, str]]
    pages: int | None = None  # PDF page count, including pages without text
    error: str | None = None
    seconds: float = 0.0
    peak_mb: float | None = None  # the worker's peak resident memory while reading this file; None in-process
    where: str = "worker"  # "worker" or "in-process"
    detail: str = ""  # the library's own exception, for logs and tests: never shown to a person
    dropped: list[str] = field(default_factory=list)  # lines left out as page chrome or markup, in order
    reading: str = ""  # how the text was read, e.g. "main content: 4,210 of 6,020 characters kept"


# -- messages ---------------------------------------------------------------------------------------------------


def too_much_text(limit_chars: int) -> str:
    return (
        f"holds more than {limit_chars / MB:g} MB of text once extracted, above the limit "
        "(PLAYGROUND_MAX_TEXT_MB): split it into smaller files, or raise PLAYGROUND_MAX_TEXT_MB"
    )


def timed_out(timeout_s: float) -> str:
    return (
        f"reading it took longer than {timeout_s:g} s (PLAYGROUND_PARSE_TIMEOUT_S), so it was stopped: the file may "
        "be damaged or built to stall readers. Save a fresh copy from the program that made it; if it is simply "
        "very large, split it or raise PLAYGROUND_PARSE_TIMEOUT_S"
    )


def out_of_memory(memory_mb: int) -> str:
    return (
        f"reading it needed more than the {memory_mb} MB of memory one file may use (PLAYGROUND_PARSE_MEMORY_MB), "
        "so it was stopped: the file may be damaged or a decompression bomb. Save a fresh copy from the program "
        "that made it; if it is simply very large, split it or raise PLAYGROUND_PARSE_MEMORY_MB"
    )


CRASHED = (
    "the reader stopped unexpectedly on this file (it is probably damaged): save a fresh copy from the program "
    "that made it and upload that"
)
_BINARY = (
    "looks like binary data, not text ({}): upload the original document (PDF, Word, HTML), or save it as plain "
    "text in UTF-8"
)
_FAILURES = {  # when a parser fails in a way no check foresaw: the library's words are not for people
    "pdf": "could not read PDF: the file is damaged or not a complete PDF{}. Export or print it to PDF again "
    "and upload that copy",
    "docx": "could not read Word document: it is damaged or not a real .docx. Open it in Word, save it as .docx "
    "and upload that copy (old .doc files must be re-saved as .docx too)",
    "html": "could not read HTML: the file is damaged. Save the page again from the browser and upload that copy",
}


# -- text -------------------------------------------------------------------------------------------------------


def tidy(text: str) -> str:
    """Normalise line ends, drop trailing spaces, collapse runs of blank lines and cap runs of spaces at 16.

    A run of spaces is layout, not text, and the chunker splits it one space at a time (a Markdown list
    indented 2,000 levels deep took it minutes); 16 keeps any real indentation or table alignment.

    >>> tidy("Title  \\r\\n\\r\\n\\r\\n\\n  indented\\fnext\\n")
    'Title\\n\\n  indented\\nnext'
    >>> len(tidy("a" + " " * 500 + "b"))
    18
    """
    lines = [line.rstrip() for line in text.splitlines()]
    return _SPACES.sub(" " * 16, re.sub(r"\n{3,}", "\n\n", "\n".join(lines))).strip()


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``-be`` when NULs fill one byte of each pair (mostly-Latin text in UTF-16 without a BOM).

    >>> _utf16_without_bom("plain words".encode("utf-16-be")), _utf16_without_bom(b"a\\x00\\x00b\\x00\\x00")
    ('utf-16-be', None)
    """
    sample = data[: 64 * 1024]
    if len(data) % 2 or len(sample) < 4:
        return None
    half = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= 0.3 * half and even <= 0.02 * half:
        return "utf-16-le"
    if even >= 0.3 * half and odd <= 0.02 * half:
        return "utf-16-be"
    return None


def _mixed_utf8(data: bytes) -> str | None:
    """A file that is UTF-8 in places (lines pasted from elsewhere): each line as UTF-8, else as Windows-1252.

    None when no line is UTF-8 beyond ASCII: then the file is in some other encoding throughout.

    >>> _mixed_utf8("Café\\n".encode() + "Crème\\n".encode("latin-1"))
    'Café\\nCrème\\n'
    """
    lines = data.split(b"\n")
    utf8 = []
    for line in lines:
        try:
            utf8.append(line.decode("utf-8") if not line.isascii() else None)
        except UnicodeDecodeError:
            utf8.append(None)
    if not any(utf8):
        return None
    decoded = (u if u is not None else line.decode("cp1252", "replace") for u, line in zip(utf8, lines, strict=True))
    return "\n".join(decoded)


def _likeliest(data: bytes) -> str:
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise Unreadable(_BINARY.format("its bytes are not text in any common encoding"))
    return str(best)


def decode_text(data: bytes) -> str:
    """Text from bytes: a byte-order mark decides (UTF-8/16/32), else UTF-8, else the likeliest encoding.

    Binary content is refused as such: NUL bytes (outside UTF-16/32), or many control characters.

    >>> decode_text(b"caf\\xc3\\xa9"), decode_text("hi".encode("utf-16")), decode_text("hi".encode("utf-16-le"))
    ('café', 'hi', 'hi')
    >>> decode_text(b"%PDF\\x00\\x01\\x02")
    Traceback (most recent call last):
    ...
    playground.parsing.Unreadable: looks like binary data, not text (it contains NUL bytes): upload the original \
document (PDF, Word, HTML), or save it as plain text in UTF-8
    """
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                raise Unreadable(
                    f"starts like {name} text but is not valid {name}: save it again as UTF-8 text and upload that"
                ) from None
            break
    else:
        if b"\x00" in data:
            codec16 = _utf16_without_bom(data)
            if codec16 is None:
                raise Unreadable(_BINARY.format("it contains NUL bytes"))
            try:
                text = data.decode(codec16)
            except UnicodeDecodeError:
                raise Unreadable(_BINARY.format("it contains NUL bytes")) from None
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = _mixed_utf8(data) or _likeliest(data)
    if "\x00" in text:
        raise Unreadable(_BINARY.format("it contains NUL characters"))
    controls = len(_CONTROL.findall(text))
    if controls > 0.05 * len(text):
        raise Unreadable(_BINARY.format(f"{controls / len(text):.0%} of it is control characters"))
    return text


# -- text saved from the web -----------------------------------------------------------------------------------

_IMG = r"!\[[^\]\n]*\](?:\([^)\n]*\)|\[[^\]\n]*\])"  # ![alt](src) or ![alt][ref]
_LINK = r"\[[^\]\n]*\](?:\([^)\n]*\)|\[[^\]\n]*\])"
_LINKED_IMG = rf"\[\s*{_IMG}\s*\](?:\([^)\n]*\)|\[[^\]\n]*\])"  # a badge: an image that is a link
_URL = r"<?(?:https?://|www\.)[^\s>]+>?"
_ONLY_IMAGES = re.compile(rf"^(?:(?:{_LINKED_IMG}|{_IMG})\s*)+$")
_ONLY_LINKS = re.compile(rf"^(?:[-*+]\s+|\d+[.)]\s+)?(?:(?:{_LINKED_IMG}|{_IMG}|{_LINK}|{_URL})[\s|·•,/–—-]*)+$")
_ONLY_MARKUP = re.compile(
    r"^(?:(?:<[^<>\n]*>\s*)+"  # HTML tags alone: <div align="center">, </p>, <br/>
    r"|<!--.*-->"  # a comment
    r"|\[[^\]\n]+\]:\s*\S+.*"  # a reference definition: [logo]: /img/logo.png
    r"|:{3,}.*|\{:[^}]*\})$"  # fenced-div and attribute markers
)
_RULE = re.compile(r"^(?:[-*_=~+]\s*){3,}$")  # a thematic break; under a line of text it is an underline


def web_text(text: str) -> tuple[str, list[str]]:
    """Markdown or text saved from the web, without its lines that are not text, and those lines.

    A line that is only images (``![logo](/img/logo.png)``, badges), only links (``[Home](/) | [Blog](/blog)``,
    bare URLs) or only markup (HTML tags alone, reference definitions, a ``---`` rule standing alone) is
    not text: it would only become a passage, or a title, that reads as nothing. Code blocks are kept as
    they are; a ``---`` or ``===`` under a line of text underlines a heading and is kept.

    >>> text, dropped = web_text("![Cover](/_next/image?url=%2Fimages%2Fc.png)\\n\\n# Guide\\n\\n---\\n\\nRead me.")
    >>> text, dropped
    ('# Guide\\n\\nRead me.', ['![Cover](/_next/image?url=%2Fimages%2Fc.png)', '---'])
    >>> web_text("[Home](/) | [Blog](/blog)\\nTitle\\n=====\\nSee [the guide](g.md) first.")[0]
    'Title\\n=====\\nSee [the guide](g.md) first.'
    """
    lines = text.split("\n")
    dropped: list[str] = []
    fenced = False
    for i, raw in enumerate(lines):
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced or not line or raw[:1] in (" ", "\t"):  # code, or an indented continuation
            continue
        if _RULE.match(line):
            above = lines[i - 1].strip() if i else ""
            below = lines[i + 1].strip() if i + 1 < len(lines) else ""
            junk = not above and not below  # an underline or overline stands beside its heading
        else:
            junk = bool(_ONLY_IMAGES.match(line) or _ONLY_LINKS.match(line) or _ONLY_MARKUP.match(line))
        if junk:
            dropped.append(line)
            lines[i] = ""
    return (tidy("\n".join(lines)) if dropped else text), dropped


# -- PDF --------------------------------------------------------------------------------------------------------


def _pdf_pages(data: bytes, max_text_chars: int) -> list[str]:
    from pypdf import PdfReader

    if b"%PDF-" not in data[:1024]:
        raise Unreadable(
            "is not a PDF: it does not start like one (a file of another kind renamed .pdf?). Open it in the "
            "program that made it and export or print it to PDF"
        )
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")  # many PDFs are encrypted only against editing
        except Exception as err:
            raise Unreadable(
                "PDF is encrypted in a way this reader cannot open: save an unprotected copy (e.g. print to PDF) "
                "and upload that"
            ) from err
        if not opened:
            raise Unreadable("PDF is password-protected: save an unprotected copy (e.g. print to PDF) and upload that")
    texts, total = [], 0
    for number, page in enumerate(reader.pages, start=1):
        # Text comes from a page's drawing instructions; pypdf needs seconds per MB of them, so a page with
        # far more instructions than the text budget is refused before they are parsed.
        contents = page.get_contents()
        drawn = len(contents.get_data()) if contents is not None else 0
        if drawn > PDF_PAGE_PER_TEXT * max_text_chars:
            raise Unreadable(
                f"page {number} holds {drawn / MB:,.0f} MB of drawing instructions, more than the "
                f"{PDF_PAGE_PER_TEXT * max_text_chars / MB:g} MB a page may ({PDF_PAGE_PER_TEXT} × "
                "PLAYGROUND_MAX_TEXT_MB): it is a compression bomb or a very heavy drawing. Export or print it to "
                "PDF again; if it is a real drawing, raise PLAYGROUND_MAX_TEXT_MB"
            )
        text = page.extract_text() or ""
        total += len(text)
        if total > max_text_chars:  # stop here: the rest would only cost time and memory
            raise Unreadable(too_much_text(max_text_chars))
        texts.append(tidy(text))
    return texts


def _pdf_failure(err: BaseException, data: bytes) -> str:
    from pypdf.errors import LimitReachedError

    if isinstance(err, LimitReachedError):
        return (
            "part of this PDF unpacks to far more data than a document holds (a compression bomb, or a damaged "
            "file): export or print it to PDF again and upload that copy"
        )
    if isinstance(err, RecursionError) or any(w in str(err).lower() for w in ("cyclic", "loop")):
        return (
            "this PDF's structure loops back on itself or nests too deeply (a damaged or hostile file): export or "
            "print it to PDF again and upload that copy"
        )
    cut = b"%%EOF" not in data[-2048:]
    return _FAILURES["pdf"].format(" (it has no proper end: cut off, or not a PDF at all)" if cut else "")


# -- Word -------------------------------------------------------------------------------------------------------


def _check_docx_package(data: bytes, max_text_chars: int) -> None:
    """What the zip's directory tells before anything is unpacked: parts present, sizes, ratios, no DTDs."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # the OLE header of Word 97-2003
        raise Unreadable("is an old Word 97-2003 (.doc) file renamed .docx: open it in Word and save it as .docx")
    if not data.startswith(b"PK"):
        raise Unreadable(
            "is not a Word .docx file (it is not a zip package): is it a real .docx? Open it in the program that "
            "made it and save it as .docx"
        )
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        infos = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise Unreadable(
            "the Word document is damaged (its zip package cannot be opened; was it cut off?): save it again from "
            "Word and upload that copy"
        ) from None
    if len(infos) > DOCX_MAX_PARTS:
        raise Unreadable(f"holds {len(infos):,} parts, far more than a Word document has: it is damaged or not one")
    names = {i.filename for i in infos}
    missing = [n for n in ("[Content_Types].xml", "_rels/.rels") if n not in names]
    if missing:
        raise Unreadable(
            f"is missing parts every Word document has ({', '.join(missing)}): it is damaged or not a Word document. "
            "Open it in Word, save it as .docx and upload that copy"
        )
    rels_info = package.getinfo("_rels/.rels")
    if rels_info.file_size > MB:
        raise Unreadable("the Word document is damaged (its list of parts is implausibly large): save it again")
    try:
        rels = package.read(rels_info)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError, NotImplementedError):
        raise Unreadable(
            "the Word document is damaged (its list of parts cannot be unpacked): save it again from Word and upload "
            "that copy"
        ) from None
    if _main_part(rels) not in names:
        raise Unreadable(
            "is missing its main text part (the one every Word document has): it is damaged or not a Word "
            "document. Open it in Word, save it as .docx and upload that copy"
        )
    unpacked, allowed = sum(i.file_size for i in infos), DOCX_UNPACKED_PER_TEXT * max_text_chars
    packed = max(1, len(data))
    if unpacked > allowed:
        raise Unreadable(
            f"unpacks to {unpacked / MB:,.0f} MB ({unpacked / packed:,.0f} times its size), more than the "
            f"{allowed / MB:g} MB allowed ({DOCX_UNPACKED_PER_TEXT} × PLAYGROUND_MAX_TEXT_MB): it is probably a "
            "decompression bomb or damaged. Save a fresh copy from Word; if it really holds that much text, split "
            "it or raise PLAYGROUND_MAX_TEXT_MB"
        )
    for info in infos:
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > MB and ratio > DOCX_MAX_RATIO:
            raise Unreadable(
                f"one of its parts ({info.filename}) unpacks to {ratio:,.0f} times its packed size, where Word's "
                f"own parts stay under {DOCX_MAX_RATIO}×: it looks like a decompression bomb. Save a fresh copy "
                "from Word and upload that"
            )
    for info in infos:
        if info.filename.endswith((".xml", ".rels")):
            try:
                with package.open(info) as part:
                    head = part.read(4096)
            except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError, NotImplementedError):
                raise Unreadable(
                    f"the Word document is damaged (its part {info.filename} cannot be unpacked): save it again "
                    "from Word and upload that copy"
                ) from None
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                raise Unreadable(
                    "declares XML entities, which Word never writes (an entity-expansion attack or a damaged "
                    "file): open it in Word, save a fresh copy and upload that"
                )


def _main_part(rels: bytes) -> str | None:
    """The part a package's relationships name as its main document.

    >>> _main_part(b"<Relationship Id='r' Target='/word/document.xml' Type='http://x/relationships/officeDocument'/>")
    'word/document.xml'
    """
    for element in re.findall(rb"<Relationship\b[^>]*>", rels):
        if re.search(rb"""Type=["'][^"']*/officeDocument["']""", element):
            target = re.search(rb"""Target=["']([^"']+)["']""", element)
            return target.group(1).decode("utf-8", "replace").lstrip("/") if target else None
    return None


def _docx_text(data: bytes, max_text_chars: int) -> str:
    import docx
    from docx.table import Table
    from lxml import etree

    _check_docx_package(data, max_text_chars)
    try:
        document = docx.Document(io.BytesIO(data))
    except etree.XMLSyntaxError as err:
        # libxml2 reports running out of memory, and its own size limits, as syntax errors
        reason = f"{err} {getattr(err, 'error_log', '')}".lower()  # e.g. "unknown error … ERR_NO_MEMORY"
        if "memory" in reason:
            raise MemoryError from None
        if "resource limit" in reason or "huge" in reason:
            raise Unreadable(
                "holds one piece of text longer than a Word document's XML may (10 MB): it is damaged or built to "
                "overwhelm readers. Save a fresh copy from Word and upload that"
            ) from None
        raise Unreadable(
            "the Word document's text is damaged XML: open it in Word, save a fresh copy and upload that"
        ) from None
    lines, total = [], 0
    for block in document.iter_inner_content():  # body order
        if isinstance(block, Table):
            for row in block.rows:
                cells, seen = [], set()
                for cell in row.cells:  # a merged cell repeats once per grid column it spans
                    if id(cell._tc) not in seen:
                        seen.add(id(cell._tc))
                        cells.append(" ".join(cell.text.split()))
                if any(cells):
                    lines.append(" | ".join(cells))
                    total += len(lines[-1])
        else:
            lines.append(block.text)
            total += len(lines[-1])
        if total > max_text_chars:
            raise Unreadable(too_much_text(max_text_chars))
    return "\n".join(lines)


# -- HTML -------------------------------------------------------------------------------------------------------


def _html_text(data: bytes, max_text_chars: int) -> str:
    """The visible text of a page, laid out by its block elements: one walk in document order.

    Headings become Markdown heading lines (``## Support tiers``) and list items ``- item`` lines, so
    :mod:`playground.outline` finds the page's title and sections and a list still reads as one.
    Linear whatever the nesting (an explicit stack, no recursion, no edits to the tree): 100,000
    nested ``<div>``s take seconds, where inserting a line break beside each block walked the tree again.
    """
    from bs4 import BeautifulSoup, CData, NavigableString, Tag

    if b"\x00" in data and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise Unreadable(_BINARY.format("it contains NUL bytes"))
    # From bytes, so bs4 honours the page's declared charset; as browsers do, a UTF-16/32 declaration without a
    # byte-order mark is wrong (the page would have NULs) and is not followed.
    wide = () if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else _WIDE_ENCODINGS
    soup = BeautifulSoup(data, "lxml", exclude_encodings=list(wide))
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    pieces: list[str] = []
    total = 0
    in_pre = 0
    mark = ""  # a heading's or list item's mark, written before its first text
    stack: list[tuple[Tag | None, Any]] = [(None, iter(soup.contents))]
    while stack:
        tag, children = stack[-1]
        child = next(children, None)
        if child is None:  # the end of ``tag``
            stack.pop()
            if tag is not None:
                in_pre -= tag.name == "pre"
                if tag.name in _HTML_BLOCKS:
                    pieces.append("\n")
                    mark = ""  # a heading or item without text leaves no mark
                if tag.name in ("td", "th"):
                    pieces.append(" ")
            continue
        if isinstance(child, Tag):
            if child.name in _DROPPED_HTML or child.get("hidden") is not None:  # not visible body text
                continue
            if child.name in _HTML_BLOCKS:
                pieces.append("\n")
            mark = _HTML_MARKS.get(child.name, mark)
            in_pre += child.name == "pre"
            stack.append((child, iter(child.contents)))
        elif type(child) is NavigableString or type(child) is CData:  # not comments, doctypes or script text
            # HTML whitespace is insignificant outside <pre>; layout comes from block elements.
            text = str(child) if in_pre or type(child) is CData else re.sub(r"\s+", " ", child)
            if mark and text.strip():
                pieces.append(mark)
                text, mark = text.lstrip(), ""
            pieces.append(text)
            total += len(text)
        if total > max_text_chars:
            raise Unreadable(too_much_text(max_text_chars))
    body = "\n".join(line.strip() for line in "".join(pieces).splitlines())
    return body if not title or body.lstrip("# \n").startswith(title) else f"{title}\n\n{body}"


def _norm(text: str) -> str:
    """Words only, lower case: how a line of the page is recognised in the extractor's Markdown.

    >>> _norm("## 2.1 The `apt-cache` *Command*")
    '2 1 the apt cache command'
    """
    return " ".join(re.sub(r"[\W_]+", " ", text).lower().split())


def _main_content(page: str, data: bytes) -> tuple[str, list[str], str]:
    """The page's main content, its dropped lines, and how it was read; the whole page when extraction finds
    too little (under ``MAIN_MIN_SHARE`` of its text, or under ``MAIN_MIN_CHARS``) or fails.

    trafilatura judges which text is the page's own (``docs/configuration.md`` has the measurements that
    chose it over readability-lxml and jusText); the lines kept are the page's own, as :func:`_html_text`
    laid them out, so headings and lists read the same whether or not extraction is used. A heading is kept
    when anything below it (up to the next heading of its level) is.
    """
    if len(page) < MAIN_MIN_CHARS:
        return page, [], "whole page (too short to need extraction)"
    try:
        extracted = _extract_main(data)
    except Exception as err:  # any failure of the extractor: the page is still read whole
        return page, [], f"whole page (main-content extraction failed: {type(err).__name__})"
    keep = _aligned(page.split("\n"), extracted)
    lines = page.split("\n")
    text = tidy("\n".join(line if k else "" for line, k in zip(lines, keep, strict=True)))
    if len(text) < MAIN_MIN_CHARS or len(text) < MAIN_MIN_SHARE * len(page):
        kept = f"{len(text):,} of {len(page):,} characters, under {MAIN_MIN_SHARE:.0%} or {MAIN_MIN_CHARS} characters"
        return page, [], f"whole page (main-content extraction kept {kept})"
    dropped = [line for line, k in zip(lines, keep, strict=True) if not k and line.strip()]
    return text, dropped, f"main content: {len(text):,} of {len(page):,} characters kept"


def _extract_main(data: bytes) -> str:
    """trafilatura's main content of a page, as Markdown (empty when it finds none)."""
    import trafilatura
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # no SIGALRM of its own: the worker's timeout holds
    return (
        trafilatura.extract(
            data,
            output_format="markdown",
            favor_recall=True,  # measured: keeps the leading words of DocBook paragraphs that precision drops
            include_tables=True,
            include_comments=False,
            include_images=False,
            include_links=False,
            deduplicate=False,
            with_metadata=False,
            config=config,
        )
        or ""
    )


def _aligned(lines: list[str], extracted: str) -> list[bool]:
    """Which of the page's lines the extracted Markdown holds, in order.

    A line is kept when the extraction has it as a line of its own, or holds it in order: any line of 40
    characters or more, a shorter one only right after the text kept before it (a short "Home" or "Log out"
    is found somewhere in most pages). Lines with no words follow the line above them; headings follow
    their sections.

    >>> page = ["Home", "", "# Guide", "", "Install it with the installer, then run it.", "Home", "}"]
    >>> _aligned(page, "# Guide\\n\\nInstall it with the installer, then run it. Home")
    [False, False, True, False, True, True, True]
    """
    marks = re.compile(r"^\s*(?:#{1,6}\s|[-*+]\s|\d+\.\s|>\s?|\|)")
    found = [_norm(marks.sub("", line)) for line in extracted.split("\n")]
    own_lines = {n for n in found if n}
    joined = " ".join(n for n in found if n)
    keep = [False] * len(lines)
    cursor = 0
    for i, line in enumerate(lines):
        words = _norm(line.lstrip("#- "))
        if not words:
            keep[i] = i > 0 and keep[i - 1] and bool(line.strip())
            continue
        if line.startswith("#"):
            continue  # decided below, by its section
        at = joined.find(words, cursor)
        if at >= 0 and (len(words) >= 40 or at - cursor <= 40):
            keep[i], cursor = True, at + len(words)
        elif words in own_lines:
            keep[i] = True
    levels = [len(line) - len(line.lstrip("#")) if re.match(r"#{1,6} ", line) else 0 for line in lines]
    _keep_boxes(lines, keep, levels)
    for i, level in enumerate(levels):
        if level:
            end = next((j for j in range(i + 1, len(lines)) if 0 < levels[j] <= level), len(lines))
            keep[i] = any(keep[j] for j in range(i + 1, end) if not levels[j])
    return keep


def _keep_boxes(lines: list[str], keep: list[bool], levels: list[int]) -> None:
    """Keep a box inside the article: dropped lines between kept text, one of them a paragraph of its own.

    Extractors drop what is classed as a sidebar; in generated documentation (DocBook's "sidebar", "note")
    that is a note in the middle of the text, not the site's chrome, which stands before or after it.
    """
    text_lines = [i for i, line in enumerate(lines) if line.strip() and not levels[i]]
    run: list[int] = []
    seen_kept = False
    for i in text_lines:
        if keep[i]:
            if seen_kept and run and any(len(lines[j]) >= BOX_PARAGRAPH and _PROSE.search(lines[j]) for j in run):
                for j in run:
                    keep[j] = True
            seen_kept, run = True, []
        else:
            run.append(i)


# -- one file ---------------------------------------------------------------------------------------------------


def extract(file_type: str, data: bytes, max_text_chars: int) -> Parsed:
    """The ``(page, text)`` parts, page count (PDF), dropped lines and reading of one file; :class:`Unreadable`
    says why not.

    Runs the parser in this process: :class:`Parser` is the way to call it with limits.
    """
    if file_type == "pdf":
        texts = _pdf_pages(data, max_text_chars)
        parts: list[tuple[int | None, str]] = [(page, t) for page, t in enumerate(texts, start=1) if t]
        if not parts:
            raise Unreadable("no text found: scanned PDFs need OCR first")
        return Parsed(parts, len(texts))
    dropped: list[str] = []
    reading = ""
    if file_type == "docx":
        text = tidy(_docx_text(data, max_text_chars))
        empty = "no text found in the document: pictures are not read, so a scanned document needs OCR first"
    elif file_type == "html":
        text, dropped, reading = _main_content(tidy(_html_text(data, max_text_chars)), data)
        empty = (
            "no text found: the page shows no text of its own (only scripts, styles, pictures or hidden parts); "
            "open it in a browser and print it to PDF, which keeps what the scripts show"
        )
    else:
        text, dropped = web_text(tidy(decode_text(data)))
        reading = f"{len(dropped)} line(s) of images, links or markup left out" if dropped else ""
        empty = "file is empty" if not dropped else "no text found: only images, links or markup"
    if not text:
        raise Unreadable(empty)
    if len(text) > max_text_chars:
        raise Unreadable(too_much_text(max_text_chars))
    return Parsed([(None, text)], dropped=dropped[:MAX_DROPPED_KEPT], reading=reading)


def _failure(file_type: str, err: BaseException, data: bytes) -> str:
    if file_type == "pdf":
        return _pdf_failure(err, data)
    if isinstance(err, RecursionError):
        return "the file nests too deeply to read (a damaged or hostile file): save a fresh copy and upload that"
    return _FAILURES.get(file_type, _FAILURES["html"])


def read_here(file_type: str, data: bytes, max_text_chars: int) -> Parsed:
    """Parse in this process: what :class:`Parser` does for text, and what a worker does for the rest."""
    started = time.perf_counter()
    parsed = Parsed([], where="in-process")
    try:
        parsed = extract(file_type, data, max_text_chars)
        parsed.where = "in-process"
    except Unreadable as err:
        parsed.error = str(err)
    except MemoryError:
        parsed.error, parsed.detail = "not enough memory to read it: split it into smaller files", "MemoryError"
    except Exception as err:  # any other parser failure stays with this one file
        parsed.error, parsed.detail = _failure(file_type, err, data), f"{type(err).__name__}: {err}"[:500]
    parsed.seconds = time.perf_counter() - started
    return parsed


# -- the worker -------------------------------------------------------------------------------------------------


def _write_frame(out: IO[bytes], payload: bytes) -> None:
    out.write(_HEAD.pack(len(payload)))
    out.write(payload)


def _read_frame(source: IO[bytes]) -> bytes | None:
    head = source.read(_HEAD.size)
    if len(head) < _HEAD.size:
        return None
    (size,) = _HEAD.unpack(head)
    payload = source.read(size)
    return payload if len(payload) == size else None


def _memory_now_and_reset() -> float:
    """Resident MB now; the kernel's high-water mark restarts here, so the next reading is this file's peak."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return _status_mb("VmRSS")
    except OSError:
        return 0.0


def _status_mb(field: str) -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _serve(memory_mb: int) -> None:
    """The worker: answer parse requests from stdin on stdout until stdin closes."""
    limit = memory_mb * MB
    for kind, value in ((resource.RLIMIT_AS, limit), (resource.RLIMIT_CORE, 0)):  # no core file of a stranger's file
        with contextlib.suppress(OSError, ValueError):  # macOS refuses RLIMIT_AS: the timeout still holds there
            resource.setrlimit(kind, (value, value))
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")  # the protocol's own channel: a library printing cannot corrupt it
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import logging
    import warnings

    logging.disable(logging.WARNING)  # pypdf logs every oddity of a damaged file; the answer says what matters
    warnings.simplefilter("ignore")
    while True:
        header = _read_frame(requests)
        data = _read_frame(requests) if header is not None else None
        if header is None or data is None:
            return
        request = json.loads(header)
        baseline = _memory_now_and_reset()
        parsed = read_here(request["file_type"], data, request["max_text_chars"])
        del data
        answer: dict[str, Any] = {"parts": parsed.parts, "pages": parsed.pages, "error": parsed.error}
        answer.update(detail=parsed.detail, dropped=parsed.dropped, reading=parsed.reading)
        if parsed.detail == "MemoryError":  # over the address-space limit: say which, and start afresh
            answer.update(error=out_of_memory(memory_mb), restart=True)
        answer["peak_mb"] = max(0.0, _status_mb("VmHWM") - baseline)
        _write_frame(answers, json.dumps(answer, ensure_ascii=False).encode())
        answers.flush()


# -- the caller's side ------------------------------------------------------------------------------------------


class Parser:
    """Reads files under limits: text here, the rest in one worker process per parser, replaced when it fails.

    Use one per batch (``with Parser(...) as parser:``); each call to :meth:`parse` is one file.
    Not shared between threads: each batch, and so each session of the web app, has its own.
    """

    def __init__(self, *, max_text_chars: int, timeout_s: float, memory_mb: int):
        self.max_text_chars = max_text_chars
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.started = 0  # workers started, for tests and the bench
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Parser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def parse(self, file_type: str, data: bytes) -> Parsed:
        if file_type in IN_PROCESS:
            return read_here(file_type, data, self.max_text_chars)
        started = time.perf_counter()
        request = json.dumps({"file_type": file_type, "max_text_chars": self.max_text_chars}).encode()
        try:
            with _PARSING:  # many sessions uploading at once take turns, a core each, not memory_mb × sessions
                answer = self._ask(request, data)
        except OSError:  # no worker could be started at all: read here rather than refuse every file
            return read_here(file_type, data, self.max_text_chars)
        seconds = time.perf_counter() - started
        if isinstance(answer, str):
            return Parsed([], error=answer, seconds=seconds, detail="worker stopped")
        if answer.get("restart"):
            self.close()
        parts = [(page, text) for page, text in answer.get("parts") or []]
        return Parsed(
            parts,
            answer.get("pages"),
            answer.get("error"),
            seconds,
            answer.get("peak_mb"),
            "worker",
            answer.get("detail") or "",
            list(answer.get("dropped") or []),
            answer.get("reading") or "",
        )

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id while one runs (for tests and monitoring)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()  # the worker's signal to finish
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()

    def _worker(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self.close()
            # -P: the script's own folder (playground/) is not put on sys.path, where its modules would
            # shadow the standard library's for the worker.
            command = [sys.executable, "-P", str(Path(__file__).resolve()), str(self.memory_mb)]
            self._proc = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True
            )
            self.started += 1
        return self._proc

    def _ask(self, request: bytes, data: bytes) -> dict[str, Any] | str:
        """The worker's answer, or the refusal when it ran out of time or died."""
        proc = self._worker()
        assert proc.stdin is not None and proc.stdout is not None
        deadline = time.monotonic() + self.timeout_s
        try:
            _write_frame(proc.stdin, request)
            _write_frame(proc.stdin, data)
            proc.stdin.flush()
            head = _read_until(proc.stdout, _HEAD.size, deadline)
            payload = _read_until(proc.stdout, _HEAD.unpack(head)[0], deadline) if head else None
        except TimeoutError:
            self._kill()
            return timed_out(self.timeout_s)
        except (BrokenPipeError, ConnectionError):
            payload = None
        if payload is None:  # the worker died: out of memory in C code, or a crash
            code = self._kill()
            return out_of_memory(self.memory_mb) if code == -9 else CRASHED
        return dict(json.loads(payload))

    def _kill(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        code = proc.poll()
        if code is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            try:
                if pipe:
                    pipe.close()
            except OSError:
                pass
        return code


def _read_until(source: IO[bytes], size: int, deadline: float) -> bytes | None:
    """Exactly ``size`` bytes from a pipe, or None at its end; TimeoutError once ``deadline`` passes."""
    fd, chunks, got = source.fileno(), [], 0
    while got < size:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        chunk = os.read(fd, min(size - got, 4 * MB))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
