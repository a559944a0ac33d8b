"""Small widgets the pages share: progress bars, streamed text, the model pickers, escaped highlights, tables
read whole."""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import streamlit as st

from playground.config import Progress
from playground.errors import PlaygroundError
from playground.index import PlaygroundIndex
from playground.models import Listing
from playground.ui import state


def progress_bar(text: str | None = None) -> Progress:
    """A ``st.progress`` bar here, and the core's ``progress(fraction, message)`` callback that moves it.

    To remove the bar afterwards, draw it inside an ``st.empty()`` and empty that.
    """
    bar = st.progress(0.0, text=text)

    def move(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    return move


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


def text_table(rows: Sequence[Mapping[str, Any]]) -> None:
    """A small table a person reads whole: each cell wraps within its column, so nothing is cut and the table
    fits its box at any width. A data grid (``st.dataframe``) cuts a cell at its column's width and scrolls past
    its right edge instead; it stays the choice for long lists that want sorting and search.

    Cells and headers are shown as written (escaped: ``st.table`` reads Markdown); a missing value is empty.
    """
    from playground.ui.cards import plain  # here: cards imports this module

    def cell(value: Any) -> str:
        return "" if value is None else plain(str(value))

    st.table([{plain(str(k)): cell(v) for k, v in row.items()} for row in rows], hide_index=True)


def model_pickers(listing: Listing) -> None:
    """Base and fine-tuned selectboxes bound to the session's choice (shared by Models and Compare)."""
    base, _ = state.chosen_models(listing)
    if base is None:
        return
    models = {m.id: m for m in listing.models}
    ids = list(models)
    names = [m.name for m in listing.models]

    def short(i: str) -> str:  # the name alone fits the sidebar; the backend only where two models share a name
        return i if i == state.SAME else (models[i].name if names.count(models[i].name) == 1 else models[i].id)

    def keep(widget: str, target: str) -> None:
        if target == "ft_model":
            state.choose_finetune(st.session_state[widget])  # the workspace's choice, kept for a reload
            return
        st.session_state[target] = st.session_state[widget]
        st.session_state.pop("ft_model", None)  # re-pick the partner for the new base

    st.session_state["_pick_base"] = base.id  # the choice, whichever page or workspace made it
    st.selectbox(
        "Base model",
        ids,
        format_func=short,
        key="_pick_base",
        on_change=keep,
        args=("_pick_base", "base_model"),
        help="The model every condition starts from.",
    )
    _, ft = state.chosen_models(listing)
    tuned = [i for i in ids if models[i].finetuned_from == base.id]
    options = [state.SAME, *tuned, *[i for i in ids if i not in tuned]]
    st.session_state["_pick_ft"] = ft.id if ft else state.SAME  # each workspace has its own
    st.selectbox(
        "Fine-tuned model",
        options,
        format_func=short,
        key="_pick_ft",
        on_change=keep,
        args=("_pick_ft", "ft_model"),
        help="Fine-tunes of the base come first (the Models page shows each one's lineage). Without one, this "
        "slot runs the base model again.",
    )


def models_sidebar() -> Listing:
    """The sidebar's model choice, shared by the pages that run models; stops the page when there is none."""
    from playground.ui.cards import plain  # here: cards imports this module

    listing = state.listing()
    if not listing.models:
        st.error("No models available: `make run` installs the embedded model; or start Ollama (`ollama serve`).")
        st.stop()
    with st.sidebar:
        st.header("Models")
        model_pickers(listing)
        for message in listing.errors.values():  # news, not a failure: the other backend still answers
            st.caption(f":material/cloud_off: {plain(message)}. Once it runs: **Models** → **Check again**.")
    return listing


def index_or_stop(needs: str) -> PlaygroundIndex:
    """The current workspace's index; without documents (or with an index that cannot load) the page says so,
    ``needs`` saying what it needs them for, links to Documents and stops."""
    from playground.ui.cards import plain  # cards draws with these widgets

    ws = state.workspace()
    try:
        index = state.current_index()
    except PlaygroundError as err:
        st.error(plain(str(err)))
        st.stop()
    if index is None:
        st.info(f"Workspace **{ws.name}** has no documents yet: {needs}.")
        st.page_link("pages/documents.py", label="Add documents", icon=":material/description:")
        st.stop()
    return index


__all__ = ["batched", "highlight", "index_or_stop", "model_pickers", "models_sidebar", "progress_bar", "text_table"]
