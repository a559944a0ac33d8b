"""Many people at once: ten sessions of one server upload and ask at the same moment, as a class does.

The sessions share what a server shares (the embedding model, the index cache, the backends, the files
of a workspace two of them have open) and go through the same calls the pages make; answers come from
the scripted backend, so what is measured is the sharing, not the model.
"""

from __future__ import annotations

import threading
import traceback

import pytest
import streamlit as st

from playground import RetrievalSettings, compare
from playground.models import Catalogue
from playground.ui import cache
from playground.workspace import Workspace, open_workspace

from .helpers import FakeBackend

SESSIONS = 10
SHARED = "shared"  # sessions 5..9 work in one workspace; 0..4 each in their own
WORDS = ["amber", "basalt", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo", "juniper"]
TOPICS = ["lighthouse", "orchard", "glacier", "violin", "bakery", "telescope", "vineyard", "submarine", "library",
          "volcano"]  # fmt: skip


def _document(i: int) -> bytes:
    topic = TOPICS[i]
    return f"# The {topic}\n\nThe {topic} code word is {WORDS[i]}. Only the {topic} team uses it.\n".encode()


def _question(i: int) -> str:
    return f"What is the {TOPICS[i]} code word?"


def _session_workspace(i: int) -> str:
    return f"own-{i}" if i < SESSIONS // 2 else SHARED


@pytest.fixture
def shared_caches(embed_model, monkeypatch):
    """The process-wide caches as a fresh server has them, with the embedding model loaded once."""
    monkeypatch.setattr(cache, "embed_model", lambda: embed_model)
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def test_ten_sessions_upload_and_ask_at_once_without_cross_talk_or_loss(shared_caches):
    catalogue = Catalogue([FakeBackend()])  # one backend for every session, as a server has
    base = catalogue.resolve("fake:base")
    start = threading.Barrier(SESSIONS)
    seen: dict[int, tuple] = {}
    failures: list[str] = []

    def session(i: int) -> None:
        try:
            ws = open_workspace(_session_workspace(i))
            start.wait(timeout=60)  # everyone uploads at the same moment
            added = ws.add([(f"s{i}.md", _document(i)), (f"broken-{i}.pdf", b"%PDF-1.7 not really a pdf")])
            assert [r.ok for r in added] == [True, False], [r.error for r in added]
            settings = ws.chunk_settings()
            index = cache.workspace_index(ws.name, ws.signature(), (settings.chunk_size, settings.chunk_overlap))
            question = _question(i)
            run = compare(question, catalogue=catalogue, base=base, index=index, retrieval=RetrievalSettings(top_k=2))
            seen[i] = (index, run.run_all(), question)
        except BaseException:
            failures.append(f"session {i}: {traceback.format_exc()}")

    threads = [threading.Thread(target=session, args=(i,), name=f"session-{i}") for i in range(SESSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not any(t.is_alive() for t in threads), "a session hangs"
    assert not failures, "\n".join(failures)
    assert sorted(seen) == list(range(SESSIONS))

    for i, (index, results, question) in seen.items():
        assert all(r.error is None for r in results), [r.error for r in results]
        assert question in results[0].text, "the answer is to this session's own question"
        passages = " ".join(s.text for s in results[1].sources)
        assert WORDS[i] in passages, f"session {i} retrieves its own document"
        if i < SESSIONS // 2:  # a workspace of its own holds nothing of anyone else's
            assert set(index.files) == {f"s{i}.md"}
            assert not any(w in passages for j, w in enumerate(WORDS) if j != i)
        else:
            assert f"s{i}.md" in index.files and set(index.files) <= {f"s{j}.md" for j in range(5, 10)}

    shared = Workspace(SHARED)
    assert shared.file_names() == [f"s{j}.md" for j in range(5, 10)], "no upload is lost"
    assert sorted(r.file_name for r in shared.refused()) == [f"broken-{j}.pdf" for j in range(5, 10)]
    settings = shared.chunk_settings()
    final = cache.workspace_index(SHARED, shared.signature(), (settings.chunk_size, settings.chunk_overlap))
    assert sorted(final.files) == [f"s{j}.md" for j in range(5, 10)]
    for i in range(5, 10):  # once all uploads are in, each one's fact is found in the shared index
        assert WORDS[i] in " ".join(h.text for h in final.retrieve(_question(i)))
