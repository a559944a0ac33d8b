"""Evaluate: held-out questions through all four conditions, scored with 95% intervals, plotted, exportable."""

import threading
from dataclasses import replace

import streamlit as st

from playground import GenerationParams, PlaygroundError, RetrievalSettings, ui
from playground.compare import CONDITIONS
from playground.errors import DocumentError
from playground.evaluate import (
    QUESTION_PROMPT,
    EvalConfig,
    evaluate,
    figures,
    generate_questions,
    generate_with_model,
    list_runs,
    load_run,
    parse_questions,
    summarize,
    workspace_questions,
)
from playground.evaluate.card import card_text
from playground.evaluate.judge import JUDGE_PROMPT, JudgeSettings
from playground.evaluate.questions import IMPORT_TYPES, QuestionSet, from_rows
from playground.evaluate.report import METRICS, question_label
from playground.evaluate.run import run_label, run_questions
from playground.models import capability_note

ui.via_app(__file__)

OWN, IMPORT, GENERATE = "The workspace's own", "Import a file", "Generate from the documents"
NO_JUDGE = "(none: containment only)"

st.title("Evaluate")
st.caption(
    "One question shows anecdotes; a question set shows evidence. Every question runs through the four "
    "conditions; answers are scored against the gold answer, with 95% bootstrap intervals."
)
listing = ui.models_sidebar()
with st.sidebar:
    st.header("Run")
    limit = st.number_input("Questions (0 = all)", 0, 10_000, 10, key="eval_limit", help=EvalConfig.help("limit"))
    top_k = st.slider("Passages (top-k)", 1, 10, RetrievalSettings().top_k, help=RetrievalSettings.help("top_k"))
    max_tokens = st.slider("Longest answer (tokens)", 16, 512, GenerationParams().max_tokens, key="eval_max_tokens")
    seed = st.number_input("Seed", 0, 2**31 - 1, GenerationParams().seed, help=GenerationParams.help("seed"))
    judge_id = st.selectbox(
        "Judge", [NO_JUDGE, *(m.id for m in listing.models)], key="eval_judge", help=JudgeSettings.help("model")
    )
    with st.expander("Judge rubric"):
        judge_prompt = st.text_area(
            "Rubric", JUDGE_PROMPT, key="eval_judge_prompt", height=260, help=JudgeSettings.help("prompt")
        )
base, finetuned = ui.chosen_models(listing)
assert base is not None
if note := capability_note(base):
    st.info(note, icon=":material/info:")

ws = ui.workspace()
index = None
try:
    if ws.signature():
        with st.spinner(f"Opening the index of **{ws.name}**…"):
            index = ui.current_index()
except PlaygroundError as err:
    st.error(ui.plain(str(err)))
if index is None:
    st.info(f"Workspace **{ws.name}** has no index yet: the RAG conditions and retrieval metrics need one.")

# -- the question set ---------------------------------------------------------------------------
source = st.radio("Question set", [OWN, IMPORT, GENERATE], horizontal=True, key="eval_source")
questions: QuestionSet | None = None
try:
    if source == OWN:
        try:
            questions = workspace_questions(ws.dir, name=ws.name)
        except DocumentError as err:
            st.info(f"Workspace **{ws.name}**: {ui.plain(err.reason)}.")
    elif source == IMPORT:
        upload = st.file_uploader(
            "JSONL (one object a line) or CSV (columns question, answer, optional source)",
            type=[t.lstrip(".") for t in IMPORT_TYPES],
        )
        if upload is not None:
            questions = parse_questions(upload.name, upload.getvalue())
    elif index is None:
        st.warning("Generating questions needs the workspace's chunks: add documents first.")
    else:
        count = st.number_input("How many", 1, 500, 20, key="eval_generate_count")
        models = {m.id: m for m in listing.models}
        how = st.selectbox("Written by", ["(no model: from sentences with dates, numbers and codes)", *models])
        if how in models:
            prompt = st.text_area("Prompt ({passage} is filled with each chunk)", QUESTION_PROMPT, height=170)
            if st.button("Generate questions"):
                with st.spinner(f"{ui.plain(how)} is writing questions…"):
                    made = generate_with_model(
                        index.nodes, catalogue=ui.catalogue(), model=models[how], limit=int(count), prompt=prompt,
                        name=f"generated-by-{models[how].name}",
                    )  # fmt: skip
                st.session_state["eval_generated"] = (made.name, made.rows(), made.origin)
            if "eval_generated" in st.session_state:
                name, rows, origin = st.session_state["eval_generated"]
                questions = from_rows(name, rows, origin)
        else:
            questions = generate_questions(index.nodes, limit=int(count), name=f"generated-{int(count)}")
