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
        # Said to the person at the form, in its own words (the fields are "Text to change" and "New text").
        if not self.old.strip():
            raise ConfigError("The text to change is empty: copy the words as the document writes them")
        if self.old == self.new:
            raise ConfigError(f"The new text is the same as the text to change ('{self.new}'): type the new value")

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
                # The file as uploaded stays known: a fine-tune trained on it was trained on these documents.
                metadata={**doc.metadata, "file_sha256": sha, "edited": True, "uploaded_sha256": loaded.sha256},
                excluded_embed_metadata_keys=[*doc.excluded_embed_metadata_keys, "edited", "uploaded_sha256"],
                excluded_llm_metadata_keys=[*doc.excluded_llm_metadata_keys, "edited", "uploaded_sha256"],
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


def as_uploaded(files: Sequence[LoadedFile]) -> dict[str, str]:
    """The readable files' hashes as uploaded (file name -> sha256), before any fact edit: what a fine-tune's
    record names when it was trained on these documents.

    >>> from playground.documents import load_bytes
    >>> f = load_bytes("a.txt", b"The limit is EUR 200 per night.")
    >>> as_uploaded(apply_edits([f], [FactEdit("a.txt", "EUR 200", "EUR 260")])) == {"a.txt": f.sha256}
    True
    """
    return {
        f.file_name: str(f.documents[0].metadata.get("uploaded_sha256", f.sha256)) if f.documents else f.sha256
        for f in files
        if f.ok
    }


def passages_with(files: Sequence[LoadedFile], text: str) -> list[str]:
    """Names of the files whose text contains ``text``: where a fact can be edited."""
    return [f.file_name for f in files if f.ok and any(text in d.text for d in f.documents)]


__all__ = ["FactEdit", "apply_edits", "as_uploaded", "edited_value", "passages_with"]
