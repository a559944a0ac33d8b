"""Compare: one question, four answers in a 2×2 grid, streamed, each with its cost and (for RAG) its sources."""

import streamlit as st

from playground import GenerationParams, PlaygroundError, PromptSettings, RetrievalSettings, compare, ui
from playground.compare import DEFAULT_RAG_TEMPLATE, HELP, LABELS, ConditionResult

SAME = "(same as base)"

st.title("Compare")
listing = ui.model_listing(ui.ollama_host())
for message in listing.errors.values():
    st.info(message)  # a backend being down is news, not a failure: the others still answer
models = {m.id: m for m in listing.models}
if not models:
    st.error("No models available: install the embedded model with `make run`, or start Ollama.")
    st.stop()

with st.sidebar:
    st.header("Models")
    ids = list(models)
    base_id = st.selectbox("Base model", ids, format_func=lambda i: models[i].label)
    tuned = [i for i in ids if models[i].finetuned_from == base_id]
    ft_options = [SAME, *tuned, *[i for i in ids if i not in tuned]]
    ft_id = st.selectbox(
        "Fine-tuned model",
        ft_options,
        index=1 if tuned else 0,
        format_func=lambda i: i if i == SAME else models[i].label,
        help="Models marked 'fine-tuned from' your base come first.",
    )
    st.header("Retrieval")
    top_k = st.slider("Passages (top-k)", 1, 10, RetrievalSettings().top_k, help=RetrievalSettings.help("top_k"))
    st.header("Generation")
    max_tokens = st.slider("Longest answer (tokens)", 16, 512, GenerationParams().max_tokens)
    seed = st.number_input("Seed", 0, 2**31 - 1, GenerationParams().seed, help=GenerationParams.help("seed"))
    with st.expander("RAG prompt template"):
        template = st.text_area(
            "Template", DEFAULT_RAG_TEMPLATE, height=200, help="{context} and {question} are filled in."
        )

with st.spinner("Opening the sample workspace…"):
    try:
        index = ui.sample_index()
    except PlaygroundError as err:
        st.error(str(err))
        st.stop()
st.caption(f"Workspace **sample**: {index.stats.files} files, {index.stats.chunks} chunks, {index.stats.embed_model}")

by_source: dict[str, str] = {}
for row in ui.sample_questions():  # one example per document: the first screen spans the whole workspace
    by_source.setdefault(row["source"], row["question"])
examples = list(by_source.values())
st.session_state.setdefault("question", examples[0])
cols = st.columns(len(examples))
for col, example in zip(cols, examples, strict=True):
    if col.button(example, width="stretch"):
        st.session_state["question"] = example
question = st.text_input("Question", key="question")


def render(result: ConditionResult) -> None:
    """Everything after the streamed text: error, metrics, sources, prompt."""
    if result.error:
        st.error(result.error)
    if result.note:
        st.caption(result.note)
    m = result.metrics
    if m:
        st.caption(
            f"{m.latency_s:.2f} s · first token {m.first_token_s or 0:.2f} s · {m.tokens_per_s:.0f} tok/s · "
            f"{m.prompt_tokens} prompt + {m.completion_tokens} answer tokens"
        )
        if m.context_window:
            st.progress(
                min(m.context_used / m.context_window, 1.0), text=f"context {m.context_used}/{m.context_window}"
            )
    if result.sources:
        with st.expander(f"Sources ({len(result.sources)})"):
            for s in result.sources:
                where = f"{s.file_name}, page {s.page}" if s.page else s.file_name
                st.progress(min(max(s.score, 0.0), 1.0), text=f"[{s.rank}] {where} — score {s.score:.2f}")
                st.html(
                    f"<div style='white-space:pre-wrap;font-size:0.85em'>{ui.highlight(s.text, s.used_spans)}</div>"
                )
    if result.messages and st.toggle("Show the exact prompt", key=f"prompt-{result.condition}"):
        st.code("\n\n".join(f"[{m['role']}]\n{m['content']}" for m in result.messages), language=None)


if st.button("Ask", type="primary", disabled=not question.strip()):
    try:
        run = compare(
            question,
            catalogue=ui.catalogue(),
            base=models[base_id],
            finetuned=None if ft_id == SAME else models[ft_id],
            index=index,
            retrieval=RetrievalSettings(top_k=top_k),
            generation=GenerationParams(max_tokens=max_tokens, seed=int(seed)),
            prompts=PromptSettings(rag_template=template),
        )
    except PlaygroundError as err:
        st.error(str(err))
        st.stop()
    top, bottom = st.columns(2), st.columns(2)
    for cell, condition in zip([*top, *bottom], run.conditions, strict=True):
        with cell.container(border=True):
            color, label = ui.COLORS[condition.condition], LABELS[condition.condition]
            st.html(f"<h4 style='color:{color};margin:0'>{label}</h4>")  # our own constants, not user text
            st.caption(f"{condition.result.model} — {HELP[condition.condition]}")
            st.write_stream(condition.stream())
            render(condition.result)
    ui.history().append({"question": question, **{r.condition: (r.error or r.text)[:80] for r in run.results()}})

if ui.history():
    with st.expander(f"This session's questions ({len(ui.history())})"):
        st.dataframe(ui.history(), width="stretch")
