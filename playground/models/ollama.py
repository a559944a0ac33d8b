"""The Ollama backend: models served by a local ``ollama serve``, spoken to over its REST API.

Every request goes through :meth:`OllamaBackend._translated`, the one place
where the ollama client's and httpx's exceptions become the project's
:class:`~playground.errors.BackendError` subclasses, with a message that says
what to do; code elsewhere calls the public methods (``show``, ``upload_blob``,
``create``…), never the client. Ollama knows nothing of fine-tune lineage, so a
small JSON registry under ``PLAYGROUND_HOME`` records which base model each
fine-tune came from.
"""

from __future__ import annotations

import contextlib
import json
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import ollama
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import PrivateAttr

from playground import config
from playground.config import GenerationParams
from playground.errors import (
    BackendError,
    BackendUnavailable,
    ContextWindowExceeded,
    ModelNotFound,
    PlaygroundError,
)
from playground.models.base import Generation, Message, Metrics, ModelInfo
from playground.storage import write_atomic

CHARS_PER_TOKEN = 3  # deliberately low (English BPE averages ~4), so the estimate errs on the large side
MESSAGE_OVERHEAD = 64  # chat-template tokens around each message: role headers, BOS/EOS, system defaults
MIN_NUM_CTX = 2048  # Ollama's own default window; asking for less saves nothing worth having
LINEAGE_FILE = "ollama_lineage.json"


def normalize_host(host: str) -> str:
    """The URL the client will reach for ``OLLAMA_HOST``-style input, for messages a person reads.

    >>> normalize_host("localhost")
    'http://localhost:11434'
    >>> normalize_host(":11435")
    'http://127.0.0.1:11435'
    >>> normalize_host("http://10.0.0.5:8080/")
    'http://10.0.0.5:8080'
    >>> normalize_host("https://ollama.example.com/proxy/")
    'https://ollama.example.com/proxy'
    >>> normalize_host("[::1]")
    'http://[::1]:11434'
    """
    scheme, sep, rest = host.strip().partition("://")
    if not sep:
        scheme, rest = "http", scheme
    split = urllib.parse.urlsplit(f"{scheme}://{rest}")
    name = split.hostname or "127.0.0.1"
    if ":" in name:  # urlsplit drops an IPv6 address's brackets
        name = f"[{name}]"
    # Without a scheme the client assumes Ollama's port; with one, the scheme's own.
    port = f":{split.port}" if split.port else ("" if sep else ":11434")
    return f"{scheme}://{name}{port}{split.path.rstrip('/')}"


