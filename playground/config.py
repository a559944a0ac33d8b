"""Settings: environment variables and the small config dataclasses every capability shares.

Each dataclass field carries ``help`` text (shown in the UI and the CLI) and is
checked in ``__post_init__``; a bad value fails at once with a message that names
the field and the value, not deep inside an index build.

Environment variables (all optional):

- ``PLAYGROUND_HOME``: workspaces, indexes, models and registries (default ``./.playground``).
- ``OLLAMA_HOST``: where Ollama listens (default ``http://127.0.0.1:11434``).
- ``OPENAI_BASE_URL``: an OpenAI-compatible server (vLLM, llama.cpp's server, LM Studio, TGI), e.g.
  ``http://127.0.0.1:8000/v1``; unset, that backend is off. ``OPENAI_API_KEY``: its key, when it wants one.
- ``PLAYGROUND_THREADS``: CPU threads for the embedded engine (default: all cores; in the web app all but one).
- ``PLAYGROUND_N_CTX``: context window of embedded models (default 4096).
- ``PLAYGROUND_MAX_FILE_MB``: largest document accepted (default 50).
- ``PLAYGROUND_MAX_TEXT_MB``, ``PLAYGROUND_PARSE_TIMEOUT_S``, ``PLAYGROUND_PARSE_MEMORY_MB``,
  ``PLAYGROUND_MAX_CHUNKS_PER_FILE``, ``PLAYGROUND_MAX_CHUNKS``: what reading and indexing one file, and all of
  a workspace's files, may cost (see :class:`DocumentLimits`).
- ``PLAYGROUND_EMBED_RUNTIME``: ``auto``, ``onnx`` or ``torch``: how the bundled embedding model runs
  (see :mod:`playground.embeddings`).
- ``PLAYGROUND_EMBED_REQUESTS``: requests an ``openai:<model>`` embedding model keeps in flight (default 4), and
  ``PLAYGROUND_EMBED_BATCH``: texts in each (default 32).
- ``PLAYGROUND_VECTOR_STORE``: the vector store of every workspace that names none, e.g. ``milvus http://db:19530``
  (see :mod:`playground.vectorstores`); unset, the embedded store.
- ``PLAYGROUND_WARM_UP``: ``0`` stops the web app loading models and the index in the background at start.
- ``PLAYGROUND_PRIVATE``: ``1`` for a shared server (hosting mode): each browser session gets a workspace of its
  own that no other session can list or open, the sample is shared read-only, and hosts cannot be set from a page.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.errors import ConfigError

DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"

# Long work reports through this: progress(fraction in 0..1, message). The UI passes
# st.progress, the CLI prints to stderr, tests record the calls.
Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    """The default progress callback: say nothing."""


def home() -> Path:
    """The folder that holds everything the playground writes (``PLAYGROUND_HOME``)."""
    return Path(os.environ.get("PLAYGROUND_HOME") or ".playground").expanduser().resolve()


def models_dir() -> Path:
    """Extra ``.gguf`` models and LoRA adapters for the embedded engine live here."""
    return home() / "models"


def ollama_host() -> str:
    return os.environ.get("OLLAMA_HOST") or DEFAULT_OLLAMA_HOST


def openai_url(raw: str, name: str = "OPENAI_BASE_URL") -> str:
    """The API root an OpenAI-compatible client calls, from a URL as people write it; ConfigError if it is none.

    A bare host gets ``http://`` and the ``/v1`` every such server (vLLM, llama.cpp, LM Studio, TGI) serves.

    >>> openai_url("http://127.0.0.1:8000/v1/")
    'http://127.0.0.1:8000/v1'
    >>> openai_url("localhost:8080")
    'http://localhost:8080/v1'
    >>> openai_url("https://gpu.example.com/llm/v1")
    'https://gpu.example.com/llm/v1'
    >>> openai_url("ftp://gpu:21")
    Traceback (most recent call last):
    ...
    playground.errors.ConfigError: OPENAI_BASE_URL='ftp://gpu:21' is not an http(s) URL: e.g. http://127.0.0.1:8000/v1
    """
    import urllib.parse

    text = raw.strip()
    if "://" not in text:
        text = f"http://{text}"
    split = urllib.parse.urlsplit(text)
    try:
        split.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        split = split._replace(netloc="")
    if split.scheme not in ("http", "https") or not split.hostname or split.query or split.fragment:
        raise ConfigError(f"{name}={raw!r} is not an http(s) URL: e.g. http://127.0.0.1:8000/v1")
    path = split.path.rstrip("/") or "/v1"
    return urllib.parse.urlunsplit((split.scheme, split.netloc, path, "", ""))


def openai_base_url() -> str | None:
    """``OPENAI_BASE_URL`` checked (see :func:`openai_url`); None when unset: the backend is off."""
    raw = os.environ.get("OPENAI_BASE_URL", "").strip()
    return openai_url(raw) if raw else None


def openai_api_key() -> str | None:
    """``OPENAI_API_KEY``: sent as a bearer token when set (local servers usually want none)."""
    return os.environ.get("OPENAI_API_KEY", "").strip() or None


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}")
    return value


def embed_requests() -> int:
    """``PLAYGROUND_EMBED_REQUESTS``: embedding requests in flight at once to an OpenAI-compatible server."""
    return _env_int("PLAYGROUND_EMBED_REQUESTS", 4)


def embed_batch() -> int:
    """``PLAYGROUND_EMBED_BATCH``: texts per embedding request to an OpenAI-compatible server (32: TEI's default
    most a client may send at once)."""
    return _env_int("PLAYGROUND_EMBED_BATCH", 32)


def threads() -> int:
    return _env_int("PLAYGROUND_THREADS", os.cpu_count() or 1)


def app_threads() -> int:
    """Threads for the embedded engine inside the web app: ``PLAYGROUND_THREADS``, else all cores but one.

    The browser and the Streamlit server render every streamed piece while llama.cpp decodes; on a
    2-core laptop llama.cpp's spin-waiting threads and the renderer on the same cores slow each other
    (measured: four answers in Chromium 16.7 s on 2 threads, 11.1 s on 1).
    """
    return _env_int("PLAYGROUND_THREADS", max(1, (os.cpu_count() or 1) - 1))


def warm_up() -> bool:
    """Whether the web app loads the first question's models and index in the background at start
    (``PLAYGROUND_WARM_UP``, default on; the page tests turn it off to count what each page loads)."""
    return os.environ.get("PLAYGROUND_WARM_UP", "1").strip().lower() not in ("0", "false", "no", "off")


_YES, _NO = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def private() -> bool:
    """Hosting mode (``PLAYGROUND_PRIVATE=1``): the app serves people who must not see each other's documents.

    A value that is neither yes nor no is refused, not read as no: a typo must not open a server up.

    >>> import os; os.environ["PLAYGROUND_PRIVATE"] = "yes"; private()
    True
    >>> os.environ["PLAYGROUND_PRIVATE"] = "maybe"; private()
    Traceback (most recent call last):
    ...
    playground.errors.ConfigError: PLAYGROUND_PRIVATE='maybe': use 1 (hosting mode) or 0
    >>> del os.environ["PLAYGROUND_PRIVATE"]; private()
    False
    """
    raw = os.environ.get("PLAYGROUND_PRIVATE", "")
    value = raw.strip().lower()
    if value not in _YES + _NO:
        raise ConfigError(f"PLAYGROUND_PRIVATE={raw!r}: use 1 (hosting mode) or 0")
    return value in _YES


def embedded_n_ctx() -> int:
    # 4096 holds the question, several passages even at larger chunk settings, and the answer, while
    # keeping the KV cache small on a laptop.
    return _env_int("PLAYGROUND_N_CTX", 4096, minimum=256)


def max_file_bytes() -> int:
    return _env_int("PLAYGROUND_MAX_FILE_MB", 50) * 1024 * 1024


def _help(text: str, default: Any) -> Any:
    return field(default=default, metadata={"help": text})


def _require(ok: bool, cls: str, name: str, value: Any, why: str) -> None:
    if not ok:
        raise ConfigError(f"{cls}.{name}={value!r}: {why}")


class _Config:
    """Shared helpers: field help for UIs and CLIs, and a stable dict for hashing."""

    @classmethod
    def help(cls, name: str) -> str:
        return str(next(f.metadata.get("help", "") for f in dataclasses.fields(cls) if f.name == name))  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class ChunkSettings(_Config):
    chunk_size: int = _help(
        "Tokens per chunk. Smaller chunks give the model less to read; larger ones carry more context.",
        # On the sample questions, 256-token chunks retrieve a little better (hit@5 0.99 vs 0.94), but the
        # bundled 135M model reads short passages better: on a first sample it answered 7 of 12 from 128-token
        # passages and 2 of 12 from 256 (the full evaluation: Base+RAG 0.24 correct with these defaults).
        128,
    )
    chunk_overlap: int = _help("Tokens shared by neighbouring chunks, so a fact cut at a border survives.", 16)

    def __post_init__(self) -> None:
        _require(32 <= self.chunk_size <= 8192, "ChunkSettings", "chunk_size", self.chunk_size, "must be 32..8192")
        _require(
            0 <= self.chunk_overlap < self.chunk_size,
            "ChunkSettings",
            "chunk_overlap",
            self.chunk_overlap,
            f"must be at least 0 and below chunk_size ({self.chunk_size})",
        )


RETRIEVAL_MODES = ("hybrid", "vector", "bm25")


@dataclass(frozen=True)
class RetrievalSettings(_Config):
    top_k: int = _help("How many chunks are given to the RAG answers.", 3)  # each one more costs prefill time
    similarity_cutoff: float = _help(
        "Drop chunks whose embedding similarity to the question is below this (0 keeps all).", 0.0
    )
    mode: str = _help("hybrid fuses embeddings and BM25 by reciprocal rank; vector or bm25 use one alone.", "hybrid")
    rrf_k: int = _help("Reciprocal-rank-fusion constant: higher flattens the gap between ranks.", 60)
    vector_weight: float = _help(
        "In hybrid fusion, the weight of the embedding ranking (0..1); BM25's is 1 minus it. 0.5 fuses them equally.",
        0.5,
    )

    def __post_init__(self) -> None:
        _require(
            0.0 <= self.vector_weight <= 1.0, "RetrievalSettings", "vector_weight", self.vector_weight, "must be 0..1"
        )
        _require(1 <= self.top_k <= 50, "RetrievalSettings", "top_k", self.top_k, "must be 1..50")
        _require(
            -1.0 <= self.similarity_cutoff <= 1.0,
            "RetrievalSettings",
            "similarity_cutoff",
            self.similarity_cutoff,
            "must be a cosine similarity in -1..1",
        )
        _require(
            self.mode in RETRIEVAL_MODES, "RetrievalSettings", "mode", self.mode, f"must be one of {RETRIEVAL_MODES}"
        )
        _require(self.rrf_k >= 1, "RetrievalSettings", "rrf_k", self.rrf_k, "must be at least 1")


@dataclass(frozen=True)
class GenerationParams(_Config):
    temperature: float = _help("0 is greedy and reproducible; higher samples more freely.", 0.0)
    seed: int = _help("Sampling seed; with temperature 0 the answer is the same every run.", 42)
    max_tokens: int = _help("Longest answer, in tokens.", 160)
    top_p: float = _help("Nucleus sampling mass (ignored at temperature 0).", 0.95)

    def __post_init__(self) -> None:
        _require(0.0 <= self.temperature <= 2.0, "GenerationParams", "temperature", self.temperature, "must be 0..2")
        _require(1 <= self.max_tokens <= 8192, "GenerationParams", "max_tokens", self.max_tokens, "must be 1..8192")
        _require(0.0 < self.top_p <= 1.0, "GenerationParams", "top_p", self.top_p, "must be in (0, 1]")
        _require(self.seed >= 0, "GenerationParams", "seed", self.seed, "must be 0 or more")


@dataclass(frozen=True)
class DocumentLimits(_Config):
    """What reading and indexing documents may cost; a file over a limit is refused alone, saying which."""

    max_text_mb: int = _help(
        "Most text one file may hold once extracted, in MB (PLAYGROUND_MAX_TEXT_MB). A Word file may also unpack "
        "to at most 10 times this.",
        5,  # about 10,000 chunks at the default chunk size: the per-file chunk budget refuses such a file anyway
    )
    parse_timeout_s: int = _help(
        "Seconds reading one file may take before it is stopped and refused (PLAYGROUND_PARSE_TIMEOUT_S).",
        60,  # the sample documents take 0.01-0.2 s each; a 1,000-page PDF takes pypdf about 30 s
    )
    parse_memory_mb: int = _help(
        "Memory the process reading PDF, Word and HTML files may use, in MB (PLAYGROUND_PARSE_MEMORY_MB).",
        1024,  # the reader starts at about 60 MB; the app's models stay in their own process
    )
    max_chunks_per_file: int = _help(
        "Most chunks one file may make at the workspace's chunk settings (PLAYGROUND_MAX_CHUNKS_PER_FILE).",
        # Embedding runs at about 35 chunks/s on a 2-core laptop: 2,000 chunks (a 350-page book at the
        # default chunk size) take about a minute.
        2_000,
    )
    max_chunks: int = _help(
        "Most chunks all of a workspace's files may make together (PLAYGROUND_MAX_CHUNKS).",
        # A folder of 1,500 plain-text files (16 MB, 39,000 chunks) fits; embedding 50,000 chunks takes about
        # 25 minutes on a 2-core laptop.
        50_000,
    )

    def __post_init__(self) -> None:
        for name in ("max_text_mb", "parse_timeout_s", "max_chunks_per_file", "max_chunks"):
            _require(getattr(self, name) >= 1, "DocumentLimits", name, getattr(self, name), "must be at least 1")
        _require(
            self.parse_memory_mb >= 256,
            "DocumentLimits",
            "parse_memory_mb",
            self.parse_memory_mb,
            "must be at least 256 (the reader alone needs about 60 MB before it reads a file)",
        )


def document_limits() -> DocumentLimits:
    """:class:`DocumentLimits` from the environment; a value below its minimum or not a whole number: ConfigError."""
    return DocumentLimits(
        max_text_mb=_env_int("PLAYGROUND_MAX_TEXT_MB", DocumentLimits.max_text_mb),
        parse_timeout_s=_env_int("PLAYGROUND_PARSE_TIMEOUT_S", DocumentLimits.parse_timeout_s),
        parse_memory_mb=_env_int("PLAYGROUND_PARSE_MEMORY_MB", DocumentLimits.parse_memory_mb, minimum=256),
        max_chunks_per_file=_env_int("PLAYGROUND_MAX_CHUNKS_PER_FILE", DocumentLimits.max_chunks_per_file),
        max_chunks=_env_int("PLAYGROUND_MAX_CHUNKS", DocumentLimits.max_chunks),
    )


__all__ = [
    "ChunkSettings",
    "DocumentLimits",
    "GenerationParams",
    "Progress",
    "RetrievalSettings",
    "document_limits",
    "embedded_n_ctx",
    "home",
    "max_file_bytes",
    "models_dir",
    "no_progress",
    "ollama_host",
    "openai_api_key",
    "openai_base_url",
    "openai_url",
    "private",
    "threads",
    "warm_up",
]
