"""Compare: one question, four answers in a 2×2 grid, streamed, each with its cost and (for RAG) its sources."""

import streamlit as st

from playground import GenerationParams, PlaygroundError, PromptSettings, RetrievalSettings, compare, ui
from playground.compare import DEFAULT_RAG_TEMPLATE, HELP, LABELS, ConditionResult, cost_figure

ui.via_app(__file__)

st.title("Compare")
listing = ui.models_sidebar()
with st.sidebar:
    st.header("Retrieval")
    top_k = st.slider("Passages (top-k)", 1, 10, RetrievalSettings().top_k, help=RetrievalSettings.help("top_k"))
    st.header("Generation")
    max_tokens = st.slider("Longest answer (tokens)", 16, 512, GenerationParams().max_tokens)
    seed = st.number_input("Seed", 0, 2**31 - 1, GenerationParams().seed, help=GenerationParams.help("seed"))
    with st.expander("RAG prompt template"):
        template = st.text_area(
            "Template", DEFAULT_RAG_TEMPLATE, height=200, help="{context} and {question} are filled in."
        )
base, finetuned = ui.chosen_models(listing)
assert base is not None

ws = ui.workspace()
index = None
try:
    if ui.index_state() == "current":
        index = ui.current_index()
    elif ws.signature():
        with st.status(f"Indexing the **{ws.name}** workspace…") as status:
            index = ui.current_index(progress=ui.progress_bar())
            status.update(label="Index ready", state="complete")
except PlaygroundError as err:
    st.error(str(err))
if index is not None:
    s = index.stats
    st.caption(f"Workspace **{ws.name}**: {s.files} files, {s.chunks} chunks, {s.embed_model}")
else:
    st.info(f"Workspace **{ws.name}** has no documents yet: the RAG cards need them.", icon=":material/description:")
    st.page_link("pages/documents.py", label="Add documents", icon=":material/description:")

examples: dict[str, str] = {}
for row in ui.questions():  # one example per document: the first screen spans the whole workspace
    examples.setdefault(row.get("source", ""), row["question"])
if examples:
    st.session_state.setdefault("question", next(iter(examples.values())))
    cols = st.columns(min(len(examples), 5))
    for i, example in enumerate(list(examples.values())[:5]):
        if cols[i].button(example, width="stretch", key=f"example-{i}"):
            st.session_state["question"] = example
question = st.text_input("Question", key="question", placeholder="Ask something your documents answer")


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
        with st.expander(f"Sources ({len(result.sources)})", expanded=result.condition == "base+rag"):
            for s in result.sources:
                where = f"{s.file_name}, page {s.page}" if s.page else s.file_name
                st.progress(min(max(s.score, 0.0), 1.0), text=f"[{s.rank}] {where} — score {s.score:.2f}")
                st.html(
                    "<div style='white-space:pre-wrap;font-size:0.85em;margin-bottom:0.8em'>"
                    f"{ui.highlight(s.text, s.used_spans)}</div>"
                )  # highlight() escapes the document text: it is shown, never interpreted
    if result.messages and st.toggle("Show the exact prompt", key=f"prompt-{result.condition}"):
        st.code("\n\n".join(f"[{m['role']}]\n{m['content']}" for m in result.messages), language=None)


if st.button("Ask", type="primary", disabled=not question.strip()):
    try:
        run = compare(
            question,
            catalogue=ui.catalogue(),
            base=base,
            finetuned=finetuned,
            index=index,
            retrieval=RetrievalSettings(top_k=top_k),
            generation=GenerationParams(max_tokens=max_tokens, seed=int(seed)),
            prompts=PromptSettings(rag_template=template),
        )
    except PlaygroundError as err:
        st.error(str(err))
        st.stop()
    # All four cards first, so the grid is in place; then each streams into its own card.
    top, bottom = st.columns(2), st.columns(2)
    cards = [cell.container(border=True) for cell in [*top, *bottom]]
    for card, condition in zip(cards, run.conditions, strict=True):
        color, label = ui.COLORS[condition.condition], LABELS[condition.condition]
        card.html(f"<h4 style='color:{color};margin:0'>{label}</h4>")  # our own constants, not user text
        card.caption(f"`{condition.result.model}` — {HELP[condition.condition]}")
    for card, condition in zip(cards, run.conditions, strict=True):
        with card:
            st.write_stream(ui.batched(condition.stream()))
            render(condition.result)
    results = run.results()
    if any(r.metrics for r in results):
        st.plotly_chart(cost_figure(results), width="stretch")
    ui.history().append({"question": question, **{r.label: (r.error or r.text)[:80] for r in results}})

if ui.history():
    with st.expander(f"This session's questions ({len(ui.history())})"):
        st.dataframe(ui.history(), width="stretch", hide_index=True)
