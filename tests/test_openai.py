"""The OpenAI-compatible backend against a real server: llama-cpp-python's own (``python -m llama_cpp.server``)
serving the bundled SmolLM2 GGUF, started once for the module with an API key, so a missing or wrong key is
tested on the same server."""

from __future__ import annotations

import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from bench.child import free_port, running
from playground.config import GenerationParams
from playground.errors import BackendError, BackendUnavailable, ModelNotFound
from playground.models import Catalogue, ModelInfo, openai_backend
from playground.models.embedded import bundled_model_path
from playground.models.openai import OpenAIBackend

from .helpers import FRANCE, ROOT, SAMPLE_DOCS, table_shown
from .ollama_replay import unused_url

pytestmark = pytest.mark.slow

ALIAS = "smollm2"  # the id the server lists (without an alias it lists the GGUF's full path)
API_KEY = "sesame"
READY_TIMEOUT_S = 90  # the server loads a 100 MB model: a few seconds, more on a busy 2-core machine
QUESTION = "What is the recommended interval between recalibrations of a humidity sensor?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server's API root, e.g. ``http://127.0.0.1:PORT/v1``; the process is stopped after the module."""
    port = free_port()
    log = tmp_path_factory.mktemp("openai-server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_model_path()), "--model_alias", ALIAS,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--api_key", API_KEY,
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/models", headers=auth(), timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    with running(command, ready=answers, log=log, timeout_s=READY_TIMEOUT_S, stop_timeout_s=10):
        yield url


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "playground", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_lists_the_servers_model_beside_the_other_backends(server, embedded):
    backend = OpenAIBackend(server, api_key=API_KEY)
    models = backend.list_models()
    assert [m.id for m in models] == [f"openai:{ALIAS}"]
    assert models[0].details["server"] == server
    assert models[0].context_length is None  # llama-cpp-python states no window (vLLM and llama.cpp's server do)
    listing = Catalogue([embedded, backend]).listing()
    assert {"embedded:smollm2-135m-instruct", f"openai:{ALIAS}"} <= {m.id for m in listing.models}
    assert not listing.errors


def test_a_streamed_answer_has_the_same_metrics_as_the_other_backends(server):
    backend = OpenAIBackend(server, api_key=API_KEY)
    model = Catalogue([backend]).resolve(f"openai:{ALIAS}")
    generation = backend.chat(model, FRANCE, GenerationParams(max_tokens=8))
    pieces = list(generation)
    assert len(pieces) >= 2, "streamed piece by piece, not in one reply"
    assert generation.text == "".join(pieces) and generation.text.strip()
    m = generation.metrics
    assert m is not None
    # This server sends no usage: the answer stopped at the limit (finish_reason "length"), so it used exactly 8.
    assert m.completion_tokens == 8
    assert m.first_token_s is not None and 0 < m.first_token_s < m.latency_s and m.tokens_per_s > 0
    exact = httpx.post(
        f"{server}/chat/completions", json={"messages": FRANCE, "max_tokens": 1}, headers=auth(), timeout=60
    ).json()["usage"]["prompt_tokens"]
    assert abs(m.prompt_tokens - exact) <= 0.35 * exact, (m.prompt_tokens, exact)  # the prompt, approximated
    assert m.context_used == m.prompt_tokens + m.completion_tokens


def test_a_prompt_over_the_servers_window_fails_with_what_to_do_and_the_next_answer_works(server):
    backend = OpenAIBackend(server, api_key=API_KEY)
    model = backend.list_models()[0]
    long = [{"role": "user", "content": "word " * 3000}]  # about 3,000 tokens; the server holds 2,048
    with pytest.raises(BackendError, match="context window") as err:
        backend.chat(model, long, GenerationParams(max_tokens=8)).collect()
    assert "--n_ctx" in str(err.value)
    # The server closed the connection that failed: the next answer opens a new one.
    assert backend.chat(model, FRANCE, GenerationParams(max_tokens=4)).collect().strip()


def test_key_path_and_model_errors_say_what_to_do(server):
    with pytest.raises(BackendError, match="no OPENAI_API_KEY is set") as err:
        OpenAIBackend(server, api_key="").list_models()
    assert "HTTP 401" in str(err.value)
    with pytest.raises(BackendError, match="OPENAI_API_KEY is set but the server refused it"):
        OpenAIBackend(server, api_key="wrong").list_models()
    with pytest.raises(BackendUnavailable, match="usually ending in /v1"):
        OpenAIBackend(server.removesuffix("/v1") + "/api", api_key=API_KEY).list_models()
    with pytest.raises(ModelNotFound, match=f"available: openai:{ALIAS}"):
        Catalogue([OpenAIBackend(server, api_key=API_KEY)]).resolve("openai:llama3")


def test_no_server_at_the_url_is_a_listed_reason_not_a_broken_catalogue(embedded):
    url = unused_url()
    with pytest.raises(
        BackendUnavailable, match=re.escape(f"No OpenAI-compatible server answers at {url}/v1: start one")
    ):
        OpenAIBackend(url).list_models()
    listing = Catalogue([embedded, OpenAIBackend(url)]).listing()
    assert "embedded:smollm2-135m-instruct" in {m.id for m in listing.models}
    assert "OPENAI_BASE_URL" in listing.errors["openai"]
    bad = Catalogue([embedded, openai_backend("ftp://gpu")]).listing()  # type: ignore[list-item]
    assert "is not an http(s) URL" in bad.errors["openai"] and bad.models
    assert openai_backend("") is None
    with pytest.raises(ModelNotFound, match="set OPENAI_BASE_URL"):
        Catalogue([embedded]).resolve("openai:llama3")


def test_a_server_that_accepts_but_never_answers_times_out():
    with socket.socket() as silent:  # listens (the kernel accepts the connection) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match="did not answer in time"):
            OpenAIBackend(url, timeout=0.5).list_models()
        assert time.monotonic() - started < 5


class _NotOpenAI(http.server.BaseHTTPRequestHandler):
    """A web server that is not an OpenAI API: a page at /v1/models, a stream of lines that are not events."""

    def do_GET(self) -> None:
        self._reply("text/html", b"<html><body>Welcome</body></html>")

    def do_POST(self) -> None:
        first = json.dumps({"choices": [{"delta": {"content": "Hel"}}]})
        self._reply("text/event-stream", f"data: {first}\n\nthis is not an event\n\n".encode())

    def _reply(self, kind: str, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_replies_that_are_not_the_openai_api_are_named_not_crashed_on():
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotOpenAI)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        backend = OpenAIBackend(f"http://127.0.0.1:{web.server_address[1]}")
        with pytest.raises(BackendError, match=r"sent something the OpenAI API does not.*<html>"):
            backend.list_models()
        generation = backend.chat(ModelInfo("openai", "m"), FRANCE, GenerationParams())
        with pytest.raises(BackendError, match="'this is not an event'"):
            generation.collect()
    finally:
        web.shutdown()
        web.server_close()


def test_cli_lists_the_servers_models_and_says_when_it_is_down(server):
    env = {"OPENAI_BASE_URL": server, "OPENAI_API_KEY": API_KEY}
    listed = cli("models", "--json", "--no-ollama", env=env)
    assert listed.returncode == 0, listed.stderr
    out = json.loads(listed.stdout)
    assert f"openai:{ALIAS}" in {m["id"] for m in out["models"]} and "openai" not in out["errors"]
    down = cli("models", "--json", "--no-ollama", env={"OPENAI_BASE_URL": unused_url()})
    out = json.loads(down.stdout)
    assert "No OpenAI-compatible server answers" in out["errors"]["openai"]
    assert "embedded:smollm2-135m-instruct" in {m["id"] for m in out["models"]}


def test_cli_ask_mixes_backends_base_on_the_server_fine_tune_embedded(server):
    """The Compare 2x2 across backends: Base on the OpenAI-compatible server, Fine-tuned on the embedded engine,
    both RAG conditions given the same passages."""
    env = {"OPENAI_BASE_URL": server, "OPENAI_API_KEY": API_KEY}
    wrong = cli("ask", "--docs", str(SAMPLE_DOCS), "--question", QUESTION, "--base", "openai:llama3", env=env)
    assert wrong.returncode == 2 and f"available: openai:{ALIAS}" in wrong.stderr
    proc = cli(
        "ask", "--docs", str(SAMPLE_DOCS), "--question", QUESTION, "--base", f"openai:{ALIAS}",
        "--finetuned", "embedded:nightwren-sample", "--max-tokens", "16", "--top-k", "2", "--no-ollama", "--json",
        env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    results = {r["condition"]: r for r in json.loads(proc.stdout)["results"]}
    assert [results[c]["model"] for c in ("base", "base+rag", "ft", "ft+rag")] == [
        f"openai:{ALIAS}",
        f"openai:{ALIAS}",
        "embedded:nightwren-sample",
        "embedded:nightwren-sample",
    ]
    for r in results.values():
        assert r["error"] is None and r["text"].strip()
        assert 0 < r["metrics"]["completion_tokens"] <= 16 and r["metrics"]["prompt_tokens"] > 0
    passages = [[(s["file_name"], s["text"]) for s in results[c]["sources"]] for c in ("base+rag", "ft+rag")]
    assert passages[0] == passages[1] and len(passages[0]) == 2
    # The passages reach the server's prompt as they reach the embedded engine's.
    assert results["base+rag"]["metrics"]["prompt_tokens"] > results["base"]["metrics"]["prompt_tokens"] + 100


def url_field(at):
    return next(t for t in at.text_input if t.label == "OpenAI-compatible server")


def test_the_models_page_sets_the_server_and_lists_its_models(server, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("OLLAMA_HOST", unused_url())
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
        at = at.switch_page("pages/models.py").run()
        assert not at.exception
        assert url_field(at).value == ""  # none set: no OpenAI-compatible models
        assert not table_shown(at.table[0])["details"].str.startswith("openai").any()
        url_field(at).set_value(server).run()
        assert not at.exception and not at.error
        assert table_shown(at.table[0]).set_index("model").loc[ALIAS, "details"].startswith("openai")
        url_field(at).set_value("ftp://gpu").run()
        assert "is not an http(s) URL" in at.error[0].value.replace("\\", "")  # shown escaped, as text
        key = next(t for t in at.text_input if t.label == "API key")
        assert key.value == "", "the environment's key never reaches the browser"
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()


def test_the_docs_give_the_server_command_these_tests_run():
    readme = (ROOT / "docs" / "scale-out.md").read_text(encoding="utf-8")
    assert "python -m llama_cpp.server --model" in readme and "OPENAI_BASE_URL=http://127.0.0.1:8000/v1" in readme


def test_a_prose_workspace_offers_the_servers_model_as_its_question_writer_and_gates_what_it_writes(server, embedded):
    from llama_index.core import Document

    from playground.config import ChunkSettings
    from playground.documents import chunk
    from playground.finetune.dataset import build_dataset
    from playground.finetune.settings import DatasetSettings
    from playground.questioncraft import PROSE_SHARE, prose_share, suggest_generator

    from .test_questioncraft import ARTICLE

    one_chunk = ChunkSettings(chunk_size=512, chunk_overlap=0)  # one request: SmolLM2 writes slowly on 2 cores
    chunks = chunk([Document(text=ARTICLE, metadata={"file_name": "rag-vs-finetuning.md"})], one_chunk)
    catalogue = Catalogue([embedded, OpenAIBackend(server, api_key=API_KEY)])
    assert prose_share(chunks) >= PROSE_SHARE
    offered = suggest_generator(chunks, catalogue.listing().models)
    assert offered is not None and offered.id == f"openai:{ALIAS}", "mostly prose and a served model: offered"
    settings = DatasetSettings(recipes=("qa",), generator=offered.id)  # Q&A only: one request per chunk
    dataset = build_dataset(chunks, settings, workspace="prose", catalogue=catalogue)
    gates = dataset.report()["gates"]
    asked = gates["generator"]
    assert asked["model"] == offered.id and asked["replies"] == len(chunks) == 1
    written = gates["per_recipe"]["made"].get("model", 0)
    assert written + asked["unparsed"] >= asked["replies"], "each reply is either gated or counted as unparsed"
    assert gates["made"] == gates["kept"] + sum(gates["dropped"].values()), "every drop has its gate"
    model_made = [e for e in dataset.examples if e.origin == offered.id]
    assert len(model_made) == gates["per_recipe"]["kept"].get("model", 0)
    assert all("___" not in e.question and e.question.endswith("?") for e in model_made)
    assert suggest_generator(chunks, [m for m in catalogue.listing().models if m.backend == "embedded"]) is None
