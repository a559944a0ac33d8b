"""Claims: what articles say about RAG and fine-tuning, each tested on this workspace, with a verdict."""

import json
import threading

import plotly.io as pio
import streamlit as st

from playground import PlaygroundError, RetrievalSettings, ui
from playground.claims import CLAIMS, ClaimsConfig, Lab, duration, estimate, latest_result, run_claim
from playground.claims.report import CAVEAT, report_json, to_html, to_markdown
from playground.style import StyleRule

ui.via_app(__file__)

VERDICT_ICONS = {"holds": ":material/check_circle:", "does not hold": ":material/cancel:",
                 "depends": ":material/help:", "not run": ":material/radio_button_unchecked:"}  # fmt: skip

st.title("Claims")
st.caption(
    "What articles say about retrieval and fine-tuning, each turned into an experiment on this workspace's "
    "documents and models, ending in a verdict with its numbers. " + CAVEAT
)
listing = ui.models_sidebar()
defaults = ClaimsConfig()
with st.sidebar:
    st.header("Experiment size")
    n_questions = st.number_input("Held-out questions", 2, 500, defaults.questions, help=ClaimsConfig.help("questions"))
    n_latency = st.number_input(
        "Questions for cost and latency",
        2,
        500,
        defaults.latency_questions,
        help=ClaimsConfig.help("latency_questions"),
    )
    n_unanswerable = st.number_input(
        "Unanswerable questions", 2, 200, defaults.unanswerable, help=ClaimsConfig.help("unanswerable")
    )
    retrain = st.checkbox("Freshness: also retrain", help=ClaimsConfig.help("retrain"))
    top_k = st.slider("Passages (top-k)", 1, 10, RetrievalSettings().top_k, help=RetrievalSettings.help("top_k"))
base, finetuned = ui.chosen_models(listing)
assert base is not None

ws = ui.workspace()
index = ui.index_or_stop("the claims are tested on documents")

with st.expander(f"House style of this workspace: {ui.plain(ws.style_rule().description)}", icon=":material/style:"):
    st.caption("The consistency claim counts answers that follow this rule; the Evaluate page shows it too.")
    with st.form("style", border=False):
        rule = ws.style_rule()
        pattern = st.text_input("Rule (regular expression over the whole answer)", rule.pattern)
        description = st.text_input("In words", rule.description)
        if st.form_submit_button("Save the rule"):
            try:
                ws.save_style_rule(StyleRule(pattern, description))
                st.rerun()
            except PlaygroundError as err:
                st.error(ui.plain(str(err)))

config = ClaimsConfig(
    questions=int(n_questions),
    latency_questions=int(n_latency),
    unanswerable=int(n_unanswerable),
    retrain=retrain,
)
cancel: threading.Event = st.session_state.setdefault("claims_cancel", threading.Event())
lab = Lab(
    ws.name,
    ui.loaded_files(),
    index,
    ui.catalogue(),
    base,
    finetuned,
    config=config,
    retrieval=RetrievalSettings(top_k=top_k),
    style=ws.style_rule(),
    cancel=cancel,
)
# What was measured before, on these models and documents, is shown whatever size it ran at (a reload resets the
# size widgets); "Run all" and "Run" measure at the size chosen now.
stored = {c: found for c in CLAIMS if (found := latest_result(lab, c)) is not None}
results = {c: result for c, (result, _) in stored.items()}
sizes = {c: used for c, (_, used) in stored.items()}
if finetuned is None:
    st.warning("No fine-tuned model is chosen: the fine-tuning side of each claim repeats the base model.")

# -- run all, cancel ---------------------------------------------------------------------------------------
everyday = [c.id for c in CLAIMS.values() if not c.opt_in]
todo = [c for c in everyday if c not in results or sizes.get(c) != config.as_dict()]
left, middle, right = st.columns([2, 1, 3])
run_all = left.button(
    f"Run all ({len(todo)} to do)" if todo else "Run all (all done)",  # short: the time is said below, uncut
    type="primary",
    disabled=not todo,
    help="Every claim but the opt-in ones (data-needs trains several adapters). Stored results are kept.",
)
if middle.button("Cancel", help="Stops after the current answer; what was measured is kept, Run resumes."):
    cancel.set()
    st.info("Cancelled. Answers measured so far are kept: run again to resume.")
