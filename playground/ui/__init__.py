"""Streamlit glue: cached resources, small session-state helpers and safe rendering helpers.

The only module in ``playground/`` that imports streamlit. Models and indexes are
``st.cache_resource`` (shared by every session, treated as read-only) keyed by
plain values, so a rerun with nothing new never reloads a model or rebuilds an
index; session state holds only small values (names, ids, short history rows).
``LOADS`` counts what each cached loader really did, so tests can prove it.
"""

from __future__ import annotations

import html
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import streamlit as st
from llama_index.core.schema import TextNode

from playground import config
from playground.compare import COLORS  # one colour per condition, owned by the core
from playground.config import Progress
from playground.documents import LoadedFile
from playground.embeddings import LocalEmbedding
from playground import index as indexes
from playground.index import PlaygroundIndex, build_index
from playground.models import Catalogue, EmbeddedBackend, Listing, ModelInfo
from playground.models.ollama import OllamaBackend
from playground.workspace import SAMPLE, SAMPLE_DOCS, Workspace, list_workspaces, open_workspace

ROOT = Path(__file__).resolve().parents[2]
SAME = "(same as base)"  # the fine-tuned slot's default: the base model again, said so in its card
LOADS: Counter[str] = Counter()  # cache misses by loader: "embed_model", "embedded_backend", "index", …


def via_app(page_file: str) -> None:
    """Call first on every page with ``__file__``: make sure it runs inside app.py's navigation and sidebar.

    Streamlit starts in its older "pages/ folder" mode until ``st.navigation`` has run once in the process,
    so the first visit to a page's URL on a fresh server (a bookmark, a reload) would run that page alone,
    without app.py. Leave that mode and switch to the same page: app.py then runs it, sidebar and all.
    A session that app.py has already run in needs nothing (AppTest re-enters that mode on every run).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not st.session_state.get("_app_ran"):
        PagesManager.uses_pages_directory = False
        st.switch_page(f"pages/{Path(page_file).name}")


# -- cached resources: built once per process, shared by every session ---------------------------
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
def _indexes() -> dict[tuple[Any, ...], PlaygroundIndex]:
    """Loaded indexes by (workspace, document signature, chunk settings), shared by every session.

    A plain dict, not a cached function per index: a build reports progress into the page that
    asked for it, which a cached function cannot replay.
    """
    return {}


def workspace_index(
    name: str, signature: tuple[tuple[str, int, int], ...], chunk: tuple[int, int], progress: Progress | None = None
) -> PlaygroundIndex:
    """A workspace's index for its documents as they are (``signature``); built, updated or loaded once."""
    store, key = _indexes(), (name, signature, chunk)
    if key not in store:
        LOADS["index"] += 1
        files = workspace_documents(name, signature)  # parsed once per version of the files, shared
        index = build_index(
            files,
            embed_model=embed_model(),
            chunk_settings=Workspace(name).chunk_settings(),
            workspace=name,
            progress=progress or config.no_progress,
        )
        for old in [k for k in store if k[0] == name]:  # one index per workspace in memory is enough
            del store[old]
        store[key] = index
    return store[key]


@st.cache_resource(show_spinner=False, max_entries=16)
def workspace_documents(name: str, signature: tuple[tuple[str, int, int], ...]) -> list[LoadedFile]:
    """A workspace's parsed documents, once per version of its files (read-only: shared by sessions)."""
    LOADS["documents"] += 1
    return Workspace(name).documents()


@st.cache_resource(show_spinner=False, max_entries=16)
def workspace_chunks(name: str, signature: tuple[tuple[str, int, int], ...], chunk: tuple[int, int]) -> list[TextNode]:
    """The chunks the workspace's documents make at these settings (for browsing; nothing embedded)."""
    LOADS["chunks"] += 1
    return Workspace(name).chunks(workspace_documents(name, signature))


@st.cache_data(ttl=15, show_spinner=False)
def model_listing(host: str) -> Listing:
    """Models of every backend; cached briefly so reruns do not ask Ollama again and again."""
    LOADS["model_listing"] += 1
    return Catalogue([embedded_backend(), ollama_backend(host)]).listing()


def ollama_host() -> str:
    return str(st.session_state.get("ollama_host") or config.ollama_host())


def catalogue() -> Catalogue:
    return Catalogue([embedded_backend(), ollama_backend(ollama_host())])


# -- the current workspace: session state, mirrored in the URL so a reload keeps it -----------
def workspace_name() -> str:
    if "workspace" not in st.session_state:
        st.session_state["workspace"] = st.query_params.get("ws") or SAMPLE
    return str(st.session_state["workspace"])


def set_workspace(name: str) -> str:
    ws = open_workspace(name)
    st.session_state["workspace"] = ws.name
    st.query_params["ws"] = ws.name
    return ws.name


def workspace() -> Workspace:
    return open_workspace(workspace_name())


def workspaces() -> list[str]:
    open_workspace(SAMPLE)  # exists from the first start
    return list_workspaces()


def current_index(progress: Progress | None = None) -> PlaygroundIndex | None:
    """The current workspace's index (None when it has no documents yet); cached by document signature."""
    ws = workspace()
    signature = ws.signature()
    if not signature:
        return None
    cs = ws.chunk_settings()
    return workspace_index(ws.name, signature, (cs.chunk_size, cs.chunk_overlap), progress)


