"""Retrieval holds on documents nobody here wrote: floors on the sample, on CMake's own documentation (eleven
overlapping documents, bench/data/cmake_docs) and on SQLite's (ten HTML pages with their menus and footers,
bench/data/sqlite_docs), measured as ``python -m bench --retrieval`` measures them."""

from __future__ import annotations

import pytest

from bench.retrieval import CORPORA, scores
from playground.documents import load_folder, load_questions
from playground.evaluate.questions import UNANSWERABLE, load_question_file
from playground.index import SearchRecipe, build_index, embed_text
from playground.models import SQLITE_HIT5

from .helpers import home_at


@pytest.fixture(scope="module")
def cmake_index(tmp_path_factory: pytest.TempPathFactory, embed_model):
    return _corpus_index("cmake", tmp_path_factory, embed_model)


@pytest.fixture(scope="module")
def sqlite_index(tmp_path_factory: pytest.TempPathFactory, embed_model):
    return _corpus_index("sqlite", tmp_path_factory, embed_model)


def _corpus_index(corpus: str, tmp_path_factory: pytest.TempPathFactory, embed_model):
    with home_at(tmp_path_factory.mktemp(f"{corpus}-home")):
        return build_index(load_folder(CORPORA[corpus]), embed_model=embed_model, workspace=corpus)


def test_retrieval_floors_on_the_sample(sample_index, sample_questions):
    got = scores(sample_index, sample_questions)
    print(f"\nsample: {got}")
    assert got["n"] == 71
    assert got["hit@5"] >= FLOORS["sample"]["hit@5"], got["missed"]
    assert got["mrr"] >= FLOORS["sample"]["mrr"]
    assert got["answer_hit@5"] >= FLOORS["sample"]["answer_hit@5"]


def test_retrieval_floors_on_overlapping_real_documents(cmake_index):
    questions = load_questions(CORPORA["cmake"])
    got = scores(cmake_index, questions)
    print(f"\ncmake: {got}")
    assert got["n"] == len(questions) >= 40 and cmake_index.stats.files == 11
    assert got["hit@5"] >= FLOORS["cmake"]["hit@5"], got["missed"]
    assert got["mrr"] >= FLOORS["cmake"]["mrr"]
    assert got["answer_hit@5"] >= FLOORS["cmake"]["answer_hit@5"]


def test_retrieval_floors_on_real_web_pages_with_their_chrome(sqlite_index):
    """SQLite's pages as they ship (menu bar, search form, scripts, footer), with questions a person wrote;
    the five the pages cannot answer have no file to find and are left out of the scores."""
    rows = load_questions(CORPORA["sqlite"])
    unanswerable = [q for q in load_question_file(CORPORA["sqlite"]).questions if not q.answerable]
    assert len(unanswerable) == 5 and not any(row.get("source") for row in rows if row["answer"] == UNANSWERABLE)
    got = scores(sqlite_index, rows)
    print(f"\nsqlite: {got}")
    assert got["n"] == len(rows) - 5 >= 40 and sqlite_index.stats.files == 10
    assert not any("Search Changelog" in n.text for n in sqlite_index.nodes), "the search form is chrome"
    assert got["hit@5"] >= FLOORS["sqlite"]["hit@5"], got["missed"]
    assert got["mrr"] >= FLOORS["sqlite"]["mrr"]
    assert got["answer_hit@5"] >= FLOORS["sqlite"]["answer_hit@5"]
    # The bundled model's capability note quotes this figure: retrieval must still find at least that many.
    quoted, of = (int(n) for n in SQLITE_HIT5.split(" of "))
    assert of == got["n"] and round(got["hit@5"] * got["n"]) >= quoted, (SQLITE_HIT5, got["missed"])


def test_a_chunk_is_found_under_its_title_but_read_without_it(cmake_index):
    """The contextual header reaches the embedding and BM25, never the passage a model or a person reads."""
    assert cmake_index.recipe == SearchRecipe() and cmake_index.recipe.headers == "title"
    node = next(n for n in cmake_index.nodes if n.metadata["file_name"] == "cmake-3.21-release-notes.txt")
    assert node.metadata["context"] == "CMake 3.21 Release Notes"
    assert embed_text(node).startswith("CMake 3.21 Release Notes\n\n") and embed_text(node).endswith(node.text)
    assert node.get_content(metadata_mode="llm") == node.text, "prompts show the passage as it is"
    hit = cmake_index.retrieve("Which release added the generator for Visual Studio 2022?")[0]
    assert hit.file_name == "cmake-3.21-release-notes.txt"
    assert hit.text == next(n.text for n in cmake_index.nodes if n.node_id == hit.node_id)


# Measured with the default recipe (title headers) on 2026-11-29, less 0.03 for a little slack across
# library versions; `python -m bench --retrieval` prints the figures and every lever beside them.
FLOORS = {
    "sample": {"hit@5": 0.97, "mrr": 0.88, "answer_hit@5": 0.91},
    "cmake": {"hit@5": 0.97, "mrr": 0.90, "answer_hit@5": 0.91},
    # Measured 2026-12-05: hit@5 0.957 (45 of 47), MRR 0.915, answer hit@5 0.872; one more miss is allowed.
    "sqlite": {"hit@5": 0.93, "mrr": 0.88, "answer_hit@5": 0.84},
}


# Measured 2026-12-05 on the SQLite pages: 35 of 133 generated questions pass every gate (0.26), 44 of 234
# training Q&A (0.19); the floors leave 0.02 to 0.04 of slack. `python -m playground finetune --docs
# bench/data/sqlite_docs --preset quick --report-only` prints the training share.
GATE_FLOORS = {"questions": 0.22, "training": 0.17}


def test_questions_and_training_data_from_real_web_pages_pass_the_gates_at_their_floor(sqlite_index):
    from playground.evaluate.questions import generate_questions
    from playground.finetune.dataset import build_dataset
    from playground.finetune.settings import DatasetSettings
    from playground.questioncraft import has_markup, reads_as_question

    nodes = list(sqlite_index.nodes)
    made = generate_questions(nodes, limit=0, index=sqlite_index)
    gates = made.extra["gates"]
    assert gates["kept"] == len(made.questions) >= 30
    assert gates["kept"] / gates["made"] >= GATE_FLOORS["questions"], gates
    assert all(reads_as_question(q.question) and not has_markup(q.question) for q in made.questions)
    data = build_dataset(nodes, DatasetSettings(), workspace="sqlite")
    assert data.gates["kept"] / data.gates["made"] >= GATE_FLOORS["training"], data.gates
    qa = [e for e in data.examples if e.recipe == "qa"]
    assert len(qa) >= 40 and all(reads_as_question(e.question) and not has_markup(e.question) for e in qa)
    assert data.gates["made"] == data.gates["kept"] + sum(data.gates["dropped"].values()), "every drop has its gate"
