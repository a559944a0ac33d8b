"""The arena: the Bradley–Terry fit against hand-computed and simulated cases, the vote store under 50
voters at once and across a restart, and a model judging the sample's pairs (the CLI's headless run)."""

from __future__ import annotations

import json
import math
import multiprocessing
import time

import numpy as np
import pytest

from playground.arena import ArenaStore, fit, parse_pair, rate
from playground.arena.judge import gold_choice, people_choice

from .helpers import SAMPLE_DOCS


def test_bradley_terry_matches_hand_computed_cases():
    # Two pipelines, x wins 2, ties 2, loses 0: x scores 3 of 4, so the ML log-odds gap is ln 3.
    votes = [("x", "y", "a")] * 2 + [("x", "y", "tie")] * 2
    s = fit(votes, ["x", "y"], alpha=0)
    assert s[0] - s[1] == pytest.approx(math.log(3), abs=1e-4)
    # The same votes with x shown as B: the fit reads who won, not where it sat.
    flipped = fit([("y", "x", "b")] * 2 + [("y", "x", "bad")] * 2, ["x", "y"], alpha=0)
    assert flipped[0] - flipped[1] == pytest.approx(math.log(3), abs=1e-4)
    # A symmetric cycle (x>y, y>z, z>x, each 2:1): every strength is equal.
    cycle = [(p, q, "a") for p, q in (("x", "y"), ("y", "z"), ("z", "x")) for _ in range(2)]
    cycle += [(p, q, "b") for p, q in (("x", "y"), ("y", "z"), ("z", "x"))]
    assert np.allclose(fit(cycle, ["x", "y", "z"], alpha=0), 0, atol=1e-4)
    # Three in a line with a hand-solved answer: x beats y 2:1 and y beats z 2:1, x-z never met.
    # Score equations give θx-θy = θy-θz = ln 2.
    line = [("x", "y", "a")] * 2 + [("x", "y", "b"), ("y", "z", "a"), ("y", "z", "a"), ("y", "z", "b")]
    s = fit(line, ["x", "y", "z"], alpha=0)
    assert s[0] - s[1] == pytest.approx(math.log(2), abs=1e-4)
    assert s[1] - s[2] == pytest.approx(math.log(2), abs=1e-4)


