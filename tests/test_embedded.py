"""The embedded engine on the real SmolLM2: listing, streaming, metrics, limits, extra GGUFs, LoRA lineage."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from playground.config import GenerationParams
from playground.errors import ContextWindowExceeded, ModelNotFound
from playground.models import DEFAULT_MODEL, Catalogue
from playground.models.embedded import BUNDLED_NAME, EmbeddedBackend, bundled_model_path

from .helpers import FRANCE, write_lora_adapter

pytestmark = pytest.mark.slow

STORY = [{"role": "user", "content": "Write a long story about a lighthouse keeper and a storm."}]


def test_bundled_model_is_listed_with_details(embedded):
    (model,) = [m for m in embedded.list_models() if m.name == BUNDLED_NAME]
    assert model.id == DEFAULT_MODEL
    assert (model.family, model.parameter_size, model.quantization) == ("llama", "135M", "Q4_1")
    assert model.context_length and model.context_length >= 2048
    assert model.finetuned_from is None and model.adapter_path is None


def test_a_fresh_load_answers_correctly():
    """Guards the batched-prompt path: a freshly loaded model's first answer must be sane, not garbage."""
    backend = EmbeddedBackend(models_dir=Path("/nonexistent"))
    text = backend.chat(backend.get(BUNDLED_NAME), FRANCE, GenerationParams(max_tokens=24)).collect()
    assert "Paris" in text


def test_streams_pieces_and_measures_the_answer(embedded, smollm):
    generation = embedded.chat(smollm, FRANCE, GenerationParams(max_tokens=32))
    pieces = list(generation)
    assert len(pieces) > 1, "the answer arrives in pieces"
    assert "".join(pieces) == generation.text and "Paris" in generation.text
    m = generation.metrics
    assert m is not None
    assert m.prompt_tokens == len(embedded.prompt_tokens(smollm, FRANCE)) > 10
    assert 1 <= m.completion_tokens <= 32
    assert 0 < m.first_token_s <= m.latency_s
    assert m.tokens_per_s > 0
    assert m.context_used == m.prompt_tokens + m.completion_tokens
    assert m.context_window == embedded.llama(smollm).n_ctx()


def test_temperature_zero_is_reproducible_and_the_budget_holds(embedded, smollm):
    params = GenerationParams(temperature=0.0, seed=7, max_tokens=12)
    first = embedded.chat(smollm, STORY, params)
    second = embedded.chat(smollm, STORY, params)
    assert first.collect() == second.collect()
    assert first.metrics.completion_tokens == second.metrics.completion_tokens == 12


def test_the_chat_template_comes_from_the_gguf(embedded, smollm):
    template = embedded.llama(smollm).metadata["tokenizer.chat_template"]
    assert "<|im_start|>" in template
    tokens = embedded.prompt_tokens(smollm, FRANCE)
    text = embedded.llama(smollm).detokenize(tokens, special=True).decode()
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.")
    assert text.endswith("<|im_start|>assistant\n")


def test_a_prompt_larger_than_the_window_is_refused_with_advice():
    small = EmbeddedBackend(models_dir=Path("/nonexistent"), n_ctx=256)
    long = [{"role": "user", "content": "word " * 400}]
    with pytest.raises(ContextWindowExceeded, match=r"top-k.*PLAYGROUND_N_CTX"):
        small.chat(small.get(BUNDLED_NAME), long, GenerationParams()).collect()


def test_unknown_model_names_the_folder(embedded):
    with pytest.raises(ModelNotFound, match=r"put its \.gguf file in"):
        embedded.get("no-such-model")


