"""The arena's views: the blind pair and its vote buttons, the reveal, the presenter's live tally, the QR code.

A voter's link (``?round=<id>&ws=<workspace>``) renders :func:`voter_view` alone, before any navigation or
sidebar (see app.py): it reads that one round and writes that voter's one vote, nothing of the workspace.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from typing import Any

import streamlit as st

from playground.arena import ArenaStore, Round
from playground.arena.ratings import CHOICES

VOTE_LABELS = {"a": "A is better", "b": "B is better", "tie": "Tie", "bad": "Both bad"}


def voter_id() -> str:
    """This browser's anonymous id, kept in the URL so a reload keeps it (and its vote)."""
    vid = st.query_params.get("voter") or st.session_state.get("_arena_voter")
    if not vid:
        vid = secrets.token_urlsafe(8)
    st.session_state["_arena_voter"] = vid
    st.query_params["voter"] = vid
    return str(vid)


def qr_png(url: str) -> bytes:
    """The link as a QR code image (PNG), for phones in the room."""
    import segno

    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=8, border=2)
    return out.getvalue()


def show_pair(r: Round, *, reveal: bool) -> None:
    """The two answers side by side; which pipeline, its sources and right/wrong only once ``reveal``."""
    st.markdown(f"**{r.question}**")
    for column, side in zip(st.columns(2), ("a", "b"), strict=True):
        ans = r.answer(side)
        with column.container(border=True):
            st.markdown(f"#### {side.upper()}" + (f" · {ans.get('label', '')}" if reveal else ""))
            st.write(ans.get("text") or ans.get("error") or "(no answer)")
            if reveal:
                if ans.get("correct") is not None:
                    st.caption("Contains the expected answer." if ans["correct"] else "Misses the expected answer.")
                for s in ans.get("sources") or []:
                    st.caption(f"[{s['rank']}] {s['file_name']}")


def streaming_pair(question: str) -> Callable[[str, str], None]:
    """Two blind boxes, A and B, filled as the answers stream; returns the ``on_text(side, text)`` to call."""
    st.markdown(f"**{question}**")
    boxes = {}
    for column, side in zip(st.columns(2), ("a", "b"), strict=True):
        with column.container(border=True):
            st.markdown(f"#### {side.upper()}")
            boxes[side] = st.empty()
            boxes[side].caption("Waiting for its turn…" if side == "b" else "Writing…")
    return lambda side, text: boxes[side].write(text)


def vote_buttons(store: ArenaStore, r: Round, voter: str) -> str | None:
    """Four buttons; the vote already cast (kept across reloads) or the one just cast."""
    mine = store.my_vote(r.id, voter)
    if mine is None and r.open:
        for column, choice in zip(st.columns(4), CHOICES, strict=True):
            if column.button(VOTE_LABELS[choice], key=f"vote-{r.id}-{choice}", width="stretch"):
                store.vote(r.id, voter, choice)
                mine = store.my_vote(r.id, voter)
    return mine


def voter_page(workspace: str, round_id: str) -> None:
    """What a voter's link shows: the round, or one line when the link names no round (nothing is created)."""
    from playground.arena.store import FILE
    from playground.workspace import workspace_dir

    if not (workspace_dir(workspace) / FILE).is_file():
        st.error("This round does not exist (the link may be mistyped).")
        return
    voter_view(ArenaStore.for_workspace(workspace), round_id)


def voter_view(store: ArenaStore, round_id: str) -> None:
    r = store.round(round_id)
    if r is None:
        st.error("This round does not exist (the link may be mistyped).")
        return
    voter = voter_id()
    st.caption("Arena: which answer is better? You see the answers, not where they came from.")
    show_pair(r, reveal=not r.open)
    mine = vote_buttons(store, r, voter)
    if mine:
        st.success(f"Your vote: {VOTE_LABELS[mine]}. The presenter reveals the answers when the round closes.")
    elif not r.open:
        st.info("This round is closed.")
    tally_fragment(store, r.id, reveal_on_close=True)


def tally(store: ArenaStore, round_id: str) -> dict[str, Any]:
    counts = store.tally(round_id)
    return {"counts": counts, "total": sum(counts.values())}


@st.fragment(run_every=2)
def tally_fragment(store: ArenaStore, round_id: str, reveal_on_close: bool = False) -> None:
    """The live count of votes, refreshed every 2 s without reloading the page."""
    counts = tally(store, round_id)
    st.metric("Votes", counts["total"])
    st.caption(" · ".join(f"{VOTE_LABELS[c]}: {n}" for c, n in counts["counts"].items()))
    r = store.round(round_id)
    if reveal_on_close and r is not None and not r.open and not st.session_state.get(f"_revealed-{round_id}"):
        st.session_state[f"_revealed-{round_id}"] = True
        st.rerun()  # the round closed: draw the page again with the answers revealed


__all__ = ["qr_png", "show_pair", "tally_fragment", "vote_buttons", "voter_id", "voter_page", "voter_view"]
