"""The index: persist, reload, cache hit, add, remove, interrupted saves, and retrieval quality on the sample corpus."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from playground.config import ChunkSettings, RetrievalSettings
from playground.documents import load_bytes, load_folder
from playground.errors import IndexStoreError
from playground.index import build_index, load_latest
from playground.workspace import workspace_dir

from .helpers import ROOT, SAMPLE_DOCS

EXTRA = (
    "Nightwren's lighthouse programme, code LH-42, lends one GALE station to every harbour school "
    "that asks before 1 May. The programme coordinator is Ilse Vandamme."
)


def _sample(names: list[str] | None = None):
    files = load_folder(SAMPLE_DOCS)
    return [f for f in files if names is None or f.file_name in names]


def test_build_persists_and_reload_is_a_cache_hit(embed_model):
    files = _sample()
    first = build_index(files, embed_model=embed_model, workspace="w", prebuilt=False)  # not the install's copy
    assert first.stats.status == "built"
    assert first.stats.files == len([f for f in files if f.ok]) >= 5
    assert first.stats.embedded == first.stats.chunks > 20
    assert (first.path / "manifest.json").exists()
    assert json.loads((workspace_dir("w") / "latest.json").read_text())["key"] == first.key

    before = embed_model.texts_embedded
    again = build_index(_sample(), embed_model=embed_model, workspace="w")
    assert again.stats.status == "loaded"
    assert again.key == first.key
    assert embed_model.texts_embedded == before, "a cache hit must not embed anything"
    assert [n.node_id for n in again.nodes] == [n.node_id for n in first.nodes], "both in document order"
    assert [n.get_content() for n in again.nodes] == [n.get_content() for n in first.nodes]
    q = "How long is the warranty?"
    assert [h.node_id for h in again.retrieve(q)] == [h.node_id for h in first.retrieve(q)]

    latest = load_latest("w", embed_model)
    assert latest is not None and latest.key == first.key


def test_settings_change_the_key(embed_model):
    files = _sample(["company_overview.md"])
    a = build_index(files, embed_model=embed_model, workspace="w")
    b = build_index(files, embed_model=embed_model, workspace="w", chunk_settings=ChunkSettings(256, 32))
    assert a.key != b.key
    assert b.stats.status == "built", "other chunk settings cannot reuse chunks"
    assert b.stats.chunks < a.stats.chunks


def test_adding_one_document_embeds_only_that_document(embed_model):
    files = _sample()
    base = build_index(files, embed_model=embed_model, workspace="w")
    extra = load_bytes("outreach.txt", EXTRA.encode())
    before = embed_model.texts_embedded
    grown = build_index([*files, extra], embed_model=embed_model, workspace="w")
    assert grown.stats.status == "updated"
    assert grown.stats.reused == base.stats.chunks
    assert grown.stats.embedded == 1 == embed_model.texts_embedded - before
    assert grown.stats.chunks == base.stats.chunks + 1
    top = grown.retrieve("Who coordinates the lighthouse programme for harbour schools?")[0]
    assert top.file_name == "outreach.txt"


def test_removing_one_document_embeds_nothing_and_forgets_it(embed_model):
    files = _sample()
    full = build_index(files, embed_model=embed_model, workspace="w")
    before = embed_model.texts_embedded
    smaller = build_index([f for f in files if f.file_name != "policies.docx"], embed_model=embed_model, workspace="w")
    assert smaller.stats.status == "updated"
    assert smaller.stats.embedded == 0
    assert embed_model.texts_embedded == before
    removed = sum(1 for n in full.nodes if n.metadata["file_name"] == "policies.docx")
    assert removed > 0 and smaller.stats.chunks == full.stats.chunks - removed
    hits = smaller.retrieve("What is the returns window?", RetrievalSettings(top_k=10))
    assert hits and all(h.file_name != "policies.docx" for h in hits)


def test_a_failed_save_leaves_the_previous_index(embed_model, monkeypatch):
    from playground.vectorstores import MatrixStore

    previous = build_index(_sample(["company_overview.md"]), embed_model=embed_model, workspace="w")

    def broken_save(folder, matrix):
        (Path(folder) / "vectors.npy").write_bytes(b"half a file")
        raise OSError("No space left on device")

    with monkeypatch.context() as patch:  # undone on exit, unlike the autouse PLAYGROUND_HOME
        patch.setattr(MatrixStore, "save", staticmethod(broken_save))
        with pytest.raises(OSError, match="No space"):
            build_index(_sample(["company_overview.md", "release_notes.txt"]), embed_model=embed_model, workspace="w")

    indexes = workspace_dir("w") / "indexes"
    assert [p.name for p in indexes.iterdir()] == [previous.key], "no partial folder may remain"
    latest = load_latest("w", embed_model)
    assert latest is not None and latest.key == previous.key
    assert latest.retrieve("Who founded Nightwren?")


_KILLED_SAVE = textwrap.dedent(
    """
    import os, sys, time
    from llama_index.core.embeddings import MockEmbedding
    from playground.documents import load_folder
    from playground.index import build_index
    files = [f for f in load_folder(sys.argv[1]) if f.file_name in sys.argv[2].split(",")]
    embed = MockEmbedding(embed_dim=8)
    real_replace = os.replace
    def stall(src, dst):
        if "indexes" in str(dst):  # every file is written; the process dies before the rename
            print("saving", flush=True)
            time.sleep(600)
        real_replace(src, dst)
    if sys.argv[3] == "stall":
        os.replace = stall
    print(build_index(files, embed_model=embed, workspace="k").key, flush=True)
    """
)


@pytest.mark.slow
def test_a_process_killed_mid_save_leaves_the_previous_index(playground_home):
    """SIGKILL (no cleanup runs) during a save: the previous index still loads and debris is ignored."""
    from llama_index.core.embeddings import MockEmbedding

    env = {**os.environ, "PLAYGROUND_HOME": str(playground_home), "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-c", _KILLED_SAVE, str(SAMPLE_DOCS)]
    first = subprocess.run([*run, "company_overview.md", "ok"], env=env, capture_output=True, text=True, check=True)
    first_key = first.stdout.split()[-1]

    proc = subprocess.Popen(
        [*run, "company_overview.md,release_notes.txt", "stall"], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "saving"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    indexes = workspace_dir("k") / "indexes"
    assert any(p.name.startswith(".tmp-") for p in indexes.iterdir()), "the killed save left its temporary folder"
    latest = load_latest("k", MockEmbedding(embed_dim=8))
    assert latest is not None and latest.key == first_key
    # The same build, run again, completes and becomes the latest.
    second = subprocess.run(
        [*run, "company_overview.md,release_notes.txt", "ok"], env=env, capture_output=True, text=True, check=True
    )
    assert second.stdout.split()[-1] != first_key
    assert load_latest("k", MockEmbedding(embed_dim=8)).key == second.stdout.split()[-1]


def test_a_file_uploaded_again_under_its_name_replaces_the_first(embed_model):
    old = load_bytes("prices.md", b"The NW-GALE-7 costs EUR 100.")
    new = load_bytes("prices.md", b"The NW-GALE-7 costs EUR 120.")
    index = build_index([old, new], embed_model=embed_model, workspace="w")
    assert index.stats.files == 1 and index.files == {"prices.md": new.sha256}
    assert [n.get_content() for n in index.nodes] == ["The NW-GALE-7 costs EUR 120."]


def test_no_readable_documents_is_a_clear_error(embed_model):
    broken = load_bytes("scan.pdf", b"%PDF-1.4 not really")
    with pytest.raises(IndexStoreError, match=r"no readable documents.*scan\.pdf"):
        build_index([broken], embed_model=embed_model, workspace="w")


def test_retrieval_modes_and_cutoff(sample_index):
    q = "What does the GALE-9 wind station cost?"
    for mode in ("hybrid", "vector", "bm25"):
        hits = sample_index.retrieve(q, RetrievalSettings(top_k=3, mode=mode))
        assert len(hits) == 3, mode
        assert [h.rank for h in hits] == [1, 2, 3]
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert all(h.text and h.file_name for h in hits)
    hybrid = sample_index.retrieve(q, RetrievalSettings(top_k=5))
    assert all(h.similarity is not None for h in hybrid), "every hit carries its embedding similarity"
    strict = sample_index.retrieve(q, RetrievalSettings(top_k=5, similarity_cutoff=0.5))
    assert strict and all(h.similarity >= 0.5 for h in strict), "the cutoff keeps the close hits"
    assert len(strict) < len(hybrid)
    assert sample_index.retrieve(q, RetrievalSettings(top_k=5, similarity_cutoff=0.99)) == []


def test_pdf_hits_keep_their_page(sample_index):
    hits = sample_index.retrieve("GALE-9 professional wind station launch date", RetrievalSettings(top_k=10))
    pdf = [h for h in hits if h.file_name == "product_catalog.pdf"]
    assert pdf and all(isinstance(h.page, int) and h.page >= 1 for h in pdf)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def test_retrieval_quality_on_the_sample_questions(sample_index, sample_questions):
    """hit@k: a top-k chunk from the right file that contains the gold answer."""
    ranks: list[int | None] = []
    file_hits = 0
    for row in sample_questions:
        hits = sample_index.retrieve(row["question"], RetrievalSettings(top_k=10))
        file_hits += any(h.file_name == row["source"] for h in hits[:5])
        ranks.append(
            next(
                (h.rank for h in hits if h.file_name == row["source"] and _norm(row["answer"]) in _norm(h.text)),
                None,
            )
        )
    n = len(ranks)

    def at(k: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= k) / n

    mrr = sum(1 / r for r in ranks if r is not None) / n
    print(
        f"\nretrieval on {n} sample questions: hit@1 {at(1):.3f}  hit@3 {at(3):.3f}  hit@5 {at(5):.3f}  "
        f"MRR {mrr:.3f}  (right file in top 5: {file_hits / n:.3f})"
    )
    missed = [row["question"] for row, r in zip(sample_questions, ranks, strict=True) if r is None or r > 5]
    assert n >= 40
    assert at(5) >= 0.90, f"hit@5 {at(5):.3f}; missed: {missed}"


def test_index_never_touches_llamaindex_global_settings(sample_index):
    from llama_index.core import Settings

    assert Settings._llm is None and Settings._embed_model is None


def test_an_index_saved_by_an_earlier_version_is_rebuilt_with_a_message():
    """A format-1 save (LlamaIndex JSON stores) is never misread: the next build says why it embeds again."""
    from llama_index.core.embeddings import MockEmbedding

    from playground.index import FORMAT_VERSION, index_state

    files = _sample(["company_overview.md"])
    ws = workspace_dir("old")
    (ws / "indexes" / "0123456789abcdef").mkdir(parents=True)
    (ws / "indexes" / "0123456789abcdef" / "manifest.json").write_text(json.dumps({"format": 1, "files": {}}))
    (ws / "latest.json").write_text(json.dumps({"key": "0123456789abcdef"}))
    embed = MockEmbedding(embed_dim=8)
    assert load_latest("old", embed) is None
    assert index_state("old", files, ChunkSettings(), embed.model_name) == "stale"
    said: list[str] = []
    index = build_index(files, embed_model=embed, workspace="old", progress=lambda f, m: said.append(m))
    assert index.stats.status == "built" and index.stats.embedded == index.stats.chunks
    assert any("earlier version" in m for m in said), said
    assert json.loads((index.path / "manifest.json").read_text())["format"] == FORMAT_VERSION
    assert index_state("old", files, ChunkSettings(), embed.model_name) == "current"
    assert load_latest("old", embed).key == index.key
