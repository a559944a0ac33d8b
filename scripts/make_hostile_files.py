"""Write the hostile-input suite: files from the wild that a document reader must refuse or read calmly.

Each file is hostile in one way (corrupt, truncated, encrypted, a loop, a decompression bomb,
binary content, an odd encoding, deep nesting, an odd name …); none is needed in the repository,
because this script makes them again, byte for byte, in a second or two::

    .venv/bin/python scripts/make_hostile_files.py OUT_DIR           # the hostile files alone
    .venv/bin/python scripts/make_hostile_files.py OUT_DIR --samples # plus the good sample documents

``tests/test_hostile.py`` and ``python -m bench --hostile`` import :func:`hostile_files` and
:func:`upload_only` from here. Only the Python standard library and pypdf (a dependency of the
playground) are used, so it runs wherever the playground does. Decompression bombs are written
by streaming a compressor, so making a 200 MB bomb never holds 200 MB in memory.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import string
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DOCS = ROOT / "sample_docs"
MB = 1024 * 1024
ZIP_DATE = (2025, 1, 15, 9, 0, 0)  # fixed, so the zips are the same bytes on every run


@dataclass(frozen=True)
class Hostile:
    """One hostile file: where it is written (its name, relative to the folder), its bytes and why it is hostile."""

    name: str
    data: bytes
    kind: str  # "pdf", "docx", "text", "html", "markdown" or "name"
    why: str


# -- PDF ---------------------------------------------------------------------------------------------------------


def _pdf(objects: Iterable[bytes], *, root: int = 1, trailer: bytes = b"") -> bytes:
    """A PDF of these object bodies (object i+1 is the i-th), with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, root, trailer, xref)
    )
    return out.getvalue()


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return _deflated_stream(data, 1, extra)


