"""Arena: two blind answers to one question, a vote, and the Bradley–Terry leaderboard; a round for a room."""

import streamlit as st

from playground import PlaygroundError, RetrievalSettings, ui
from playground.arena import DEFAULT_PAIRS, ArenaStore, new_round, parse_pair, ratings, results_json, win_figure
from playground.arena.report import to_html
from playground.readout import gold_answer
from playground.ui import arena as view

ui.via_app(__file__)

st.title("Arena")
st.caption(
    "One question, two answers shown as A and B in a random order: vote without knowing which pipeline wrote "
    "which. The pipelines, their passages and whether each was right show after the vote."
)
listing = ui.models_sidebar()
base, finetuned = ui.chosen_models(listing)
assert base is not None
ws = ui.workspace()
store = ArenaStore.for_workspace(ws.name)
try:
    index = ui.current_index() if ws.signature() else None
except PlaygroundError as err:
    st.error(ui.plain(str(err)))
    st.stop()

rows = ui.questions()
left, right = st.columns([3, 2])
with left:
    options = [r["question"] for r in rows]
    picked = st.selectbox("Question", options, index=0 if options else None, accept_new_options=True,
                          help="One of the workspace's questions, or type your own.")  # fmt: skip
    pair_text = st.selectbox("Pair", DEFAULT_PAIRS, help="Two pipelines: condition[@model][#kN] each.")
    room = st.toggle("Audience round", help="Phones in the room vote on the same pair through a short link.")
    if st.button("New pair", type="primary", disabled=not picked):
        live = view.streaming_pair(str(picked))  # both answers as they are written, still blind
        try:
            r = new_round(store, str(picked), parse_pair(pair_text), kind="room" if room else "match",
                          gold=gold_answer(str(picked), rows), catalogue=ui.catalogue(), base=base,
                          finetuned=finetuned, index=index, on_text=live,
                          retrieval=ui.retrieval_settings(RetrievalSettings()))  # fmt: skip
        except PlaygroundError as err:
            st.error(ui.plain(str(err)))
        else:
            st.session_state["arena_round"] = r.id
            st.query_params["arena"] = r.id  # a reload of the presenter's page keeps the round
            st.rerun()  # the streamed pair gives way to the stored round, its vote buttons and reveal
    if "arena" in st.query_params and "arena_round" not in st.session_state:
        st.session_state["arena_round"] = st.query_params["arena"]
    current = store.round(st.session_state.get("arena_round", "")) if st.session_state.get("arena_round") else None
    if current is not None:
        if current.kind == "room":
            origin = str(getattr(st.context, "url", "") or "").split("?")[0].rsplit("/", 1)[0]
            link = f"{origin}/?round={current.id}&ws={ws.name}"
            st.markdown(f"Voters open **{link}**")
            st.image(view.qr_png(link), width=180, caption="The round's link")
            view.tally_fragment(store, current.id)
            if current.open and st.button("Close round and reveal"):
                store.close(current.id)
                st.rerun()
            view.show_pair(current, reveal=not current.open)
        else:
            mine = view.vote_buttons(store, current, view.voter_id()) if current.open else None
            view.show_pair(current, reveal=mine is not None)
with right:
    fit = ratings(store, resamples=200)
    st.subheader("Leaderboard")
    st.write(fit.sentence())
    board = fit.leaderboard()
    if board:
        st.dataframe(
            [{k: row[k] for k in ("rank", "label", "elo", "elo_low", "elo_high", "votes")} for row in board],
            hide_index=True,
        )
        st.plotly_chart(win_figure(fit))
        data = results_json(store, resamples=200)
        st.download_button("Results (HTML)", to_html(data, win_figure(fit)), "arena.html", "text/html")