def estimate_prompt_tokens(messages: list[Message]) -> int:
    """A count that errs high: characters / 3 plus a template overhead per message.

    >>> estimate_prompt_tokens([{"role": "system", "content": ""}, {"role": "user", "content": "x" * 300}])
    228
    """
    return sum(-(-len(m.get("content", "")) // CHARS_PER_TOKEN) + MESSAGE_OVERHEAD for m in messages)


def choose_num_ctx(needed: int, context_length: int | None) -> int:
    """The window to ask for: ``needed`` rounded up to 1024, at least 2048, at most the model's own.

    Ollama keeps only the last ``num_ctx`` tokens of a prompt that does not fit, without
    saying so, so the window is sized to the prompt rather than left at its default.

    >>> choose_num_ctx(100, None)
    2048
    >>> choose_num_ctx(5000, 131072)
    5120
    >>> choose_num_ctx(2300, 2500)
    2500
    """
    rounded = max(MIN_NUM_CTX, -(-needed // 1024) * 1024)
    return min(rounded, context_length) if context_length else rounded


def context_length(modelinfo: Mapping[str, Any] | None) -> int | None:
    """The trained window from ``/api/show``'s ``model_info``, whose keys are prefixed by architecture.

    >>> context_length({"general.architecture": "qwen2", "qwen2.context_length": 32768})
    32768
    >>> context_length({}) is None
    True
    """
    info = modelinfo or {}
    value = info.get(f"{info.get('general.architecture')}.context_length")
    return int(value) if value else None


def with_tag(name: str) -> str:
    """Ollama lists an untagged model as ``:latest``; lineage keys follow suit so they match.

    >>> with_tag("faq-tuned"), with_tag("llama3.2:1b"), with_tag("localhost:5000/me/faq")
    ('faq-tuned:latest', 'llama3.2:1b', 'localhost:5000/me/faq:latest')
    """
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _lineage_path() -> Path:
    return config.home() / LINEAGE_FILE


def read_lineage() -> dict[str, str]:
    """Fine-tuned Ollama model name → base model id; empty when the file is missing or unreadable."""
    try:
        data = json.loads(_lineage_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {with_tag(str(name)): str(base) for name, base in data.items()}


def record_lineage(model_name: str, base: str) -> None:
    """Remember that ``model_name`` was fine-tuned from ``base`` (a model id such as ``ollama:llama3.2:1b``)."""
    lineage = read_lineage() | {with_tag(model_name): base}
    write_atomic(_lineage_path(), json.dumps(lineage, indent=2, sort_keys=True))


class OllamaBackend:
    """Models pulled into a local Ollama server. Nothing is sent until a method is called."""

    name = "ollama"

    def __init__(self, host: str | None = None, timeout: float = 120.0, client: ollama.Client | None = None):
        self.host = normalize_host(host or config.ollama_host())
        self.timeout = timeout  # seconds per read: a long answer streams, so it never hits this
        self._client = client or ollama.Client(host=self.host, timeout=timeout)

    @contextlib.contextmanager
    def _translated(self, model: str | None = None, failed: str = "failed") -> Iterator[None]:
        """Turn the client's and httpx's errors into the project's, once, for every call.

        ``model``: the model a 404 means is missing; ``failed``: what Ollama did when it answered with an error.
        """
        try:
            yield
        except PlaygroundError:  # already says what to do (ConfigError is also a ValueError)
            raise
        except ollama.ResponseError as e:
            if e.status_code == 404 and model:
                raise ModelNotFound(f"model {model} is not pulled: `ollama pull {model}`") from e
            status = f" (HTTP {e.status_code})" if e.status_code > 0 else ""  # -1: an error line mid-stream
            raise BackendError(f"Ollama at {self.host} {failed}{status}: {e.error}") from e
        except httpx.TimeoutException as e:
            raise BackendUnavailable(
                f"Ollama at {self.host} timed out after {self.timeout:g} s: check that it is running "
                "(`ollama serve`, or set OLLAMA_HOST) and not stuck loading a model"
            ) from e
        # The client turns httpx.ConnectError into the builtin ConnectionError, except while it streams.
        except (ConnectionError, httpx.ConnectError) as e:
            raise BackendUnavailable(
                f"Ollama is not running at {self.host}: start it with `ollama serve` (or set OLLAMA_HOST)"
            ) from e
        except httpx.TransportError as e:  # reached, then cut off: a reset, or a stream that ends mid-answer
            raise BackendUnavailable(
                f"the connection to Ollama at {self.host} broke off before the answer was complete "
                f"({type(e).__name__}): Ollama may have stopped or restarted; check `ollama serve` and ask again"
            ) from e
        # A line that is not Ollama's JSON: the client's json.loads, or its models' validation, fails on it.
        except (ValueError, AttributeError, TypeError) as e:
            raise BackendError(
                f"Ollama at {self.host} sent a reply that is not Ollama's format ({type(e).__name__}): check that "
                "OLLAMA_HOST points at Ollama itself, not a proxy or another server, and ask again"
            ) from e

    def show(self, name: str) -> dict[str, Any]:
        """``/api/show``: ``modelinfo``, ``details``, ``parameters``, ``modelfile`` and ``template``."""
        with self._translated(name):
            shown = self._client.show(name)
        return shown.model_dump(include={"modelinfo", "details", "parameters", "modelfile", "template"})

    def upload_blob(self, path: str | Path) -> str:
        """Send a file's bytes to ``/api/blobs/sha256:<digest>``; returns the digest that :meth:`create` names it by."""
        path = Path(path)
        with self._translated(failed=f"refused the upload of {path.name}"):
            return self._client.create_blob(path)

    def create(
        self,
        model: str,
        *,
        from_: str | None = None,
        files: Mapping[str, str] | None = None,
        adapters: Mapping[str, str] | None = None,
    ) -> None:
        """``/api/create``: ``model`` from a model Ollama has (``from_``) or uploaded GGUF ``files``, plus LoRA
        ``adapters``; files and adapters map a file name to the digest :meth:`upload_blob` returned."""
        # A 404 here means the base is missing, not the model being created.
        with self._translated(from_, failed=f"refused to create {model}"):
            self._client.create(
                model=model,
                from_=from_,
                files=dict(files) if files else None,
                adapters=dict(adapters) if adapters else None,
                stream=False,
            )

    def _context_length(self, name: str) -> int | None:
        try:
            return context_length(self.show(name)["modelinfo"])
        except BackendError:  # one odd model must not hide the others
            return None

    def list_models(self) -> list[ModelInfo]:
        with self._translated():
            listed = self._client.list().models
        lineage = read_lineage()
        infos = []
        for m in listed:
            if not m.model:
                continue
            details = m.details.model_dump(exclude_none=True) if m.details else {}
            infos.append(
                ModelInfo(
                    backend=self.name,
                    name=m.model,
                    family=details.get("family") or "",
                    parameter_size=details.get("parameter_size") or "",
                    quantization=details.get("quantization_level") or "",
                    context_length=self._context_length(m.model),
                    finetuned_from=lineage.get(m.model),
                    details=details,
                )
            )
        return infos

    def chat(self, model: ModelInfo, messages: list[Message], params: GenerationParams) -> Generation:
        needed = estimate_prompt_tokens(messages) + params.max_tokens
        if model.context_length and needed > model.context_length:
            raise ContextWindowExceeded(
                f"the prompt and answer need about {needed} tokens but {model.name} holds "
                f"{model.context_length}: lower top-k or the chunk size (or max tokens)"
            )
        num_ctx = choose_num_ctx(needed, model.context_length)
        options = {
            "temperature": params.temperature,
            "seed": params.seed,
            "top_p": params.top_p,
            "num_predict": params.max_tokens,
            "num_ctx": num_ctx,
        }
        counts = {"prompt": 0, "completion": 0}

        def pieces() -> Iterator[str]:
            # A generator body runs at the first next(), so the request is timed by Generation.
            with self._translated(model.name):
                stream = self._client.chat(model=model.name, messages=messages, stream=True, options=options)
                for chunk in stream:
                    if chunk.done:
                        counts["prompt"] = chunk.prompt_eval_count or 0
                        counts["completion"] = chunk.eval_count or 0
                    if chunk.message.content:
                        yield chunk.message.content

        def finish() -> Metrics:
            used = counts["prompt"] + counts["completion"]
            return Metrics(
                prompt_tokens=counts["prompt"],
                completion_tokens=counts["completion"],
                context_window=num_ctx,
                truncated=used >= num_ctx,  # a full window means Ollama may have dropped the prompt's start
            )

        return Generation(pieces(), finish)

    def embed(self, model_name: str, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._translated(model_name):
            response = self._client.embed(model=model_name, input=texts)
        return [list(vector) for vector in response.embeddings]


class OllamaEmbedding(BaseEmbedding):
    """LlamaIndex embeddings from an Ollama embedding model; pass it in, never via ``Settings``."""

    _backend: OllamaBackend = PrivateAttr()
    _model: str = PrivateAttr()

    def __init__(self, model: str, backend: OllamaBackend | None = None, **kwargs: Any) -> None:
        super().__init__(model_name=f"ollama:{model}", **kwargs)
        self._backend = backend or OllamaBackend()
        self._model = model

    @classmethod
    def class_name(cls) -> str:
        return "OllamaEmbedding"

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._backend.embed(self._model, [query])[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._backend.embed(self._model, [text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._backend.embed(self._model, texts)

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embedding(text)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._get_text_embeddings(texts)


__all__ = [
    "OllamaBackend",
    "OllamaEmbedding",
    "choose_num_ctx",
    "context_length",
    "estimate_prompt_tokens",
    "normalize_host",
    "read_lineage",
    "record_lineage",
    "with_tag",
]