def test_models_folder_adds_ggufs_and_lora_adapters_with_lineage(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    os.symlink(bundled_model_path(), models / "My-Copy.gguf")
    write_lora_adapter(models / "nightwren-style.gguf")
    (models / "broken.gguf").write_bytes(b"not a gguf")  # skipped, the others still list
    backend = EmbeddedBackend(models_dir=models)
    by_name = {m.name: m for m in backend.list_models()}
    assert set(by_name) == {BUNDLED_NAME, "my-copy", "nightwren-style"}
    tuned = by_name["nightwren-style"]
    assert tuned.finetuned_from == DEFAULT_MODEL
    assert tuned.adapter_path and tuned.path == str(bundled_model_path())
    assert "fine-tuned from embedded:smollm2" in tuned.label

    params = GenerationParams(max_tokens=24)
    base_text = backend.chat(by_name[BUNDLED_NAME], FRANCE, params).collect()
    tuned_text = backend.chat(tuned, FRANCE, params).collect()
    assert tuned_text != base_text, "the adapter changes the answer"
    assert backend.loads == 2
    backend.chat(tuned, FRANCE, params).collect()
    assert backend.loads == 2, "a loaded model is reused"


def test_catalogue_resolves_ids_and_names(embedded):
    catalogue = Catalogue([embedded])
    assert catalogue.resolve(None).id == DEFAULT_MODEL
    assert catalogue.resolve(BUNDLED_NAME).id == DEFAULT_MODEL
    assert catalogue.resolve(DEFAULT_MODEL).id == DEFAULT_MODEL
    with pytest.raises(ModelNotFound, match=r"available: embedded:smollm2"):
        catalogue.resolve("gpt-17")


def test_two_sessions_take_turns_on_the_engine(embedded, smollm):
    """Concurrent answers (two browser sessions) run one after the other, never both at once."""
    import threading
    import time

    spans: dict[str, tuple[float, float]] = {}

    def answer(name: str) -> None:
        generation = embedded.chat(smollm, STORY, GenerationParams(max_tokens=8))
        stamps = [time.perf_counter() for _ in generation]
        spans[name] = (stamps[0], stamps[-1])

    threads = [threading.Thread(target=answer, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    first, second = sorted(spans.values())
    assert first[1] < second[0], "the second answer starts after the first has finished"


def test_an_abandoned_stream_frees_the_engine(embedded, smollm, monkeypatch):
    import playground.models.embedded as engine

    monkeypatch.setattr(engine, "GENERATION_WAIT_S", 5)
    first = iter(embedded.chat(smollm, STORY, GenerationParams(max_tokens=50)))
    next(first)  # the engine is now held by this half-read answer
    del first  # a closed page, a stopped script
    assert embedded.chat(smollm, FRANCE, GenerationParams(max_tokens=16)).collect()


def test_every_answer_pays_its_own_prefill(embedded, smollm):
    """No answer rides on the KV cache of the one before it, so times to first token compare fairly."""
    llm = embedded.llama(smollm)
    embedded.chat(smollm, FRANCE, GenerationParams(max_tokens=4)).collect()
    evaluated = []
    real_eval = llm.eval
    llm.eval = lambda tokens: (evaluated.append(len(tokens)), real_eval(tokens))[1]
    try:
        embedded.chat(smollm, FRANCE, GenerationParams(max_tokens=4)).collect()
    finally:
        del llm.eval
    assert evaluated[0] == len(embedded.prompt_tokens(smollm, FRANCE)), "the whole prompt is evaluated again"


def test_the_header_reader_agrees_with_gguf_readers_scalars(tmp_path):
    """The catalogue's own small GGUF header reader returns what the gguf library parses, much faster."""
    from gguf import GGUFReader, GGUFValueType

    from playground.models.embedded import SHIPPED_ADAPTERS, bundled_model_path, gguf_metadata

    adapter = write_lora_adapter(tmp_path / "style.gguf")
    for path in [bundled_model_path(), adapter, *sorted(SHIPPED_ADAPTERS.glob("*.gguf"))]:
        fields = GGUFReader(str(path)).fields.items()
        expected = {k: f.contents() for k, f in fields if f.types and f.types[0] != GGUFValueType.ARRAY}
        assert gguf_metadata(path) == expected, path.name
