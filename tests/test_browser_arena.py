"""A room in a real browser: a presenter and three phones (one 360 px wide) on one round, through Chromium.

Screenshots go to ``$PLAYGROUND_SCREENSHOTS`` when set (docs/arena.png is made this way), else to a temp folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bench.browser import chromium, serve
from playground.arena import ArenaStore, Round

pytestmark = pytest.mark.slow


def test_a_room_votes_from_three_phones_into_the_presenters_live_tally(tmp_path, monkeypatch):
    shots = Path(os.environ.get("PLAYGROUND_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    home = tmp_path / "home"
    monkeypatch.setenv("PLAYGROUND_HOME", str(home))
    with serve(home, warm_up=False) as (url, _), chromium(height=1100) as presenter:
        presenter.goto(f"{url}/arena")  # the first visit makes the sample workspace, the presenter's own
        presenter.get_by_text("No votes yet.").wait_for(timeout=60_000)
        store = ArenaStore.for_workspace("sample")
        r = room_round(store)
        presenter.goto(f"{url}/arena?ws=sample&arena={r.id}")
        run_room(presenter, url, store, r, shots)


def room_round(store: ArenaStore) -> Round:
    return store.add_round(
        "On what date was Nightwren Instruments established?",
        {"pipeline": "base+rag", "label": "Base+RAG", "text": "It was established on 14 March 2011.",
         "sources": [{"rank": 1, "file_name": "company_history.md"}], "correct": True},
        {"pipeline": "ft", "label": "Fine-tuned", "text": "Nightwren Instruments was founded in 1990.",
         "sources": [], "correct": False},
        kind="room",
    )  # fmt: skip


def run_room(presenter: Any, url: str, store: ArenaStore, r: Round, shots: Path) -> None:
    """Three phones vote; the presenter's tally follows live; reloads keep state; closing reveals."""
    presenter.get_by_text(f"?round={r.id}").first.wait_for(timeout=60_000)
    browser = presenter.context.browser
    phones = [browser.new_page(viewport={"width": w, "height": 800}) for w in (360, 414, 800)]
    for k, phone in enumerate(phones):
        phone.goto(f"{url}/?round={r.id}&ws=sample")
        phone.get_by_role("button", name="A is better").wait_for(timeout=60_000)
        assert phone.get_by_text("Base+RAG").count() == 0  # blind
        assert phone.locator("[data-testid=stSidebar]").count() == 0  # the round alone
        phone.get_by_role("button", name=("A is better", "B is better", "Tie")[k]).click()
        phone.get_by_text("Your vote:").wait_for(timeout=30_000)
    phones[0].screenshot(path=str(shots / "arena-phone.png"))
    # The presenter's tally follows without a reload.
    presenter.locator("[data-testid=stMetricValue]", has_text="3").wait_for(timeout=20_000)
    assert store.tally(r.id) == {"a": 1, "b": 1, "tie": 1, "bad": 0}
    phones[0].reload()  # a reload keeps the vote: no buttons, the vote said
    phones[0].get_by_text("Your vote: A is better").wait_for(timeout=60_000)
    assert phones[0].get_by_role("button", name="B is better").count() == 0
    presenter.reload()
    presenter.get_by_text(f"?round={r.id}").first.wait_for(timeout=60_000)
    presenter.get_by_role("button", name="Close round and reveal").click()
    presenter.get_by_text("Base+RAG").first.wait_for(timeout=30_000)
    presenter.screenshot(path=str(shots / "arena.png"), full_page=True)
    phones[1].get_by_text("Fine-tuned").first.wait_for(timeout=30_000)  # the phones reveal on close
