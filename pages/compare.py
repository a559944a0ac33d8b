"""Compare: one question, four answers in a 2×2 grid, streamed, each with its cost and (for RAG) its sources."""

import streamlit as st

from playground import GenerationParams, PlaygroundError, PromptSettings, RetrievalSettings, compare, ui
from playground.compare import DEFAULT_RAG_TEMPLATE, LABELS, cost_figure, example_questions
from playground.edits import FactEdit, as_uploaded, edited_value, passages_with
from playground.models import capability_note
from playground.readout import (
    EXPORTS,
    Comparison,
    change_lesson,
    gold_answer,
    load_comparison,
    save_comparison,
    settings_note,
)

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
    st.error(ui.plain(str(err)))
if index is not None:
    s = index.stats
    st.caption(f"Workspace **{ws.name}**: {s.files} files, {s.chunks} chunks, {s.embed_model}")
else:
    st.info(f"Workspace **{ws.name}** has no documents yet: the RAG cards need them.", icon=":material/description:")
    st.page_link("pages/documents.py", label="Add documents", icon=":material/description:")
note = capability_note(base)
if note and ws.name == ui.SAMPLE:
    st.caption(f":material/info: {note}")
elif note:  # said plainly where it matters most: on a person's own documents
    st.info(note, icon=":material/info:")
# Answers belong to the workspace they were asked in: a switch keeps them with it (and brings this one's back).
kept = st.session_state.setdefault("compare_by_workspace", {})
if (seen := st.session_state.get("compare_shown")) and seen.workspace != ws.name:
    kept[seen.workspace] = st.session_state.pop("compare_shown")
    for key in ("compare_before", "compare_original", "question", "_edit_form_for"):
        st.session_state.pop(key, None)
    ui.clear_question_link()  # the address names this workspace's question, or none
if "compare_shown" not in st.session_state and ws.name in kept:
    st.session_state["compare_shown"] = kept.pop(ws.name)
    st.session_state["question"] = st.session_state["compare_shown"].question
if others := [name for name in kept if name != ws.name]:
    where = ", ".join(f"**{ui.plain(name)}**" for name in others)
    st.caption(f":material/inventory_2: The answers asked in {where} are kept there: switch back to see them.")

rows = ui.questions()
asked = ui.question_from_url()  # a shared link (?ws=…&q=…) opens with its question in the box
if asked and "compare_shown" not in st.session_state and (saved := load_comparison(ws.name, asked)):
    st.session_state["compare_shown"] = saved  # and with its answers, when it was asked here before
if "question" not in st.session_state and (seen := st.session_state.get("compare_shown")):
    st.session_state["question"] = seen.question  # back from another page: the box shows what the grid answers
examples = example_questions(rows)
if examples:
    st.session_state.setdefault("question", examples[0])
    picked = st.pills("Examples from the workspace's questions", examples, key="example_pick")
    if picked and picked != st.session_state.get("example_taken"):
        st.session_state["question"] = st.session_state["example_taken"] = picked
question = st.text_input("Question", key="question", placeholder="Ask something your documents answer")

