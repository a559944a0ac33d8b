"""Reading a finished comparison: verdicts against the gold answer, the computed reading, flags, export."""

from __future__ import annotations

import json

from playground.compare import CONDITIONS, ConditionResult, Source, unsupported_citations
from playground.models import Metrics
from playground.readout import EXPORTS, Comparison, gold_answer, reading

PASSAGE = Source("product_catalog.pdf", 4, 0.98, 0.55, 1, "The NW-RAIN-5 halves the measuring step to 0.1 mm.")
OTHER = Source("release_notes.txt", None, 0.95, 0.41, 2, "Firmware 1.4.0 for the NW-RAIN-5, 2 December 2025.")


def results(texts: dict[str, str]) -> list[ConditionResult]:
    out = []
    for condition in CONDITIONS:
        sources = [PASSAGE, OTHER] if condition.endswith("+rag") else []
        r = ConditionResult(condition, "embedded:m", texts[condition], Metrics(1.0, 0.2, 40, 12), sources)
        r.unsupported = unsupported_citations(r.text, r.sources)
        out.append(r)
    return out


FOUR = {
    "base": "It measures in steps of 0.5 mm.",
    "base+rag": "The smallest step is 0.1 mm.",
    "ft": "Answer: 0.2 mm (Source: NW-POL-014)",
    "ft+rag": "Answer: 0.1 mm (Source: product_catalog.pdf)",
}


def test_the_reading_names_what_only_the_rag_answers_state_and_where_it_came_from():
    assert reading(results(FOUR)) == (
        "Only the RAG answers (Base+RAG and Fine-tuned+RAG) state “0.1 mm”, from product_catalog.pdf, page 4."
    )
    same = dict.fromkeys(CONDITIONS, "It is 0.1 mm.")
    assert reading(results(same)) == "All answers state “0.1 mm”."
    assert reading(results(dict.fromkeys(CONDITIONS, "I do not know."))).startswith("No answer states a figure")


def test_with_a_gold_answer_each_card_is_right_or_wrong_and_the_reading_says_which():
    c = Comparison("What is the smallest step?", results(FOUR), gold="0.1 mm")
    assert [c.verdict(r) for r in c.results] == [False, True, False, True]
    assert c.reading() == (
        "Only Base+RAG and Fine-tuned+RAG contain the expected “0.1 mm”. The passages had it: "
        "[1] product_catalog.pdf, page 4."
    )
    assert Comparison("q", results(FOUR)).verdict(c.results[0]) is None, "no gold, no verdict"
    rows = [{"question": "What is the smallest step?", "answer": "0.1 mm"}]
    assert gold_answer("what is the SMALLEST step", rows) == "0.1 mm"


def test_an_answer_citing_a_source_it_was_not_given_is_flagged():
    flagged = {r.condition: r.unsupported for r in results(FOUR)}
    assert flagged == {"base": [], "base+rag": [], "ft": ["NW-POL-014"], "ft+rag": []}
    assert unsupported_citations("See [3] and [1].", [PASSAGE, OTHER]) == ["[3]"]
    assert unsupported_citations("From support_handbook.html.", [PASSAGE]) == ["support_handbook.html"]
    assert unsupported_citations("(Source: NW-RAIN-5)", [PASSAGE]) == [], "a code the passage holds is given"


def test_a_comparison_exports_as_markdown_html_and_json_with_everything_it_showed():
    hostile = dict(FOUR, base="<script>alert(1)</script> 0.5 mm")
    c = Comparison("What is the smallest step?", results(hostile), gold="0.1 mm", workspace="sample",
                   settings={"top_k": 3, "max_tokens": 160})  # fmt: skip
    c.results[0].stopped_at = 160
    md, page, data = (EXPORTS[fmt][0](c) for fmt in ("md", "html", "json"))
    assert "## Fine-tuned ✗" in md and "Cites NW-POL-014, which it was not given." in md
    assert "Stopped at the 160-token limit" in md and "Source [1] product_catalog.pdf, page 4" in md
    assert "<script>" not in page and "&lt;script&gt;" in page, "answers are text in the page, never markup"
    assert page.count("<section") == 4 and "Expected answer: <b>0.1 mm</b>" in page
    loaded = json.loads(data)
    assert [r["condition"] for r in loaded["results"]] == list(CONDITIONS)
    assert [r["correct"] for r in loaded["results"]] == [False, True, False, True]
    assert loaded["results"][1]["sources"][0]["file_name"] == "product_catalog.pdf"
    assert loaded["settings"] == {"top_k": 3, "max_tokens": 160} and loaded["reading"] == c.reading()


