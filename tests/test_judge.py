"""Answers judged fairly: lists of accepted answers, a model as judge beside containment, and their agreement (κ)."""

from __future__ import annotations

import json
import random

import pytest

from playground.config import GenerationParams
from playground.errors import BackendUnavailable, ConfigError, DocumentError
from playground.evaluate import EvalConfig, evaluate, exact_match, load_run, parse_questions, summarize
from playground.evaluate.card import card_text
from playground.evaluate.judge import (
    FAILED,
    UNPARSEABLE,
    JudgeSettings,
    agreement,
    cohen_kappa,
    judge,
    parse_verdict,
)
from playground.evaluate.questions import from_rows
from playground.evaluate.records import Answer, QuestionResult
from playground.evaluate.run import score
from playground.models import Catalogue

from .helpers import FakeBackend

TINY = GenerationParams(max_tokens=16)  # a short answer is all a verdict needs; keeps the real run to seconds


# -- Cohen's kappa ------------------------------------------------------------------------------
def test_kappa_is_one_for_perfect_agreement_near_zero_by_chance_and_undefined_for_one_class():
    rng = random.Random(0)
    a = [rng.random() < 0.5 for _ in range(2000)]
    assert cohen_kappa(a, a) == 1.0
    b = [rng.random() < 0.5 for _ in range(2000)]  # a rater that ignores the answers
    assert abs(cohen_kappa(a, b)) < 0.06
    assert cohen_kappa(a, [not x for x in a]) < -0.99, "always the opposite: below chance"
    assert cohen_kappa([1.0] * 5, [1.0] * 5) is None, "every verdict 'correct' from both: κ is undefined"
    assert cohen_kappa([0, 0, 0], [0, 0, 0]) is None and cohen_kappa([], []) is None
    one_sided = cohen_kappa([1, 1, 1, 1], [1, 1, 1, 0])  # one rater one class, the other not: κ is 0, defined
    assert one_sided == 0.0
    found = agreement([1, 1, 0, 0, 1], [1, 0, 0, 0, 1])
    assert (found.n, found.disagreements) == (5, 1) and found.kappa == pytest.approx(0.6154, abs=1e-4)
    assert "1 disagreements" in str(found) and "κ 0.62" in str(found)
    with pytest.raises(ValueError, match="different numbers"):
        cohen_kappa([1], [1, 0])


# -- the judge's reply and settings ----------------------------------------------------------------
def test_judge_replies_are_read_from_their_verdict_line_and_anything_else_is_no_verdict():
    cases = {
        "Verdict: correct\nReason: it says labeled dataset, the same thing.": (True, "it says labeled dataset"),
        "**Verdict:** Wrong\nReason: lists three dates": (False, "lists three dates"),
        "Correct. The answer names the dataset.": (True, "The answer names the dataset"),
        "The answer is correct.": (True, "no reason given"),  # how the bundled 135M model replies
        "The verdict is unclear to me": (None, UNPARSEABLE),
        "": (None, UNPARSEABLE),
    }
    for reply, (correct, reason) in cases.items():
        verdict = parse_verdict(reply)
        assert verdict.correct is correct, reply
        assert verdict.reason.startswith(reason), (reply, verdict.reason)
    with pytest.raises(ConfigError, match=r"JudgeSettings.prompt.*\{answer\}"):
        JudgeSettings(model="x", prompt="Question {question}, gold {gold}")
    with pytest.raises(ConfigError, match="max_tokens"):
        JudgeSettings(max_tokens=0)
    assert not JudgeSettings().enabled and JudgeSettings(model="embedded:x").enabled
    config = EvalConfig(judge=JudgeSettings(model="embedded:x"))
    assert EvalConfig.from_dict(json.loads(json.dumps(config.as_dict()))) == config
    assert config.answer_key() == EvalConfig().answer_key(), "a judge changes no answer: the run id stays"


# -- lists of accepted answers ---------------------------------------------------------------------
def test_accepted_answer_lists_import_from_jsonl_and_csv_and_any_of_them_counts():
    jsonl = (
        b'{"question": "What do you need?", "answer": "large, labelled dataset", '
        b'"answers": ["labelled dataset", "labeled dataset"]}\n'
        b'{"question": "How long?", "answers": ["24 months", "two years"]}\n'
        b'{"question": "Where?", "answer": "Ghent"}\n'
    )
    qs = parse_questions("q.jsonl", jsonl)
    first, second, third = qs.questions
    assert first.answer == "large, labelled dataset"
    assert first.answers == ("large, labelled dataset", "labelled dataset", "labeled dataset")
    assert second.answer == "24 months" and second.accepted == "24 months · two years"
    assert third.answers == ("Ghent",) and "answers" not in third.as_row(), "one answer keeps the old row"
    assert third.as_row() == {"question": "Where?", "answer": "Ghent"}

    csv = parse_questions("q.csv", b"question,answers\nHow long?,24 months | two years\n")
    assert csv.questions[0].answers == ("24 months", "two years") and csv.questions[0].answer == "24 months"
    both = parse_questions("q.csv", b"question,answer,answers\nHow long?,24 months,two years|2 years\n")
    assert both.questions[0].answers == ("24 months", "two years", "2 years")
    with pytest.raises(DocumentError, match="line 1: 'answers' must be a list"):
        parse_questions("q.jsonl", b'{"question": "Q?", "answers": {"a": 1}}\n')
    with pytest.raises(DocumentError, match="line 1: 'answer' is missing"):
        parse_questions("q.jsonl", b'{"question": "Q?", "answers": []}\n')

    again = from_rows("again", qs.rows())  # stored rows (a run's config, a card) read back the same
    assert again.questions == qs.questions and again.sha256 == qs.sha256
    row = QuestionResult(first, answers={"base": Answer("m", "x")}).to_json()
    assert QuestionResult.from_json(row).question == first

    said = "You need a labeled dataset."
    assert exact_match(said, first.answer) == 0.0, "one gold string calls the right answer wrong"
    scores = score(Answer("m", said), first.answers, None)
    assert scores is not None and scores.correct == 1.0 and scores.f1 == pytest.approx(0.6667)  # best gold


