"""Models: the catalogue of both backends, the base and fine-tuned choice, and where Ollama listens."""

from pathlib import Path

import streamlit as st

from playground import ui
from playground.models.ollama import normalize_host

ui.via_app(__file__)

st.title("Models")

with st.container(border=True):
    st.markdown("**Ollama host**")
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    host = left.text_input("Ollama host", ui.ollama_host(), label_visibility="collapsed", help="Like OLLAMA_HOST.")
    if right.button("Check again"):
        ui.model_listing.clear()  # the listing is cached briefly; a person asking wants a fresh look
    try:
        host = normalize_host(host)
    except ValueError as err:
        st.error(f"{host!r} is not a host Ollama could listen on ({err}): e.g. `http://127.0.0.1:11434`")
    else:
        st.session_state["ollama_host"] = host

listing = ui.listing()
if "ollama" in listing.errors:
    st.info(listing.errors["ollama"] + ". The embedded models below keep working.", icon=":material/cloud_off:")
if "embedded" in listing.errors:
    st.error(listing.errors["embedded"])
if listing.unusable:  # a damaged file is news about that file, never a broken page
    st.warning(
        f"{len(listing.unusable)} file(s) in the models folder cannot be used; the other models work.",
        icon=":material/broken_image:",
    )
    st.dataframe(
        [{"file": Path(path).name, "why": why} for path, why in listing.unusable.items()],
        hide_index=True,
        width="stretch",
    )
if not listing.models:
    st.warning("No models: `make run` installs the embedded model; or start Ollama and `ollama pull llama3.2:1b`.")
    st.stop()

st.subheader("Choose")
ui.model_pickers(listing)
base, ft = ui.chosen_models(listing)
if ft is None:
    st.caption(
        "No fine-tuned model chosen: the Fine-tuned cards run the base model again, so you can see "
        "that the comparison is fair before you pick a real fine-tune."
    )

st.subheader("Catalogue")
rows = [
    {
        "model": m.name,
        "backend": m.backend,
        "family": m.family,
        "size": m.parameter_size,
        "quantization": m.quantization,
        "context window": m.context_length,
        "lineage": f"fine-tuned from {m.finetuned_from}" if m.finetuned_from else "",
        "role": "base" if base and m.id == base.id else ("fine-tuned" if ft and m.id == ft.id else ""),
    }
    for m in listing.models
]
st.dataframe(rows, width="stretch", hide_index=True)
st.caption(
    "Embedded models: the bundled SmolLM2 plus any `.gguf` model or LoRA adapter in "
    f"`{ui.embedded_backend().models_dir}`. A LoRA adapter shows as fine-tuned from its base."
)
