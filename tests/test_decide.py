"""Decide: the cost arithmetic against hand-computed cases, then the recommendation on real evidence (the claims lab
run on the sample with the real bundled model and the shipped fine-tune), the command line, the page and the
brief in a real browser."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from playground.config import RetrievalSettings
from playground.decide import (
    DAYS_PER_MONTH,
    FINETUNED,
    RAG,
    Profile,
    Situation,
    break_evens,
    changes_threshold,
    decide,
    gather,
    questions_threshold,
    write_brief,
)
from playground.errors import ConfigError

from .helpers import ROOT, SAMPLE_DOCS, home_at

# -- the cost arithmetic, by hand ----------------------------------------------------------------------------------


def test_cost_is_compute_for_answers_and_changes_at_the_hourly_rate():
    s = Situation(questions_per_day=100, changes_per_month=2, hourly_cost=1.0)
    p = Profile(upfront_s=1800, answer_s=2.0, change_s=600)
    assert DAYS_PER_MONTH == 30.4375
    # 100 answers a day × 30.4375 days × 2 s = 6087.5 s, and 2 changes × 600 s = 1200 s: 7287.5 s a month
    assert p.monthly_s(s) == pytest.approx(7287.5)
    assert p.cost(0, s) == pytest.approx(0.5)  # the up-front half hour at 1 an hour
    assert p.cost(12, s) == pytest.approx(24.7916667)  # (1800 + 12 × 7287.5) / 3600
    assert p.cost(12, Situation(questions_per_day=100, changes_per_month=2, hourly_cost=3.0)) == pytest.approx(74.375)
    # 100,000 answers a day of 2 s each keep 200,000 s / 86,400 s = 2.31 machines busy
    assert p.busy(Situation(questions_per_day=100_000)) == pytest.approx(2.3148148)


def test_the_machine_sets_the_default_rate_and_a_bad_input_names_itself():
    assert Situation().hourly_cost == 0.10 and Situation(machine="gpu").hourly_cost == 2.00
    assert Situation(machine="gpu", hourly_cost=3.5).hourly_cost == 3.5
    with pytest.raises(ConfigError, match="questions_per_day=-1"):
        Situation(questions_per_day=-1)
    with pytest.raises(ConfigError, match="machine='tpu'"):
        Situation(machine="tpu")


def test_break_even_is_where_the_cumulative_costs_meet():
    s = Situation(questions_per_day=480, hourly_cost=1.0)
    rag, tuned, cheap = Profile(0, 1.0, 0), Profile(7200, 0.5, 0), Profile(0, 0.1, 0)
    # rag: 480 × 30.4375 × 1.0 = 14,610 s a month; tuned: 7,305 s a month after 7,200 s of training.
    # They meet when 14,610 t = 7,200 + 7,305 t: t = 7,200 / 7,305 = 0.98563 months, at 14,610 × t / 3600 = 4.00.
    [point] = break_evens({"base+rag": rag, "ft": tuned, "base": cheap}, s)  # base is cheaper throughout: no point
    assert (point.cheaper_before, point.cheaper_after) == ("base+rag", "ft")
    assert point.month == pytest.approx(0.9856263) and point.cost == pytest.approx(4.0)
    assert rag.cost(point.month, s) == pytest.approx(tuned.cost(point.month, s))
    assert point.sentence() == "Fine-tuned costs less than Base+RAG from day 30 on (4.00 each by then)"
    # At a twentieth of the questions training takes twenty times as long to pay back, beyond the 12 months shown:
    # 7,200 / (24 × 30.4375 × 0.5) = 19.71 months
    assert break_evens({"base+rag": rag, "ft": tuned}, Situation(questions_per_day=24)) == []
    assert [b.month for b in break_evens({"base+rag": rag, "ft": tuned}, Situation(questions_per_day=24), 24)] == [
        pytest.approx(19.712526)
    ]


def test_thresholds_say_how_many_questions_or_changes_turn_the_order():
    # Over 12 months: 12 × 30.4375 × (1.0 − 0.5) s = 182.625 s more per daily question for the first;
    # 18,262.5 s more up front for the second: even at 100 questions a day.
    first, second = Profile(0, 1.0, 0), Profile(18_262.5, 0.5, 0)
    assert questions_threshold(first, second, Situation()) == pytest.approx(100.0)
    assert questions_threshold(second, first, Situation()) == pytest.approx(100.0)
    assert questions_threshold(first, Profile(0, 2.0, 0), Situation()) is None  # dearer per answer, never cheaper
    # A fine-tune with short prompts against retrieval, retrained at each change (in the spirit of "with fewer than
    # N changes a month the fine-tune's shorter prompts pay for its retraining"): 3.0 s against 0.6 s an answer,
    # 1 s against 240 s a change, 3 s against 240 s up front. At 100 questions a day, over 12 months:
    # 237 s + 12 × 100 × 30.4375 × (0.6 − 3.0) s = −87,423 s against 12 × (1 − 240) s = −2,868 s a change a month.
    rag, tuned = Profile(3, 3.0, 1.0), Profile(240, 0.6, 240)
    at = changes_threshold(rag, tuned, Situation(questions_per_day=100))
    assert at == pytest.approx(87_423 / 2_868)  # 30.48 changes a month
    below = Situation(questions_per_day=100, changes_per_month=30)
    above = Situation(questions_per_day=100, changes_per_month=31)
    assert tuned.cost(12, below) < rag.cost(12, below) and tuned.cost(12, above) > rag.cost(12, above)
    assert changes_threshold(rag, Profile(3, 3.0, 1.0), Situation()) is None  # the same costs never cross


# -- the recommendation on real evidence ---------------------------------------------------------------------------
# Held-out questions of the sample whose answers only its documents hold and that retrieval finds (the bundled model
# answers them with the passages and not without, measured by `python -m playground claims --docs sample_docs`):
# with three of them the intervals can separate retrieval from the model alone, which 30 questions take otherwise.
QUESTIONS = (4, 23, 24)
WEEKLY = {"changes_per_month": 4.3, "questions_per_day": 100}


@pytest.fixture(scope="module")
def evidence_home(tmp_path_factory):
    with home_at(tmp_path_factory.mktemp("decide-home")) as home:
        yield home


@pytest.fixture(scope="module")
def question_file(tmp_path_factory) -> Path:
    lines = (SAMPLE_DOCS / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path_factory.mktemp("decide-questions") / "decide-questions.jsonl"
    path.write_text("\n".join(lines[i] for i in QUESTIONS) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def lab(evidence_home, embed_model, sample_files, question_file):
    """The claims lab as `python -m playground decide --docs sample_docs --questions FILE` builds it, so the command
    line reads the evidence this module measures."""
    from playground.claims import ClaimsConfig, Lab
    from playground.evaluate.questions import load_question_file
    from playground.index import build_index
    from playground.models import Catalogue
    from playground.models.embedded import EmbeddedBackend
    from playground.workspace import default_workspace

    embedded = EmbeddedBackend()  # this home's models folder (empty) and the shipped adapters
    index = build_index(sample_files, embed_model=embed_model, workspace=default_workspace(SAMPLE_DOCS))
    size = ClaimsConfig(questions=3, latency_questions=3, changed_facts=1, max_tokens=32)
    return Lab(index.workspace, [f for f in sample_files if f.ok], index, Catalogue([embedded]),
               embedded.get("smollm2-135m-instruct"), embedded.get("nightwren-sample"), config=size,
               retrieval=RetrievalSettings(), questions=load_question_file(question_file))  # fmt: skip


@pytest.fixture(scope="module")
def measured(lab):
    """The cheapest real evidence the situations below need: the four options on the questions (new-knowledge),
    index build and training time (cost), a changed fact (freshness) and the house style (consistency)."""
    from playground.claims import run_claims

    return {r.id: r for r in run_claims(lab, ["new-knowledge", "cost", "freshness", "consistency"])}


@pytest.fixture
def in_evidence(evidence_home, measured, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_HOME", str(evidence_home))


def _budget(lab) -> float:
    """A latency budget just under what retrieval's answers took, as measured (a strict one)."""
    ev = gather(lab)
    return math.floor(min(ev.answer_s(c).low for c in RAG) * 90) / 100