# -- a judge in a run ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_run_judged_by_the_embedded_model_stores_verdicts_card_and_kappa(
    embedded, smollm, sample_index, embed_model, tmp_path
):
    rows = [
        {"question": "On what date was Nightwren Instruments established?", "answer": "9 March 2011",
         "answers": ["9 March 2011", "March 9, 2011"], "source": "company_overview.md"},
        {"question": "Who is Nightwren's chief technology officer?", "answer": "Marek Szostak",
         "source": "company_overview.md"},
    ]  # fmt: skip
    questions = from_rows("judged", rows)
    config = EvalConfig(conditions=("base",), generation=TINY, judge=JudgeSettings(model=smollm.id, max_tokens=16))
    run = evaluate(
        questions, catalogue=Catalogue([embedded]), base=smollm, index=sample_index, config=config,
        embed_model=embed_model, run_dir=tmp_path / "run",
    )  # fmt: skip
    answers = [a for r in run.results for a in r.answers.values()]
    assert len(answers) == 2 and all(a.scores for a in answers)
    for a in answers:
        assert a.scores is not None and a.scores.judgement, "every answer carries the judge's reason"
        assert a.scores.judged in (0.0, 1.0, None) and a.scores.correct in (0.0, 1.0), "both are kept"
    stored = load_run(run.run_dir)
    assert [a.scores for r in stored.results for a in r.answers.values()] == [a.scores for a in answers]

    summary = summarize(run)
    judged = [(a.scores.correct, a.scores.judged) for a in answers if a.scores and a.scores.judged is not None]
    if judged:
        assert summary.agreement is not None and summary.agreement.n == len(judged)
        assert summary.agreement.kappa == agreement(*zip(*judged, strict=True)).kappa
        assert "judged" in summary.conditions["base"].scores, "judge accuracy with its interval beside containment"
        assert "against containment" in summary.table()
    out = summary.as_dict()
    assert out["judge"] == smollm.id and "correct" in out["conditions"]["base"]
    card = json.loads(card_text(run, "json"))
    assert card["judge"]["prompt"] == config.judge.prompt and card["judge"]["model"]["sha256"]
    assert card["config"]["judge"]["model"] == smollm.id
    md = card_text(run, "md")
    assert f"Judge: {smollm.id}" in md and "Gold answer: {gold}" in md
    assert "Accepted answers: 9 March 2011 · March 9, 2011" in md


def test_a_judge_that_is_down_fails_only_its_verdicts_and_is_asked_again_on_resume(sample_index, embed_model, tmp_path):
    questions = from_rows("q", [{"question": "Where is the head office?", "answer": "Ghent"}])
    down = FakeBackend(fail={"base": BackendUnavailable("Ollama is not running at http://x: start it")})
    catalogue = Catalogue([down])
    answering, judging = catalogue.resolve("fake:tuned"), catalogue.resolve("fake:base")
    assert judge("In Ghent.", "Where?", ["Ghent"], catalogue, judging).reason.startswith(FAILED)
    config = EvalConfig(judge=JudgeSettings(model=judging.id))
    kwargs = dict(base=answering, index=sample_index, config=config, embed_model=embed_model, run_dir=tmp_path / "r")
    run = evaluate(questions, catalogue=catalogue, **kwargs)
    summary = summarize(run)
    assert all(s.errors == 0 and s.n == 1 for s in summary.conditions.values()), "the answers are all scored"
    scores = [a.scores for a in run.results[0].answers.values()]
    assert all(s and s.judged is None and "Ollama is not running" in s.judgement for s in scores)
    assert summary.agreement is None and any("no verdict on 2 answer(s)" in n for n in summary.notes)
    assert "| Judge |" in summary.table() and str(summary.conditions["base"].scores["judged"]) == "–"

    up = FakeBackend(reply="Verdict: wrong\nReason: it does not name the city.")
    again = evaluate(questions, catalogue=Catalogue([up]), **kwargs)
    assert [name for name, _ in up.calls] == ["base", "base"], "only the judge is asked; the answers are kept"
    scores = [a.scores for a in again.results[0].answers.values()]
    assert all(s and s.judged == 0.0 and s.judgement == "it does not name the city." for s in scores)
    assert summarize(again).agreement is not None
