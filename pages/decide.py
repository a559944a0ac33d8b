"""Decide: the person's situation and the workspace's measured evidence, turned into a recommendation."""

import json

import plotly.io as pio
import streamlit as st

from playground import PlaygroundError, RetrievalSettings, ui
from playground.claims import CLAIMS, ClaimsConfig, Lab, duration, run_claim
from playground.decide import HORIZON, MACHINE_RATES, Situation, brief_text, decide

ui.via_app(__file__)

st.title("Decide")
st.caption(
    "Your situation and what this workspace has measured, turned into a recommendation: RAG, fine-tuning, both, "
    "or neither yet. It reads the stored evaluation and claims and never runs an experiment on its own."
)
listing = ui.models_sidebar()
base, finetuned = ui.chosen_models(listing)
assert base is not None

ws = ui.workspace()
index = ui.index_or_stop("the evidence is measured on documents")

# -- the situation: a short form, its defaults stated; kept in the session so a rerun keeps it -------------------
defaults = Situation()
chosen = st.session_state.setdefault("decide_situation", defaults.as_dict())
headline = st.empty()  # the recommendation, at the top, once it is made below
with st.expander("Your situation", expanded=True, icon=":material/tune:"), st.form("situation", border=False):
    left, right = st.columns(2)
    changes = left.number_input(
        "Document changes a month (default 0)",
        0.0,
        10_000.0,
        float(chosen["changes_per_month"]),
        help=Situation.help("changes_per_month"),
    )
    questions = left.number_input(
        "Questions a day (default 100)",
        0.0,
        10_000_000.0,
        float(chosen["questions_per_day"]),
        step=100.0,
        help=Situation.help("questions_per_day"),
    )
    latency = left.number_input(
        "Latency budget, s (default 0: none)",
        0.0,
        600.0,
        float(chosen["latency_s"]),
        help=Situation.help("latency_s"),
    )
    citations = right.checkbox("Answers must cite sources", chosen["citations"], help=Situation.help("citations"))
    style = right.checkbox("A house style matters", chosen["style"], help=Situation.help("style"))
    machine = right.radio(
        "Machine",
        list(MACHINE_RATES),
        list(MACHINE_RATES).index(chosen["machine"]),
        format_func=lambda m: f"{m.upper()} (default {MACHINE_RATES[m]:.2f} an hour)",
        horizontal=True,
        help=Situation.help("machine"),
    )
    hourly = right.number_input(
        "Cost of an hour (0: the machine's default)",
        0.0,
        1000.0,
        float(chosen["hourly_cost"]) if chosen["hourly_cost"] != MACHINE_RATES[chosen["machine"]] else 0.0,
        help=Situation.help("hourly_cost"),
    )
    if st.form_submit_button("Decide", type="primary"):
        try:
            situation = Situation(changes, questions, latency, citations, style, machine, hourly)
        except PlaygroundError as err:
            st.error(ui.plain(str(err)))
        else:
            st.session_state["decide_situation"] = chosen = situation.as_dict()
situation = Situation(**chosen)

size = int(st.session_state.get("decide_questions", ClaimsConfig().questions))
lab = Lab(
    ws.name,
    ui.loaded_files(),
    index,
    ui.catalogue(),
    base,
    finetuned,
    config=ClaimsConfig(questions=size, latency_questions=min(size, ClaimsConfig().latency_questions)),
    retrieval=RetrievalSettings(),  # the Claims page's settings, so its stored results are the ones read here
    style=ws.style_rule(),
)
decision = decide(lab, situation)

box = {"RAG": headline.success, "fine-tuning": headline.success, "both": headline.success}.get(
    decision.kind or "", headline.warning
)
box(f"**{ui.plain(decision.headline)}**", icon=":material/assistant_direction:")

# -- why, with the numbers -----------------------------------------------------------------------------------------
if decision.reasons:
    st.subheader("Why")
    for reason in decision.reasons:
        st.markdown(f"- {ui.plain(reason.text)}  \n  :gray[{ui.plain(reason.source)}]")
if decision.would_change:
    st.subheader("What would change it")
    for line in decision.would_change:
        st.markdown(f"- {ui.plain(line)}")

# -- cost over time ------------------------------------------------------------------------------------------------
if (figure := decision.figure()) is not None:
    st.subheader(f"Cost over the next {HORIZON} months")
    st.plotly_chart(pio.from_json(json.dumps(figure)), key="decide-cost")
    for point in decision.break_even:
        st.caption(f"Break-even: {ui.plain(point.sentence())}.")
    st.dataframe(decision.option_rows(), hide_index=True, width="stretch")
    with st.expander("Month by month"):
        st.dataframe(decision.cost_rows(), hide_index=True, width="stretch")

# -- what is missing: each claim runs when its button is clicked, never on its own ----------------------------------
if decision.missing:
    st.subheader("What is missing")
    st.number_input(
        "Held-out questions for a claim run from here",
        2,
        500,
        size,
        key="decide_questions",
        help=ClaimsConfig.help("questions") + " The Claims page runs the same claims with more settings.",
    )
    for missing in decision.missing:
        with st.container(border=True):
            if missing.claim is None:
                st.markdown(ui.plain(missing.why))
                continue
            note = "" if missing.blocking else " It would add to the reasons; the recommendation does not need it."
            st.markdown(
                f"**{missing.claim}**: {ui.plain(missing.why)}. About {duration(CLAIMS[missing.claim].seconds(lab))} "
                f"here.{note}"
            )
            if st.button("Run", key=f"decide-run-{missing.claim}", icon=":material/play_arrow:"):
                with st.empty():
                    run_claim(lab, missing.claim, ui.progress_bar(f"Running {missing.claim}…"))
                st.rerun()

# -- the brief for a stakeholder -------------------------------------------------------------------------------------
st.subheader("The brief")
st.caption("One page for a stakeholder: the situation, the recommendation, its reasons, the chart and the limits.")
cols = st.columns(3)
FORMATS = [("html", "text/html"), ("md", "text/markdown"), ("json", "application/json")]
for col, (fmt, mime) in zip(cols, FORMATS, strict=True):
    col.download_button(
        f"Brief {fmt.upper()}",
        data=lambda fmt=fmt: brief_text(decision, fmt),  # made only when clicked
        file_name=f"decision-{ws.name}.{fmt}",
        mime=mime,
        on_click="ignore",
        icon=":material/download:",
        key=f"decide-brief-{fmt}",
    )
for limit in decision.limits:
    st.caption(ui.plain(limit))
