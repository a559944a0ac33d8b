"""Workspaces: named folders that keep a person's documents, chunk settings and index across reloads.

Layout under ``$PLAYGROUND_HOME/workspaces/<name>/``::

    documents/        the uploaded files, as uploaded (only those that parsed)
    settings.json     chunk size and overlap
    refused.json      uploads that were not kept: name, size, type, reason and when (one per name)
    questions.jsonl   the workspace's question set, when it has one
    indexes/          saved indexes (see playground.index)

The ``sample`` workspace is made from ``sample_docs/`` the first time it is asked for,
so a newcomer has documents, an index and questions without uploading anything.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llama_index.core.schema import TextNode

from playground import config
from playground.config import ChunkSettings
from playground.documents import (
    QUESTIONS_FILE,
    LoadedFile,
    chunk,
    load_bytes,
    load_folder,
    load_questions,
    reader,
    upload_name,
)
from playground.edits import FactEdit, apply_edits, passages_with
from playground.errors import DocumentError, IndexStoreError, WorkspaceError
from playground.storage import guarded, make_dir, write_atomic
from playground.style import StyleRule

SAMPLE = "sample"
SAMPLE_DOCS = Path(__file__).resolve().parents[1] / "sample_docs"


def slug(name: str) -> str:
    """A safe folder name for a workspace.

    >>> slug("My docs/2026 (draft)")
    'my-docs-2026-draft'
    >>> slug("..")
    'default'
    """
    cleaned = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return cleaned or "default"


def workspace_dir(workspace: str) -> Path:
    """Where a workspace keeps everything: ``$PLAYGROUND_HOME/workspaces/<slug>``."""
    return config.home() / "workspaces" / slug(workspace)


def load_path(path: str | Path) -> list[LoadedFile]:
    """The documents of a folder, or one document; a path that does not exist is one clear error."""
    path = Path(path)
    if path.is_dir():
        return load_folder(path)
    if path.is_file():
        return [load_bytes(path.name, path.read_bytes())]
    raise IndexStoreError(f"{path} does not exist: give a folder of documents or one document")


def default_workspace(path: str | Path) -> str:
    """A documents folder's workspace is named after it (a single file's, after its folder)."""
    path = Path(path)
    return (path if path.is_dir() else path.parent).resolve().name


@dataclass(frozen=True)
class Refusal:
    """An upload that was not kept, and why; remembered so a reload still shows it."""

    file_name: str
    size_bytes: int
    file_type: str
    reason: str
    when: str  # UTC, ISO 8601 to the second

    def as_row(self) -> dict[str, Any]:
        """A row of the same status table as :meth:`LoadedFile.as_row`."""
        return {
            "file": self.file_name,
            "type": self.file_type,
            "status": "refused",
            "pages": None,
            "chars": None,
            "error": self.reason,
        }


@dataclass(frozen=True)
class Workspace:
    """One workspace; cheap to create, everything is read from disk when asked."""

    name: str

    @property
    def dir(self) -> Path:
        return workspace_dir(self.name)

    @property
    def docs_dir(self) -> Path:
        return self.dir / "documents"

    def exists(self) -> bool:
        return self.docs_dir.is_dir()

    def create(self) -> Workspace:
        """Make sure the folder exists, before anything is written into it (every change of the workspace)."""
        self.check_writable()
        make_dir(self.docs_dir)  # a home that cannot be written says so (StorageError), not a bare OSError
        return self

    def check_writable(self) -> None:
        """Hosting mode (``PLAYGROUND_PRIVATE=1``): the sample is shared by every session, so none may change it."""
        if self.name == SAMPLE and config.private() and self.exists():
            raise WorkspaceError(
                "the sample workspace is shared by everyone on this server and cannot be changed: "
                "add documents to your own workspace (in the sidebar), which only you can see"
            )

    def documents(self) -> list[LoadedFile]:
        """The workspace's documents, parsed, with its fact edits applied (an empty list for a new workspace)."""
        files = load_folder(self.docs_dir) if self.docs_dir.is_dir() else []
        live = [e for e in self.edits() if e.file_name in passages_with(files, e.old)]  # stale ones no longer apply
        return apply_edits(files, live) if live else files

    @property
    def _edits_path(self) -> Path:
        return self.dir / "edits.json"

    def edits(self) -> list[FactEdit]:
        """The fact edits in force (see :mod:`playground.edits`); the files on disk stay as uploaded."""
        try:
            return [FactEdit(**row) for row in json.loads(self._edits_path.read_text(encoding="utf-8"))]
        except (OSError, ValueError, TypeError):
            return []

    def add_edit(self, edit: FactEdit) -> None:
        """Change a fact in one document's text; :meth:`clear_edits` puts the original back."""
        apply_edits(self.documents(), [edit])  # refuses an edit whose text is not there, before it is kept
        self.create()
        write_atomic(self._edits_path, json.dumps([e.as_dict() for e in [*self.edits(), edit]], indent=2))

    def clear_edits(self) -> None:
        self._edits_path.unlink(missing_ok=True)

    def _paths(self) -> list[Path]:
        """The document files; hidden ones (a write in progress) are not documents."""
        if not self.docs_dir.is_dir():
            return []
        return sorted(p for p in self.docs_dir.iterdir() if p.is_file() and not p.name.startswith("."))

    def file_names(self) -> list[str]:
        return [p.name for p in self._paths()]

    def signature(self) -> tuple[tuple[str, int, int], ...]:
        """Names, sizes and modification times of the documents: a cheap key that changes when they do."""
        edits = [self._edits_path] if self._edits_path.is_file() else []  # an edit changes the documents too
        return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in [*self._paths(), *edits])

    def add(self, files: Iterable[tuple[str, bytes]]) -> list[LoadedFile]:
        """Parse uploads and keep those that parse; each result says ok or why not. Same name replaces.

        A refused upload is remembered (see :meth:`refused`) until one of that name is kept or it is cleared.
        """
        self.create()
        results = []
        with reader() as parser:  # one worker reads the whole batch
            for name, data in files:
                safe = upload_name(name)  # never a path into our folders, a hidden file or too long to write
                loaded = load_bytes(safe, data, parser=parser)
                if loaded.ok:
                    write_atomic(self.docs_dir / safe, data)
                results.append(loaded)
        self._note_refusals(results)
        return results

    @property
    def _refused_path(self) -> Path:
        return self.dir / "refused.json"

    def refused(self) -> list[Refusal]:
        """The uploads that were not kept, the latest last; an unreadable record counts as none."""
        try:
            rows = json.loads(self._refused_path.read_text(encoding="utf-8"))
            return [Refusal(**row) for row in rows]
        except (OSError, ValueError, TypeError):  # missing, or damaged by hand: a record, not a document
            return []

    def clear_refused(self, names: Iterable[str] | None = None) -> None:
        """Forget the refused uploads called ``names``, or all of them."""
        drop = None if names is None else {Path(n).name for n in names}
        self.check_writable()
        with _lock(self.dir):
            self._save_refused([r for r in self.refused() if drop is not None and r.file_name not in drop])

    def _note_refusals(self, results: list[LoadedFile]) -> None:
        """Record the refused uploads and forget earlier refusals of names now kept (one record per name)."""
        if not results:
            return
        when = datetime.now(UTC).isoformat(timespec="seconds")
        with _lock(self.dir):  # read, change, write: two sessions uploading at once must not lose a record
            by_name = {r.file_name: r for r in self.refused()}
            for loaded in results:
                by_name.pop(loaded.file_name, None)  # a newer refusal goes to the end
                if not loaded.ok:
                    by_name[loaded.file_name] = Refusal(
                        loaded.file_name, loaded.size_bytes, loaded.file_type, loaded.error or "", when
                    )
            self._save_refused(list(by_name.values()))

    def _save_refused(self, refusals: list[Refusal]) -> None:
        if refusals:
            write_atomic(self._refused_path, json.dumps([asdict(r) for r in refusals], indent=2))
        else:
            self._refused_path.unlink(missing_ok=True)

    def remove(self, name: str) -> None:
        self.check_writable()
        path = self.docs_dir / Path(name).name
        if not path.is_file():
            raise DocumentError(name, "not in this workspace (already removed?)")
        path.unlink()

    def _settings(self) -> dict[str, Any]:
        path = self.dir / "settings.json"
        if not path.is_file():
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}

    def _save_settings(self, part: str, values: dict[str, Any]) -> None:
        """Replace one part of ``settings.json`` (chunking, house style), keeping the others."""
        self.create()
        write_atomic(self.dir / "settings.json", json.dumps({**self._settings(), part: values}, indent=2))

    def chunk_settings(self) -> ChunkSettings:
        return ChunkSettings(**self._settings().get("chunk", {}))

    def save_chunk_settings(self, settings: ChunkSettings) -> None:
        self._save_settings("chunk", settings.as_dict())

    def style_rule(self) -> StyleRule:
        """The house style answers are checked against (the fine-tuning lab's form unless the workspace sets one)."""
        return StyleRule(**self._settings().get("style", {}))

    def save_style_rule(self, rule: StyleRule) -> None:
        self._save_settings("style", rule.as_dict())

    def chosen_finetune(self) -> str | None:
        """The fine-tuned model (an id, or the base again) last chosen for this workspace; None: the default."""
        chosen = self._settings().get("models", {}).get("finetuned")
        return str(chosen) if chosen else None

    def save_chosen_finetune(self, model_id: str) -> None:
        """Remember the Fine-tuned slots' model for this workspace, so a reload (or coming back) keeps it."""
        self._save_settings("models", {"finetuned": model_id})

    def retrieval_recipe(self) -> str | None:
        """The retrieval recipe a person picked over the retrieval check's choice (its name); None: automatic."""
        chosen = self._settings().get("retrieval", {}).get("recipe")
        return str(chosen) if chosen else None

    def save_retrieval_recipe(self, name: str | None) -> None:
        """Keep a person's retrieval recipe for this workspace (None goes back to the check's choice)."""
        self._save_settings("retrieval", {**self._settings().get("retrieval", {}), "recipe": name})

    def retrieval_headers(self) -> str | None:
        """The contextual header the retrieval check chose for this workspace's index; None: the default."""
        chosen = self._settings().get("retrieval", {}).get("headers")
        return str(chosen) if chosen else None

    def save_retrieval_headers(self, headers: str) -> None:
        self._save_settings("retrieval", {**self._settings().get("retrieval", {}), "headers": headers})

    def chunks(self, files: list[LoadedFile] | None = None) -> list[TextNode]:
        """The chunks the current settings make (for browsing; no embedding)."""
        good = [f for f in (self.documents() if files is None else files) if f.ok]
        return chunk(good, self.chunk_settings()) if good else []

    def questions(self) -> list[dict[str, str]]:
        return load_questions(self.dir) if (self.dir / QUESTIONS_FILE).is_file() else []


