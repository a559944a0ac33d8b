"""Uploaded files → LlamaIndex ``Document``s → chunks (``TextNode``s). Pure: no globals, no network.

Every file succeeds or fails alone: :func:`load_bytes` never raises for a bad file, it
returns a :class:`LoadedFile` whose ``error`` says what is wrong and what to do. Ids are
derived from the file's content hash, so the same file always gives the same documents
and chunks (indexes and caches can be keyed by them).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import charset_normalizer
import docx
from bs4 import BeautifulSoup, NavigableString
from docx.table import Table
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import Document, NodeRelationship, TextNode
from pypdf import PdfReader

from playground.config import ChunkSettings, max_file_bytes
from playground.errors import DocumentError

FILE_TYPES = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
}
SUPPORTED_EXTENSIONS = tuple(FILE_TYPES)  # e.g. for the uploader's accepted types
QUESTIONS_FILE = "questions.jsonl"  # a workspace's question set lives beside its documents
_MB = 1024 * 1024

# Shown when a parser fails unexpectedly: the library's reason plus a likely cause.
_FAILURES = {
    "pdf": "could not read PDF: {} — is the file damaged or encrypted?",
    "docx": "could not read Word document: {} — is it a real .docx? Old .doc files must be re-saved as .docx.",
    "html": "could not read HTML: {} — is the file damaged?",
    "markdown": "could not read text: {} — save it as UTF-8 and upload again.",
    "text": "could not read text: {} — save it as UTF-8 and upload again.",
}
_DROPPED_HTML = ["script", "style", "noscript", "template", "svg", "head", "nav"]  # not visible body text
_HTML_BLOCKS = [
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "ol", "p", "pre",
    "section", "table", "tr", "ul",
]  # fmt: skip


class _Unreadable(Exception):
    """A reason already written for a person; shown as is."""


@dataclass
class LoadedFile:
    """One input file: its documents (one per PDF page with text, else one) or why it failed."""

    file_name: str
    sha256: str  # hex digest of the bytes
    size_bytes: int
    file_type: str  # "pdf", "docx", "markdown", "text", "html"; the bare extension when unsupported
    documents: list[Document] = field(default_factory=list)
    error: str | None = None
    pages: int | None = None  # PDF page count, including pages without text

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def chars(self) -> int:
        return sum(len(d.text) for d in self.documents)

    def as_row(self) -> dict[str, Any]:
        """One row of a status table."""
        return {
            "file": self.file_name,
            "type": self.file_type,
            "status": "ok" if self.ok else "error",
            "pages": self.pages,
            "chars": self.chars,
            "error": self.error or "",
        }


def file_type_of(file_name: str) -> str | None:
    """The document type for a file name, by extension in any case; None when unsupported.

    >>> file_type_of("Report.PDF"), file_type_of("notes.markdown"), file_type_of("setup.exe")
    ('pdf', 'markdown', None)
    """
    return FILE_TYPES.get(Path(file_name).suffix.lower())


def tidy(text: str) -> str:
    """Normalise line ends, drop trailing spaces and collapse runs of blank lines.

    >>> tidy("Title  \\r\\n\\r\\n\\r\\n\\n  indented\\fnext\\n")
    'Title\\n\\n  indented\\nnext'
    """
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def load_bytes(file_name: str, data: bytes) -> LoadedFile:
    """Parse one file; any problem with the file becomes ``error`` instead of an exception.

    Only a bad ``PLAYGROUND_MAX_FILE_MB`` raises (``ConfigError``): it concerns every file.
    """
    suffix = Path(file_name).suffix.lower()
    file_type = FILE_TYPES.get(suffix)
    loaded = LoadedFile(file_name, hashlib.sha256(data).hexdigest(), len(data), file_type or suffix.lstrip("."))
    limit = max_file_bytes()
    if file_type is None:
        supported = ", ".join(SUPPORTED_EXTENSIONS)
        loaded.error = f"unsupported file type '{suffix or 'no extension'}': supported are {supported}"
    elif len(data) > limit:
        loaded.error = (
            f"file is {len(data) / _MB:.1f} MB, above the {limit // _MB} MB limit: "
            "split it, or raise PLAYGROUND_MAX_FILE_MB to accept larger files"
        )
    elif not data.strip():
        loaded.error = "file is empty"
    else:
        try:
            loaded.documents, loaded.pages = _parse(loaded, data)
        except _Unreadable as err:
            loaded.error = str(err)
        except Exception as err:  # any parser failure stays with this one file
            loaded.error = _FAILURES[file_type].format(str(err) or type(err).__name__)
    return loaded


def load_files(files: Iterable[tuple[str, bytes]]) -> list[LoadedFile]:
    """Load ``(file name, bytes)`` pairs, e.g. uploads, in the order given."""
    return [load_bytes(name, data) for name, data in files]


def load_folder(path: str | Path) -> list[LoadedFile]:
    """Load every file under ``path`` (recursively, sorted, names relative to ``path``).

    Hidden files and folders and ``questions.jsonl`` files are skipped; any other
    unsupported file is returned with an error, so a person sees it was not used.
    """
    root = Path(path)
    if not root.is_dir():
        raise DocumentError(str(path), "no such folder: check the path")
    loaded = []
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root)
        if not file.is_file() or file.name == QUESTIONS_FILE or any(p.startswith(".") for p in rel.parts):
            continue
        try:
            loaded.append(load_bytes(rel.as_posix(), file.read_bytes()))
        except OSError as err:
            error = f"could not read file: {err.strerror or err}"
            loaded.append(LoadedFile(rel.as_posix(), "", 0, file_type_of(file.name) or "", error=error))
    return loaded


def chunk(items: Iterable[LoadedFile | Document], settings: ChunkSettings) -> list[TextNode]:
    """Split documents (or the documents of the loaded files that are ok) into chunks.

    Each node's text is ``doc.text[start_char:end_char]``; ids are ``"<doc id>:c<i>"``.
    """
    splitter = SentenceSplitter(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)
    docs = [d for item in items for d in (item.documents if isinstance(item, LoadedFile) else [item])]
    nodes = []
    for doc in docs:
        source = doc.as_related_node_info()
        start, end = -1, 0
        # All metadata is excluded from the embed and LLM views (below), so the whole
        # chunk_size goes to text: split_text_metadata_aware would subtract 0 tokens.
        for i, piece in enumerate(p for p in splitter.split_text(doc.text) if p):
            # SentenceSplitter chunks are exact slices of the text, in order: each starts after the
            # previous start, ends after the previous end and, without overlap, starts after that end.
            # Where text repeats with a period shorter than a chunk, it may land on an earlier copy.
            lo = max(start + 1, end + 1 - len(piece)) if settings.chunk_overlap else end
            found = doc.text.find(piece, lo)
            if found < 0:  # a last chunk of overlap plus stripped whitespace lies within the previous one
                found = doc.text.find(piece, start + 1)
            if found < 0:
                raise ValueError(f"chunk {i} of document {doc.id_} is not a slice of its text: {piece[:60]!r}")
            start, end = found, found + len(piece)
            meta = {**doc.metadata, "start_char": start, "end_char": end}
            nodes.append(
                TextNode(
                    id_=f"{doc.id_}:c{i}",
                    text=doc.text[start:end],
                    metadata=meta,
                    # callers format sources themselves; embeddings see only the text
                    excluded_embed_metadata_keys=list(meta),
                    excluded_llm_metadata_keys=list(meta),
                    start_char_idx=start,
                    end_char_idx=end,
                    relationships={NodeRelationship.SOURCE: source},
                )
            )
    return nodes


def load_questions(folder: str | Path) -> list[dict[str, str]]:
    """A workspace's question set: ``questions.jsonl`` beside its documents, one JSON object a line."""
    lines = (Path(folder) / QUESTIONS_FILE).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def document_id(file_name: str, sha256: str, page: int | None) -> str:
    """Stable id of one file's page: the same bytes under two names are two documents.

    >>> document_id("a.md", "00ff", None) == document_id("a.md", "00ff", None)
    True
    >>> document_id("a.md", "00ff", None) == document_id("b.md", "00ff", None)
    False
    >>> document_id("a.pdf", "00ff", 3).endswith(":p3")
    True
    """
    digest = hashlib.sha256(f"{file_name}\0{sha256}".encode()).hexdigest()[:16]
    return f"{digest}:p{page or 0}"


