"""Home: what the playground is, the way into the sample workspace, and backend status at a glance."""

import streamlit as st

from playground import ui
from playground.compare import HELP, LABELS
from playground.models import capability_note

ui.via_app(__file__)

st.title("RAG vs Fine-tuning Playground")
st.markdown(
    "Ask one question and watch four answers side by side. Each one shows what it cost; "
    "each RAG answer shows the passages it was given, with the words it used highlighted."
)
cols = st.columns(4)
for col, condition in zip(cols, LABELS, strict=True):
    col.html(
        f"<div style='border-left:4px solid {ui.COLORS[condition]};padding-left:8px'>"
        f"<b>{LABELS[condition]}</b><br><small>{HELP[condition]}</small></div>"
    )  # our own constants, not user text

st.write("")
left, right = st.columns([3, 2])  # wide enough for the button's whole label beside an 800 px sidebar
with left:
    if st.button("Open the sample workspace", type="primary", icon=":material/rocket_launch:"):
        ui.set_workspace(ui.SAMPLE)
        st.switch_page("pages/compare.py")
    st.caption(
        "Five documents about a fictional instrument maker (PDF, Word, HTML, Markdown, text) and 71 questions. "
        "Or bring your own: **Documents** → upload → **Compare**."
    )

st.subheader("Backends")
listing = ui.listing()
embedded = [m for m in listing.models if m.backend == "embedded"]
ollama = [m for m in listing.models if m.backend == "ollama"]
left, right = st.columns(2)
with left.container(border=True):
    st.markdown("**Embedded engine** (llama.cpp, offline)")
    if "embedded" in listing.errors:
        st.error(ui.plain(listing.errors["embedded"]))
    else:
        st.success(f"Ready: {len(embedded)} model(s)")
        st.text("\n".join(m.label for m in embedded))
        if listing.unusable:
            st.caption(f":material/broken_image: {len(listing.unusable)} file(s) in the models folder cannot be used: "
                       "see **Models** for why.")  # fmt: skip
with right.container(border=True):
    st.markdown(f"**Ollama** at `{ui.ollama_host()}`")
    if "ollama" in listing.errors:
        st.info(ui.plain(listing.errors["ollama"]))
    else:
        st.success(f"Reachable: {len(ollama)} model(s)")
        st.text("\n".join(m.label for m in ollama) or "No models pulled yet: `ollama pull llama3.2:1b`")
if server := ui.openai_server()[0]:  # shown only where one is set (OPENAI_BASE_URL or the Models page)
    with st.container(border=True):
        st.markdown(f"**OpenAI-compatible server** at `{server}`")
        if "openai" in listing.errors:
            st.info(ui.plain(listing.errors["openai"]))
        else:
            served = [m for m in listing.models if m.backend == "openai"]
            st.success(f"Reachable: {len(served)} model(s)")
            st.text("\n".join(m.label for m in served))
base, _ = ui.chosen_models(listing)
if base is not None and (note := capability_note(base)):
    st.info(note, icon=":material/info:")
st.page_link("pages/models.py", label="Choose models and the Ollama host", icon=":material/memory:")
