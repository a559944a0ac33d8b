"""Retrieval holds on documents nobody here wrote: floors on the sample and on CMake's own documentation (eleven
overlapping documents, bench/data/cmake_docs), measured as ``python -m bench --retrieval`` measures them."""

from __future__ import annotations

import os

import pytest

from bench.retrieval import CORPORA, scores
from playground.documents import load_folder, load_questions
from playground.index import SearchRecipe, build_index, embed_text


@pytest.fixture(scope="module")
def cmake_index(tmp_path_factory: pytest.TempPathFactory, embed_model):
    old = os.environ.get("PLAYGROUND_HOME")
    os.environ["PLAYGROUND_HOME"] = str(tmp_path_factory.mktemp("cmake-home"))
    try:
        return build_index(load_folder(CORPORA["cmake"]), embed_model=embed_model, workspace="cmake")
    finally:
        if old is None:
            os.environ.pop("PLAYGROUND_HOME", None)
        else:
            os.environ["PLAYGROUND_HOME"] = old


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
}
