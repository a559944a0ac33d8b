"""Four answers to one question: real runs on the embedded model, and error isolation with a scripted backend."""

from __future__ import annotations

import pytest

from playground.compare import CONDITIONS, PromptSettings, compare
from playground.config import GenerationParams, RetrievalSettings
from playground.errors import BackendUnavailable, ConfigError
from playground.models import Catalogue, ModelInfo

from .helpers import FakeBackend

QUESTION = "How long after delivery can a customer send a product back?"
SHORT = GenerationParams(max_tokens=32)


@pytest.mark.slow
def test_four_answers_on_the_sample_workspace(embedded, smollm, sample_index, monkeypatch):
    calls = []
    real_retrieve = sample_index.retrieve

    def counting_retrieve(question, settings=None):
        calls.append(question)
        return real_retrieve(question, settings)

    monkeypatch.setattr(sample_index, "retrieve", counting_retrieve)
    catalogue = Catalogue([embedded])
    run = compare(QUESTION, catalogue=catalogue, base=smollm, index=sample_index, generation=SHORT)
    results = run.run_all()

    assert calls == [QUESTION], "retrieval runs once, shared by both RAG conditions"
    assert [r.condition for r in results] == list(CONDITIONS)
    for r in results:
        assert r.error is None, r.error
        assert r.text.strip() and r.metrics is not None
        assert r.metrics.prompt_tokens > 0 and 0 < r.metrics.completion_tokens <= 32
        assert r.model == smollm.id
    by = {r.condition: r for r in results}
    assert by["base"].sources == [] and by["ft"].sources == []
    assert by["base+rag"].sources == by["ft+rag"].sources
    assert "policies.docx" in {s.file_name for s in by["base+rag"].sources}
    assert by["base+rag"].metrics.prompt_tokens > 3 * by["base"].metrics.prompt_tokens, "RAG pays for its context"
    assert by["base+rag"].retrieval_s is not None and by["base"].retrieval_s is None
    assert "45 days of delivery" in by["base+rag"].messages[-1]["content"]
    assert by["base"].messages[-1]["content"] == QUESTION
    assert "No fine-tuned model" in by["ft"].note and by["base"].note is None
    # Same model, same prompt, temperature 0: the ft slot (the base model for now) repeats the base answers.
    assert by["ft"].text == by["base"].text and by["ft+rag"].text == by["base+rag"].text


@pytest.mark.slow
def test_temperature_zero_answers_repeat(embedded, smollm, sample_index):
    catalogue = Catalogue([embedded])
    texts = []
    for _ in range(2):
        run = compare(QUESTION, catalogue=catalogue, base=smollm, index=sample_index, generation=SHORT)
        texts.append([c.run().text for c in run.conditions[:2]])
    assert texts[0] == texts[1]


def test_a_failing_model_fails_only_its_own_conditions(sample_index):
    fake = FakeBackend(fail={"tuned": BackendUnavailable("Ollama is not running at http://x: start it")})
    catalogue = Catalogue([fake])
    base, tuned = catalogue.resolve("fake:base"), catalogue.resolve("fake:tuned")
    results = compare(QUESTION, catalogue=catalogue, base=base, finetuned=tuned, index=sample_index).run_all()
    by = {r.condition: r for r in results}
    assert by["base"].error is None and by["base"].text.startswith("base says")
    assert by["base+rag"].error is None and by["base+rag"].sources
    assert by["ft"].error == by["ft+rag"].error == "Ollama is not running at http://x: start it"
    assert by["ft"].note is None, "a chosen fine-tuned model needs no note"


def test_an_unexpected_exception_stays_in_its_card(sample_index):
    fake = FakeBackend(fail={"base": RuntimeError("segfault-ish")})
    catalogue = Catalogue([fake])
    results = compare(
        QUESTION, catalogue=catalogue, base=catalogue.resolve("fake:base"), finetuned=catalogue.resolve("fake:tuned")
    ).run_all()
    assert results[0].error == "RuntimeError: segfault-ish"
    assert results[2].error is None and results[2].text


def test_without_an_index_the_rag_conditions_say_what_to_do():
    catalogue = Catalogue([FakeBackend()])
    run = compare(QUESTION, catalogue=catalogue, base=catalogue.resolve("fake:base"), index=None)
    results = run.run_all()
    assert results[0].error is None and results[0].text
    assert "build the index" in results[1].error and results[1].text == ""
    assert run.retrieval_s is None


