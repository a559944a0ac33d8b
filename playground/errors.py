"""The project's own errors: each message says what went wrong and what to do next.

Pages show them with ``st.error(str(err))`` and the CLI prints them; neither
ever shows a traceback for these. Transport errors (httpx, the ollama client,
llama.cpp) are translated into these once, at the backend seam.
"""

from __future__ import annotations


class PlaygroundError(Exception):
    """Base class: ``str(err)`` is a complete, actionable sentence for a person."""


class ConfigError(PlaygroundError, ValueError):
    """A setting has a bad value; the message names the field and the value."""


class DocumentError(PlaygroundError):
    """One file could not be read; it fails alone, the others still load."""

    def __init__(self, file_name: str, reason: str):
        self.file_name = file_name
        self.reason = reason
        super().__init__(f"{file_name}: {reason}")


class IndexStoreError(PlaygroundError):
    """An index could not be built, loaded or saved."""


class BackendError(PlaygroundError):
    """A model backend failed; the message says how to fix it."""


class BackendUnavailable(BackendError):
    """The backend cannot be reached at all (e.g. Ollama is not running)."""


class ModelNotFound(BackendError):
    """The backend is up but does not have this model."""


class ContextWindowExceeded(BackendError):
    """The prompt does not fit in the model's context window."""


class StorageError(PlaygroundError, OSError):
    """``PLAYGROUND_HOME`` cannot be written (read-only, full, a file in the way); the message says what to do.

    Also an ``OSError``, so code that already copes with a failed write keeps doing so.
    """

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(message)
        self.errno = errno


class WorkspaceError(PlaygroundError):
    """A workspace this session may not open or change (hosting mode: another session's, or the shared sample)."""


class DataLeakError(PlaygroundError):
    """Training data contains held-out evaluation questions; the message says how many and where."""


class TrainingError(PlaygroundError):
    """A fine-tune could not be trained, exported or registered."""


__all__ = [
    "BackendError",
    "BackendUnavailable",
    "ConfigError",
    "ContextWindowExceeded",
    "DataLeakError",
    "DocumentError",
    "IndexStoreError",
    "ModelNotFound",
    "PlaygroundError",
    "StorageError",
    "TrainingError",
    "WorkspaceError",
]
