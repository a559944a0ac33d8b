"""Shared fixtures: a private PLAYGROUND_HOME for every test, the real models loaded once, and a scripted backend.

Core tests use the real embedded engine and the real embedding model; the
scripted ``FakeBackend`` stands in only where a test is about something else
(error isolation, UI wiring), as simonw/llm does with its mock model.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from playground.config import GenerationParams
from playground.errors import BackendError
from playground.models.base import Generation, Message, Metrics, ModelInfo

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DOCS = ROOT / "sample_docs"


@pytest.fixture(autouse=True)
def playground_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tests never touch a person's files: every test gets its own PLAYGROUND_HOME."""
    home = tmp_path / "home"
    monkeypatch.setenv("PLAYGROUND_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def embed_model():
    from playground.embeddings import LocalEmbedding

    return LocalEmbedding()


@pytest.fixture(scope="session")
def embedded():
    from playground.models.embedded import EmbeddedBackend

    return EmbeddedBackend(models_dir=Path("/nonexistent"))


@pytest.fixture(scope="session")
def smollm(embedded) -> ModelInfo:
    return embedded.get("smollm2-135m-instruct")


@pytest.fixture(scope="session")
def sample_files():
    from playground.documents import load_folder

    return load_folder(SAMPLE_DOCS)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, embed_model, sample_files):
    """The sample corpus indexed once for the session, in a home of its own."""
    from playground.index import build_index

    old = os.environ.get("PLAYGROUND_HOME")
    os.environ["PLAYGROUND_HOME"] = str(tmp_path_factory.mktemp("sample-home"))
    try:
        return build_index(sample_files, embed_model=embed_model, workspace="sample")
    finally:
        if old is None:
            os.environ.pop("PLAYGROUND_HOME", None)
        else:
            os.environ["PLAYGROUND_HOME"] = old


@pytest.fixture(scope="session")
def sample_questions() -> list[dict[str, str]]:
    from playground.documents import load_questions

    return load_questions(SAMPLE_DOCS)


class FakeBackend:
    """A scripted backend: answers with ``reply`` (or echoes the question); ``fail`` names models that raise."""

    name = "fake"

    def __init__(self, reply: str | None = None, fail: dict[str, Exception] | None = None):
        self.reply = reply
        self.fail = fail or {}
        self.calls: list[tuple[str, list[Message]]] = []

    def list_models(self) -> list[ModelInfo]:
        return [
            ModelInfo(backend="fake", name="base", family="fake", context_length=2048),
            ModelInfo(backend="fake", name="tuned", family="fake", context_length=2048, finetuned_from="fake:base"),
        ]

    def chat(self, model: ModelInfo, messages: list[Message], params: GenerationParams) -> Generation:
        counts = Metrics(context_window=model.context_length)

        def pieces() -> Iterator[str]:
            self.calls.append((model.name, messages))
            if model.name in self.fail:
                raise self.fail[model.name]
            text = self.reply if self.reply is not None else f"{model.name} says: {messages[-1]['content'][:60]}"
            counts.prompt_tokens = sum(len(m["content"].split()) for m in messages)
            for word in text.split(" "):
                counts.completion_tokens += 1
                yield word + " "

        return Generation(pieces(), lambda: counts)


@pytest.fixture
def fake_backend() -> FakeBackend:
    return FakeBackend()


__all__ = ["SAMPLE_DOCS", "BackendError", "FakeBackend"]