ask_again = st.session_state.pop("compare_ask_again", False)  # set by "Change it and ask again" below
if st.button("Ask", type="primary", disabled=not question.strip()) or (ask_again and question.strip()):
    try:
        run = compare(
            question,
            catalogue=ui.catalogue(),
            base=base,
            finetuned=finetuned,
            index=index,
            # The recipe the workspace's retrieval check chose (or the one a person picked on Documents).
            retrieval=ui.retrieval_settings(RetrievalSettings(top_k=top_k)),
            generation=GenerationParams(max_tokens=max_tokens, seed=int(seed)),
            prompts=PromptSettings(rag_template=template),
            # As uploaded, with the edits counted: a fine-tune of these files stays theirs after a fact edit.
            documents=as_uploaded(ui.loaded_files()) if index is not None else None,
            edits=len(ws.edits()),
        )
    except PlaygroundError as err:
        st.error(ui.plain(str(err)))
        st.stop()
    shown = Comparison(
        run.question,
        run.results(),
        gold=None if (gold := gold_answer(run.question, rows)) is None else edited_value(gold, ws.edits()),
        workspace=ws.name,
        settings={
            "top_k": top_k, "max_tokens": max_tokens, "seed": int(seed), "rag_template": template,
            "index": index.key if index else None, "embed_model": index.stats.embed_model if index else None,
        },
    )  # fmt: skip
    # Kept before streaming: a toggle or slider touched meanwhile reruns the page, which then redraws the
    # answers finished so far (the same result objects the stream fills in) instead of losing them.
    st.session_state["compare_shown"] = shown
    # All four cards first, so the grid is in place; then each streams into its own card.
    slots = []
    for i, (cell, condition) in enumerate(zip(ui.cards.grid(), run.conditions, strict=True)):
        with cell:
            ui.cards.header(condition.condition, condition.result.model, base.id)
            slots.append(st.empty())
            before = LABELS[run.conditions[i - 1].condition] if i else ""
            slots[-1].caption(f"Waiting: runs after {before}." if before else "Starting…")
    for slot, condition in zip(slots, run.conditions, strict=True):
        with slot.container():
            st.write_stream(ui.cards.lines(piece) for piece in ui.batched(condition.stream()))
            verdict = ui.cards.verdict_line(shown.verdict(condition.result), shown.gold)
            ui.cards.footer(condition.result, key=condition.condition, verdict=verdict)
    try:
        save_comparison(shown)
    except OSError as err:  # the answers are on screen; only keeping them for a reload failed
        why = ui.plain(str(err.strerror or err))
        st.caption(f":material/warning: This comparison was not kept for a reload ({why}).")
    ui.history().append({"question": run.question, **{r.label: r.error or r.text for r in run.results()}})
elif "compare_shown" in st.session_state:  # a rerun (a toggle, a slider, another page and back) redraws them
    shown = st.session_state["compare_shown"]
    st.caption(f"Answers to: {ui.cards.plain(shown.question)} (asked {shown.asked})")
    for cell, result in zip(ui.cards.grid(), shown.results, strict=True):
        with cell:
            verdict = ui.cards.verdict_line(shown.verdict(result), shown.gold)
            ui.cards.card(result, key=result.condition, verdict=verdict, base=shown.results[0].model)

if "compare_shown" in st.session_state:
    shown = st.session_state["compare_shown"]
    ui.set_question_link(shown.question)  # navigation drops the URL's parameters: the link stays a link
    now = {"top_k": top_k, "max_tokens": max_tokens, "seed": int(seed), "rag_template": template}
    models = {"base": base.id, "finetuned": (finetuned or base).id}
    if note := settings_note(shown, now, models):  # answers made with other settings than the sidebar's now
        st.warning(note, icon=":material/history:")
    if shown.gold is not None:
        changed = shown.gold != gold_answer(shown.question, rows)  # a fact edit below changed the expected value
        where = "the workspace's question set, as changed below" if changed else "from the workspace's question set"
        st.caption(f"Expected answer ({where}): {ui.cards.plain(shown.gold)}")
    st.info(ui.cards.plain(shown.reading()), icon=":material/lightbulb:")
    if any(r.metrics for r in shown.results):
        st.plotly_chart(cost_figure(shown.results), width="stretch")
    st.markdown("**Take it away**")
    cols = st.columns(len(EXPORTS))
    for col, (fmt, (write, mime)) in zip(cols, EXPORTS.items(), strict=True):
        col.download_button(
            f"Export {fmt.upper()}",
            data=lambda write=write: write(shown),  # made only when clicked
            file_name=f"comparison.{fmt}",
            mime=mime,
            on_click="ignore",
            icon=":material/download:",
            key=f"export-{fmt}",
        )