except PlaygroundError as err:
    st.error(ui.plain(str(err)))

if questions is not None:
    chosen = questions.head(int(limit))
    st.caption(
        f"**{ui.plain(questions.name)}**: {len(questions)} questions, {ui.plain(questions.origin)}. "
        f"This run takes {len(chosen)}. The set is held out: the fine-tuning lab will not train on it."
    )
    with st.expander("Preview the questions"):
        preview = chosen.questions[:50]  # read whole, wrapped; a grid cut each question at its column's width
        ui.text_table([{"question": q.question, "accepted answers": q.accepted, "source": q.source} for q in preview])
        if len(chosen) > len(preview):
            st.caption(f"The first {len(preview)} of the {len(chosen)} questions this run takes.")

# -- run, cancel, resume --------------------------------------------------------------------------
cancel: threading.Event = st.session_state.setdefault("eval_cancel", threading.Event())
left, right = st.columns([2, 3])  # "Run evaluation" whole at 800 px
start = left.button("Run evaluation", type="primary", disabled=questions is None)
if right.button("Cancel", help="Stops after the current answer; what is scored stays. Running again resumes."):
    if st.session_state.get("eval_running"):
        cancel.set()
        st.session_state["eval_running"] = False
        st.info("Cancelled. The questions scored so far are kept: run the evaluation again to resume.")
    else:
        st.info("No evaluation is running.")
if start and questions is not None:
    cancel.clear()
    config = EvalConfig(
        limit=int(limit),
        retrieval=RetrievalSettings(top_k=top_k),
        generation=GenerationParams(max_tokens=max_tokens, seed=int(seed)),
        seed=int(seed),
    )
    progress = ui.progress_bar("Starting…")
    st.session_state["eval_running"] = True
    try:
        if judge_id != NO_JUDGE:  # a bad rubric is a ConfigError, shown like any other
            config = replace(config, judge=JudgeSettings(model=judge_id, prompt=judge_prompt))
        run = evaluate(
            questions,
            catalogue=ui.catalogue(),
            base=base,
            finetuned=finetuned,
            index=index,
            config=config,
            docs=ws.docs_dir,
            workspace=ws.name,
            progress=progress,
            cancel=cancel,
        )
        st.session_state["eval_run"] = str(run.run_dir)
    except PlaygroundError as err:
        st.error(ui.plain(str(err)))
    finally:
        st.session_state["eval_running"] = False

# -- results --------------------------------------------------------------------------------------
runs = list_runs(ws.name)
if not runs:
    st.stop()
paths = {str(p): p for p in runs}
current = st.session_state.get("eval_run")
if current not in paths and questions is not None:  # the newest run of the form's question set, not the Claims
    current = next((p for p, path in paths.items() if run_questions(path) == questions.name), None)  # page's own
shown = st.selectbox(
    "Stored run",
    list(paths),
    index=list(paths).index(current) if current in paths else None,
    format_func=lambda p: run_label(paths[p]),
    placeholder="Runs of other question sets (the Claims page's too): choose one",
    help="Runs are kept in the workspace; running the same settings again resumes the matching one. "
    "The models a run asked are named with its results.",
)
if shown is None:
    st.caption("No run of this question set yet: run the evaluation above, or open a stored run.")
    st.stop()
try:
    run = load_run(shown)
except PlaygroundError as err:
    st.error(ui.plain(str(err)))
    st.stop()
summary = summarize(run, ws.style_rule())
if not run.results:
    st.info("This run has no scored questions yet.")
    st.stop()
if not run.complete:
    st.warning(f"{len(run.results)} of {len(run.questions)} questions scored: run the same settings to resume.")

st.subheader("Results")
st.caption(f"Models: {ui.plain(summary.models_line())}")
ui.text_table(summary.measure_rows())  # a column per condition, cells wrapped: twelve columns ran past the edge
terms = [line.split(": ", 1) for line in summary.glossary()]  # one plain line per measure shown
st.caption("  \n".join(f"**{ui.plain(term)}**: {ui.plain(said)}" for term, said in terms))
for note in summary.notes:
    st.caption(note)
