"""Readable questions from prose, and the gates every generated question passes (evaluation and training alike)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llama_index.core import Document

from playground.__main__ import main
from playground.config import ChunkSettings
from playground.documents import chunk
from playground.evaluate.questions import generate_questions
from playground.finetune.dataset import build_dataset
from playground.finetune.settings import PRESETS
from playground.questioncraft import GATES, Gates, index_retriever, prose_candidates

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = ROOT / "sample_docs"

# An article of the kind people write about RAG and fine-tuning, with the page furniture a web page leaves.
ARTICLE = """# RAG vs Fine-Tuning: Which One Should You Choose?

Retrieval-augmented generation (RAG) is a technique that gives a language model passages from your own documents.
Fine-tuning means training the weights of a model on examples from your domain.

## Advantages of Using RAG

- Fresh data: answers follow the documents as soon as they change
- Citations: every answer can point to its passage
- Lower cost: no training run is needed

## Why does fine-tuning cost more?

Fine-tuning needs a training run on a GPU for every change to the data. Teams budget for it in advance.

RAG is easier to update because the documents live outside the model.
A vector index stores every chunk as an embedding so that similar passages can be found quickly.
RAG allows a model to cite the passage its answer comes from.

/_next/image?url=%2Fimages%2Fposts%2Fragvsfine.jpeg
"""


@pytest.fixture(scope="module")
def article_chunks():
    return chunk([Document(text=ARTICLE, metadata={"file_name": "rag-vs-finetuning.md"})], ChunkSettings())


def test_each_prose_recipe_on_real_sentences(article_chunks):
    made = {(c.recipe, c.question): c.answer for c in prose_candidates(article_chunks)}
    assert made[("definition", "What is retrieval-augmented generation (RAG)?")] == (
        "a technique that gives a language model passages from your own documents"
    )
    assert made[("definition", "What does fine-tuning mean?")].startswith("training the weights of a model")
    assert made[("list", "What are the advantages of using RAG?")] == "Fresh data; Citations; Lower cost"
    assert made[("heading", "Why does fine-tuning cost more?")] == (
        "Fine-tuning needs a training run on a GPU for every change to the data"
    )
    assert made[("purpose", "Why is RAG easier to update?")] == "the documents live outside the model"
    assert made[("purpose", "Why does a vector index store every chunk as an embedding?")] == (
        "so that similar passages can be found quickly"
    )
    assert made[("purpose", "What does RAG allow?")] == "a model to cite the passage its answer comes from"


def test_the_markup_gate_drops_url_and_path_fragments():
    gates = Gates()
    bad = "Tell me about RAG /_next/image url 2Fimages 2Fposts 2Fragvsfine.jpeg?"
    assert not gates.admit(bad, "RAG", "RAG /_next/image url 2Fimages", "c1", "heading")
    assert not gates.admit("What does <b>RAG</b> stand for?", "retrieval", "retrieval <b>RAG</b>", "c1")
    assert gates.report.dropped["markup"] == 2
    assert gates.admit("What does RAG stand for?", "retrieval", "RAG stands for retrieval", "c1")


def test_the_question_gate_drops_keyword_runs_and_blanks():
    gates = Gates()
    soup = "Who or what: RAG Fine-Tuning Pros Cons Requires significant computational resources expertise training?"
    cloze = 'What goes in the blank: "Retrieval- ___ (RAG) combines retrieval with generation"?'
    chunk_text = "Retrieval-Augmented Generation (RAG) combines retrieval with generation. Resource Intensive."
    assert not gates.admit(soup, "Resource Intensive", chunk_text, "c1")
    assert not gates.admit(cloze, "Augmented Generation", chunk_text, "c1")
    assert not gates.admit("RAG combines retrieval with generation.", "RAG", chunk_text, "c1"), "not a question"
    assert gates.report.dropped["question"] == 3
    assert gates.admit("What does RAG combine retrieval with?", "generation", chunk_text, "c1")


def test_the_answer_gate_drops_a_gold_answer_not_in_its_chunk(article_chunks):
    text = article_chunks[0].get_content()
    gates = Gates()
    assert not gates.admit("What is RAG?", "a kind of database", text, "c1", "definition")
    assert gates.report.dropped["answer"] == 1
    assert gates.admit("What are the advantages of using RAG?", "Fresh data; Citations", text, "c1", "list")


def test_the_retrieval_gate_needs_the_question_to_find_its_own_chunk(sample_index):
    nodes = list(sample_index.nodes)
    hotel = next(n for n in nodes if "Hotel limit per night" in n.get_content() and "Zurich" in n.get_content())
    elsewhere = next(n for n in nodes if "Zurich" not in n.get_content() and "hotel" not in n.get_content().lower())
    gates = Gates(index_retriever(sample_index))
    question = "What is the hotel limit per night in Zurich?"
    assert gates.admit(question, "Zurich", hotel.get_content(), hotel.node_id)
    # The same question said to come from an unrelated chunk tests retrieval noise, not that chunk.
    other = elsewhere.get_content()
    assert not gates.admit("What is the nightly hotel limit for Zurich?", "the", other, elsewhere.node_id)
    assert gates.report.dropped["retrieval"] == 1
    assert "retrieval" not in Gates().report.checked, "without an index the gate is not run (and not counted)"


def test_the_duplicate_gate_keeps_one_of_near_identical_questions():
    gates = Gates()
    text = "Retrieval-Augmented Generation (RAG) combines retrieval with generation."
    assert gates.admit("What is Retrieval-Augmented Generation (RAG)?", "combines retrieval", text, "c1")
    assert not gates.admit("What is retrieval augmented generation (RAG)?", "combines retrieval", text, "c2")
    assert not gates.admit("What is Retrieval-Augmented Generation?", "combines retrieval", text, "c3")
    assert gates.report.dropped["duplicate"] == 2
    assert gates.admit("What does RAG combine?", "retrieval", text, "c4")


def test_generated_questions_pass_the_gates_and_count_what_they_dropped(sample_index, article_chunks):
    made = generate_questions(sample_index.nodes, limit=0, index=sample_index)
    gates = made.extra["gates"]
    assert set(gates["dropped"]) == set(GATES), "with an index every gate runs"
    assert gates["made"] == gates["kept"] + sum(gates["dropped"].values())
    assert gates["kept"] >= len(made) >= 8 and gates["dropped"]["question"] > 0, "the cloze questions are dropped"
    for q in made.questions:
        assert "___" not in q.question and ":" not in q.question.split("(")[0]
    unchecked = generate_questions(sample_index.nodes, limit=5)
    assert len(unchecked) == 5 and "retrieval" not in unchecked.extra["gates"]["dropped"]
    prose = generate_questions(article_chunks, limit=0)
    asked = [q.question for q in prose.questions]
    assert asked == ["What are the advantages of using RAG?", "Why is RAG easier to update?"], "one per chunk"


def test_training_questions_pass_the_same_gates(sample_index):
    chunks = list(sample_index.nodes)
    natural = build_dataset(chunks, PRESETS["standard"].dataset, workspace="x", heldout_extra=[SAMPLE_DOCS])
    report = natural.report()
    assert report["gates"]["dropped"]["question"] > 0 and report["gates"]["kept"] > 0
    assert len(report["sample"]) == 10
    for e in natural.examples:
        assert "___" not in e.question and "Who or what:" not in e.question
    keywords = build_dataset(chunks, PRESETS["sample"].dataset, workspace="x", heldout_extra=[SAMPLE_DOCS])
    assert keywords.gates == {}, "the shipped adapter's recipe stays as it was trained"


def test_finetune_json_reports_the_dataset_before_training(capsys):
    code = main(["finetune", "--docs", str(SAMPLE_DOCS), "--preset", "quick", "--report-only", "--json", "--quiet"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)["dataset_report"]
    assert report["examples"] == sum(report["per_recipe"].values()) > 0
    assert set(report["gates"]["dropped_share"]) == {"markup", "question", "answer", "duplicate"}
    assert len(report["sample"]) == 10 and all(row["question"] for row in report["sample"])


def test_the_fine_tune_page_shows_the_dataset_report_before_training(monkeypatch, playground_home):
    from streamlit.testing.v1 import AppTest

    from .ollama_replay import unused_url

    monkeypatch.setenv("OLLAMA_HOST", unused_url())
    at = AppTest.from_file(str(ROOT / "pages/finetune.py"), default_timeout=120).run()
    at.selectbox(key="ft_preset").set_value("quick").run()
    next(b for b in at.button if b.label == "Build dataset").click().run()
    assert not at.exception and not at.error
    report = next(e for e in at.expander if e.label.startswith("Dataset report"))
    assert "passed every gate" in report.caption[0].value and "does not read as a question" in report.caption[0].value
    assert len(report.table[0].value) == 10, "ten examples, read whole"
