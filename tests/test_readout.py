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
