"""Models: the catalogue of every backend, the base and fine-tuned choice, where Ollama and an OpenAI-compatible
server listen."""

from pathlib import Path

import streamlit as st

from playground import config, ui
from playground.errors import ConfigError
from playground.models.ollama import normalize_host

ui.via_app(__file__)

st.title("Models")

hosting = config.private()  # a shared server: where its backends listen is the server's to say, not a visitor's
with st.container(border=True):
    st.markdown("**Ollama host**")
    left, right = st.columns([3, 1], vertical_alignment="bottom")  # room for "Check again" whole at 800 px
    if hosting:
        left.caption("Set by this server (OLLAMA_HOST); it cannot be changed from the page.")
    else:
        host = left.text_input("Ollama host", ui.ollama_host(), label_visibility="collapsed", help="Like OLLAMA_HOST.")
    if right.button("Check again"):
        ui.model_listing.clear()  # the listing is cached briefly; a person asking wants a fresh look
    if not hosting:
        try:
            host = normalize_host(host)
        except ValueError as err:
            st.error(
                f"{ui.plain(repr(host))} is not a host Ollama could listen on ({err}): e.g. `http://127.0.0.1:11434`"
            )
        else:
            st.session_state["ollama_host"] = host


def openai_server_settings() -> None:
    """Where an OpenAI-compatible server listens, and its key (like OPENAI_BASE_URL / OPENAI_API_KEY).
    One call, so a deployment whose visitors must not choose hosts leaves it out."""
    # Keyed widgets, filled from the session's choice when the page opens: a value= that follows the choice would
    # make a new widget after each change, and the next edit would be lost.
    st.session_state.setdefault("openai_url_field", ui.openai_server()[0])
    st.session_state.setdefault("openai_key_field", st.session_state.get("openai_api_key", ""))
    with st.container(border=True):
        st.markdown("**OpenAI-compatible server** (vLLM, llama.cpp's server, LM Studio, TGI)")
        left, right = st.columns([3, 2])
        url = left.text_input(
            "OpenAI-compatible server",
            key="openai_url_field",
            placeholder="none; e.g. http://127.0.0.1:8000/v1",
            label_visibility="collapsed",
            help="Like OPENAI_BASE_URL. Its models join the catalogue as openai:<model>. Empty: no server.",
        )
        key = right.text_input(
            "API key",
            key="openai_key_field",
            type="password",
            placeholder="OPENAI_API_KEY is set" if config.openai_api_key() else "API key, if it wants one",
            label_visibility="collapsed",
            help="Like OPENAI_API_KEY; empty: the environment's, if any.",
        )
        try:
            if url.strip():
                config.openai_url(url)
        except ConfigError as err:
            st.error(ui.plain(str(err)))
        else:
            st.session_state["openai_base_url"], st.session_state["openai_api_key"] = url.strip(), key.strip()


if not hosting:
    openai_server_settings()

listing = ui.listing()
if "ollama" in listing.errors:
    down = ui.plain(listing.errors["ollama"])
    st.info(down + ". The embedded models below keep working.", icon=":material/cloud_off:")
if "openai" in listing.errors:
    st.info(ui.plain(listing.errors["openai"]) + ". The other models below keep working.", icon=":material/cloud_off:")
if "embedded" in listing.errors:
    st.error(ui.plain(listing.errors["embedded"]))
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
        "role": "base" if base and m.id == base.id else ("fine-tuned" if ft and m.id == ft.id else ""),
        # backend, family, size and quantization in one cell that wraps: eight columns did not fit 800 px
        "details": " · ".join(str(part) for part in (m.backend, m.family, m.parameter_size, m.quantization) if part),
        "context window": m.context_length,
        "lineage": f"fine-tuned from {m.finetuned_from}" if m.finetuned_from else "",
    }
    for m in listing.models
]
ui.text_table(rows)  # wrapped to fit: as a grid it ran past the right edge even at 1280 px
models_folder = "the server's models folder" if hosting else f"`{ui.embedded_backend().models_dir}`"
st.caption(
    f"Embedded models: the bundled SmolLM2 plus any `.gguf` model or LoRA adapter in {models_folder}. "
    "A LoRA adapter shows as fine-tuned from its base."
)
