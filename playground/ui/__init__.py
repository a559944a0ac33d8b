"""Streamlit glue, the only part of ``playground/`` that imports streamlit. Pages use it as ``ui.<name>``.

- :mod:`~playground.ui.cache`: models, backends, parsed documents and indexes, loaded once per process
  and shared by every session (``LOADS`` counts real loads, so tests can prove a rerun loads nothing);
- :mod:`~playground.ui.state`: one session's workspace (mirrored in the URL), model choice and history;
- :mod:`~playground.ui.widgets`: progress bars, streamed text, the model pickers, escaped highlights, tables
  read whole (``text_table``);
- :mod:`~playground.ui.cards`: the answer card that Compare and Evaluate both draw.
"""

from __future__ import annotations

from playground.compare import COLORS  # one colour per condition, owned by the core
from playground.ui import cards
from playground.ui.cache import (
    LOADS,
    embed_model,
    embedded_backend,
    model_listing,
    ollama_backend,
    warm_up,
    workspace_chunks,
    workspace_documents,
)
from playground.ui.cards import plain
from playground.ui.state import (
    SAME,
    catalogue,
    choose_finetune,
    choose_vector_store,
    chosen_models,
    clear_question_link,
    current_index,
    documents,
    history,
    index_state,
    listing,
    loaded_files,
    mirror_in_url,
    ollama_host,
    openai_server,
    question_from_url,
    questions,
    read_only,
    refused_workspace,
    retrieval_check,
    retrieval_settings,
    set_question_link,
    set_workspace,
    vector_store,
    via_app,
    workspace,
    workspace_name,
    workspaces,
)
from playground.ui.widgets import (
    batched,
    highlight,
    index_or_stop,
    model_pickers,
    models_sidebar,
    progress_bar,
    text_table,
)
from playground.workspace import SAMPLE

__all__ = [
    "COLORS",
    "LOADS",
    "SAME",
    "SAMPLE",
    "batched",
    "cards",
    "catalogue",
    "choose_finetune",
    "choose_vector_store",
    "chosen_models",
    "clear_question_link",
    "current_index",
    "documents",
    "embed_model",
    "embedded_backend",
    "highlight",
    "history",
    "index_or_stop",
    "index_state",
    "listing",
    "loaded_files",
    "mirror_in_url",
    "model_listing",
    "model_pickers",
    "models_sidebar",
    "ollama_backend",
    "ollama_host",
    "openai_server",
    "plain",
    "progress_bar",
    "question_from_url",
    "questions",
    "read_only",
    "refused_workspace",
    "retrieval_check",
    "retrieval_settings",
    "set_question_link",
    "set_workspace",
    "text_table",
    "vector_store",
    "via_app",
    "warm_up",
    "workspace",
    "workspace_chunks",
    "workspace_documents",
    "workspace_name",
    "workspaces",
]
