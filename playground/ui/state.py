"""One browser session's state: its workspace (mirrored in the URL), its model choice, what it has seen.

Session state holds small values only (names, ids, finished results); everything heavy is in
:mod:`playground.ui.cache`, shared by the sessions.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

import streamlit as st

from playground import config
from playground.config import Progress, RetrievalSettings
from playground.documents import LoadedFile
from playground.edits import as_uploaded
from playground.errors import PlaygroundError, WorkspaceError
from playground.index import PlaygroundIndex
from playground.index import index_state as saved_index_state
from playground.models import Catalogue, Listing, ModelInfo, default_base, default_finetune
from playground.readout import comparison_id, load_comparison
from playground.retrieval_check import RetrievalCheck, answer_settings, workspace_check, workspace_headers
from playground.ui import cache
from playground.vectorstores import VectorStoreSettings, workspace_vector_store
from playground.vectorstores import choose_vector_store as set_store
from playground.workspace import SAMPLE, Workspace, list_workspaces, open_workspace, slug

SAME = "(same as base)"  # the fine-tuned slot's choice of the base model again, said so in its card


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


# -- the current workspace: session state, mirrored in the URL so a reload keeps it -----------
# Hosting mode (PLAYGROUND_PRIVATE=1): each session starts in a workspace of its own with an unguessable name,
# sees only that one and the shared sample, and opens no other, whatever the URL says.
def workspace_name() -> str:
    if "workspace" not in st.session_state:
        asked = st.query_params.get("ws")
        st.session_state["workspace"] = _private_start(asked) if config.private() else asked or SAMPLE
    return str(st.session_state["workspace"])


def private_name() -> str:
    """A workspace name nobody can guess: 24 random bytes (``secrets``), as a folder name.

    >>> a, b = private_name(), private_name()
    >>> a != b and a.startswith("private-") and len(a) > 36 and slug(a) == a
    True
    """
    return "private-" + slug(secrets.token_urlsafe(24))


def _own() -> list[str]:
    """Hosting mode: the workspaces this browser session may open besides the sample (its own, made here)."""
    own: list[str] = st.session_state.setdefault("_own_workspaces", [])
    if not own:
        own.append(private_name())
    return own


def _private_start(asked: str | None) -> str:
    """A new session's workspace in hosting mode: its own, or the sample when the URL asks for it. A URL naming
    any other workspace is ignored (and the page says so): a link cannot open someone else's documents."""
    if asked and slug(asked) == SAMPLE:
        return SAMPLE
    if asked and slug(asked) not in _own():
        st.session_state["_refused_workspace"] = True
    return _own()[0]


def refused_workspace() -> bool:
    """Whether this session was opened by a URL naming a workspace that is not its own (hosting mode)."""
    return bool(st.session_state.get("_refused_workspace"))


def read_only() -> bool:
    """The current workspace is the sample shared by every session of a hosting-mode server: shown, not changed."""
    return config.private() and workspace_name() == SAMPLE


def set_workspace(name: str) -> str:
    if config.private() and slug(name) not in (SAMPLE, *_own()):
        raise WorkspaceError("on this server each session has a workspace of its own: open it, or the sample")
    ws = open_workspace(name)
    st.session_state["workspace"] = ws.name
    mirror_in_url()
    return ws.name


def mirror_in_url() -> None:
    """Put the workspace in the URL (?ws=), so a reload keeps it. In hosting mode only the sample's name goes
    there: a private workspace's name is its key, never shown in an address bar that may be shared or projected
    (a reload there starts a new private workspace)."""
    name = workspace_name()
    if config.private() and name != SAMPLE:
        st.query_params.pop("ws", None)
    else:
        st.query_params["ws"] = name


def workspace() -> Workspace:
    return open_workspace(workspace_name())


def workspaces() -> list[str]:
    open_workspace(SAMPLE)  # exists from the first start
    return [SAMPLE, *_own()] if config.private() else list_workspaces()


