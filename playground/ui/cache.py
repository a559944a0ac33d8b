"""Process-wide resources: models, backends, parsed documents and indexes, loaded once and shared.

``st.cache_resource`` objects are shared by every session of the server, so they are treated as
read-only, keyed by plain values (names, file signatures, settings), never by upload objects.
``LOADS`` counts what each loader really did, so tests can prove that a rerun reloads nothing.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections import Counter
from typing import Any

import streamlit as st
from llama_index.core.schema import TextNode

from playground import config
from playground.config import Progress
from playground.documents import LoadedFile
from playground.embeddings import LocalEmbedding
from playground.index import PlaygroundIndex, SearchRecipe, build_index
from playground.models import Backend, Catalogue, EmbeddedBackend, Listing, openai_backend
from playground.models.ollama import OllamaBackend
from playground.vectorstores import VectorStoreSettings, workspace_vector_store
from playground.workspace import Workspace

Signature = tuple[tuple[str, int, int], ...]  # Workspace.signature(): names, sizes, modification times
LOADS: Counter[str] = Counter()  # cache misses by loader: "embed_model", "embedded_backend", "index", …


@st.cache_resource(show_spinner="Loading the embedding model…")
def embed_model() -> LocalEmbedding:
    LOADS["embed_model"] += 1
    return LocalEmbedding()


@st.cache_resource(show_spinner=False)
def embedded_backend() -> EmbeddedBackend:
    LOADS["embedded_backend"] += 1
    return EmbeddedBackend(n_threads=config.app_threads())  # one core stays with the browser and the server


@st.cache_resource(show_spinner=False)
def ollama_backend(host: str) -> OllamaBackend:
    LOADS["ollama_backend"] += 1
    return OllamaBackend(host=host)


@st.cache_resource(show_spinner=False)
def openai_server(url: str, key: str) -> Backend | None:
    """The OpenAI-compatible server's backend (None for no URL); a URL that is none lists as unavailable."""
    LOADS["openai_server"] += 1
    return openai_backend(url, key or None)


def catalogue(host: str, openai: tuple[str, str] = ("", "")) -> Catalogue:
    """The backends for an Ollama ``host`` and an OpenAI-compatible server ``openai`` = (URL, key)."""
    server = openai_server(*openai)
    return Catalogue([embedded_backend(), ollama_backend(host), *([server] if server else [])])


@st.cache_data(show_spinner=False)
def model_listing(host: str, openai: tuple[str, str] = ("", "")) -> Listing:
    """Models of every backend, asked once: a rerun never waits on Ollama. Fresh after "Check again" on the
    Models page, after a training run, and for another Ollama host or OpenAI server (they are the key)."""
    LOADS["model_listing"] += 1
    return catalogue(host, openai).listing()


class _IndexCache:
    """Loaded indexes by (workspace, document signature, chunk settings); one per workspace in memory.

    A plain dict rather than a cached function per index: a build reports progress into the page that
    asked for it, which a cached function cannot replay. ``lock`` guards the dict for an instant;
    each index being built has a lock of its own, so two sessions asking for it at once build it once,
    while a session asking for another workspace's index (already loaded, or its own build) never waits.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.indexes: dict[tuple[Any, ...], PlaygroundIndex] = {}
        self.building: dict[tuple[Any, ...], threading.Lock] = {}


@st.cache_resource(show_spinner=False)
def _index_cache() -> _IndexCache:
    return _IndexCache()


def workspace_index(
    name: str,
    signature: Signature,
    chunk: tuple[int, int],
    progress: Progress | None = None,
    headers: str = "",
    store: VectorStoreSettings | None = None,
) -> PlaygroundIndex:
    """A workspace's index for its documents as they are (``signature``); built, updated or loaded once.
    ``headers``: the contextual header its retrieval check chose ('' for the default recipe's); ``store``: where
    its vectors live (another store is another index)."""
    cache, key = _index_cache(), (name, signature, chunk, headers, store)
    with cache.lock:
        index = cache.indexes.get(key)
        building = cache.building.setdefault(key, threading.Lock())
    if index is not None:
        return index
    with building:
        with cache.lock:
            index = cache.indexes.get(key)  # another session may have built it while this one waited
        if index is None:
            LOADS["index"] += 1
            index = build_index(
                workspace_documents(name, signature),  # parsed once per version of the files, shared
                embed_model=embed_model(),
                chunk_settings=Workspace(name).chunk_settings(),
                workspace=name,
                progress=progress or config.no_progress,
                recipe=SearchRecipe(headers=headers) if headers else None,
                vector_store=store,
            )
            with cache.lock:
                for old in [k for k in cache.indexes if k[0] == name]:
                    del cache.indexes[old]
                    cache.building.pop(old, None)
                cache.indexes[key] = index
    return index


@st.cache_resource(show_spinner=False, max_entries=16)
def workspace_documents(name: str, signature: Signature) -> list[LoadedFile]:
    """A workspace's parsed documents, once per version of its files (read-only: shared by sessions)."""
    LOADS["documents"] += 1
    return Workspace(name).documents()


@st.cache_resource(show_spinner=False, max_entries=16)
def workspace_chunks(name: str, signature: Signature, chunk: tuple[int, int]) -> list[TextNode]:
    """The chunks the workspace's documents make at these settings (for browsing; nothing embedded)."""
    LOADS["chunks"] += 1
    return Workspace(name).chunks(workspace_documents(name, signature))


def warm_up(workspace: str) -> None:
    """Start loading what ``workspace``'s first question needs, unless ``PLAYGROUND_WARM_UP=0``."""
    if config.warm_up():
        _warm_up(workspace)


@st.cache_resource(show_spinner=False)
def _warm_up(workspace: str) -> threading.Thread:
    """Once per server process and workspace, in the background: load what its first question will need.

    While a person reads the Home page, the embedding model, the workspace's index and the models its
    Compare page starts with load on a spare thread; the caches' own locks make a page that asks for
    them meanwhile wait for this work instead of repeating it. Best effort: a failure here only means
    the page does the work itself, and says why.
    """
    from playground.models import default_base, default_finetune

    def run() -> None:
        took: list[str] = []
        started = time.perf_counter()

        def lap(what: str) -> None:
            nonlocal started
            took.append(f"{what} {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()

        with contextlib.suppress(Exception):
            ws = Workspace(workspace)
            signature = ws.signature()
            embed_model()
            lap("embedding model")
            if signature:
                settings = ws.chunk_settings()
                chunk, store = (settings.chunk_size, settings.chunk_overlap), workspace_vector_store(ws.name)
                index = workspace_index(ws.name, signature, chunk, store=store)
                lap(f"index ({index.stats.status})")
            models = embedded_backend().list_models()
            base = default_base(models)
            tuned = default_finetune(models, base, index.files if signature else {})
            for model in (base, tuned):
                if model is not None:
                    embedded_backend().llama(model)  # loads and warms it, once
            lap("chat models")
        # One line in the server's log: where a fresh server's first seconds go (python -m bench reads it).
        print(f"playground warm-up ({workspace}): {'; '.join(took)}", file=sys.stderr, flush=True)

    thread = threading.Thread(target=run, name="playground-warm-up", daemon=True)
    thread.start()
    return thread


__all__ = [
    "LOADS",
    "catalogue",
    "embed_model",
    "embedded_backend",
    "model_listing",
    "ollama_backend",
    "openai_server",
    "warm_up",
    "workspace_chunks",
    "workspace_documents",
    "workspace_index",
]
