"""The one interface every generation backend implements, and the records it returns.

A backend lists its models and streams a chat answer. The stream is a
:class:`Generation`: iterate it for text pieces (``st.write_stream`` takes it as
is); once it is exhausted, ``.metrics`` holds what the answer cost, measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from playground.config import GenerationParams

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": ...}


@dataclass(frozen=True)
class ModelInfo:
    """One model a backend can run. ``id`` is ``"<backend>:<name>"`` and unique in a catalogue."""

    backend: str
    name: str
    family: str = ""
    parameter_size: str = ""
    quantization: str = ""
    context_length: int | None = None
    finetuned_from: str | None = None  # lineage: the base model's id, when this is a fine-tune
    path: str | None = None  # GGUF file (embedded models)
    adapter_path: str | None = None  # GGUF LoRA adapter applied on top of ``path``
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.backend}:{self.name}"

    @property
    def label(self) -> str:
        """A short human label, e.g. ``smollm2-135m-instruct (embedded, fine-tuned from ...)``."""
        extra = f", fine-tuned from {self.finetuned_from}" if self.finetuned_from else ""
        return f"{self.name} ({self.backend}{extra})"


@dataclass
class Metrics:
    """What one answer cost. Times are wall-clock seconds measured around the backend call."""

    latency_s: float = 0.0  # request to last token
    first_token_s: float | None = None  # request to first visible text
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_per_s: float = 0.0  # completion tokens / generation time after the first token
    context_used: int = 0  # prompt + completion tokens
    context_window: int | None = None
    truncated: bool = False  # the backend reports it dropped part of the prompt

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Generation:
    """A streamed answer: iterate for text; afterwards ``text`` and ``metrics`` are final.

    ``pieces`` yields text and must be lazy (a generator doing no work before its
    first ``next``), so that the request itself is timed. The backend's ``finish``
    callback is called once the pieces are exhausted and returns the token counts it
    knows. Timing is measured here, the same way for every backend, so the four
    conditions are compared on equal terms.
    """

    def __init__(self, pieces: Iterator[str], finish: Callable[[], Metrics]):
        self._pieces = pieces
        self._finish = finish
        self.text = ""
        self.metrics: Metrics | None = None
        self._started = False

    def __iter__(self) -> Iterator[str]:
        if self._started:
            raise RuntimeError("a Generation can be consumed only once")
        self._started = True
        start = time.perf_counter()
        first: float | None = None
        parts: list[str] = []
        for piece in self._pieces:
            if not piece:
                continue
            if first is None:
                first = time.perf_counter() - start
            parts.append(piece)
            yield piece
        end = time.perf_counter() - start
        self.text = "".join(parts)
        metrics = self._finish()
        metrics.latency_s = end
        metrics.first_token_s = first
        decode_s = end - (first or 0.0)
        # The first token's time is prefill; rate the rest, as llama.cpp and Ollama do.
        if metrics.completion_tokens > 1 and decode_s > 0:
            metrics.tokens_per_s = (metrics.completion_tokens - 1) / decode_s
        metrics.context_used = metrics.prompt_tokens + metrics.completion_tokens
        self.metrics = metrics

    def collect(self) -> str:
        """Consume the whole stream and return the text."""
        for _ in self:
            pass
        return self.text


@runtime_checkable
class Backend(Protocol):
    """A source of models. Implementations: embedded (llama.cpp) and Ollama."""

    name: str

    def list_models(self) -> list[ModelInfo]:
        """Models this backend can run now. Raises BackendUnavailable when it cannot be reached."""
        ...

    def chat(self, model: ModelInfo, messages: list[Message], params: GenerationParams) -> Generation:
        """Start a streamed answer. Raises the project's BackendError subclasses, never transport errors."""
        ...


__all__ = ["Backend", "Generation", "Message", "Metrics", "ModelInfo"]