def current_index(progress: Progress | None = None) -> PlaygroundIndex | None:
    """The current workspace's index (None when it has no documents yet); cached by document signature."""
    ws = workspace()
    signature = ws.signature()
    if not signature:
        return None
    cs = ws.chunk_settings()
    headers = workspace_headers(ws)  # the retrieval check's (or a person's) choice
    store = workspace_vector_store(ws.name)  # a store chosen on Documents since the last build is another index
    return cache.workspace_index(ws.name, signature, (cs.chunk_size, cs.chunk_overlap), progress, headers, store)


def vector_store() -> VectorStoreSettings:
    """Where the current workspace's index keeps its vectors (its own choice, else the server's)."""
    return workspace_vector_store(workspace_name())


def choose_vector_store(settings: VectorStoreSettings) -> None:
    """Point the current workspace at ``settings`` once its engine answers; never in hosting mode, where the store
    is the server's to say (``PLAYGROUND_VECTOR_STORE``), as its model servers are."""
    if config.private():
        raise WorkspaceError("on this server the vector store is the server's setting (PLAYGROUND_VECTOR_STORE)")
    set_store(workspace().name, settings)


def retrieval_check(again: bool = False, progress: Progress | None = None) -> RetrievalCheck | None:
    """The current workspace's retrieval check (made once per index, or ``again``); None without an index."""
    index = current_index()
    if index is None:
        return None
    ws = workspace()
    return workspace_check(index, ws, loaded_files(), again=again, progress=progress)


def retrieval_settings(base: RetrievalSettings) -> RetrievalSettings:
    """``base`` with the mode and fusion weight the workspace retrieves with (a person's pick, else the check's)."""
    return answer_settings(current_index() if index_state() == "current" else None, workspace(), base)


def index_state() -> str:
    """Whether the current workspace's saved index is ``current``, ``stale`` or ``none``; loads nothing."""
    ws = workspace()
    files = cache.workspace_documents(ws.name, ws.signature())
    return saved_index_state(ws.name, files, ws.chunk_settings(), cache.embed_model().model_name)


def documents() -> dict[str, str]:
    """The current workspace's readable documents: file name -> sha256 (parsed once, cached)."""
    ws = workspace()
    return {f.file_name: f.sha256 for f in cache.workspace_documents(ws.name, ws.signature()) if f.ok}


def loaded_files() -> list[LoadedFile]:
    """The current workspace's readable documents, parsed (cached by their signature)."""
    ws = workspace()
    return [f for f in cache.workspace_documents(ws.name, ws.signature()) if f.ok]


def questions() -> list[dict[str, str]]:
    return workspace().questions()


# -- backends and the model choice: plain session keys, so the choice survives pages without the widgets --
def ollama_host() -> str:
    if config.private():  # hosting mode: the server's own setting; a page must not point it at other addresses
        return config.ollama_host()
    return str(st.session_state.get("ollama_host") or config.ollama_host())


def openai_server() -> tuple[str, str]:
    """The OpenAI-compatible server this session uses, (URL, key): as set on the Models page, else
    ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``; an empty URL means none. The key from the environment is
    never put in a widget: it would reach every browser."""
    chosen = {} if config.private() else st.session_state  # hosting mode: the server's settings only
    url = chosen.get("openai_base_url")
    key = str(chosen.get("openai_api_key") or "").strip() or config.openai_api_key() or ""
    return str(os.environ.get("OPENAI_BASE_URL", "") if url is None else url).strip(), key


def catalogue() -> Catalogue:
    return cache.catalogue(ollama_host(), openai_server())


def listing() -> Listing:
    return cache.model_listing(ollama_host(), openai_server())