def _reasons_carry_their_numbers(decision) -> None:
    assert decision.reasons
    for r in decision.reasons:
        assert re.search(r"\d", r.text), f"a reason without a number: {r.text}"
        assert re.match(r"(evaluation run \S+|claim [\w-]+)", r.source), r.source
    assert any(re.search(r"\[[+−-]?\d", r.text) for r in decision.reasons), "no reason carries an interval"


@pytest.mark.slow
def test_a_workspace_with_no_evidence_gets_run_these_first_and_no_recommendation(lab, capsys):
    # This test's own PLAYGROUND_HOME holds nothing: no evaluation, no claims.
    decision = decide(lab, Situation(**WEEKLY))
    assert decision.kind is None and not decision.options and not decision.reasons
    assert [m.claim for m in decision.missing if m.blocking] == ["new-knowledge", "cost", "freshness"]
    assert decision.headline == "No recommendation yet: run these first: new-knowledge, cost, freshness."
    assert all(m.seconds > 0 for m in decision.missing), "each names how long its claim takes here"
    assert decision.figure() is None and decision.profiles == {}

    from playground.__main__ import main

    code = main(["decide", "--docs", str(SAMPLE_DOCS), "--changes-per-month", "4.3", "--quiet", "--no-ollama"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("No recommendation yet: run these first: new-knowledge, cost, freshness.")


@pytest.mark.slow
def test_weekly_changes_and_a_busy_fixed_corpus_get_different_recommendations(lab, measured, in_evidence):
    gain = measured["new-knowledge"].numbers["retrieval_gain"]
    assert gain["low"] > 0, f"retrieval's gain on these questions was not separated: {gain}"
    weekly = decide(lab, Situation(**WEEKLY))
    busy = decide(lab, Situation(questions_per_day=100_000, latency_s=_budget(lab)))
    for decision in (weekly, busy):
        assert not [m for m in decision.missing if m.blocking]
        _reasons_carry_their_numbers(decision)

    # Weekly changes at 100 questions a day: retrieval, whose gain the intervals separate
    assert weekly.kind in ("RAG", "both") and all(c in RAG for c in weekly.options), weekly.headline
    assert not set(weekly.ruled_out) & set(RAG)
    first = weekly.reasons[0]
    assert first.text.startswith(f"{'Base+RAG' if weekly.options[0] == 'base+rag' else 'Fine-tuned+RAG'} is right on")
    assert first.numbers["difference"]["low"] > 0 and first.source.startswith("evaluation run ")
    fresh = measured["freshness"].numbers
    profiles = weekly.profiles
    assert profiles["base+rag"].change_s == fresh["reindex_s"], "each change costs a re-index, as measured"
    training = measured["cost"].numbers["training"]["seconds"]
    assert profiles["ft"].change_s == training and profiles["ft+rag"].change_s == fresh["reindex_s"] + training
    if fresh["counts"]["ft"]["new_after"] == 0:  # the fine-tune alone kept the old fact: ruled out, with the number
        assert "gave the new value of 0 of 1 changed facts" in weekly.ruled_out["ft"].text
        assert weekly.ruled_out["ft"].source.startswith("claim freshness")

    # 100,000 questions a day within a budget retrieval's answers do not meet: retrieval is ruled out by its seconds
    assert set(busy.ruled_out) >= set(RAG)
    for c in RAG:
        assert re.search(
            r"answers in \d+\.\d\d s \[\d+\.\d\d–\d+\.\d\d\] — over the [\d.]+ s budget", busy.ruled_out[c].text
        )
    assert busy.kind in ("fine-tuning", "neither yet") and not set(busy.options) & set(RAG), busy.headline
    assert busy.kind != weekly.kind
    assert any("latency budget of" in w for w in busy.would_change), "says what budget would let retrieval in"

    # The cost arithmetic is the profiles' own: 12 months, by hand from the measured parts
    s = weekly.situation
    for c, p in profiles.items():
        by_hand = (p.upfront_s + 12 * (100 * 30.4375 * p.answer_s + 4.3 * p.change_s)) / 3600 * 0.10
        assert weekly.costs()[c] == pytest.approx(by_hand)
        assert weekly.cost_rows()[12][{"base": "Base", "base+rag": "Base+RAG", "ft": "Fine-tuned",
                                       "ft+rag": "Fine-tuned+RAG"}[c]] == f"{by_hand:.2f}"  # fmt: skip
    for point in weekly.break_even:
        a, b = profiles[point.cheaper_before], profiles[point.cheaper_after]
        assert a.cost(point.month, s) == pytest.approx(b.cost(point.month, s)) == pytest.approx(point.cost)
    figure = weekly.figure()
    assert figure is not None
    names = [t["name"] for t in figure["data"]]
    assert names[:4] == ["Base", "Base+RAG", "Fine-tuned (ruled out)" if "ft" in weekly.ruled_out else "Fine-tuned",
                         "Fine-tuned+RAG"]  # fmt: skip
    assert ("break-even" in names) == bool(weekly.break_even)
    assert any("135M" in line for line in weekly.limits), "the bundled model's evidence says it does not transfer"


@pytest.mark.slow
def test_citations_need_their_evidence_and_a_house_style_rules_out_by_its_numbers(lab, measured, in_evidence):
    cited = decide(lab, Situation(citations=True))
    assert cited.kind is None and [m.claim for m in cited.missing if m.blocking] == ["hallucination"]
    styled = decide(lab, Situation(style=True))
    adherence = measured["consistency"].numbers["adherence"]
    best = max(adherence.values(), key=lambda a: a["mean"])
    for c, a in adherence.items():
        out = a["high"] < best["low"]
        assert (c in styled.ruled_out) == out, (c, a, best)
        if out:
            assert "house style" in styled.ruled_out[c].text and styled.ruled_out[c].source.startswith(
                "claim consistency"
            )
    assert all(c in FINETUNED for c in styled.options) or not styled.ruled_out


@pytest.mark.slow
def test_the_command_line_prints_the_recommendation_its_reasons_and_break_even(
    lab, measured, evidence_home, question_file
):
    env = {**os.environ, "PLAYGROUND_HOME": str(evidence_home), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "playground", "decide", "--docs", str(SAMPLE_DOCS), "--questions", str(question_file),
         "--changes-per-month", "4.3", "--questions-per-day", "100", "--json", "--quiet", "--no-ollama"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout)
    assert data["recommendation"] in ("RAG", "both") and data["headline"]
    assert data["situation"]["changes_per_month"] == 4.3 and data["situation"]["hourly_cost"] == 0.10
    for reason in data["reasons"]:
        assert set(reason) == {"text", "source", "numbers"} and reason["numbers"], reason
    assert data["evidence"]["claims"]["freshness"]["finished"] and data["evidence"]["evaluation_run"]
    assert isinstance(data["break_even"], list) and isinstance(data["missing"], list)
    assert len(data["costs"]["months"]) == 13 and set(data["costs"]["options"]) == {"base", "base+rag", "ft", "ft+rag"}
    assert data["measured_on"]["models"]["finetuned"]["id"] == "embedded:nightwren-sample"


@pytest.mark.slow
def test_the_brief_renders_offline_in_chromium(lab, measured, in_evidence, tmp_path):
    from bench.browser import chromium

    decision = decide(lab, Situation(**WEEKLY))
    page_path = write_brief(decision, tmp_path / "brief.html")
    text = page_path.read_text(encoding="utf-8")
    assert text.count("plotly.js v") == 1 and not re.search(r"<script[^>]*\bsrc=", text)
    md = write_brief(decision, tmp_path / "brief.md").read_text(encoding="utf-8")
    assert md.startswith("# RAG or fine-tuning: a recommendation") and decision.headline in md
    assert "## Measured on" in md and "## Limits" in md and "| month |" in md
    with chromium(width=1000, height=1400) as page:
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        page.goto(page_path.as_uri())
        page.wait_for_selector(".plotly-graph-div .main-svg", timeout=30_000)
        shown = page.inner_text("body")
        assert decision.headline in shown and "Limits" in shown and "smollm2-135m-instruct" in shown
        assert page.locator(".plotly-graph-div .scatterlayer .trace").count() >= 4, "the four cost lines are drawn"
    assert [u for u in asked if not u.startswith(("file:", "data:", "blob:"))] == [], "no request leaves the page"


@pytest.mark.slow
def test_the_page_runs_a_missing_claim_when_clicked_and_keeps_the_situation(monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from playground import ui

    from .ollama_replay import unused_url

    monkeypatch.setenv("OLLAMA_HOST", unused_url())
    st.cache_resource.clear()
    st.cache_data.clear()
    ui.LOADS.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    at.switch_page("pages/decide.py").run()
    assert not at.exception
    assert at.warning[0].value.startswith("**No recommendation yet\\: run these first\\: new\\-knowledge, cost")
    assert not at.get("plotly_chart"), "nothing is measured, nothing is drawn"
    at.number_input(key="decide_questions").set_value(2).run()
    for claim in ("new-knowledge", "cost"):  # one click each runs that claim through the claims lab, nothing else
        at.button(key=f"decide-run-{claim}").click().run()
        assert not at.exception and not at.error
    assert not [w for w in at.warning if "No recommendation" in w.value]
    said = (at.success or at.warning)[0].value
    assert re.match(r"\*\*(RAG|Fine\\-tuning|Both|Neither yet)\\:", said), said
    assert at.get("plotly_chart") and at.dataframe, "the cost chart and its table"
    # A budget no answer meets: every option is ruled out, each by its measured seconds
    form = next(n for n in at.number_input if n.label.startswith("Latency budget"))
    form.set_value(0.01)
    next(b for b in at.button if b.label == "Decide").click().run()
    assert at.warning[0].value.startswith("**Neither yet\\: no option meets this situation")
    assert sum("over the 0.01 s budget" in m.value.replace("\\", "") for m in at.markdown) == 4
    at.run()  # a rerun keeps the situation and its recommendation
    at.switch_page("pages/claims.py").run()
    at.switch_page("pages/decide.py").run()
    assert at.warning[0].value.startswith("**Neither yet\\: no option meets this situation")
    assert at.session_state["decide_situation"]["latency_s"] == 0.01
    st.cache_resource.clear()