# -- freshness: change a fact in the documents, re-index, ask again ---------------------------------------
edits = ws.edits()
if ("compare_shown" in st.session_state and index is not None) or edits:
    before = st.session_state.get("compare_before")
    shown = st.session_state.get("compare_shown")
    files = ui.loaded_files()
    # The form follows the answers shown: prefilled with their expected answer, in the document that holds it.
    form_for = (shown.question, shown.asked) if shown else None
    if st.session_state.get("_edit_form_for") != form_for:
        st.session_state["_edit_form_for"] = form_for
        st.session_state["edit_old"] = (shown.gold or "") if shown else ""
        st.session_state["edit_new"] = ""
        st.session_state.pop("edit_file", None)
    st.session_state.setdefault("fact_edit_open", bool(edits))
    with st.expander(
        "Change a fact in the documents (freshness)", key="fact_edit_open", on_change="rerun", icon=":material/edit:"
    ):
        st.caption(
            "Edit one fact in a document's text: the index is updated (only that file is embedded again) and the "
            "question asked again. The RAG answers follow the change; a fine-tuned model keeps what it was trained "
            "on. The file itself is not touched: undo puts the original back."
        )
        old_now = st.session_state.get("edit_old", "")
        holders = passages_with(files, old_now) if old_now else []  # where the text is, searched in the documents
        passages = [s.file_name for r in (shown.results if shown else []) for s in r.sources]
        names = list(dict.fromkeys([*holders, *passages, *(f.file_name for f in files)]))
        with st.form("fact-edit", border=False):
            file_name = st.selectbox(
                "Document", names, key="edit_file", help="The documents that hold the text first, then the passages'."
            )
            old_text = st.text_input("Text to change", key="edit_old", help="Exactly as it appears in the text.")
            new_text = st.text_input("New text", key="edit_new", placeholder="e.g. another date or amount")
            change = st.form_submit_button(
                "Change it and ask again",
                type="primary",
                on_click=lambda: st.session_state.update(fact_edit_open=True),  # stays open, whatever it says
            )
            if change:
                try:
                    ws.add_edit(FactEdit(file_name or "", old_text, new_text))
                except PlaygroundError as err:
                    found = [n for n in passages_with(files, old_text) if n != file_name] if old_text.strip() else []
                    said = f"'{old_text}' is not in {file_name}. It is in {', '.join(found)}: choose that document."
                    st.error(ui.cards.plain(said if found else str(err)), icon=":material/error:")  # beside the button
                else:
                    if not edits:  # the answers before any change, for undo
                        st.session_state["compare_original"] = shown
                    st.session_state["compare_before"] = shown  # the answers before the change, to set beside the new
                    st.session_state["compare_ask_again"] = True
                    st.rerun()
        if edits:
            st.markdown("**Changes in force**")
            st.dataframe(
                [e.as_dict() for e in edits],
                hide_index=True,
                column_config={"file_name": "document", "old": "text", "new": "changed to"},  # words, not fields
            )
            if st.button("Undo every change", icon=":material/undo:"):
                ws.clear_edits()
                original = st.session_state.pop("compare_original", None)
                st.session_state.pop("compare_before", None)
                st.session_state.pop("_edit_form_for", None)  # the form starts again from the answers shown
                if original is not None and shown is not None and original.question == shown.question:
                    st.session_state["compare_shown"] = original  # the answers as they were before the change
                elif shown is not None:
                    st.session_state["compare_ask_again"] = True  # none kept (a reload): ask again, unchanged
                st.rerun()
    if before is not None and shown is not None and before is not shown and before.question == shown.question:
        st.markdown("**Before and after the change**")
        ui.text_table(  # answers read whole, wrapped: a grid cut them at its column's width
            [
                {"condition": b.label, "before": b.error or b.text.strip(), "after": a.error or a.text.strip()}
                for b, a in zip(before.results, shown.results, strict=True)
            ]
        )
        if lesson := change_lesson(shown, edits):
            st.info("\n\n".join(ui.cards.plain(line) for line in lesson), icon=":material/school:")

if ui.history():
    with st.expander(f"This session's questions ({len(ui.history())})"):
        # one row per answer, the question on its first: four answers side by side were cut to a few words
        ui.text_table(
            [
                {"question": entry["question"] if i == 0 else "", "condition": label, "answer": answer}
                for entry in ui.history()
                for i, (label, answer) in enumerate((k, v) for k, v in entry.items() if k != "question")
            ]
        )