if summary.retrieval:
    r = summary.retrieval
    cols = st.columns(4)
    for col, key in zip(cols, ["hit@1", "hit@3", "hit@5", "mrr"], strict=True):
        col.metric(key.upper() if key == "mrr" else key, f"{r[key]:.2f}", help=f"over {r['n']} questions")
if behaviour_rows := summary.behaviour_rows():
    st.markdown(f"**Behaviour** (house style: {ui.plain(summary.style)})")
    ui.text_table(behaviour_rows)
    st.caption("  \n".join(ui.plain(line) for line in summary.behaviour_notes()))  # only the rows shown
if known := summary.known_before_rows():
    st.markdown("**Known before**: accuracy on questions Base already answered right, and on the rest")
    ui.text_table(known)

figs = figures(run, summary)
st.plotly_chart(figs["accuracy"], width="stretch", key="eval_fig_accuracy")
left, right = st.columns(2)
left.plotly_chart(figs["cost"], width="stretch", key="eval_fig_cost")
if "ranks" in figs:
    right.plotly_chart(figs["ranks"], width="stretch", key="eval_fig_ranks")
labels = {question_label(i, r.question.question): r.qid for i, r in enumerate(run.results)}
event = st.plotly_chart(
    figs["heatmap"], width="stretch", key="eval_fig_heatmap", on_select="rerun", selection_mode="points"
)
points = event.selection.points if event else []  # a clicked cell opens its question below
if points and points[0].get("y") in labels and st.session_state.get("eval_clicked") != points[0]["y"]:
    st.session_state["eval_clicked"] = points[0]["y"]
    st.session_state["eval_question"] = labels[points[0]["y"]]

# -- one question, four answers -----------------------------------------------------------------------
by_id = {r.qid: r for r in run.results}
if st.session_state.get("eval_question") not in by_id:
    st.session_state.pop("eval_question", None)
qid = st.selectbox(
    "Question",
    list(by_id),
    key="eval_question",
    format_func=lambda q: question_label(list(by_id).index(q), by_id[q].question.question),
)
row = by_id[qid]
st.markdown(f"**{ui.cards.plain(row.question.question)}**")
where = f" ({ui.cards.plain(row.question.source)})" if row.question.source else ""
st.caption(f"Gold answer: {ui.cards.plain(row.question.answer)}{where}")
if len(row.question.answers) > 1:
    st.caption(f"Accepted answers: {ui.cards.plain(row.question.accepted)}")
if row.retrieval:
    rank, depth = row.retrieval.rank, len(row.retrieval.ids)
    st.caption(f"First relevant passage: {'rank ' + str(rank) if rank else 'not'} in the top {depth}.")
for cell, condition in zip(ui.cards.grid(), CONDITIONS, strict=True):
    with cell:
        result = row.condition_result(condition, max_tokens=run.config.generation.max_tokens)
        if result is None:
            ui.cards.header(condition, "not run")
            continue
        scores = row.answers[condition].scores
        verdict = None
        if scores:
            shown = " · ".join(
                f"{title} {v:.2f}"
                for k, title in METRICS.items()
                if k != "judged" and (v := getattr(scores, k)) is not None
            )
            if scores.judgement:  # the judge beside containment, never instead of it
                said = "no verdict" if scores.judged is None else "right" if scores.judged else "wrong"
                shown += f" · judge: {said} ({scores.judgement})"
            if scores.refused:
                shown += f" · declines ({scores.refusal})"
            verdict = f"{':material/check_circle: right' if scores.correct else ':material/cancel: wrong'} · {shown}"
        ui.cards.card(result, key=f"eval-{condition}", verdict=verdict, base=run.config.base or None)

st.subheader("Experiment card")
st.caption(
    "Config, model and file hashes, question set, seed and results; "
    "`python -m playground eval --reproduce card.json` runs it again."
)
cols = st.columns(3)
for col, (fmt, mime) in zip(
    cols, [("md", "text/markdown"), ("json", "application/json"), ("html", "text/html")], strict=True
):
    col.download_button(
        f"Card ({fmt.upper()})",
        data=lambda fmt=fmt, run=run: card_text(run, fmt),  # built only when clicked: the HTML is large
        file_name=f"{run.run_id}.{fmt}",
        mime=mime,
        on_click="ignore",
        key=f"eval_card_{fmt}",
    )
