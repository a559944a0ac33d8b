"""Compare: one question, four answers in a 2×2 grid, streamed, each with its cost and (for RAG) its sources."""

import streamlit as st

from playground import GenerationParams, PlaygroundError, PromptSettings, RetrievalSettings, compare, ui
from playground.compare import DEFAULT_RAG_TEMPLATE, LABELS, cost_figure, example_questions

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

examples = example_questions(ui.questions())
if examples:
    st.session_state.setdefault("question", examples[0])
    cols = st.columns(len(examples))
    for i, example in enumerate(examples):
        if cols[i].button(example, width="stretch", key=f"example-{i}"):
            st.session_state["question"] = example
question = st.text_input("Question", key="question", placeholder="Ask something your documents answer")

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
            documents=index.files if index is not None else None,
        )
    except PlaygroundError as err:
        st.error(str(err))
        st.stop()
    # All four cards first, so the grid is in place; then each streams into its own card.
    slots = []
    for i, (cell, condition) in enumerate(zip(ui.cards.grid(), run.conditions, strict=True)):
        with cell:
            ui.cards.header(condition.condition, condition.result.model)
            slots.append(st.empty())
            before = LABELS[run.conditions[i - 1].condition] if i else ""
            slots[-1].caption(f"Waiting: runs after {before}." if before else "Starting…")
    for slot, condition in zip(slots, run.conditions, strict=True):
        with slot.container():
            st.write_stream(ui.cards.plain(piece) for piece in ui.batched(condition.stream()))
            ui.cards.footer(condition.result, key=condition.condition)
    st.session_state["compare_shown"] = run.question, run.results()
    ui.history().append({"question": run.question, **{r.label: r.error or r.text for r in run.results()}})
elif "compare_shown" in st.session_state:  # a rerun (a toggle, a slider, another page and back) redraws them
    shown_question, results = st.session_state["compare_shown"]
    st.caption(f"Answers to: {shown_question}")
    for cell, result in zip(ui.cards.grid(), results, strict=True):
        with cell:
            ui.cards.card(result, key=result.condition)

if "compare_shown" in st.session_state:
    _, results = st.session_state["compare_shown"]
    if any(r.metrics for r in results):
        st.plotly_chart(cost_figure(results), width="stretch")

if ui.history():
    with st.expander(f"This session's questions ({len(ui.history())})"):
        st.dataframe(ui.history(), width="stretch", hide_index=True)
