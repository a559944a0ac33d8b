"""Shared fixtures: a private PLAYGROUND_HOME for every test, and the real models and sample corpus loaded once.

Names that tests import (paths, the scripted ``FakeBackend``, the adapter writer) live in ``helpers.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The page tests count what each page loads; a background warm-up would load it first. The browser test's
# server (a process of its own, see bench/browser.py) keeps it on, as a person's does.
os.environ.setdefault("PLAYGROUND_WARM_UP", "0")

from playground.models.base import ModelInfo

from .helpers import ROOT, SAMPLE_DOCS, home_at


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

    with home_at(tmp_path_factory.mktemp("sample-home")):
        return build_index(sample_files, embed_model=embed_model, workspace="sample")


@pytest.fixture(scope="session")
def sample_questions() -> list[dict[str, str]]:
    from playground.documents import load_questions

    return load_questions(SAMPLE_DOCS)


__all__ = ["ROOT"]  # test_architecture.py imports ROOT from here
