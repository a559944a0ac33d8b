"""The OpenAI-compatible backend: models served by vLLM, llama.cpp's server, LM Studio or TGI over HTTP.

Model ids are ``openai:<model>``, the model as the server lists it at ``GET /v1/models``. Answers
stream from ``POST /v1/chat/completions`` (``stream=true``, ``stream_options.include_usage``); the
server's own token counts become the metrics. A server that sends none (llama-cpp-python's) is
counted here: one streamed piece per token, an answer that stopped at ``finish_reason: length`` used
exactly ``max_tokens``, and the prompt is approximated (:func:`approximate_prompt_tokens`).

Embeddings come from ``POST /v1/embeddings`` (TEI, vLLM, llama.cpp's server, Ollama's ``/v1`` all serve it):
:class:`OpenAIEmbedding` is the embedding model ``openai:<model>``, batched, with several requests in flight
(``PLAYGROUND_EMBED_REQUESTS``, of ``PLAYGROUND_EMBED_BATCH`` texts each) and transient failures (HTTP 429 and
5xx, a dropped connection) asked again.

Every request goes through :meth:`OpenAIBackend._translated`, the one place where httpx's exceptions
and the server's error replies become the project's :class:`~playground.errors.BackendError`
subclasses, with a message that says what to do.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from playground import config
from playground.config import GenerationParams
from playground.errors import BackendError, BackendUnavailable, ContextWindowExceeded, ModelNotFound
from playground.models.base import Generation, Message, Metrics, ModelInfo

CONNECT_TIMEOUT_S = 5.0  # a GPU host behind a firewall drops packets; the listing must not hang a page on it
LIST_TIMEOUT_S = 15.0  # listing is asked when a page opens: a server that accepts but never answers is down
TRANSIENT = (408, 429, 500, 502, 503, 504)  # worth asking again: busy, overloaded, restarting
RETRIES = 3  # after the first try, waiting RETRY_WAIT_S, then twice and four times that
RETRY_WAIT_S = 0.5
# A server embeds the requests in flight one batch after another (llama.cpp) or together (TEI, vLLM): the last of
# them waits for the others, so a read may take several batches' time on a busy CPU host.
EMBED_TIMEOUT = httpx.Timeout(600.0, connect=CONNECT_TIMEOUT_S)
START_HINT = (
    "start one (e.g. `python -m llama_cpp.server --model MODEL.gguf --port 8000`, "
    "`llama-server -m MODEL.gguf --port 8000` or `vllm serve MODEL --port 8000`) or set OPENAI_BASE_URL"
)


def approximate_prompt_tokens(messages: list[Message]) -> int:
    """A prompt's size when the server does not say: 4 characters a token (English BPE's average) plus
    the chat template's framing, 5 tokens a message and 3 to start the reply. A reported figure, so meant to
    be about right; the Ollama backend's estimate errs high on purpose, because it sizes a window.

    >>> approximate_prompt_tokens([{"role": "system", "content": "x" * 40}, {"role": "user", "content": "x" * 80}])
    43
    """
    return sum(-(-len(m.get("content", "")) // 4) + 5 for m in messages) + 3


class _ServerError(Exception):
    """An error reply (HTTP status >= 400, or an error event mid-stream), before translation."""

    def __init__(self, status: int, message: str, code: str = ""):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class _Malformed(Exception):
    """A reply that is not what the OpenAI API sends (HTML, a stream line that is not JSON)."""


class _CutShort(Exception):
    """A stream that ended with neither a finish reason nor ``[DONE]``: the server gave up mid-answer."""


def error_of(status: int, body: str) -> _ServerError:
    """The error in a reply body, in the shapes servers use: OpenAI's ``{"error": {...}}``, FastAPI's
    ``{"detail": ...}``, TGI's ``{"error": "..."}``, or plain text.

    >>> e = error_of(404, '{"error": {"message": "The model `x` does not exist.", "code": "model_not_found"}}')
    >>> e.status, e.message, e.code
    (404, 'The model `x` does not exist.', 'model_not_found')
    >>> error_of(401, '{"detail": "Invalid API key"}').message
    'Invalid API key'
    >>> error_of(502, "<html>Bad Gateway</html>").message
    '<html>Bad Gateway</html>'
    """
    try:
        data: Any = json.loads(body)
    except ValueError:
        return _ServerError(status, body.strip()[:300])
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail") or json.dumps(error)[:300]
        return _ServerError(status, str(message), str(error.get("code") or error.get("type") or ""))
    return _ServerError(status, str(error))


def stream_event(line: str) -> dict[str, Any] | None:
    """One server-sent-events line of a streamed answer: the JSON it carries, or None for lines that carry
    none (blank, comments, ``event:``/``id:`` fields); ``{"done": True}`` for ``data: [DONE]``.

    >>> stream_event('data: {"choices": [{"delta": {"content": "Hi"}}]}')
    {'choices': [{'delta': {'content': 'Hi'}}]}
    >>> stream_event(": ping - 2025-01-01"), stream_event(""), stream_event("data: [DONE]")
    (None, None, {'done': True})
    >>> stream_event("<html>")
    Traceback (most recent call last):
    ...
    playground.models.openai._Malformed: '<html>'
    """
    line = line.strip()
    if not line or line.startswith(":") or line.split(":", 1)[0] in ("event", "id", "retry"):
        return None
    if not line.startswith("data:"):
        raise _Malformed(repr(line[:120]))
    payload = line[5:].strip()
    if payload == "[DONE]":
        return {"done": True}
    try:
        event = json.loads(payload)
    except ValueError:
        raise _Malformed(repr(line[:120])) from None
    if not isinstance(event, dict):
        raise _Malformed(repr(line[:120]))
    return event


@dataclass
class StreamCounts:
    """What a stream said about its cost: the server's usage when it sent one, else what was counted here.

    >>> counts = StreamCounts()
    >>> counts.take({"choices": [{"delta": {"content": "Hel"}}]}), counts.take({"choices": [{"delta": {}}]})
    ('Hel', '')
    >>> counts.take({"choices": [], "usage": {"prompt_tokens": 31, "completion_tokens": 2}})
    ''
    >>> (counts.pieces, counts.prompt_tokens, counts.completion_tokens)
    (1, 31, 2)
    """

    pieces: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None

    def take(self, event: dict[str, Any]) -> str:
        """Read one event; returns its text (empty when it carries none)."""
        if isinstance(event.get("error"), dict | str):
            error = event["error"]
            message = error.get("message", json.dumps(error)) if isinstance(error, dict) else error
            code = str(error.get("code") or "") if isinstance(error, dict) else ""
            status = int(code) if code.isdigit() else 500
            raise _ServerError(status, str(message), code)
        usage = event.get("usage")
        if isinstance(usage, dict):
            self.prompt_tokens = int(usage.get("prompt_tokens") or 0)
            self.completion_tokens = int(usage.get("completion_tokens") or 0)
        text = ""
        for choice in event.get("choices") or []:
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
            piece = (choice.get("delta") or {}).get("content")
            if piece:
                self.pieces += 1
                text += piece
        return text

    def metrics(self, messages: list[Message], params: GenerationParams, window: int | None) -> Metrics:
        """The counts as :class:`Metrics`; without usage from the server, the fallback the module describes.

        >>> stopped = StreamCounts(pieces=5, finish_reason="length").metrics([], GenerationParams(max_tokens=8), 2048)
        >>> stopped.completion_tokens, stopped.context_window
        (8, 2048)
        """
        completion = self.completion_tokens
        if completion is None:
            # A token can carry no text (a partial UTF-8 character), so the pieces can undercount.
            completion = max(self.pieces, params.max_tokens) if self.finish_reason == "length" else self.pieces
        prompt = self.prompt_tokens if self.prompt_tokens is not None else approximate_prompt_tokens(messages)
        return Metrics(prompt_tokens=prompt, completion_tokens=completion, context_window=window)


def context_window(entry: dict[str, Any]) -> int | None:
    """The context window a ``/v1/models`` entry states, under the names servers use; None when it states none.

    >>> context_window({"id": "m", "max_model_len": 32768})  # vLLM
    32768
    >>> context_window({"id": "m", "meta": {"n_ctx_train": 8192}})  # llama.cpp's server: the trained window
    8192
    >>> context_window({"id": "m", "owned_by": "me"}) is None  # llama-cpp-python, LM Studio
    True
    """
    meta: dict[str, Any] = entry["meta"] if isinstance(entry.get("meta"), dict) else {}
    for value in (
        entry.get("max_model_len"),
        entry.get("context_length"),
        entry.get("context_window"),
        entry.get("max_context_length"),
        meta.get("n_ctx"),
        meta.get("n_ctx_train"),
    ):
        if isinstance(value, int) and value > 0:
            return value
    return None


def parameter_size(n_params: Any) -> str:
    """llama.cpp's ``meta.n_params`` as Ollama writes sizes.

    >>> parameter_size(134515008), parameter_size(7241732096), parameter_size(None)
    ('134.5M', '7.2B', '')
    """
    if not isinstance(n_params, int) or n_params <= 0:
        return ""
    return f"{n_params / 1e9:.1f}B" if n_params >= 1e9 else f"{n_params / 1e6:.1f}M"


def embeddings_of(reply: Any, count: int) -> list[list[float]]:
    """The vectors of a ``/v1/embeddings`` reply, in the order of the texts sent (each item names its ``index``).

    >>> embeddings_of({"data": [{"index": 1, "embedding": [0.0, 1.0]}, {"index": 0, "embedding": [1.0, 0.0]}]}, 2)
    [[1.0, 0.0], [0.0, 1.0]]
    >>> embeddings_of({"data": []}, 1)
    Traceback (most recent call last):
    ...
    playground.models.openai._Malformed: 0 embeddings for 1 texts
    >>> embeddings_of({"data": [{"index": 0, "embedding": [[1.0, 2.0], [3.0, 4.0]]}]}, 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    playground.models.openai._Malformed: one vector per token, not one per text: ... --pooling mean, ...
    """
    items = reply.get("data") if isinstance(reply, dict) else None
    if not isinstance(items, list) or len(items) != count:
        raise _Malformed(f"{len(items) if isinstance(items, list) else 'no'} embeddings for {count} texts")
    vectors: list[list[float]] = [[] for _ in range(count)]
    for position, item in enumerate(items):
        vector = item.get("embedding") if isinstance(item, dict) else None
        if isinstance(vector, list) and vector and isinstance(vector[0], list):
            raise _Malformed(
                "one vector per token, not one per text: the server's model pools nothing (start llama.cpp's server "
                "with --pooling mean, or give llama-cpp-python a GGUF whose <arch>.pooling_type is set)"
            )
        if not isinstance(vector, list) or not vector:
            raise _Malformed(f"embedding {position} is {json.dumps(vector)[:60]}")
        index = item.get("index", position)
        vectors[index if isinstance(index, int) and 0 <= index < count else position] = [float(v) for v in vector]
    return vectors


class OpenAIBackend:
    """Models of one OpenAI-compatible server. Nothing is sent until a method is called."""

    name = "openai"

    def __init__(self, base_url: str | None = None, api_key: str | None = None, timeout: float = 120.0):
        url = base_url if base_url is not None else config.openai_base_url()
        if not url:
            raise BackendUnavailable("no OpenAI-compatible server is configured: set OPENAI_BASE_URL")
        self.base_url = config.openai_url(url)  # ConfigError names a bad URL before anything is sent
        self.timeout = timeout  # seconds per read: a long answer streams, so it never hits this
        key = api_key if api_key is not None else config.openai_api_key()
        self._has_key = bool(key)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        connect = min(timeout, CONNECT_TIMEOUT_S)
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=connect))

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _root(self, path: str) -> str:
        """A URL beside the API rather than in it (llama.cpp's ``/props`` sits at the server's root)."""
        split = urllib.parse.urlsplit(self.base_url)
        root = split.path.removesuffix("/v1")
        return urllib.parse.urlunsplit((split.scheme, split.netloc, f"{root}/{path.lstrip('/')}", "", ""))

    @contextlib.contextmanager
    def _translated(self, model: str | None = None) -> Iterator[None]:
        """Turn httpx's errors and the server's error replies into the project's, once, for every call.

        ``model``: the model a "no such model" reply is about (None while listing).

        >>> backend = OpenAIBackend("http://127.0.0.1:9")  # nothing listens: the served models cannot be read
        >>> try:
        ...     with backend._translated("llama3"):
        ...         raise error_of(404, '{"error": {"message": "The model `llama3` does not exist."}}')
        ... except ModelNotFound as err:
        ...     print(*str(err).split("; "), sep=";" + chr(10))
        the OpenAI-compatible server at http://127.0.0.1:9/v1 has no model 'llama3';
        it serves: (the list could not be read)
        """
        where = f"the OpenAI-compatible server at {self.base_url}"
        try:
            yield
        except _ServerError as e:
            text = e.message.lower()
            if e.status in (401, 403):
                key = "OPENAI_API_KEY is set but the server refused it" if self._has_key else "no OPENAI_API_KEY is set"
                raise BackendError(
                    f"{where} wants an API key (HTTP {e.status}: {e.message}): {key}; set OPENAI_API_KEY to the key "
                    "it was started with (`--api-key`, or the Models page)"
                ) from e
            if model and (e.code == "model_not_found" or (e.status == 404 and "model" in text)):
                raise ModelNotFound(f"{where} has no model {model!r}; it serves: {self._served()}") from e
            if e.status == 404:
                raise BackendUnavailable(
                    f"{self.base_url} answers but not as an OpenAI API (HTTP 404: {e.message}): OPENAI_BASE_URL "
                    "should be the API's root, usually ending in /v1"
                ) from e
            if e.code == "context_length_exceeded" or "context length" in text or "context window" in text:
                raise ContextWindowExceeded(
                    f"{where}: {e.message.rstrip('.')}. Lower top-k or the chunk size (or max tokens), or start the "
                    "server with a larger context"
                ) from e
            raise BackendError(f"{where} failed (HTTP {e.status}): {e.message}") from e
        except _CutShort as e:
            # llama-cpp-python's server, for one, reports a prompt over its window only in its log, this way.
            raise BackendError(
                f"{where} ended the answer's stream before it finished, without saying why (its log does): the "
                "usual cause is a prompt longer than its context window; lower top-k or the chunk size, or start "
                "the server with a larger context (`--n_ctx`, `--ctx-size`, `--max-model-len`)"
            ) from e
        except _Malformed as e:
            raise BackendError(
                f"{where} sent something the OpenAI API does not ({e}): is OPENAI_BASE_URL an OpenAI-compatible API?"
            ) from e
        except httpx.TimeoutException as e:
            raise BackendUnavailable(
                f"{where} did not answer in time ({type(e).__name__}): check that it is up and not stuck loading a "
                "model, and that no firewall drops its port"
            ) from e
        except httpx.ConnectError as e:
            raise BackendUnavailable(f"No OpenAI-compatible server answers at {self.base_url}: {START_HINT}") from e
        except httpx.TransportError as e:  # reset or cut mid-answer: the server stopped or crashed
            raise BackendUnavailable(f"{where} broke off the connection ({type(e).__name__}: {e})") from e

    def _served(self) -> str:
        try:
            return ", ".join(m.id for m in self.list_models()) or "no models"
        except BackendError:
            return "(the list could not be read)"

    def _get(self, url: str) -> Any:
        wait = min(self.timeout, LIST_TIMEOUT_S)
        response = self._client.get(url, timeout=httpx.Timeout(wait, connect=min(wait, CONNECT_TIMEOUT_S)))
        if response.status_code >= 400:
            raise error_of(response.status_code, response.text)
        try:
            return response.json()
        except ValueError:
            raise _Malformed(f"GET {urllib.parse.urlsplit(url).path} gave {response.text[:80]!r}") from None

    def _server_window(self) -> int | None:
        """The running context from llama.cpp's ``/props``; None from servers without it (vLLM, LM Studio…)."""
        try:
            props = self._get(self._root("props"))
            value = props.get("default_generation_settings", {}).get("n_ctx") or props.get("n_ctx")
        except (_ServerError, _Malformed, httpx.HTTPError, AttributeError):
            return None
        return value if isinstance(value, int) and value > 0 else None

    def list_models(self) -> list[ModelInfo]:
        with self._translated():
            data = self._get(self._url("models"))
        entries = data.get("data") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            with self._translated():
                raise _Malformed(f"GET /models gave {json.dumps(data)[:80]}")
        entries = [e for e in entries if isinstance(e, dict) and e.get("id")]
        # /props describes the server's one loaded model: its running window beats the trained one in meta.
        running = self._server_window() if len(entries) == 1 else None
        infos = []
        for entry in entries:
            meta: dict[str, Any] = entry["meta"] if isinstance(entry.get("meta"), dict) else {}
            details = {k: v for k, v in entry.items() if k not in ("id", "object")} | {"server": self.base_url}
            infos.append(
                ModelInfo(
                    backend=self.name,
                    name=str(entry["id"]),
                    parameter_size=parameter_size(meta.get("n_params")),
                    context_length=running or context_window(entry),
                    details=details,
                )
            )
        return infos

    def _stream(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """POST a streamed chat; yields its events, the last ``{"done": True}`` when the server sent ``[DONE]``.
        Raises _ServerError and _Malformed untranslated."""
        with self._client.stream("POST", self._url("chat/completions"), json=body) as response:
            if response.status_code >= 400:
                raise error_of(response.status_code, response.read().decode("utf-8", errors="replace"))
            for line in response.iter_lines():
                event = stream_event(line)
                if event is not None:
                    yield event
                    if event.get("done"):
                        return

    def _opened(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The events of a streamed chat, its first one already read.

        Nothing is generated before the first event, so asking again is safe: once over a fresh connection when
        the pooled one was already closed by the server, once without ``stream_options`` for a server that
        refuses the field (its answer then comes without usage, and is counted here).
        """
        retried: set[str] = set()
        while True:
            events = self._stream(body)
            try:
                first = next(events, None)
            except (httpx.RemoteProtocolError, httpx.ReadError):  # a pooled connection the server closed
                if "connection" in retried:
                    raise
                retried.add("connection")
                continue
            except _ServerError as e:
                if "options" in retried or "stream_options" not in e.message or e.status not in (400, 422):
                    raise
                retried.add("options")
                del body["stream_options"]
                continue
            return itertools.chain([first] if first is not None else [], events)

    def chat(self, model: ModelInfo, messages: list[Message], params: GenerationParams) -> Generation:
        body: dict[str, Any] = {
            "model": model.name,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
        }
        counts = StreamCounts()

        def pieces() -> Iterator[str]:
            # A generator body runs at the first next(), so the request itself is timed by Generation.
            with self._translated(model.name):
                events = self._opened(body)
                done = False
                for event in events:
                    done = done or bool(event.get("done"))
                    yield counts.take(event)
                if not done and counts.finish_reason is None:
                    raise _CutShort

        return Generation(pieces(), lambda: counts.metrics(messages, params, model.context_length))

    def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        """One ``POST /embeddings`` for ``texts``; a transient failure is asked again (see :data:`TRANSIENT`)."""
        if not texts:
            return []
        body = {"model": model, "input": texts, "encoding_format": "float"}
        with self._translated(model):
            for attempt in range(RETRIES + 1):
                try:
                    response = self._client.post(self._url("embeddings"), json=body, timeout=EMBED_TIMEOUT)
                    if response.status_code >= 400:
                        raise error_of(response.status_code, response.text)
                    try:
                        return embeddings_of(response.json(), len(texts))
                    except ValueError:
                        raise _Malformed(f"POST /embeddings gave {response.text[:80]!r}") from None
                except (_ServerError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as err:
                    if attempt == RETRIES or (isinstance(err, _ServerError) and err.status not in TRANSIENT):
                        raise
                    time.sleep(RETRY_WAIT_S * 2**attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        self._client.close()


class OpenAIEmbedding(BaseEmbedding):
    """LlamaIndex embeddings from an OpenAI-compatible server's ``/v1/embeddings``; pass it in, never via ``Settings``.

    ``model_name`` is ``openai:<model>@<server>``, so an index built with one server's model is never taken for
    another's (the index key holds it). A call's texts go in requests of ``batch`` texts, ``requests`` of them
    in flight at once (a GPU server batches what arrives together); the order of the vectors is the texts'.
    """

    _backend: OpenAIBackend = PrivateAttr()
    _model: str = PrivateAttr()
    _batch: int = PrivateAttr()
    _requests: int = PrivateAttr()
    _pool: ThreadPoolExecutor = PrivateAttr()
    _texts_embedded: int = PrivateAttr(default=0)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    def __init__(
        self,
        model: str,
        backend: OpenAIBackend | None = None,
        *,
        batch: int | None = None,
        requests: int | None = None,
        **kwargs: Any,
    ) -> None:
        backend = backend or OpenAIBackend()
        batch, requests = batch or config.embed_batch(), requests or config.embed_requests()
        # LlamaIndex hands _get_text_embeddings this many texts at a time: enough for every request in flight.
        super().__init__(model_name=f"openai:{model}@{backend.base_url}", embed_batch_size=batch * requests, **kwargs)
        self._backend, self._model, self._batch, self._requests = backend, model, batch, requests
        self._pool = ThreadPoolExecutor(max_workers=requests, thread_name_prefix="embed")

    @classmethod
    def class_name(cls) -> str:
        return "PlaygroundOpenAIEmbedding"

    @property
    def texts_embedded(self) -> int:
        return self._texts_embedded

    @property
    def requests(self) -> int:
        return self._requests

    def _embed(self, texts: list[str]) -> list[list[float]]:
        batches = [texts[i : i + self._batch] for i in range(0, len(texts), self._batch)]
        vectors = [v for part in self._pool.map(lambda b: self._backend.embed(self._model, b), batches) for v in part]
        widths = {len(v) for v in vectors}
        if len(widths) > 1:
            raise BackendError(
                f"{self.model_name} returned vectors of {sorted(widths)} dimensions in one call: is more than one "
                "model behind that name?"
            )
        with self._lock:
            self._texts_embedded += len(texts)
        return vectors

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


__all__ = [
    "OpenAIBackend",
    "OpenAIEmbedding",
    "StreamCounts",
    "approximate_prompt_tokens",
    "context_window",
    "embeddings_of",
    "error_of",
    "parameter_size",
    "stream_event",
]