def test_a_comparison_is_kept_with_its_workspace_and_reopened_by_its_question():
    from playground.readout import load_comparison, save_comparison

    c = Comparison("What is the smallest step?", results(FOUR), gold="0.1 mm", workspace="sample", settings={"k": 3})
    c.results[2].stopped_at = 160
    save_comparison(c)
    again = load_comparison("sample", "  what is the SMALLEST step? ")
    assert again is not None and again.as_dict() == c.as_dict(), "every field comes back, the flags too"
    assert again.results[1].sources[0].used_spans == c.results[1].sources[0].used_spans
    assert load_comparison("other", c.question) is None and load_comparison("sample", "Never asked?") is None


def test_numbers_in_words_or_with_any_unit_count_as_figures_in_the_reading():
    islands = Source("company_overview.md", None, 0.9, 0.5, 1, "The archipelago has exactly 17 islands.")
    out = results({"base": "I do not know.", "base+rag": "There are exactly 17 islands.",
                   "ft": "Many islands.", "ft+rag": "It has 17 islands."})  # fmt: skip
    for r in out:
        r.sources = [islands] if r.sources else []
    assert reading(out) == (
        "Only the RAG answers (Base+RAG and Fine-tuned+RAG) state “17 islands”, from company_overview.md."
    )
    words = results(dict.fromkeys(CONDITIONS, "Seventeen islands, one of them ours."))
    assert reading(words) == "All answers state “Seventeen islands”."


def test_an_interrupted_answer_is_not_scored():
    out = results(FOUR)
    out[2].text, out[2].metrics = "", None  # left before it finished: no text, no cost
    c = Comparison("What is the smallest step?", out, gold="0.1 mm")
    assert [c.verdict(r) for r in c.results] == [False, True, None, True]


def test_answers_made_with_other_settings_say_so():
    from playground.readout import settings_note

    c = Comparison("q", results(FOUR), settings={"top_k": 3, "max_tokens": 160, "seed": 42, "rag_template": "T"})
    same = {"top_k": 3, "max_tokens": 160, "seed": 42, "rag_template": "T"}
    models = {"base": "embedded:m", "finetuned": "embedded:m"}
    assert settings_note(c, same, models) is None
    assert settings_note(c, {**same, "top_k": 5, "rag_template": "U"}, models) == (
        "Made with top-k 3 (now 5) and another RAG prompt template: ask again to see answers with these settings."
    )
    assert "base model embedded:m (now embedded:x)" in (settings_note(c, same, {**models, "base": "embedded:x"}) or "")


def test_a_fact_edit_lesson_names_the_new_value_the_kept_old_one_and_a_passage_that_still_says_it():
    from playground.edits import FactEdit
    from playground.readout import change_lesson

    edited = Source("company_overview.md", None, 0.9, 0.5, 1, "Founded on 14 November 2025 in Ghent.")
    stale = Source("release_notes.txt", None, 0.8, 0.4, 2, "Ten years after 9 March 2011, the NW-RAIN-5.")
    out = results({"base": "I do not know.", "base+rag": "14 November 2025.",
                   "ft": "Answer: 9 March 2011", "ft+rag": "On 9 March 2011."})  # fmt: skip
    for r in out:
        r.sources = [edited, stale] if r.sources else []
    edit = FactEdit("company_overview.md", "9 March 2011", "14 November 2025")
    lesson = change_lesson(Comparison("When?", out), [edit])
    assert lesson[0] == "Base+RAG states the new “14 November 2025”."
    assert lesson[1].startswith("Fine-tuned and Fine-tuned+RAG kept the old “9 March 2011”: a fine-tune learned")
    assert lesson[2] == (
        "Passage [2] release_notes.txt still states the old “9 March 2011”: the change was made in "
        "company_overview.md only, so the answers were given both values."
    )
    assert len(lesson) == 3
    missed = results(dict.fromkeys(CONDITIONS, "I do not know."))
    for r in missed:
        r.sources = [stale] if r.sources else []
    assert change_lesson(Comparison("When?", missed), [edit]) == [
        "Fine-tuned does not state the new “14 November 2025”: an edit does not change a fine-tune's weights, only "
        "what the passages give it.",
        "No passage retrieved holds the changed text of company_overview.md: the RAG answers never saw the change. "
        "Retrieve more passages (top-k) or ask in the document's own words.",
        "Passage [2] release_notes.txt still states the old “9 March 2011”: the change was made in "
        "company_overview.md only, so the answers were given both values.",
    ]