def _deflate(runs: Iterable[tuple[bytes, int]]) -> tuple[bytes, int, int, int]:
    """Raw deflate of each ``piece * times`` in turn: the packed bytes, CRC-32, Adler-32 and unpacked size.

    After a full flush the compressor starts afresh, so every copy of a block packs to the same bytes:
    a 200 MB bomb costs one 1 MB compression instead of 200.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed, crc, adler, size = [], 0, 1, 0
    for piece, times in runs:
        per_block = max(1, MB // max(1, len(piece)))  # blocks of about 1 MB pack well
        for block, copies in ((piece * per_block, times // per_block), (piece * (times % per_block), 1)):
            if block and copies:
                packed.append((packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)) * copies)
                for _ in range(copies):
                    crc, adler = zlib.crc32(block, crc), zlib.adler32(block, adler)
                size += len(block) * copies
    packed.append(packer.flush())
    return b"".join(packed), crc, adler, size


def _deflated_stream(piece: bytes, times: int, extra: bytes = b"") -> bytes:
    """A FlateDecode stream of ``piece`` repeated ``times`` times (zlib format: header, raw deflate, Adler-32)."""
    raw, _, adler, _ = _deflate([(piece, times)])
    packed = b"\x78\xda" + raw + struct.pack(">I", adler)
    return b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n%s\nendstream" % (len(packed), extra, packed)


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _page(contents: int, parent: int = 2, resources: bytes = b"/Font << /F1 5 0 R >>") -> bytes:
    return b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R /Resources << %s >> >>" % (
        parent,
        contents,
        resources,
    )


def _text_ops(*lines: str) -> bytes:
    ops = [b"BT /F1 12 Tf 72 720 Td 14 TL"]
    ops += [b"(%s) '" % line.encode("latin-1") for line in lines]
    return b"\n".join([*ops, b"ET"])


def good_pdf(*lines: str) -> bytes:
    """A one-page PDF with these lines of text (the base the damaged ones start from)."""
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            _page(4),
            _stream(_text_ops(*lines)),
            FONT,
        ]
    )


def _encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(good_pdf("A locked page."))))
    out = io.BytesIO()
    # The file identifier (and so the key) comes from secrets.token_bytes; fixed here, so the bytes are too.
    with mock.patch("secrets.token_bytes", random.Random(11).randbytes):
        writer.encrypt(user_password="s3cret", owner_password="owner", algorithm="RC4-128")
        writer.write(out)
    return out.getvalue()


def _xref_loop() -> bytes:
    base = good_pdf("A page.")
    update = b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 6 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
    return base + update % (len(base), len(base))


def pdf_files() -> list[Hostile]:
    base = good_pdf("Observatory dome maintenance log.", "The dome motor was oiled in spring.")
    rng = random.Random(12)
    corrupt = bytearray(base)
    for i in range(len(corrupt) // 4, len(corrupt)):  # the content stream, the xref and the trailer are noise
        corrupt[i] = rng.randrange(256)
    chain = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
    ]
    chain += [b"%d 0 R" % (n + 1) for n in range(4, 30_004)] + [_stream(_text_ops("End of the chain."))]
    pages = 40
    kids = b" ".join(b"%d 0 R" % (6 + i) for i in range(pages))
    return [
        Hostile("pdf/corrupt.pdf", bytes(corrupt), "pdf", "three quarters of the bytes are noise"),
        Hostile("pdf/truncated.pdf", base[: len(base) * 2 // 5], "pdf", "cut off after 40 %"),
        Hostile("pdf/encrypted.pdf", _encrypted_pdf(), "pdf", "needs a password to open"),
        Hostile("pdf/fake-header.pdf", b"%PDF-1.7\nThis is a letter, not a PDF.\n" * 20, "pdf", "a PDF header on text"),
        Hostile("pdf/no-header.pdf", b"<html><body>An HTML page saved as .pdf</body></html>", "pdf", "not a PDF"),
        Hostile("pdf/empty.pdf", b"", "pdf", "zero bytes"),
        Hostile("pdf/no-text.pdf", good_pdf(), "pdf", "a page without text, as a scan has"),
        Hostile(
            "pdf/page-tree-loop.pdf",
            _pdf(
                [
                    b"<< /Type /Catalog /Pages 2 0 R >>",
                    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 3 0 R] /Count 1 >>",
                ]
            ),
            "pdf",
            "the page tree contains itself",
        ),
        Hostile(
            "pdf/xobject-loop.pdf",
            _pdf(
                [
                    b"<< /Type /Catalog /Pages 2 0 R >>",
                    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    _page(4, resources=b"/XObject << /X0 6 0 R >> /Font << /F1 5 0 R >>"),
                    _stream(b"/X0 Do"),
                    FONT,
                    _stream(
                        b"BT /F1 12 Tf (again) Tj ET /X0 Do",
                        b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /XObject << /X0 6 0 R >> "
                        b"/Font << /F1 5 0 R >> >> ",
                    ),
                ]
            ),
            "pdf",
            "a drawing that draws itself",
        ),
        Hostile("pdf/reference-chain.pdf", _pdf(chain), "pdf", "30,000 references, each to the next"),
        Hostile("pdf/xref-loop.pdf", _xref_loop(), "pdf", "an update whose cross-reference points back at itself"),
        Hostile(
            "pdf/stream-bomb.pdf",
            _pdf(
                [
                    b"<< /Type /Catalog /Pages 2 0 R >>",
                    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    _page(4),
                    _deflated_stream(b" " * MB, 200),
                    FONT,
                ]
            ),
            "pdf",
            "a 200 KB content stream that unpacks to 200 MB",
        ),
        Hostile(
            "pdf/stream-bomb-text.pdf",
            _pdf(
                [
                    b"<< /Type /Catalog /Pages 2 0 R >>",
                    b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
                    b"null",
                    _deflated_stream(b"BT /F1 12 Tf 72 720 Td (All work and no play) Tj ET\n", 300_000),
                    FONT,
                    *[_page(4) for _ in range(pages)],
                ]
            ),
            "pdf",
            f"{pages} pages sharing one stream of 300,000 text drawings (15 MB unpacked)",
        ),
    ]


# -- DOCX --------------------------------------------------------------------------------------------------------

CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    b'officeDocument" Target="word/document.xml"/></Relationships>'
)
W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
BODY_START = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document %s><w:body>' % W
BODY_END = b"</w:body></w:document>"


def _paragraphs(*texts: str) -> bytes:
    return b"".join(b"<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % t.encode() for t in texts)


@dataclass(frozen=True)
class Repeated:
    """A zip part made of ``piece`` repeated: ``head + piece * times + tail``, never held whole in memory."""

    head: bytes
    piece: bytes
    times: int
    tail: bytes


def _zip(parts: dict[str, bytes | Repeated]) -> bytes:
    """A zip of these parts, deflated, with fixed dates (written by hand: zipfile cannot take packed data)."""
    dos_time = (ZIP_DATE[3] << 11) | (ZIP_DATE[4] << 5) | (ZIP_DATE[5] // 2)
    dos_date = ((ZIP_DATE[0] - 1980) << 9) | (ZIP_DATE[1] << 5) | ZIP_DATE[2]
    out, central = io.BytesIO(), io.BytesIO()
    for name, content in parts.items():
        runs = (
            [(content, 1)]
            if isinstance(content, bytes)
            else [(content.head, 1), (content.piece, content.times), (content.tail, 1)]
        )
        packed, crc, _, size = _deflate(runs)
        encoded = name.encode()
        fields = struct.pack("<HHHHHIII", 20, 0, 8, dos_time, dos_date, crc, len(packed), size)
        central.write(b"PK\x01\x02" + struct.pack("<H", 20) + fields)
        central.write(struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, out.tell()) + encoded)
        out.write(b"PK\x03\x04" + fields + struct.pack("<HH", len(encoded), 0) + encoded + packed)
    start = out.tell()
    out.write(central.getvalue())
    out.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(parts), len(parts), len(central.getvalue()), start, 0))
    return out.getvalue()


def docx(body: bytes | Repeated) -> bytes:
    """A minimal Word document with this ``document.xml``."""
    return _zip({"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": RELS, "word/document.xml": body})


def _many_paragraphs(total: int) -> Repeated:
    paragraph = _paragraphs("All work and no play makes a dull document. " * 20)
    return Repeated(BODY_START, paragraph, total // len(paragraph), BODY_END)


def _one_node(total: int) -> Repeated:
    return Repeated(BODY_START + b"<w:p><w:r><w:t>", b"A" * MB, total // MB, b"</w:t></w:r></w:p>" + BODY_END)


LAUGHS = b"".join(
    b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i else b"lol") for i in range(10)
)  # the "billion laughs": ten levels of ten, 10^9 copies of "lol" from a few hundred bytes


def docx_files() -> list[Hostile]:
    good = docx(BODY_START + _paragraphs("Telescope mirrors are cleaned twice a year.") + BODY_END)
    return [
        Hostile("docx/not-a-zip.docx", b"Plain text pretending to be a Word document.\n" * 10, "docx", "not a zip"),
        Hostile("docx/old-word.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "docx", "a .doc renamed"),
        Hostile("docx/truncated.docx", good[: len(good) // 2], "docx", "cut off half-way"),
        Hostile("docx/empty-zip.docx", _zip({}), "docx", "a zip with nothing in it"),
        Hostile(
            "docx/missing-document.docx",
            _zip({"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": RELS}),
            "docx",
            "no word/document.xml",
        ),
        Hostile(
            "docx/missing-content-types.docx",
            _zip({"_rels/.rels": RELS, "word/document.xml": BODY_START + _paragraphs("Orphan.") + BODY_END}),
            "docx",
            "no [Content_Types].xml",
        ),
        Hostile(
            "docx/malformed-xml.docx", docx(BODY_START + b"<w:p><w:r><w:t>Unclosed"), "docx", "XML that never ends"
        ),
        Hostile(
            "docx/entity-expansion.docx",
            docx(
                b'<?xml version="1.0"?><!DOCTYPE w:document [%s]><w:document %s><w:body><w:p><w:r><w:t>&lol9;'
                b"</w:t></w:r></w:p></w:body></w:document>" % (LAUGHS, W)
            ),
            "docx",
            "XML entities that expand to 3 GB (billion laughs)",
        ),
        Hostile(
            "docx/external-entity.docx",
            docx(
                b'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
                b"<w:document %s><w:body><w:p><w:r><w:t>&secret;</w:t></w:r></w:p></w:body></w:document>" % W
            ),
            "docx",
            "an XML entity that would read a local file",
        ),
        Hostile("docx/bomb-one-node.docx", docx(_one_node(200 * MB)), "docx", "200 MB of text in one XML node"),
        Hostile(
            "docx/bomb-many-paragraphs.docx",
            docx(_many_paragraphs(200 * MB)),
            "docx",
            "200 MB of text in many paragraphs, packed into a few hundred KB",
        ),
        Hostile("docx/no-text.docx", docx(BODY_START + b"<w:p/>" * 3 + BODY_END), "docx", "a document without text"),
    ]


# -- text --------------------------------------------------------------------------------------------------------

PROSE = (
    "The observatory keeps a night log. Each entry names the telescope, the target and the seeing. "
    "Entries are written in plain sentences so that anyone on the next shift can read them.\n"
)


def text_files() -> list[Hostile]:
    rng = random.Random(7)
    noise = rng.randbytes(64 * 1024)
    controls = bytes(rng.choice([*range(1, 9), 11, 14, 15, 16, 17, 18, 19, 20, 30, 31, 127]) for _ in range(20_000))
    letters = (string.ascii_letters + string.digits).encode()
    giant = rng.randbytes(5 * MB).translate(bytes(letters[i % len(letters)] for i in range(256)))
    return [
        Hostile("text/empty.txt", b"", "text", "zero bytes"),
        Hostile("text/whitespace.txt", b" \t\n\r\n   \n\t\t\n" * 100, "text", "only whitespace"),
        Hostile("text/bom-only.txt", b"\xef\xbb\xbf", "text", "only a UTF-8 byte-order mark"),
        Hostile("text/binary.txt", noise, "text", "random bytes"),
        Hostile("text/nul-bytes.txt", b"\x00" * 4096 + PROSE.encode() + b"\x00" * 4096, "text", "text full of NULs"),
        Hostile("text/executable.md", b"\x7fELF\x02\x01\x01" + noise[:8000], "markdown", "a program renamed .md"),
        Hostile("text/control-characters.txt", controls, "text", "control characters, no NUL"),
        Hostile("text/utf16-bom.txt", ("\ufeff" + PROSE).encode("utf-16-le"), "text", "UTF-16 with a byte-order mark"),
        Hostile("text/utf16-no-bom.txt", PROSE.encode("utf-16-be"), "text", "UTF-16 without a byte-order mark"),
        Hostile(
            "text/utf32-bom.md", ("\ufeff# Night log\n\n" + PROSE).encode("utf-32"), "markdown", "UTF-32 with a BOM"
        ),
        Hostile(
            "text/mixed-encodings.txt",
            "Café au lait, UTF-8.\n".encode() * 50 + "Crème brûlée, Latin-1.\n".encode("latin-1") * 50,
            "text",
            "UTF-8 and Latin-1 lines in one file",
        ),
        Hostile("text/giant-line.txt", giant, "text", "5 MB on one line without a space"),
        Hostile(
            "text/over-text-limit.md",
            (PROSE * (11 * MB // len(PROSE) + 1)).encode(),
            "markdown",
            "11 MB of plain text: more than the text budget, less than the file limit",
        ),
        Hostile("text/over-file-limit.txt", b"word " * (51 * MB // 5), "text", "51 MB: above the 50 MB file limit"),
    ]


# -- HTML and Markdown -------------------------------------------------------------------------------------------


def html_files() -> list[Hostile]:
    rng = random.Random(3)
    soup = "".join(
        rng.choice(["<p>", "<div", "</b>", "<<", ">", "&", "&amp", "<i>", "text ", "</td>", "<!--"])
        for _ in range(20_000)
    )
    deep = 100_000
    return [
        Hostile(
            "html/nested-divs.html",
            b"<html><body>" + b"<div>" * deep + b"Deep inside." + b"</div>" * deep + b"</body></html>",
            "html",
            "100,000 nested <div>s",
        ),
        Hostile(
            "html/nested-tables.html",
            b"<html><body>"
            + b"<table><tr><td>" * 20_000
            + b"cell"
            + b"</td></tr></table>" * 20_000
            + b"</body></html>",
            "html",
            "20,000 nested tables",
        ),
        Hostile("html/tag-soup.html", f"<html><body>{soup}".encode(), "html", "unclosed and stray tags"),
        Hostile(
            "html/huge-attribute.html",
            b'<html><body><p title="' + b"x" * (8 * MB) + b'">A paragraph with a large title.</p></body></html>',
            "html",
            "an 8 MB attribute",
        ),
        Hostile(
            "html/scripts-only.html",
            b"<html><head><style>body{}</style></head><body><script>"
            + b"alert(1);" * 1000
            + b"</script></body></html>",
            "html",
            "scripts and styles, no visible text",
        ),
        Hostile(
            "html/event-handlers.html",
            b'<html><body onload="alert(1)"><img src=x onerror="alert(2)"><p onclick="steal()">'
            b"Visible text about the dome.</p><svg onload=alert(3)><text>svg</text></svg></body></html>",
            "html",
            "event handlers on every element",
        ),
        Hostile(
            "html/javascript-links.html",
            b'<html><body><a href="javascript:alert(document.cookie)">Open the star chart</a> '
            b'<a href="data:text/html,<script>alert(1)</script>">data link</a>'
            b'<iframe src="javascript:alert(2)"></iframe></body></html>',
            "html",
            "javascript: and data: links",
        ),
        Hostile(
            "html/entity-expansion.html",
            b"<!DOCTYPE html [%s]><html><body><p>&lol9; Laughs.</p></body></html>" % LAUGHS,
            "html",
            "the billion laughs in an HTML doctype",
        ),
        Hostile(
            "html/wrong-charset.html",
            '<html><head><meta charset="utf-16"></head><body><p>Grüße aus Köln.</p></body></html>'.encode(),
            "html",
            "declares UTF-16, is UTF-8",
        ),
        Hostile("html/binary.htm", random.Random(5).randbytes(20_000), "html", "noise"),
        Hostile(
            "markdown/deep-nesting.md",
            (
                "> " * 5_000 + "Quoted five thousand times.\n" + "".join("  " * i + "- item\n" for i in range(300))
            ).encode(),
            "markdown",
            "5,000 nested quotes and 300 nested list items",
        ),
        Hostile(
            "markdown/html-and-links.md",
            b"# Notes\n\n<script>alert(1)</script>\n\n[click](javascript:alert(2)) <img src=x onerror=alert(3)>\n\n"
            b"Plain text about the observatory.\n",
            "markdown",
            "script tags, javascript: links and event handlers in Markdown",
        ),
    ]


# -- names -------------------------------------------------------------------------------------------------------

NOTE = b"A note about the observatory's night shift.\n"


def name_files() -> list[Hostile]:
    """Odd names a file system can hold: they are written into the folder like any other file."""
    return [
        Hostile("names/sub/dir/nested.txt", NOTE, "name", "a path with separators"),
        Hostile("names/up\\..\\..\\windows-path.txt", NOTE, "name", "backslashes and .. (a plain name on Linux)"),
        Hostile("names/" + "long" * 62 + ".txt", NOTE, "name", "a 252-character name"),
        Hostile("names/bell\x07\x1b[31mred\x1b[0m.txt", NOTE, "name", "terminal control characters"),
        Hostile("names/new\nline.md", NOTE, "name", "a line break in the name"),
        Hostile("names/README", NOTE, "name", "no extension"),
        Hostile("names/report.pdf.exe", b"MZ\x90\x00" + b"\x00" * 60, "name", "a double extension"),
        Hostile("names/notes.txt.pdf", NOTE, "name", "text with a .pdf extension"),
        Hostile("names/picture.docx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "name", "an image named .docx"),
        Hostile("names/evil\u202etxt.exe", NOTE, "name", "a right-to-left override hiding .exe"),
    ]


def upload_only() -> list[tuple[str, bytes, str]]:
    """Names a browser may send but no file system holds: ``(name, bytes, why)``, for uploads only."""
    return [
        ("../../etc/passwd.txt", NOTE, "climbs out of the folder"),
        ("/tmp/absolute.txt", NOTE, "an absolute path"),
        ("C:\\Users\\me\\Documents\\notes.md", NOTE, "a Windows path"),
        ("..", NOTE, "only dots"),
        ("", NOTE, "empty"),
        ("nul\x00byte.txt", NOTE, "a NUL byte in the name"),
        (".hidden.md", NOTE, "a hidden file's name"),
        ("x" * 300 + ".txt", NOTE, "longer than a file system allows"),
    ]


def hostile_files() -> list[Hostile]:
    """Every hostile file, in a fixed order, the same bytes on every call."""
    return [*pdf_files(), *docx_files(), *text_files(), *html_files(), *name_files()]


def write(folder: Path, *, samples: bool = False) -> list[Path]:
    """Write every hostile file under ``folder`` (and the sample documents beside them); the paths written."""
    written = []
    for hostile in hostile_files():
        path = folder / hostile.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(hostile.data)
        written.append(path)
    if samples:
        for path in sorted(SAMPLE_DOCS.iterdir()):
            if path.is_file() and path.suffix != ".jsonl":
                written.append(Path(shutil.copy2(path, folder / path.name)))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write into (created when missing)")
    parser.add_argument("--samples", action="store_true", help="also copy the good sample documents there")
    args = parser.parse_args()
    paths = write(args.out, samples=args.samples)
    print(f"wrote {len(paths)} files under {args.out}")


if __name__ == "__main__":
    main()