def test_the_rag_template_is_used_verbatim_and_validated(sample_index):
    fake = FakeBackend()
    catalogue = Catalogue([fake])
    prompts = PromptSettings(system="Be terse.", rag_template="CTX<<{context}>> Q<<{question}>>")
    run = compare(
        QUESTION,
        catalogue=catalogue,
        base=catalogue.resolve("fake:base"),
        index=sample_index,
        retrieval=RetrievalSettings(top_k=2),
        prompts=prompts,
    )
    run.run_all()
    rag_messages = run.results()[1].messages
    assert rag_messages[0] == {"role": "system", "content": "Be terse."}
    assert rag_messages[1]["content"].startswith("CTX<<[1] ") and rag_messages[1]["content"].endswith(
        f"Q<<{QUESTION}>>"
    )
    assert "[2] " in rag_messages[1]["content"] and "[3] " not in rag_messages[1]["content"]
    with pytest.raises(ConfigError, match=r"rag_template needs the placeholder\(s\) \{context\}"):
        PromptSettings(rag_template="Question: {question}")
    with pytest.raises(ConfigError, match=r"unknown placeholder.*'topic'"):
        PromptSettings(rag_template="{context} {question} {topic}")
    PromptSettings(rag_template="{context} {question} {{literal}}")  # escaped braces are fine


def test_spans_mark_what_the_answer_repeats(sample_index):
    top = sample_index.retrieve(QUESTION, RetrievalSettings(top_k=1))[0]
    words = top.text.split()
    quoted = " ".join(words[3:9])
    catalogue = Catalogue([FakeBackend(reply=f"As the text says: {quoted}.")])
    result = compare(
        QUESTION,
        catalogue=catalogue,
        base=catalogue.resolve("fake:base"),
        index=sample_index,
        retrieval=RetrievalSettings(top_k=1),
    ).run_all()[1]
    (source,) = result.sources
    # Whitespace as in the passage: the quoted words may cross a paragraph break.
    marked = " ".join(" ".join(source.text[a:b] for a, b in source.used_spans).split())
    assert quoted in marked


def test_an_empty_question_is_refused():
    catalogue = Catalogue([FakeBackend()])
    with pytest.raises(ConfigError, match="question is empty"):
        compare("   ", catalogue=catalogue, base=catalogue.resolve("fake:base"))


@pytest.mark.slow
def test_an_ollama_fine_tune_beside_the_embedded_base(embedded, smollm, sample_index):
    """The real Ollama backend (against the replay server) fills the fine-tuned slot; the base stays local."""
    from playground.models.ollama import OllamaBackend

    from .ollama_replay import PROMPT_EVAL_COUNT, REPLY, OllamaReplay

    with OllamaReplay() as server:
        catalogue = Catalogue([embedded, OllamaBackend(host=server.url, timeout=10)])
        tuned = catalogue.resolve("ollama:llama3.2:1b")
        results = compare(
            QUESTION, catalogue=catalogue, base=smollm, finetuned=tuned, index=sample_index, generation=SHORT
        ).run_all()
        chats = server.bodies("/api/chat")
    by = {r.condition: r for r in results}
    assert all(r.error is None for r in results), [r.error for r in results]
    assert by["ft"].text == by["ft+rag"].text == "".join(REPLY) and by["ft"].model == "ollama:llama3.2:1b"
    assert by["ft+rag"].metrics.prompt_tokens == PROMPT_EVAL_COUNT
    assert [c["messages"][-1]["content"] == QUESTION for c in chats] == [True, False]
    assert "45 days of delivery" in chats[1]["messages"][-1]["content"], "Ollama got the same passages"
    assert by["base"].model == smollm.id and by["base"].text


@pytest.mark.slow
def test_a_dead_ollama_fails_only_its_own_columns(embedded, smollm, sample_index):
    from playground.models.ollama import OllamaBackend

    from .ollama_replay import unused_url

    dead = OllamaBackend(host=unused_url(), timeout=5)
    catalogue = Catalogue([embedded, dead])
    assert "ollama serve" in catalogue.listing().errors["ollama"]
    tuned = ModelInfo(backend="ollama", name="llama3.2:1b")  # chosen while it was up
    results = compare(
        QUESTION, catalogue=catalogue, base=smollm, finetuned=tuned, index=sample_index, generation=SHORT
    ).run_all()
    by = {r.condition: r for r in results}
    assert by["base"].error is None and by["base+rag"].error is None and by["base+rag"].text
    for condition in ("ft", "ft+rag"):
        assert by[condition].error.startswith("Ollama is not running at http://127.0.0.1:")
        assert "ollama serve" in by[condition].error