def chosen_models(models: Listing) -> tuple[ModelInfo | None, ModelInfo | None]:
    """The chosen base and fine-tuned models (fine-tuned None = the base again), defaults filled in.

    The fine-tuned choice belongs to the workspace (a fine-tune learned one workspace's documents): switching
    workspace brings back the one chosen there (kept in its settings, so a reload keeps it too), else its
    default, a fine-tune trained on exactly its documents (:func:`~playground.models.default_finetune`).
    """
    by_id = {m.id: m for m in models.models}
    if not by_id:
        return None, None
    base_id = st.session_state.get("base_model")
    if base_id not in by_id:
        base_id = default_base(models.models).id
        st.session_state["base_model"] = base_id
    name, last = workspace_name(), st.session_state.get("_ft_workspace")
    if last != name:
        if last is not None or "ft_model" not in st.session_state:  # a choice set before the first run stays
            st.session_state["ft_model"] = workspace().chosen_finetune()
            st.session_state["_ft_default"] = False
        st.session_state["_ft_workspace"] = name
    ft_id = st.session_state.get("ft_model")
    # A default is picked again each run, so an adapter trained here meanwhile becomes the workspace's default.
    if (ft_id != SAME and ft_id not in by_id) or st.session_state.get("_ft_default"):
        tuned = default_finetune(models.models, by_id[base_id], as_uploaded(loaded_files()))
        ft_id = tuned.id if tuned else SAME
        st.session_state["ft_model"], st.session_state["_ft_default"] = ft_id, True
    return by_id[base_id], None if ft_id == SAME else by_id[ft_id]


def choose_finetune(model_id: str) -> None:
    """A person's choice of the Fine-tuned slots' model, for this workspace: kept in the session and saved."""
    st.session_state["ft_model"] = model_id
    st.session_state["_ft_workspace"], st.session_state["_ft_default"] = workspace_name(), False
    with contextlib.suppress(PlaygroundError):  # the shared sample of a hosting server: kept in this session only
        workspace().save_chosen_finetune(model_id)


LINK_QUESTION_CHARS = 200  # a longer question goes into a link by its stored comparison's id (?c=)


def question_from_url() -> str | None:
    """A link with ``?q=`` (or ``?c=``, a stored comparison's id) opens with that question in the box (once:
    typing afterwards is not undone)."""
    asked = st.query_params.get("q")
    if not asked and (key := st.query_params.get("c")):
        stored = load_comparison(workspace_name(), key=key)
        asked = stored.question if stored else None
    if asked and st.session_state.get("_url_question") != asked:
        st.session_state["question"] = st.session_state["_url_question"] = asked
    return asked or None


def set_question_link(question: str) -> None:
    """Put the question asked into the URL, so the address bar is a link that reopens it: the question itself
    (readable), or for a long one the id of its stored comparison (a 5,000-character question is no link)."""
    if len(question) > LINK_QUESTION_CHARS:
        st.query_params.pop("q", None)
        st.query_params["c"] = comparison_id(question)
    else:
        st.query_params.pop("c", None)
        st.query_params["q"] = question
    st.session_state["_url_question"] = question


def clear_question_link() -> None:
    """Take the question out of the URL (the answers shown are another workspace's, or none)."""
    st.query_params.pop("q", None)
    st.query_params.pop("c", None)
    st.session_state.pop("_url_question", None)


def history() -> list[dict[str, Any]]:
    """This session's questions and their results, newest last."""
    return st.session_state.setdefault("history", [])


__all__ = [
    "SAME",
    "catalogue",
    "choose_finetune",
    "chosen_models",
    "clear_question_link",
    "current_index",
    "documents",
    "history",
    "index_state",
    "listing",
    "mirror_in_url",
    "ollama_host",
    "openai_server",
    "private_name",
    "question_from_url",
    "questions",
    "read_only",
    "refused_workspace",
    "retrieval_check",
    "retrieval_settings",
    "set_question_link",
    "set_workspace",
    "via_app",
    "workspace",
    "workspace_name",
    "workspaces",
]