def _tournament(truth: np.ndarray, n_votes: int, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    names = [f"p{i}" for i in range(len(truth))]
    votes = []
    for _ in range(n_votes):
        i, j = rng.choice(len(truth), 2, replace=False)
        p = 1 / (1 + math.exp(-(truth[i] - truth[j])))
        votes.append((names[i], names[j], "a" if rng.random() < p else "b"))
    return votes


def test_a_simulated_tournament_recovers_the_order_and_intervals_cover_the_truth():
    truth = np.array([0.9, 0.3, -0.2, -1.0])
    truth -= truth.mean()  # the fit's strengths are centred, so the truth is compared centred
    names = [f"p{i}" for i in range(4)]
    rng = np.random.default_rng(7)
    big = rate(_tournament(truth, 1200, rng), names, resamples=100)
    assert [row["pipeline"] for row in big.leaderboard()] == names  # the known order
    assert all(big.ordered[i][i + 1] for i in range(3))
    covered = total = 0
    for t in range(40):
        r = rate(_tournament(truth, 240, rng), names, resamples=100, seed=t)
        covered += sum(lo <= x <= hi for lo, x, hi in zip(r.low, truth, r.high, strict=True))
        total += 4
    # The nominal 95 %: 160 intervals, binomial sd about 1.7 %; percentile bootstrap runs a little narrow.
    assert 0.87 <= covered / total <= 1.0, covered / total


def test_too_few_votes_are_said_and_elo_is_the_same_fit():
    r = rate([("base", "ft", "a"), ("base", "ft", "a")], labels={"base": "Base", "ft": "Fine-tuned"})
    assert "too few to order" in r.sentence()
    assert not r.ordered[0][1]
    # Elo is the fit's scale: the gap in Elo is 400/ln10 times the gap in strength, whatever the vote order.
    shuffled = rate([("base", "ft", "a"), ("base", "ft", "a")][::-1])
    assert shuffled.strength == pytest.approx(r.strength)
    board = {row["pipeline"]: row["elo"] for row in r.leaderboard()}
    assert board["base"] - board["ft"] == pytest.approx(400 / math.log(10) * (r.strength[0] - r.strength[1]), abs=1)
    many = rate(
        [("base+rag", "ft", "a")] * 14 + [("base+rag", "ft", "b")] * 4,
        labels={"base+rag": "Base+RAG", "ft": "Fine-tuned"},
    )
    assert many.sentence() == "Base+RAG is preferred to Fine-tuned in 14 of 18 votes."


def _vote(args: tuple[str, str, int]) -> bool:
    path, round_id, k = args
    return ArenaStore(path).vote(round_id, f"voter-{k}", ("a", "b", "tie", "bad")[k % 4])


def test_fifty_voters_at_once_lose_no_vote_and_votes_survive_a_restart(tmp_path):
    path = tmp_path / "arena.sqlite"
    store = ArenaStore(path)
    r = store.add_round("q?", {"pipeline": "base", "text": "1"}, {"pipeline": "base+rag", "text": "2"}, kind="room")
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(50) as pool:  # 50 processes, each its own connection
        accepted = pool.map(_vote, [(str(path), r.id, k) for k in range(50)], chunksize=1)
    seconds = time.perf_counter() - started
    print(f"50 concurrent voters: {seconds:.2f} s")
    assert all(accepted)
    # A second vote from the same voter is refused and the first kept: append-only, one vote per round.
    assert not store.vote(r.id, "voter-0", "b")
    again = ArenaStore(path)  # a fresh process's view: what a restarted server reads
    assert len(again.votes(r.id)) == 50
    assert again.tally(r.id) == {"a": 13, "b": 13, "tie": 12, "bad": 12}
    assert again.round(r.id).answer("b")["text"] == "2"
    again.close(r.id)
    assert not again.vote(r.id, "late", "a")  # a closed round takes no more votes
    assert len(again.votes(r.id)) == 50


def test_pairs_parse_conditions_models_and_top_k():
    left, right = parse_pair("base+rag#k8:ft@embedded:smollm2-135m-instruct")
    assert (left.condition, left.top_k, right.condition, right.model) == (
        "base+rag",
        8,
        "ft",
        "embedded:smollm2-135m-instruct",
    )


@pytest.mark.slow
def test_arena_judge_runs_on_the_sample_with_the_bundled_model(capsys, tmp_path):
    from playground.__main__ import main

    questions = tmp_path / "q.jsonl"
    line = (SAMPLE_DOCS / "questions.jsonl").read_text().splitlines()[0]
    questions.write_text(line + "\n")
    args = [
        "arena",
        "--docs",
        str(SAMPLE_DOCS),
        "--pairs",
        "base+rag:base",
        "--judge",
        "smollm2-135m-instruct",
        "--questions",
        str(questions),
        "--limit",
        "1",
        "--max-tokens",
        "16",
        "--resamples",
        "20",
        "--no-ollama",
        "--quiet",
        "--json",
        "--export",
        str(tmp_path / "out"),
    ]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    judge = out["judge"]
    assert judge["votes"] == 1 and judge["rows"][0]["judge"] in ("a", "b", "tie")
    assert 0 <= judge["position_bias"] <= 1
    board = out["ratings"]["leaderboard"]
    assert {row["pipeline"] for row in board} == {"base+rag", "base"}
    assert out["ratings"]["votes"] == 1
    store = ArenaStore.for_workspace(out["workspace"])
    (r,) = store.rounds()
    assert {r.a, r.b} == {"base+rag", "base"} and r.answer("a")["text"]
    rag_side = "a" if r.a == "base+rag" else "b"
    assert r.answer(rag_side)["sources"]  # the RAG side kept its passages for the reveal
    assert people_choice(store, r.id) is None  # no person voted
    assert gold_choice(r) in (None, "a", "b")
    html = (tmp_path / "out" / "arena.html").read_text()
    assert r.question in html and "plotly" in html.lower()


def test_a_voter_link_shows_only_the_round_and_keeps_the_vote_across_a_reload(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from .helpers import ROOT

    monkeypatch.setenv("PLAYGROUND_PRIVATE", "1")  # hosting mode: a voter reaches the round and nothing else
    store = ArenaStore.for_workspace("talk")
    r = store.add_round(
        "When was the company founded?",
        {"pipeline": "base+rag", "label": "Base+RAG", "text": "In 1998.", "sources": [{"rank": 1, "file_name": "x"}]},
        {"pipeline": "ft", "label": "Fine-tuned", "text": "Long ago.", "sources": []},
        kind="room",
    )

    def open_link(voter: str | None = None) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.query_params["round"], at.query_params["ws"] = r.id, "talk"
        if voter:
            at.query_params["voter"] = voter
        return at.run()

    at = open_link()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert r.question in text and "In 1998." in text
    assert "Base+RAG" not in text and "Fine-tuned" not in text  # blind until the round closes
    assert not at.sidebar.selectbox  # no workspace picker, no pages: the round alone
    at.button(key=f"vote-{r.id}-a").click().run()
    voter = at.query_params["voter"]
    assert store.my_vote(r.id, voter) == "a" and store.tally(r.id)["a"] == 1
    again = open_link(voter)  # a reload: the same id from the URL, the vote is kept and not asked again
    assert any("Your vote: A is better" in s.value for s in again.success)
    assert not [b for b in again.button if b.key and b.key.startswith("vote-")]
    store.close(r.id)
    revealed = open_link(voter)
    assert "Base+RAG" in " ".join(m.value for m in revealed.markdown)
    wrong = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    wrong.query_params["round"], wrong.query_params["ws"] = "nope", "nowhere"
    wrong.run()
    assert "does not exist" in wrong.error[0].value
    assert not (ArenaStore.for_workspace("talk").path.parent.parent / "nowhere").exists()


def test_the_arena_page_shows_the_room_link_qr_tally_and_leaderboard():
    from streamlit.testing.v1 import AppTest

    from .helpers import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    store = ArenaStore.for_workspace(at.session_state["workspace"])
    r = store.add_round("q?", {"pipeline": "base+rag", "label": "Base+RAG", "text": "x"},
                        {"pipeline": "ft", "label": "Fine-tuned", "text": "y"}, kind="room")  # fmt: skip
    for k in range(6):
        store.vote(r.id, f"v{k}", "a" if k else "b")
    at.session_state["arena_round"] = r.id
    at.switch_page("pages/arena.py").run()
    assert not at.exception, at.exception
    assert any(f"?round={r.id}" in m.value for m in at.markdown)
    assert at.get("image")  # the QR code
    assert any(m.value == "6" for m in at.metric)  # the live tally
    assert any("6 votes so far: too few to order" in m.value for m in at.markdown)  # the sentence, honest
    at.button[[b.label for b in at.button].index("Close round and reveal")].click().run()
    assert store.round(r.id) is not None and not store.round(r.id).open


@pytest.mark.slow
def test_a_new_pair_streams_both_answers_blind_in_the_order_it_stores(embedded, smollm, sample_index):
    import random

    from playground.arena import new_round
    from playground.config import GenerationParams
    from playground.models import Catalogue

    told: list[tuple[str, str]] = []
    store = ArenaStore.for_workspace("stream")
    r = new_round(
        store, "How long is the warranty on a gateway?", parse_pair("base+rag:base"), rng=random.Random(1),
        catalogue=Catalogue([embedded]), base=smollm, finetuned=None, index=sample_index,
        generation=GenerationParams(max_tokens=16), on_text=lambda side, text: told.append((side, text)),
    )  # fmt: skip
    sides = [side for side, _ in told]
    assert sides == sorted(sides) and set(sides) == {"a", "b"}, "A streams first, then B"
    assert len(sides) > 2, "piece by piece, not once at the end"
    for side in ("a", "b"):
        streamed = [text for s, text in told if s == side]
        assert streamed[-1] == r.answer(side)["text"] and all(streamed[-1].startswith(t) for t in streamed)
    assert {r.a, r.b} == {"base+rag", "base"} and store.round(r.id) is not None