slot = right.empty()
if todo:  # the cards each count the shared evidence they need; Run all measures each piece once
    together, apart = estimate(lab, todo), sum(CLAIMS[c].seconds(lab) for c in todo)
    st.caption(
        f"Run all: about **{duration(together)}** for the {len(todo)} to do. "
        + (
            f"Their cards add up to {duration(apart)}: each card's time counts the evidence it needs (the answers "
            "to the question set, for one), and Run all measures each piece once, for every claim that uses it."
            if apart - together >= 1
            else "The same as their cards add up to."
        )
    )


def run(ids: list[str], rerun: bool = False) -> None:
    cancel.clear()
    with slot.container():
        progress = ui.progress_bar("Starting…")
    for n, claim_id in enumerate(ids):

        def step(f: float, m: str, n: int = n, claim_id: str = claim_id) -> None:
            progress((n + min(f, 1.0)) / len(ids), f"{claim_id}: {m}")

        result = run_claim(lab, claim_id, step, rerun=rerun)
        if result is None:
            break
        results[claim_id] = result
        sizes[claim_id] = config.as_dict()
    slot.empty()


def _sizes(used: dict) -> str:
    keys = ("questions", "latency_questions", "unanswerable")
    return ", ".join(f"{k.replace('_', ' ')} {used[k]}" for k in keys if k in used)


if run_all:
    run(todo)

# -- verdicts at a glance --------------------------------------------------------------------------------
if results:
    ui.text_table(  # the sentences read whole, wrapped: a grid cut them at its column's width
        [{"claim": c, "verdict": results[c].verdict, "in numbers": results[c].summary} for c in CLAIMS if c in results]
    )

# -- one card per claim ------------------------------------------------------------------------------------
for claim in CLAIMS.values():
    result = results.get(claim.id)
    with st.container(border=True):
        verdict = result.verdict if result else "not run"
        st.markdown(f"{VERDICT_ICONS[verdict]} **{claim.id}** · {verdict}")
        st.markdown(f"> {ui.plain(claim.claim)}")
        st.caption(f"Source: {ui.plain(claim.source)}")
        st.caption(
            f"{ui.plain(claim.experiment)} About {duration(claim.seconds(lab))} here, run alone"
            + (" (opt-in: it trains adapters)." if claim.opt_in else ".")
        )
        label = "Run again" if result else "Run"
        if st.button(label, key=f"run-{claim.id}", icon=":material/play_arrow:"):
            run([claim.id], rerun=result is not None and sizes.get(claim.id) == config.as_dict())
            st.rerun()
        if result is None:
            continue
        st.markdown(ui.plain(result.summary))
        if result.figure:
            st.plotly_chart(pio.from_json(json.dumps(result.figure)), key=f"fig-{claim.id}")
        if result.rows:
            ui.text_table(result.rows)
        for note in result.notes:
            st.caption(ui.plain(note))
        used = sizes.get(claim.id) or {}
        size = "" if used == config.as_dict() else f" at another size ({_sizes(used)})"
        st.caption(f"Measured in {duration(result.seconds)}, finished {result.finished}{size}.")

# -- the report --------------------------------------------------------------------------------------------
if results:
    st.markdown("**Claims report**")
    shown = [results[c] for c in CLAIMS if c in results]
    cols = st.columns(3)
    for col, (fmt, write, mime) in zip(
        cols,
        [
            ("html", lambda: to_html(lab, shown), "text/html"),
            ("md", lambda: to_markdown(lab, shown), "text/markdown"),
            ("json", lambda: json.dumps(report_json(lab, shown), indent=1, default=str), "application/json"),
        ],
        strict=True,
    ):
        col.download_button(
            f"Report {fmt.upper()}",
            data=write,  # made only when clicked
            file_name=f"claims-{ws.name}.{fmt}",
            mime=mime,
            on_click="ignore",
            icon=":material/download:",
            key=f"claims-report-{fmt}",
        )
