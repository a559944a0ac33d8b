"""The server vector store: a workspace pointed at a real Chroma server (``chroma run``, started here) retrieves
what the embedded store does, updates incrementally, survives a new server and says when none answers."""

from __future__ import annotations

import pytest

from bench.child import free_port
from bench.scale import ChromaServer
from playground.__main__ import main
from playground.config import RetrievalSettings
from playground.documents import load_bytes
from playground.errors import ConfigError, IndexStoreError
from playground.index import build_index, load_latest
from playground.vectorstores import (
    VectorStoreSettings,
    set_workspace_vector_store,
    unit_rows,
    workspace_vector_store,
)

from .test_index import EXTRA


@pytest.fixture(scope="module")
def chroma(tmp_path_factory: pytest.TempPathFactory):
    with ChromaServer(tmp_path_factory.mktemp("chroma")) as server:
        yield server


def test_a_chroma_workspace_retrieves_what_the_embedded_store_does(
    chroma, embed_model, sample_files, sample_index, sample_questions
):
    index = build_index(
        sample_files, embed_model=embed_model, workspace="c", vector_store=VectorStoreSettings("chroma", chroma.url)
    )
    assert index.stats.status == "built" and index.stats.vector_store == f"chroma at {chroma.url}"
    assert not (index.path / "vectors.npy").exists(), "the vectors live in the server"
    assert index.stats.chunks == sample_index.stats.chunks
    questions = [row["question"] for row in sample_questions]
    vectors = unit_rows(embed_model.get_text_embedding_batch(questions))  # what retrieve() does, once for both
    for mode in ("hybrid", "vector"):
        settings = RetrievalSettings(top_k=5, mode=mode)
        for question, vector in zip(questions, vectors, strict=True):
            ours, theirs = index.search(question, vector, settings), sample_index.search(question, vector, settings)
            assert [h.node_id for h in ours] == [h.node_id for h in theirs], (mode, question)
            assert [h.similarity for h in ours] == pytest.approx([h.similarity for h in theirs], abs=2e-4)
    q = "What does the GALE-9 wind station cost?"
    cut = RetrievalSettings(top_k=5, similarity_cutoff=0.5)
    assert [h.node_id for h in index.retrieve(q, cut)] == [h.node_id for h in sample_index.retrieve(q, cut)]
    some = sample_index.nodes[3].node_id
    assert index.embedding(some) == pytest.approx(sample_index.embedding(some), abs=1e-6)


def test_a_chroma_workspace_updates_incrementally_and_reloads(chroma, embed_model, sample_files):
    set_workspace_vector_store("u", VectorStoreSettings("chroma", chroma.url))
    files = [f for f in sample_files if f.file_name in ("company_overview.md", "release_notes.txt")]
    base = build_index(files, embed_model=embed_model, workspace="u")  # the workspace's setting decides
    assert base.stats.vector_store.startswith("chroma")
    extra = load_bytes("outreach.txt", EXTRA.encode())
    before = embed_model.texts_embedded
    grown = build_index([*files, extra], embed_model=embed_model, workspace="u")
    assert grown.stats.status == "updated" and grown.stats.reused == base.stats.chunks
    assert embed_model.texts_embedded - before == grown.stats.embedded == 1
    top = grown.retrieve("Who coordinates the lighthouse programme for harbour schools?")[0]
    assert top.file_name == "outreach.txt"
    smaller = build_index(files[:1], embed_model=embed_model, workspace="u")
    assert smaller.stats.embedded == 0 and all(h.file_name == files[0].file_name for h in smaller.retrieve("GALE"))
    latest = load_latest("u", embed_model)
    assert latest is not None and latest.key == smaller.key and latest.retrieve("Who founded Nightwren?")


def test_a_new_empty_chroma_server_gets_the_index_built_again(chroma, embed_model, sample_files, tmp_path):
    files = [f for f in sample_files if f.file_name == "company_overview.md"]
    first = build_index(
        files, embed_model=embed_model, workspace="m", vector_store=VectorStoreSettings("chroma", chroma.url)
    )
    with ChromaServer(tmp_path / "fresh") as fresh:  # the workspace moved to another, empty server
        said: list[str] = []
        moved = VectorStoreSettings("chroma", fresh.url)
        again = build_index(
            files, embed_model=embed_model, workspace="m", vector_store=moved, progress=lambda f, m: said.append(m)
        )
        assert again.key == first.key and again.stats.status == "built"
        assert any("no collection" in m for m in said), said
        assert again.retrieve("Who founded Nightwren?")
    # That server stopped: its index is sound, so the message is about the server, not a damaged save.
    with pytest.raises(IndexStoreError, match=r"cannot reach the Chroma server .*chroma run") as stopped:
        build_index(files, embed_model=embed_model, workspace="m", vector_store=moved)
    assert "delete" not in str(stopped.value)


def test_no_chroma_server_is_one_clear_error(embed_model, sample_files, capsys):
    down = f"http://127.0.0.1:{free_port()}"
    files = [f for f in sample_files if f.file_name == "company_overview.md"]
    with pytest.raises(IndexStoreError, match=r"cannot reach the Chroma server .*chroma run"):
        build_index(files, embed_model=embed_model, workspace="d", vector_store=VectorStoreSettings("chroma", down))
    assert main(["store", "--workspace", "d", "--chroma", down]) == 2
    assert "cannot reach the Chroma server" in capsys.readouterr().err
    assert workspace_vector_store("d") == VectorStoreSettings(), "a server that does not answer is not kept"
    with pytest.raises(ConfigError, match=r"VectorStoreSettings.url='localhost:8000'"):
        VectorStoreSettings("chroma", "localhost:8000")


def test_the_cli_points_a_workspace_at_chroma_and_back(chroma, capsys):
    assert main(["store", "--workspace", "My Docs", "--chroma", chroma.url]) == 0
    assert f"workspace my-docs: vectors in the chroma at {chroma.url} store" in capsys.readouterr().out
    assert workspace_vector_store("my-docs") == VectorStoreSettings("chroma", chroma.url)
    assert main(["store", "--workspace", "my-docs", "--embedded"]) == 0
    assert workspace_vector_store("my-docs") == VectorStoreSettings()
