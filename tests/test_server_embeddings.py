"""Embeddings from a server: ``openai:<model>`` against llama-cpp-python's own server started here in embedding mode
(``python -m llama_cpp.server --embedding true``) on the bundled SmolLM2 GGUF, and against small scripted servers
for what a real one does only now and then (a 503, a slow reply)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from bench.child import free_port
from playground.config import ChunkSettings, RetrievalSettings
from playground.embeddings import embedding_model
from playground.errors import BackendError, BackendUnavailable, IndexStoreError
from playground.index import build_index, index_key
from playground.models.openai import OpenAIBackend, OpenAIEmbedding
from playground.vectorstores import unit_rows

pytestmark = pytest.mark.slow

ALIAS = "smollm2"
SMOLLM2_WIDTH = 576  # SmolLM2-135M's hidden size: the server's vectors have as many dimensions


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from bench.scale import embedding_server

    # One thread: the test process computes beside it on two cores, and llama.cpp's threads wait on each other.
    with embedding_server(tmp_path_factory.mktemp("embedding-server"), threads=1) as url:
        yield url


def test_the_servers_vectors_come_back_in_order_from_several_requests_at_once(server):
    texts = [f"The GALE-{i} wind station measures gusts up to {40 + i} m/s." for i in range(7)]
    one_by_one = OpenAIEmbedding(ALIAS, OpenAIBackend(server), batch=1, requests=1)
    at_once = OpenAIEmbedding(ALIAS, OpenAIBackend(server), batch=2, requests=3)  # 4 requests, 3 in flight
    expected = [one_by_one.get_text_embedding(t) for t in texts]
    got = at_once.get_text_embedding_batch(texts)
    assert len(got) == 7 and {len(v) for v in got} == {SMOLLM2_WIDTH}
    # A batch of two is computed with other matrix shapes than one text alone: the same to float rounding.
    cosines = unit_rows(got) @ unit_rows(expected).T
    assert np.diag(cosines).min() > 0.999 and (cosines.argmax(axis=1) == np.arange(7)).all(), "each text its own"
    assert at_once.texts_embedded == 7
    assert at_once.model_name == f"openai:{ALIAS}@{server}"


def test_an_index_built_with_the_servers_embeddings_answers_the_samples_questions(
    server, monkeypatch, embed_model, sample_files, sample_questions
):
    monkeypatch.setenv("OPENAI_BASE_URL", server)
    served = embedding_model(f"openai:{ALIAS}")  # as --embed-model openai:smollm2 makes it
    index = build_index(sample_files, embed_model=served, workspace="served")
    assert index.stats.embed_model == f"openai:{ALIAS}@{server}" and index.stats.embedded == index.stats.chunks
    rows = [row for row in sample_questions if row.get("source")]
    # The questions embedded by the server in a few batched requests (retrieve() would send one each).
    vectors = unit_rows(served.get_text_embedding_batch([row["question"] for row in rows]))

    def found(mode: str) -> float:
        settings = RetrievalSettings(top_k=5, mode=mode)
        hits = [index.search(row["question"], v, settings) for row, v in zip(rows, vectors, strict=True)]
        return sum(any(h.file_name == row["source"] for h in got) for row, got in zip(rows, hits, strict=True)) / len(
            rows
        )

    # SmolLM2 is a chat model, not an embedding model: BM25 and fusion carry it, as they would a weak embedder.
    assert found("hybrid") >= 0.9
    assert found("vector") > 1 / 6 + 0.1, "its vectors alone find the right file more often than chance (1 in 6)"
    assert [h.file_name for h in index.retrieve("Who founded Nightwren Instruments?")][:1] == ["company_overview.md"]
    # The model and the server are part of the index key: the bundled model's index is another one.
    assert index.key != index_key(index.files, ChunkSettings(), embed_model.model_name, "embedded", index.recipe)
    # An index holds its vectors' dimension: a model giving others says so instead of returning nonsense.
    index.embed_model = embed_model
    with pytest.raises(IndexStoreError, match=rf"384-dimensional vectors, but this index holds {SMOLLM2_WIDTH}"):
        index.retrieve("Who founded Nightwren?")


class _Scripted(http.server.ThreadingHTTPServer):
    """A tiny OpenAI-compatible embeddings endpoint: replies to ``/v1/embeddings`` as ``script`` says."""

    def __init__(self, script: Any):
        self.script, self.calls, self.in_flight, self.most_in_flight = script, 0, 0, 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", free_port()), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Scripted

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.calls += 1
            call = self.server.calls
            self.server.in_flight += 1
            self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
        try:
            status, reply = self.server.script(call, body["input"])
        finally:
            with self.server.lock:
                self.server.in_flight -= 1
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _vectors(texts: list[str]) -> dict[str, Any]:
    return {"data": [{"index": i, "embedding": [float(len(t)), 1.0]} for i, t in enumerate(texts)]}


@pytest.fixture
def scripted() -> Iterator[Any]:
    servers: list[_Scripted] = []

    def start(script: Any) -> tuple[_Scripted, str]:
        server = _Scripted(script)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server, f"http://127.0.0.1:{server.server_address[1]}/v1"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_busy_server_is_asked_again_and_a_refusal_is_not(scripted):
    busy, url = scripted(lambda call, texts: (503, {"error": "loading"}) if call == 1 else (200, _vectors(texts)))
    assert OpenAIEmbedding("m", OpenAIBackend(url)).get_text_embedding("abc") == [3.0, 1.0]
    assert busy.calls == 2
    refusing, url = scripted(lambda call, texts: (400, {"error": {"message": "input too long"}}))
    with pytest.raises(BackendError, match="input too long"):
        OpenAIEmbedding("m", OpenAIBackend(url)).get_text_embedding("abc")
    assert refusing.calls == 1, "a request the server refuses is not sent again"


def test_several_requests_are_in_flight_at_once(scripted):
    def slow(call: int, texts: list[str]) -> tuple[int, Any]:
        time.sleep(0.3)
        return 200, _vectors(texts)

    server, url = scripted(slow)
    model = OpenAIEmbedding("m", OpenAIBackend(url), batch=4, requests=4)
    started = time.perf_counter()
    vectors = model.get_text_embedding_batch([f"t{'x' * i}" for i in range(16)])
    assert [v[0] for v in vectors] == [float(1 + i) for i in range(16)], "in the order of the texts"
    assert server.calls == 4 and server.most_in_flight == 4
    assert time.perf_counter() - started < 1.0, "four 0.3 s requests at once, not one after another"


def test_no_server_and_no_url_each_say_what_to_do(monkeypatch):
    down = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(BackendUnavailable, match=f"No OpenAI-compatible server answers at {down}"):
        OpenAIEmbedding("m", OpenAIBackend(down)).get_text_embedding("abc")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(BackendUnavailable, match="set OPENAI_BASE_URL"):
        embedding_model("openai:nomic-embed-text")
