"""Editing a fact in the documents, reversibly: the freshness experiment's tool and the Compare page's.

An edit replaces one piece of text (``old``) with another (``new``) in the *parsed* text of one file,
so it works the same for PDF, DOCX, HTML and plain text, and the file on disk is never touched:
removing the edit restores the original exactly. An edited file gets a new content hash (the
original's plus the edits), so the index sees a changed file and re-indexes it alone, reusing every
other file's embeddings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from llama_index.core.schema import Document

from playground.documents import LoadedFile, document_id
from playground.errors import ConfigError


@dataclass(frozen=True)
class FactEdit:
    """Replace ``old`` with ``new`` wherever it occurs in ``file_name``'s text."""

    file_name: str
    old: str
    new: str

    def __post_init__(self) -> None:
        if not self.old.strip():
            raise ConfigError("FactEdit.old is empty: choose the text to change")
        if self.old == self.new:
            raise ConfigError(f"FactEdit.new={self.new!r}: it is the same as the old text, so nothing would change")

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def apply_edits(files: Sequence[LoadedFile], edits: Iterable[FactEdit]) -> list[LoadedFile]:
    """The files with their edits applied; an edit whose text is not (or no longer) in its file raises.

    >>> from playground.documents import load_bytes
    >>> f = load_bytes("a.txt", b"The limit is EUR 200 per night.")
    >>> [g] = apply_edits([f], [FactEdit("a.txt", "EUR 200", "EUR 260")])
    >>> g.documents[0].text, g.sha256 != f.sha256
    ('The limit is EUR 260 per night.', True)
    """
    by_file: dict[str, list[FactEdit]] = {}
    for edit in edits:
        by_file.setdefault(edit.file_name, []).append(edit)
    names = {f.file_name for f in files if f.ok}
    for name in by_file:
        if name not in names:
            raise ConfigError(f"the edit of {name} cannot be applied: no readable document has that name")
    return [_edited(f, by_file[f.file_name]) if f.file_name in by_file and f.ok else f for f in files]


def _edited(loaded: LoadedFile, edits: list[FactEdit]) -> LoadedFile:
    texts = [d.text for d in loaded.documents]
    for edit in edits:
        if not any(edit.old in t for t in texts):
            raise ConfigError(f"'{edit.old}' is not in {loaded.file_name} (was the document changed?)")
        texts = [t.replace(edit.old, edit.new) for t in texts]
    stamp = json.dumps([e.as_dict() for e in edits], sort_keys=True)
    sha = hashlib.sha256(f"{loaded.sha256}\n{stamp}".encode()).hexdigest()
    documents = []
    for doc, text in zip(loaded.documents, texts, strict=True):
        page = doc.metadata.get("page")
        documents.append(
            Document(
                id_=document_id(loaded.file_name, sha, page),
                text=text,
                metadata={**doc.metadata, "file_sha256": sha, "edited": True},
                excluded_embed_metadata_keys=[*doc.excluded_embed_metadata_keys, "edited"],
                excluded_llm_metadata_keys=[*doc.excluded_llm_metadata_keys, "edited"],
            )
        )
    return dataclasses.replace(loaded, sha256=sha, documents=documents)


def edited_value(value: str, edits: Iterable[FactEdit]) -> str:
    """A value as the edits have changed it (a gold answer whose fact was edited becomes the new one).

    >>> edited_value("EUR 200", [FactEdit("a.txt", "EUR 200", "EUR 260")])
    'EUR 260'
    """
    for edit in edits:
        value = value.replace(edit.old, edit.new)
    return value


def passages_with(files: Sequence[LoadedFile], text: str) -> list[str]:
    """Names of the files whose text contains ``text``: where a fact can be edited."""
    return [f.file_name for f in files if f.ok and any(text in d.text for d in f.documents)]


__all__ = ["FactEdit", "apply_edits", "edited_value", "passages_with"]
