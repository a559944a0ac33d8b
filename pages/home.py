"""Home: what the playground is, the way into the sample workspace, and backend status at a glance."""

import streamlit as st

from playground import ui

st.title("RAG vs Fine-tuning Playground")
st.markdown(
    "Ask one question and watch four answers side by side: the **base** model alone, the base model with "
    "**retrieved passages** (RAG), a **fine-tuned** model, and the fine-tuned model with the same passages. "
    "Every answer shows what it cost, and every RAG answer shows the passages it was given."
)
if st.button("Open the sample workspace", type="primary"):
    st.switch_page("pages/compare.py")

st.subheader("Backends")
listing = ui.model_listing(ui.ollama_host())
embedded = [m for m in listing.models if m.backend == "embedded"]
ollama = [m for m in listing.models if m.backend == "ollama"]
left, right = st.columns(2)
with left.container(border=True):
    st.markdown("**Embedded engine** (llama.cpp, offline)")
    if "embedded" in listing.errors:
        st.error(listing.errors["embedded"])
    else:
        st.success(f"Ready: {len(embedded)} model(s)")
        st.text("\n".join(m.label for m in embedded))
with right.container(border=True):
    st.markdown(f"**Ollama** at `{ui.ollama_host()}`")
    if "ollama" in listing.errors:
        st.info(listing.errors["ollama"])
    else:
        st.success(f"Reachable: {len(ollama)} model(s)")
        st.text("\n".join(m.label for m in ollama) or "No models pulled yet: `ollama pull llama3.2:1b`")