def index_state() -> str:
    """The current workspace's ``Workspace.index_state``, from the documents as already parsed."""
    ws = workspace()
    files = workspace_documents(ws.name, ws.signature())
    return indexes.index_state(ws.name, files, ws.chunk_settings(), embed_model().model_name)


def questions() -> list[dict[str, str]]:
    return workspace().questions()


def sample_index() -> PlaygroundIndex:
    """The sample workspace's index (built on first use)."""
    ws = open_workspace(SAMPLE)
    cs = ws.chunk_settings()
    return workspace_index(ws.name, ws.signature(), (cs.chunk_size, cs.chunk_overlap))


def sample_questions() -> list[dict[str, str]]:
    return open_workspace(SAMPLE).questions()


# -- model choice: plain session keys, so the choice survives pages that do not show the widgets ---
def chosen_models(listing: Listing) -> tuple[ModelInfo | None, ModelInfo | None]:
    """The chosen base and fine-tuned models (fine-tuned None = the base again), defaults filled in."""
    models = {m.id: m for m in listing.models}
    if not models:
        return None, None
    base_id = st.session_state.get("base_model")
    if base_id not in models:
        base_id = next((i for i in models if i == "embedded:smollm2-135m-instruct"), next(iter(models)))
        st.session_state["base_model"] = base_id
    ft_id = st.session_state.get("ft_model")
    if ft_id != SAME and ft_id not in models:
        # A fine-tune of the base is the natural partner; without one the slot repeats the base.
        ft_id = next((i for i, m in models.items() if m.finetuned_from == base_id), SAME)
        st.session_state["ft_model"] = ft_id
    return models[base_id], None if ft_id == SAME else models[ft_id]


def model_pickers(listing: Listing) -> None:
    """Base and fine-tuned selectboxes bound to the session's choice (shared by Models and Compare)."""
    base, _ = chosen_models(listing)
    if base is None:
        return
    models = {m.id: m for m in listing.models}
    ids = list(models)

    def keep(widget: str, target: str) -> None:
        st.session_state[target] = st.session_state[widget]
        if target == "base_model":
            st.session_state.pop("ft_model", None)  # re-pick the partner for the new base

    st.selectbox(
        "Base model",
        ids,
        index=ids.index(base.id),
        format_func=lambda i: models[i].label,
        key="_pick_base",
        on_change=keep,
        args=("_pick_base", "base_model"),
        help="The model every condition starts from.",
    )
    _, ft = chosen_models(listing)
    tuned = [i for i in ids if models[i].finetuned_from == base.id]
    options = [SAME, *tuned, *[i for i in ids if i not in tuned]]
    st.selectbox(
        "Fine-tuned model",
        options,
        index=options.index(ft.id if ft else SAME),
        format_func=lambda i: i if i == SAME else models[i].label,
        key="_pick_ft",
        on_change=keep,
        args=("_pick_ft", "ft_model"),
        help="Fine-tunes of the base come first. Without one, this slot runs the base model again.",
    )


def models_sidebar() -> Listing:
    """The sidebar's model choice, shared by the pages that run models; stops the page when there is none."""
    listing = model_listing(ollama_host())
    if not listing.models:
        st.error("No models available: `make run` installs the embedded model; or start Ollama (`ollama serve`).")
        st.stop()
    with st.sidebar:
        st.header("Models")
        model_pickers(listing)
        for message in listing.errors.values():
            st.caption(f":material/cloud_off: {message}")  # news, not a failure: the other backend still answers
    return listing


# -- small helpers ------------------------------------------------------------------------------
def history() -> list[dict[str, Any]]:
    """This session's questions and their short results, newest last."""
    return st.session_state.setdefault("history", [])


def progress_bar(text: str | None = None) -> Progress:
    """A ``st.progress`` bar here, and the core's ``progress(fraction, message)`` callback that moves it."""
    bar = st.progress(0.0, text=text)
    return lambda fraction, message: bar.progress(min(max(fraction, 0.0), 1.0), text=message)


def batched(pieces: Iterable[str], every_s: float = 0.08) -> Iterator[str]:
    """Group streamed pieces so the page redraws a dozen times a second, not once per token.

    Every piece is kept, in order:

    >>> "".join(batched(iter(["a", "b", "c"]), every_s=0))
    'abc'
    >>> list(batched(iter(["a", "b", "c"]), every_s=60))
    ['a', 'bc']
    """
    buffer: list[str] = []
    last = None
    for piece in pieces:
        buffer.append(piece)
        now = time.perf_counter()
        if last is None or now - last >= every_s:  # the first piece shows at once: time to first token
            yield "".join(buffer)
            buffer, last = [], now
    if buffer:
        yield "".join(buffer)


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
    "LOADS",
    "ROOT",
    "SAME",
    "SAMPLE",
    "SAMPLE_DOCS",
    "batched",
    "catalogue",
    "chosen_models",
    "current_index",
    "embed_model",
    "embedded_backend",
    "highlight",
    "history",
    "index_state",
    "model_listing",
    "model_pickers",
    "models_sidebar",
    "ollama_host",
    "progress_bar",
    "questions",
    "sample_index",
    "sample_questions",
    "set_workspace",
    "via_app",
    "workspace",
    "workspace_chunks",
    "workspace_documents",
    "workspace_index",
    "workspace_name",
    "workspaces",
]
