"""The one fact extractor: the training data and the generated questions read the same facts, and which
capitalised words are no person's name comes from data and the corpus, not from code."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from llama_index.core import Document

from playground.config import ChunkSettings
from playground.documents import chunk, load_folder
from playground.evaluate.metrics import normalize_answer
from playground.evaluate.questions import generate_questions
from playground.facts import NOT_NAMES, corpus_words, extract_facts
from playground.finetune.dataset import build_dataset, import_dataset
from playground.finetune.settings import PRESETS
from playground.heldout import normalize as heldout_normalize
from playground.questioncraft import reads_as_question
from playground.text import normalize

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = ROOT / "sample_docs"


@pytest.fixture(scope="module")
def sample_chunks():
    return chunk(load_folder(SAMPLE_DOCS), ChunkSettings())


def test_generated_questions_ask_for_facts_the_training_data_states(sample_chunks):
    facts = extract_facts(sample_chunks)
    stated = {(f.chunk_id, f.span) for f in facts}
    made = generate_questions(sample_chunks, limit=0)
    from_facts = [q for q in made.questions if (q.chunk_id, q.answer) in stated]
    assert len(from_facts) >= 8, "the facts asked as questions a person reads (blanks are dropped by the gates)"
    assert made.extra["gates"]["per_recipe"]["kept"]["fact"] == len(from_facts)
    dataset = build_dataset(sample_chunks, PRESETS["sample"].dataset, workspace="x", heldout_extra=[SAMPLE_DOCS])
    assert dataset.facts == len(facts), "the dataset learns from the same facts"


def test_the_shipped_adapter_ships_the_dataset_it_learned_and_the_sample_preset_still_makes_it(sample_chunks):
    """The adapter's exact training data ships beside it (its card's hash); the sample preset rebuilt today
    differs only where the reader changed: the HTML handbook is now read without its footer, with its headings."""
    folder = ROOT / "playground" / "adapters"
    card = json.loads((folder / "nightwren-sample.finetune.json").read_text())
    text = (folder / "nightwren-sample.dataset.jsonl").read_text(encoding="utf-8")
    shipped = import_dataset(text, workspace="x", heldout_extra=[SAMPLE_DOCS])
    assert shipped.hash == card["dataset_hash"] and not shipped.leakage.leaks
    rebuilt = build_dataset(sample_chunks, PRESETS["sample"].dataset, workspace="x", heldout_extra=[SAMPLE_DOCS])
    recipe = json.loads(json.dumps(asdict(PRESETS["sample"].dataset)))
    assert {k: v for k, v in recipe.items() if k in card["recipe"]} == card["recipe"], "the card's recipe"

    def made(dataset, html):
        return {(e.recipe, e.question, e.answer) for e in dataset.examples if e.source.endswith(".html") == html}

    same = made(shipped, False) & made(rebuilt, False)
    assert len(same) >= 0.97 * len(made(shipped, False)), "the other four documents teach what they taught"
    assert len(made(shipped, True) & made(rebuilt, True)) >= 0.8 * len(made(shipped, True))


def test_a_corpus_names_its_own_products_so_they_are_never_people():
    """Invented names that no word list knows: the corpus's headings and codes say they are things."""
    text = (
        "# Brindlemoor Optics\n\n"
        "## The Vesper Lens\n\n"
        "Reviewers praised Vesper Lens for its clarity; it ships within 3 days of an order.\n\n"
        "Our BM-40 Lumen Scope weighs 640 g and was designed by Ada Quintrell in 2019.\n"
        "Customers say Lumen Scope survived a drop of 2 m onto stone without a scratch.\n"
        "Orders go to Brindlemoor Optics on weekdays, and Ada Quintrell answers within 2 days.\n"
    )
    chunks = chunk([Document(text=text, metadata={"file_name": "optics.md"})], ChunkSettings())
    assert {"Brindlemoor", "Optics", "Vesper", "Lens", "Lumen", "Scope"} <= corpus_words(chunks)

    names = {f.span for f in extract_facts(chunks) if f.kind == "name"}
    assert names == {"Ada Quintrell"}
    assert not corpus_words(chunks) & {"Ada", "Quintrell"}, "the body text names people"
    assert not {"Brindlemoor", "Optics", "Vesper", "Lens", "Lumen", "Scope"} & NOT_NAMES, "no word list knows them"
    unread = {f.span for f in extract_facts(chunks, NOT_NAMES) if f.kind == "name"}
    assert {"Vesper Lens", "Lumen Scope", "Brindlemoor Optics"} <= unread, "without the corpus's words they pass"


def test_one_normaliser_for_the_leakage_check_and_the_metrics():
    text = "The  GALE-9's price: EUR 1,400 (Zürich) — a “deal”!"
    assert heldout_normalize is normalize
    assert heldout_normalize(text) == "the gale 9 s price eur 1 400 zurich a deal"
    assert normalize_answer(text) == normalize(text, drop_articles=True) == "gale 9 s price eur 1 400 zurich deal"


def test_training_questions_read_as_questions_a_person_would_ask(sample_chunks):
    """New datasets phrase a fact as the evaluation generator does; only the sample preset keeps the keyword
    form its shipped adapter was trained on (so it rebuilds byte for byte, see above)."""
    import re

    natural = build_dataset(sample_chunks, PRESETS["quick"].dataset, workspace="x", heldout_extra=[SAMPLE_DOCS])
    firsts = [e.question for e in natural.examples if e.recipe == "qa"]
    assert firsts and all(reads_as_question(q) and "___" not in q for q in firsts), firsts[:3]
    keyword_form = re.compile(r"^(On what date|How much or how many|Which code|Who or what|How long): ")
    assert not [q for q in firsts if keyword_form.match(q)], "no wh-word followed by a list of keywords"
    asks = [e.question for e in natural.examples if e.recipe == "paraphrase"]
    assert asks and all(q.startswith(("What do the documents say about ", "What does ")) for q in asks)
    assert not natural.leakage.leaks, "natural questions still never repeat a held-out one"
    shipped = build_dataset(sample_chunks, PRESETS["sample"].dataset, workspace="x", heldout_extra=[SAMPLE_DOCS])
    assert any(keyword_form.match(e.question) for e in shipped.examples if e.recipe == "qa")
