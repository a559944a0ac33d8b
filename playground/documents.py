"""Uploaded files → LlamaIndex ``Document``s → chunks (``TextNode``s). Pure: no globals, no network.

Every file succeeds or fails alone: :func:`load_bytes` never raises for a bad file, it
returns a :class:`LoadedFile` whose ``error`` says what is wrong and what to do. Ids are
derived from the file's content hash, so the same file always gives the same documents
and chunks (indexes and caches can be keyed by them).

Reading is bounded (see :mod:`playground.parsing`): a time, memory and text budget per file,
PDF, Word and HTML parsed in a worker process. Chunking is bounded too: :func:`apply_budgets`
refuses a file that would make more chunks than one file may, or than the workspace has left
(:class:`~playground.config.DocumentLimits`), before anything is split or embedded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import Document, NodeRelationship, TextNode
from llama_index.core.utils import get_tokenizer

from playground.config import ChunkSettings, DocumentLimits, document_limits, max_file_bytes
from playground.errors import DocumentError
from playground.parsing import Parser, tidy

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

NAME_BYTES = 200  # longest name an upload is kept under: the file system's 255, less the atomic write's temporary affix


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
    tokens: list[int] = field(default_factory=list)  # per document, as the chunker counts them (for budgets)
    parse_s: float = 0.0  # seconds reading the file took
    parse_peak_mb: float | None = None  # the reader's extra memory at its peak (None: read in this process)
    dropped: list[str] = field(default_factory=list)  # lines left out as page chrome or markup (up to 500)
    reading: str = ""  # how the text was read: main content or whole page, and why

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

    def chunk_estimate(self, settings: ChunkSettings) -> int:
        """About how many chunks this file makes at ``settings``: each document's tokens over the chunk step.

        Close for prose; text without spaces splits finer (up to about 1.4 times as many). Splitting is
        what a budget has to spare: a 5 MB line without spaces takes the splitter minutes.
        """
        step = settings.chunk_size - settings.chunk_overlap
        return sum(max(1, -(-max(0, t - settings.chunk_overlap) // step)) for t in self.tokens)


def file_type_of(file_name: str) -> str | None:
    """The document type for a file name, by extension in any case; None when unsupported.

    >>> file_type_of("Report.PDF"), file_type_of("notes.markdown"), file_type_of("setup.exe")
    ('pdf', 'markdown', None)
    """
    return FILE_TYPES.get(Path(file_name).suffix.lower())


def upload_name(name: str) -> str:
    """The name an upload is kept under: its last path part (either slash), without control or direction
    characters, without leading dots (a hidden file is never listed) and at most 200 bytes, extension kept.

    >>> upload_name("../../etc/passwd.txt"), upload_name(r"C:\\Users\\me\\notes.md"), upload_name(".hidden.md")
    ('passwd.txt', 'notes.md', 'hidden.md')
    >>> upload_name("bell\x07\x1b[31m.txt"), upload_name("evil\u202etxt.exe"), upload_name(".."), upload_name("")
    ('bell[31m.txt', 'eviltxt.exe', 'unnamed', 'unnamed')
    >>> long = upload_name("a" * 300 + ".pdf"); len(long.encode()), long[-6:]
    (200, 'aa.pdf')
    """
    last = re.split(r"[/\\]", name)[-1]
    kept = "".join(c for c in last if unicodedata.category(c) not in ("Cc", "Cf"))
    kept = kept.strip().lstrip(".").strip()
    if not kept:
        return "unnamed"
    suffix = Path(kept).suffix if len(Path(kept).suffix.encode()) <= 16 else ""
    stem = kept[: len(kept) - len(suffix)] if suffix else kept
    while len((stem + suffix).encode()) > NAME_BYTES:
        stem = stem[: -max(1, (len((stem + suffix).encode()) - NAME_BYTES) // 4)]
    return stem + suffix


def reader() -> Parser:
    """One reader for a batch of :func:`load_bytes` calls (``with reader() as parser:``): one worker process
    serves them all, instead of one started per file."""
    return _parser(document_limits())


def _parser(limits: DocumentLimits) -> Parser:
    return Parser(
        max_text_chars=limits.max_text_mb * 1024 * 1024,
        timeout_s=limits.parse_timeout_s,
        memory_mb=limits.parse_memory_mb,
    )


def load_bytes(file_name: str, data: bytes, *, parser: Parser | None = None) -> LoadedFile:
    """Parse one file; any problem with the file becomes ``error`` instead of an exception.

    ``parser``: the worker to read with (one per batch, see :func:`load_files`); by default one for this file.
    Only a bad setting (``PLAYGROUND_MAX_FILE_MB``, :class:`~playground.config.DocumentLimits`) raises
    ``ConfigError``: it concerns every file.
    """
    suffix = Path(file_name).suffix.lower()
    file_type = FILE_TYPES.get(suffix)
    loaded = LoadedFile(file_name, hashlib.sha256(data).hexdigest(), len(data), file_type or suffix.lstrip("."))
    limit = max_file_bytes()
    limits = document_limits()
    if file_type is None:
        supported = ", ".join(SUPPORTED_EXTENSIONS)
        todo = "save or convert it to one of those" if suffix else "add the extension of its format to its name"
        loaded.error = f"unsupported file type '{suffix or 'no extension'}': supported are {supported}; {todo}"
    elif len(data) > limit:
        loaded.error = (
            f"file is {len(data) / _MB:.1f} MB, above the {limit // _MB} MB limit: "
            "split it, or raise PLAYGROUND_MAX_FILE_MB to accept larger files"
        )
    elif not data.strip():
        loaded.error = "file is empty"
    elif parser is None:
        with _parser(limits) as own:
            return load_bytes(file_name, data, parser=own)
    else:
        parsed = parser.parse(file_type, data)
        loaded.parse_s, loaded.parse_peak_mb = parsed.seconds, parsed.peak_mb
        loaded.error, loaded.pages = parsed.error, parsed.pages
        loaded.dropped, loaded.reading = parsed.dropped, parsed.reading
        if parsed.error is None:
            loaded.documents = _documents(loaded, parsed.parts)
            tokenizer = get_tokenizer()  # the splitter's own count, so budgets match the chunks made
            loaded.tokens = [len(tokenizer(doc.text)) for doc in loaded.documents]
    return loaded


def load_files(files: Iterable[tuple[str, bytes]]) -> list[LoadedFile]:
    """Load ``(file name, bytes)`` pairs, e.g. uploads, in the order given; one reader serves them all."""
    with _parser(document_limits()) as parser:
        return [load_bytes(name, data, parser=parser) for name, data in files]


def load_folder(path: str | Path) -> list[LoadedFile]:
    """Load every file under ``path`` (recursively, sorted, names relative to ``path``).

    Hidden files and folders and ``questions.jsonl`` files are skipped; any other
    unsupported file is returned with an error, so a person sees it was not used.
    """
    root = Path(path)
    if not root.is_dir():
        raise DocumentError(str(path), "no such folder: check the path")
    loaded = []
    with _parser(document_limits()) as parser:
        for file in sorted(root.rglob("*")):
            rel = file.relative_to(root)
            if not file.is_file() or file.name == QUESTIONS_FILE or any(p.startswith(".") for p in rel.parts):
                continue
            try:
                data = file.read_bytes()
            except OSError as err:
                error = f"could not read file: {err.strerror or err}"
                loaded.append(LoadedFile(rel.as_posix(), "", 0, file_type_of(file.name) or "", error=error))
                continue
            loaded.append(load_bytes(rel.as_posix(), data, parser=parser))
    return loaded


def apply_budgets(files: Sequence[LoadedFile], settings: ChunkSettings) -> list[LoadedFile]:
    """The files as the chunk budgets leave them, in order: a file that would make more chunks than one file
    may, or than the workspace has left after the files before it, comes back refused, saying which limit
    and how to raise it (a copy: the given files are not changed). Nothing is split: the counts are
    :meth:`LoadedFile.chunk_estimate`.
    """
    limits = document_limits()
    kept, total = [], 0
    for f in files:
        estimate = f.chunk_estimate(settings) if f.ok else 0
        at = f"at chunk size {settings.chunk_size} (overlap {settings.chunk_overlap})"
        if estimate > limits.max_chunks_per_file:
            error = (
                f"would make about {estimate:,} chunks {at}, above the {limits.max_chunks_per_file:,} one file may "
                "make (PLAYGROUND_MAX_CHUNKS_PER_FILE): split it, use a larger chunk size, or raise "
                "PLAYGROUND_MAX_CHUNKS_PER_FILE"
            )
        elif total + estimate > limits.max_chunks:
            error = (
                f"left out: its {estimate:,} chunks {at} would take the workspace to {total + estimate:,}, above "
                f"the {limits.max_chunks:,} all documents together may make (PLAYGROUND_MAX_CHUNKS): remove some "
                "documents, use a larger chunk size, or raise PLAYGROUND_MAX_CHUNKS"
            )
        else:
            total += estimate
            kept.append(f)
            continue
        kept.append(dataclasses.replace(f, documents=[], error=error))
    return kept


def chunk(items: Iterable[LoadedFile | Document], settings: ChunkSettings) -> list[TextNode]:
    """Split documents (or the documents of the loaded files that are ok, within :func:`apply_budgets`) into chunks.

    Each node's text is ``doc.text[start_char:end_char]``; ids are ``"<doc id>:c<i>"``.
    """
    items = list(items)
    within = iter(apply_budgets([i for i in items if isinstance(i, LoadedFile)], settings))
    items = [next(within) if isinstance(item, LoadedFile) else item for item in items]  # same order
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
            if found < 0:  # in text repeating a short line, earlier pieces may have landed on later copies
                found = doc.text.rfind(piece, 0, end)
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


def _documents(loaded: LoadedFile, parts: list[tuple[int | None, str]]) -> list[Document]:
    meta = {"file_name": loaded.file_name, "file_sha256": loaded.sha256, "file_type": loaded.file_type}
    return [
        Document(
            id_=document_id(loaded.file_name, loaded.sha256, page),
            text=text,
            metadata={**meta, "page": page},
            excluded_embed_metadata_keys=[*meta, "page"],
            excluded_llm_metadata_keys=[*meta, "page"],
        )
        for page, text in parts
    ]


__all__ = [
    "FILE_TYPES",
    "QUESTIONS_FILE",
    "SUPPORTED_EXTENSIONS",
    "LoadedFile",
    "apply_budgets",
    "chunk",
    "document_id",
    "file_type_of",
    "load_bytes",
    "load_files",
    "load_folder",
    "load_questions",
    "reader",
    "tidy",
    "upload_name",
]
