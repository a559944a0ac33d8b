"""The Ollama backend against a local server replaying Ollama's wire format, plus one live test."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Iterator

import httpx
import pytest

from playground.config import GenerationParams
from playground.errors import BackendError, BackendUnavailable, ContextWindowExceeded, ModelNotFound
from playground.models.base import Backend, ModelInfo
from playground.models.ollama import (
    OllamaBackend,
    OllamaEmbedding,
    estimate_prompt_tokens,
    normalize_host,
    read_lineage,
    record_lineage,
)

from .ollama_replay import PROMPT_EVAL_COUNT, REPLY, OllamaReplay, unused_url, vector_for

LLAMA = ModelInfo(backend="ollama", name="llama3.2:1b", context_length=131072)
QUESTION = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Capital of France?"}]


@pytest.fixture
def replay() -> Iterator[OllamaReplay]:
    with OllamaReplay() as server:
        yield server


@pytest.fixture
def backend(replay: OllamaReplay, tmp_path, monkeypatch) -> OllamaBackend:
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path))
    return OllamaBackend(host=replay.url, timeout=10)


def test_is_a_backend(backend):
    assert isinstance(backend, Backend)
    assert backend.name == "ollama"


def test_list_models_reads_details(backend):
    models = {m.name: m for m in backend.list_models()}
    assert list(models) == ["llama3.2:1b", "qwen2.5:0.5b", "nomic-embed-text:latest"]
    llama = models["llama3.2:1b"]
    assert (llama.backend, llama.id) == ("ollama", "ollama:llama3.2:1b")
    assert (llama.family, llama.parameter_size, llama.quantization) == ("llama", "1.2B", "Q8_0")
    assert llama.details["format"] == "gguf"
    assert llama.finetuned_from is None


def test_context_length_comes_from_show(backend):
    lengths = {m.name: m.context_length for m in backend.list_models()}
    assert lengths == {"llama3.2:1b": 131072, "qwen2.5:0.5b": 32768, "nomic-embed-text:latest": 2048}


def test_one_failing_show_does_not_break_the_list(backend, replay):
    replay.fail("/api/show", 500, "unsupported model format", model="qwen2.5:0.5b")
    lengths = {m.name: m.context_length for m in backend.list_models()}
    assert lengths["qwen2.5:0.5b"] is None
    assert lengths["llama3.2:1b"] == 131072


def test_show_returns_model_facts(backend):
    shown = backend.show("qwen2.5:0.5b")
    assert shown["modelinfo"]["general.architecture"] == "qwen2"
    assert shown["details"]["quantization_level"] == "Q4_K_M"
    assert shown["modelfile"].startswith("FROM qwen2.5:0.5b")
    assert "im_start" in shown["template"]
    assert shown["parameters"]


def test_chat_streams_pieces_then_metrics(backend):
    generation = backend.chat(LLAMA, QUESTION, GenerationParams())
    assert list(generation) == REPLY
    assert generation.text == "Paris is the capital of France."
    m = generation.metrics
    assert m is not None
    assert (m.prompt_tokens, m.completion_tokens) == (PROMPT_EVAL_COUNT, len(REPLY))
    assert m.context_used == PROMPT_EVAL_COUNT + len(REPLY)
    assert m.context_window == 2048
    assert m.first_token_s is not None and 0 < m.first_token_s < m.latency_s
    assert m.tokens_per_s > 0
    assert not m.truncated


def test_chat_sends_options_and_sizes_the_window(backend, replay):
    long_context = {"role": "user", "content": "fact " * 6000}  # 30k characters of retrieved context
    params = GenerationParams(temperature=0.0, seed=7, max_tokens=100, top_p=0.9)
    backend.chat(LLAMA, [QUESTION[0], long_context], params).collect()
    (body,) = replay.bodies("/api/chat")
    assert body["model"] == "llama3.2:1b" and body["stream"] is True
    assert body["messages"] == [QUESTION[0], long_context]
    options = body["options"]
    assert (options["temperature"], options["seed"], options["top_p"], options["num_predict"]) == (0.0, 7, 0.9, 100)
    assert options["num_ctx"] % 1024 == 0
    assert options["num_ctx"] >= estimate_prompt_tokens([QUESTION[0], long_context]) + 100


def test_num_ctx_is_capped_at_the_model_window(backend, replay):
    small = ModelInfo(backend="ollama", name="llama3.2:1b", context_length=2500)
    prompt = [{"role": "user", "content": "x" * 6000}]  # about 2064 + 160 answer tokens: fits, rounds past 2500
    backend.chat(small, prompt, GenerationParams()).collect()
    assert replay.bodies("/api/chat")[0]["options"]["num_ctx"] == 2500


def test_prompt_larger_than_the_model_window_is_refused_before_sending(backend, replay):
    small = ModelInfo(backend="ollama", name="llama3.2:1b", context_length=2048)
    with pytest.raises(ContextWindowExceeded, match="lower top-k or the chunk size"):
        backend.chat(small, [{"role": "user", "content": "x" * 20000}], GenerationParams())
    assert replay.requests == []


def test_a_full_window_is_reported_as_possibly_truncated(backend, replay):
    replay.prompt_eval_count = 2048 - len(REPLY)
    generation = backend.chat(LLAMA, QUESTION, GenerationParams())
    generation.collect()
    assert generation.metrics is not None and generation.metrics.truncated


def test_chat_sends_nothing_until_iterated(backend, replay):
    generation = backend.chat(LLAMA, QUESTION, GenerationParams())
    assert replay.requests == []
    assert next(iter(generation)) == REPLY[0]
    assert [r.path for r in replay.requests] == ["/api/chat"]


def test_unknown_model_says_how_to_pull_it(backend):
    missing = ModelInfo(backend="ollama", name="mistral:7b")
    generation = backend.chat(missing, QUESTION, GenerationParams())
    with pytest.raises(ModelNotFound, match="`ollama pull mistral:7b`"):
        generation.collect()
    with pytest.raises(ModelNotFound, match="ollama pull mistral:7b"):
        backend.show("mistral:7b")
    with pytest.raises(ModelNotFound, match="ollama pull all-minilm"):
        backend.embed("all-minilm", ["text"])


def test_nothing_listening_says_how_to_start_ollama(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path))
    url = unused_url()
    backend = OllamaBackend(host=url, timeout=5)
    with pytest.raises(BackendUnavailable, match="`ollama serve`") as err:
        backend.list_models()
    assert url in str(err.value)
    generation = backend.chat(LLAMA, QUESTION, GenerationParams())  # lazy: no error yet
    with pytest.raises(BackendUnavailable, match="`ollama serve`"):
        generation.collect()
    with pytest.raises(BackendUnavailable, match="`ollama serve`"):
        backend.embed("nomic-embed-text:latest", ["text"])


def test_a_stalled_server_times_out(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path))
    with OllamaReplay(delay=1.0) as slow:
        generation = OllamaBackend(host=slow.url, timeout=0.2).chat(LLAMA, QUESTION, GenerationParams())
        with pytest.raises(BackendUnavailable, match=r"timed out after 0\.2 s"):
            generation.collect()


def test_server_errors_keep_the_server_message(backend, replay):
    replay.fail("/api/chat", 500, "llama runner process has terminated: signal: killed")
    with pytest.raises(BackendError, match=r"failed \(HTTP 500\): llama runner process has terminated") as err:
        backend.chat(LLAMA, QUESTION, GenerationParams()).collect()
    assert not isinstance(err.value, (ModelNotFound, BackendUnavailable))
    replay.fail("/api/tags", 500, "internal error")
    with pytest.raises(BackendError, match="internal error"):
        backend.list_models()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_upload_blob_then_create_a_model_from_it(backend, replay, tmp_path):
    adapter = tmp_path / "style.gguf"
    adapter.write_bytes(b"GGUF adapter bytes")
    digest = backend.upload_blob(adapter)
    assert digest == _digest(adapter.read_bytes())
    assert replay.blobs[digest] == adapter.read_bytes()
    backend.create("faq-tuned", from_="llama3.2:1b", adapters={adapter.name: digest})
    assert replay.bodies("/api/create") == [
        {"model": "faq-tuned", "from": "llama3.2:1b", "adapters": {"style.gguf": digest}, "stream": False}
    ], "no empty files or adapters sent"
    backend.create("faq-merged", files={adapter.name: digest})
    assert replay.bodies("/api/create")[1] == {"model": "faq-merged", "files": {"style.gguf": digest}, "stream": False}
    assert {"faq-tuned:latest", "faq-merged:latest"} <= {m.name for m in backend.list_models()}


def test_a_refused_create_says_so_and_names_the_model(backend, replay, tmp_path):
    (tmp_path / "style.gguf").write_bytes(b"adapter")
    digest = backend.upload_blob(tmp_path / "style.gguf")
    replay.refuse_adapters = "llama runner does not support LoRA adapters for this model"
    with pytest.raises(BackendError, match=r"refused to create faq-tuned \(HTTP 400\): llama runner does not") as err:
        backend.create("faq-tuned", from_="llama3.2:1b", adapters={"style.gguf": digest})
    assert replay.url in str(err.value)
    assert not isinstance(err.value, (ModelNotFound, BackendUnavailable)), "Ollama answered: a refusal"
    with pytest.raises(BackendError, match=r"refused to create faq-tuned .*blob sha256:0+ not found: upload it"):
        backend.create("faq-tuned", files={"base.gguf": "sha256:" + "0" * 64})
    # A 404 names the base that is missing, not the model being created.
    with pytest.raises(ModelNotFound, match="`ollama pull mistral:7b`"):
        backend.create("faq-tuned", from_="mistral:7b")


def test_a_refused_upload_names_the_file(backend, replay, tmp_path):
    (tmp_path / "base.gguf").write_bytes(b"weights")
    replay.fail("/api/blobs", 507, "no space left on device")
    with pytest.raises(BackendError, match=r"refused the upload of base\.gguf \(HTTP 507\): no space left"):
        backend.upload_blob(tmp_path / "base.gguf")


def test_uploads_and_creates_with_nothing_listening_say_how_to_start_ollama(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path))
    (tmp_path / "style.gguf").write_bytes(b"adapter")
    url = unused_url()
    backend = OllamaBackend(host=url, timeout=5)
    with pytest.raises(BackendUnavailable, match=f"not running at {url}: start it with `ollama serve`"):
        backend.upload_blob(tmp_path / "style.gguf")
    with pytest.raises(BackendUnavailable, match="`ollama serve`"):
        backend.create("faq-tuned", from_="llama3.2:1b")


def test_lineage_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path))
    assert read_lineage() == {}
    record_lineage("faq-tuned", "ollama:llama3.2:1b")
    record_lineage("faq-tuned-v2:q4", "embedded:smollm2-135m-instruct")
    expected = {"faq-tuned:latest": "ollama:llama3.2:1b", "faq-tuned-v2:q4": "embedded:smollm2-135m-instruct"}
    assert read_lineage() == expected
    assert json.loads((tmp_path / "ollama_lineage.json").read_text()) == expected
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left no temp file behind


def test_corrupt_lineage_reads_as_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path))
    (tmp_path / "ollama_lineage.json").write_text("{not json")
    assert read_lineage() == {}
    (tmp_path / "ollama_lineage.json").write_text("[1, 2]")
    assert read_lineage() == {}


def test_lineage_shows_in_list_models(backend):
    record_lineage("qwen2.5:0.5b", "ollama:qwen2.5:0.5b-base")
    models = {m.name: m for m in backend.list_models()}
    assert models["qwen2.5:0.5b"].finetuned_from == "ollama:qwen2.5:0.5b-base"
    assert "fine-tuned from ollama:qwen2.5:0.5b-base" in models["qwen2.5:0.5b"].label
    assert models["llama3.2:1b"].finetuned_from is None


def test_embed_returns_one_vector_per_text(backend, replay):
    assert backend.embed("nomic-embed-text:latest", ["a", "b"]) == [vector_for("a"), vector_for("b")]
    assert replay.bodies("/api/embed") == [{"model": "nomic-embed-text:latest", "input": ["a", "b"]}]
    assert backend.embed("nomic-embed-text:latest", []) == []


def test_llama_index_embedding_uses_api_embed(backend, replay):
    embedding = OllamaEmbedding("nomic-embed-text:latest", backend=backend)
    assert embedding.model_name == "ollama:nomic-embed-text:latest"
    assert embedding.get_query_embedding("q") == vector_for("q")
    assert embedding.get_text_embedding_batch(["x", "y"]) == [vector_for("x"), vector_for("y")]
    assert asyncio.run(embedding.aget_query_embedding("q")) == vector_for("q")
    assert asyncio.run(embedding.aget_text_embedding_batch(["z"])) == [vector_for("z")]
    assert replay.bodies("/api/embed")[1]["input"] == ["x", "y"]  # a batch is one request


@pytest.fixture
def live_host() -> str:
    """The Ollama at OLLAMA_HOST, probed when the live test runs: a probe at collection would slow every run."""
    host = os.environ.get("OLLAMA_HOST")
    if not host:
        pytest.skip("set OLLAMA_HOST to a running Ollama to run the live test")
    try:
        httpx.get(f"{normalize_host(host)}/api/version", timeout=2).raise_for_status()
    except httpx.HTTPError as err:
        pytest.skip(f"no Ollama answers at OLLAMA_HOST={host}: {err}")
    return host


@pytest.mark.live
def test_live_ollama(live_host, tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path))
    backend = OllamaBackend(host=live_host)
    models = backend.list_models()
    chat_models = [m for m in models if "bert" not in m.family and "embed" not in m.name]
    if not chat_models:
        pytest.skip("Ollama is running but has no chat model pulled")
    hello = [{"role": "user", "content": "Say hello."}]
    generation = backend.chat(chat_models[0], hello, GenerationParams(max_tokens=8))
    assert generation.collect().strip()
    assert generation.metrics is not None and generation.metrics.completion_tokens > 0
