"""Streamlit glue: cached resources, small session-state helpers and safe rendering helpers.

The only module in ``playground/`` that imports streamlit. Models and indexes are
``st.cache_resource`` (shared by every session, treated as read-only) keyed by
plain values, so a rerun with nothing new never reloads a model or rebuilds an
index; session state holds only small values.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import streamlit as st

from playground import config
from playground.config import ChunkSettings
from playground.documents import load_questions
from playground.embeddings import LocalEmbedding
from playground.index import PlaygroundIndex, index_path
from playground.models import Catalogue, EmbeddedBackend, Listing
from playground.models.ollama import OllamaBackend

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DOCS = ROOT / "sample_docs"
SAMPLE_WORKSPACE = "sample"
COLORS = {"base": "#6c757d", "base+rag": "#1f77b4", "ft": "#ff7f0e", "ft+rag": "#2ca02c"}  # one colour per condition


@st.cache_resource(show_spinner="Loading the embedding model…")
def embed_model() -> LocalEmbedding:
    return LocalEmbedding()


@st.cache_resource(show_spinner=False)
def embedded_backend() -> EmbeddedBackend:
    return EmbeddedBackend()


@st.cache_resource(show_spinner=False)
def ollama_backend(host: str) -> OllamaBackend:
    return OllamaBackend(host=host)


def ollama_host() -> str:
    return str(st.session_state.get("ollama_host") or config.ollama_host())


def catalogue() -> Catalogue:
    return Catalogue([embedded_backend(), ollama_backend(ollama_host())])


@st.cache_data(ttl=15, show_spinner=False)
def model_listing(host: str) -> Listing:
    """Models of every backend; cached briefly so reruns do not ask Ollama again and again."""
    return Catalogue([embedded_backend(), ollama_backend(host)]).listing()


@st.cache_resource(show_spinner=False)
def folder_index(folder: str, chunk_size: int, chunk_overlap: int, workspace: str) -> PlaygroundIndex:
    """The index of a folder, built once per process (and loaded from disk when it was saved before)."""
    _, index = index_path(
        folder,
        embed_model=embed_model(),
        chunk_settings=ChunkSettings(chunk_size, chunk_overlap),
        workspace=workspace,
    )
    return index


def sample_index() -> PlaygroundIndex:
    defaults = ChunkSettings()
    return folder_index(str(SAMPLE_DOCS), defaults.chunk_size, defaults.chunk_overlap, SAMPLE_WORKSPACE)


@st.cache_data(show_spinner=False)
def sample_questions() -> list[dict[str, str]]:
    return load_questions(SAMPLE_DOCS)


def history() -> list[dict[str, Any]]:
    """This session's questions and their short results, newest last."""
    return st.session_state.setdefault("history", [])


def highlight(text: str, spans: list[tuple[int, int]]) -> str:
    """HTML for ``text`` with ``spans`` marked; everything is escaped, so document text stays text.

    >>> highlight("a <b> 45 days", [(6, 13)])
    'a &lt;b&gt; <mark>45 days</mark>'
    >>> highlight("x<y", [])
    'x&lt;y'
    """
    out, last = [], 0
    for start, end in sorted(spans):
        out += [html.escape(text[last:start]), f"<mark>{html.escape(text[start:end])}</mark>"]
        last = end
    out.append(html.escape(text[last:]))
    return "".join(out)


__all__ = [
    "COLORS",
    "SAMPLE_DOCS",
    "catalogue",
    "embed_model",
    "embedded_backend",
    "folder_index",
    "highlight",
    "history",
    "model_listing",
    "ollama_host",
    "sample_index",
    "sample_questions",
]