def open_workspace(name: str) -> Workspace:
    """The workspace called ``name`` (made safe for a folder name); ``sample`` is created on first use."""
    ws = Workspace(slug(name))
    if ws.name == SAMPLE and not ws.exists():
        _create_sample(ws)
    return ws


def list_workspaces() -> list[str]:
    """Names of the workspaces that have a documents folder, the sample first."""
    root = config.home() / "workspaces"
    names = sorted(p.name for p in root.iterdir() if (p / "documents").is_dir()) if root.is_dir() else []
    return [SAMPLE, *[n for n in names if n != SAMPLE]]


_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock(folder: Path) -> threading.Lock:
    """One lock per workspace folder in this process: the sessions of a server share its files."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(folder, threading.Lock())


def _create_sample(ws: Workspace) -> None:
    with _lock(ws.dir), guarded(ws.dir):
        if ws.exists():  # another session made it while this one waited
            return
        make_dir(ws.dir.parent)
        # Copy then rename: a crash never leaves half a sample. A staging folder of its own, so that a second
        # server process making the sample at the same moment does not empty this one's.
        staging = Path(tempfile.mkdtemp(prefix=f".{ws.name}.new-", dir=ws.dir.parent))
        try:
            (staging / "documents").mkdir()
            for path in SAMPLE_DOCS.iterdir():
                if path.name == QUESTIONS_FILE:
                    shutil.copy2(path, staging / QUESTIONS_FILE)
                elif path.is_file() and not path.name.startswith("."):
                    shutil.copy2(path, staging / "documents" / path.name)
            ws.dir.mkdir(parents=True, exist_ok=True)
            for item in staging.iterdir():  # the folder may already hold indexes built from sample_docs
                target = ws.dir / item.name
                if not target.exists():
                    item.replace(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