def _parse(loaded: LoadedFile, data: bytes) -> tuple[list[Document], int | None]:
    if loaded.file_type == "pdf":
        texts = [tidy(t) for t in _pdf_pages(data)]
        pages: int | None = len(texts)
        parts: list[tuple[int | None, str]] = [(page, t) for page, t in enumerate(texts, start=1) if t]
        if not parts:
            raise _Unreadable("no text found: scanned PDFs need OCR first")
    else:
        text = tidy(_TEXT_READERS[loaded.file_type](data))
        if not text:
            raise _Unreadable("file is empty" if loaded.file_type in ("text", "markdown") else "no text found")
        pages, parts = None, [(None, text)]
    meta = {"file_name": loaded.file_name, "file_sha256": loaded.sha256, "file_type": loaded.file_type}
    docs = [
        Document(
            id_=document_id(loaded.file_name, loaded.sha256, page),
            text=text,
            metadata={**meta, "page": page},
            excluded_embed_metadata_keys=[*meta, "page"],
            excluded_llm_metadata_keys=[*meta, "page"],
        )
        for page, text in parts
    ]
    return docs, pages


def _pdf_pages(data: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")  # many PDFs are encrypted only against editing
        except Exception as err:
            raise _Unreadable(f"PDF is encrypted and could not be opened: {err}") from err
        if not opened:
            raise _Unreadable("PDF is password-protected: save an unprotected copy (e.g. print to PDF) and upload that")
    return [page.extract_text() or "" for page in reader.pages]


def _docx_text(data: bytes) -> str:
    lines = []
    for block in docx.Document(io.BytesIO(data)).iter_inner_content():  # body order
        if isinstance(block, Table):
            for row in block.rows:
                cells, seen = [], set()
                for cell in row.cells:  # a merged cell repeats once per grid column it spans
                    if id(cell._tc) not in seen:
                        seen.add(id(cell._tc))
                        cells.append(" ".join(cell.text.split()))
                if any(cells):
                    lines.append(" | ".join(cells))
        else:
            lines.append(block.text)
    return "\n".join(lines)


def _html_text(data: bytes) -> str:
    soup = BeautifulSoup(data, "lxml")  # from bytes, so bs4 honours the page's declared charset
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(_DROPPED_HTML) + soup.find_all(hidden=True):
        tag.decompose()
    # HTML whitespace is insignificant outside <pre>; layout comes from block elements.
    for text in soup.find_all(string=lambda s: type(s) is NavigableString):  # not comments or doctypes
        if not text.find_parent("pre"):
            text.replace_with(re.sub(r"\s+", " ", text))
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    for cell in soup.find_all(["td", "th"]):
        cell.insert_after(" ")
    body = "\n".join(line.strip() for line in soup.get_text().splitlines())
    return body if not title or body.lstrip().startswith(title) else f"{title}\n\n{body}"


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # UTF-8, with or without a byte-order mark
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise _Unreadable("could not tell the text encoding (is it really text?): save it as UTF-8 and upload again")
    return str(best)


_TEXT_READERS: dict[str, Callable[[bytes], str]] = {
    "docx": _docx_text,
    "html": _html_text,
    "markdown": _decode,
    "text": _decode,
}


__all__ = [
    "FILE_TYPES",
    "QUESTIONS_FILE",
    "SUPPORTED_EXTENSIONS",
    "LoadedFile",
    "chunk",
    "document_id",
    "file_type_of",
    "load_bytes",
    "load_files",
    "load_folder",
    "load_questions",
    "tidy",
]
