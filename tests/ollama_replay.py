"""A real HTTP server that answers the way Ollama's REST API does, for offline backend tests.

It speaks the documented wire format (docs/api.md in ollama/ollama): JSON bodies,
``{"error": "..."}`` with an HTTP status on failure, and chat answers streamed as
NDJSON over chunked transfer encoding, ending with a ``done: true`` line that
carries the token counts and durations in nanoseconds. Every request is recorded
so tests can assert what the client sent.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# How a chat stream can break: "stall" sends nothing (not even headers) for ``stall_s`` (a model still
# loading, a stuck runner); "drop" closes the connection after two lines without ending the stream (the
# server died, a proxy cut it); "malformed" sends a line that is not JSON after two good ones.
FAULTS = ("stall", "drop", "malformed")
GOOD_LINES_BEFORE_FAULT = 2

REPLY = ["Paris", " is", " the", " capital", " of", " France", "."]
PROMPT_EVAL_COUNT = 26
EMBED_DIM = 8

_DETAILS = {"parent_model": "", "format": "gguf"}
MODELS: dict[str, dict[str, Any]] = {
    "llama3.2:1b": {
        "details": {
            **_DETAILS,
            "family": "llama",
            "families": ["llama"],
            "parameter_size": "1.2B",
            "quantization_level": "Q8_0",
        },
        "model_info": {"general.architecture": "llama", "llama.context_length": 131072},
        "template": "<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>",
    },
    "qwen2.5:0.5b": {
        "details": {
            **_DETAILS,
            "family": "qwen2",
            "families": ["qwen2"],
            "parameter_size": "494.03M",
            "quantization_level": "Q4_K_M",
        },
        "model_info": {"general.architecture": "qwen2", "qwen2.context_length": 32768},
        "template": "<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>",
    },
    "nomic-embed-text:latest": {
        "details": {
            **_DETAILS,
            "family": "nomic-bert",
            "families": ["nomic-bert"],
            "parameter_size": "137M",
            "quantization_level": "F16",
        },
        "model_info": {"general.architecture": "nomic-bert", "nomic-bert.context_length": 2048},
        "template": "{{ .Prompt }}",
    },
}


@dataclass
class Request:
    method: str
    path: str
    body: dict[str, Any]


def vector_for(text: str) -> list[float]:
    """The deterministic embedding the replay returns for ``text``."""
    digest = hashlib.sha256(text.encode()).digest()
    return [b / 255 for b in digest[:EMBED_DIM]]


class OllamaReplay:
    """``with OllamaReplay() as server:`` serves at ``server.url`` and records ``server.requests``.

    ``fail(path, status, error, model=None)`` makes a path answer an error (for one model only,
    if given; ``/api/blobs`` for every upload); ``delay`` is the pause in seconds before each
    streamed chat line. ``fault(model, kind)`` breaks one model's chat stream as a sick server or
    network does, while the other models answer normally (see :data:`FAULTS`).
    """

    def __init__(self, models: dict[str, dict[str, Any]] | None = None, delay: float = 0.005):
        self.models = MODELS if models is None else models
        self.delay = delay
        self.prompt_eval_count = PROMPT_EVAL_COUNT
        self.requests: list[Request] = []
        self.failures: dict[tuple[str, str | None], tuple[int, str]] = {}
        self.blobs: dict[str, bytes] = {}  # "sha256:<hex>" -> the uploaded bytes
        self.refuse_adapters: str | None = None  # an error /api/create answers to any request with adapters
        self.faults: dict[str, str] = {}  # model -> one of FAULTS
        self.stall_s = 2.0  # how long a "stall" keeps the client waiting for its first line
        self.url = ""
        self._server: ThreadingHTTPServer | None = None

    def fail(self, path: str, status: int, error: str, model: str | None = None) -> None:
        self.failures[(path, model)] = (status, error)

    def fault(self, model: str, kind: str) -> None:
        if kind not in FAULTS:
            raise ValueError(f"fault {kind!r}: one of {FAULTS}")
        self.faults[model] = kind

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path == path]

    def __enter__(self) -> OllamaReplay:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll interval keeps shutdown (and so every test teardown) quick.
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """Status and JSON payload (a list of lines for a stream) for one request."""
        self.requests.append(Request(method, path, body))
        model = body.get("model") or body.get("name")
        if isinstance(model, str) and ":" not in model:
            model += ":latest"  # as Ollama does: a name without a tag means its latest tag
        for key in ((path, model), (path, None)):
            if key in self.failures:
                status, error = self.failures[key]
                return status, {"error": error}
        if path == "/api/version" and method == "GET":
            return 200, {"version": "0.6.5"}
        if path == "/api/tags" and method == "GET":
            return 200, {"models": [_tag(name, m) for name, m in self.models.items()]}
        if path == "/api/create" and method == "POST":
            return self._create(body)
        if method != "POST" or path not in ("/api/show", "/api/chat", "/api/embed"):
            return 404, {"error": "404 page not found"}
        if model not in self.models:
            if path == "/api/chat":
                return 404, {"error": f'model "{model}" not found, try pulling it first'}
            return 404, {"error": f"model '{model}' not found"}
        if path == "/api/show":
            m = self.models[model]
            return 200, {
                # A model pulled into a local Ollama names its GGUF blob; others name themselves.
                "modelfile": f"FROM {m.get('file') or model}\nTEMPLATE {json.dumps(m['template'])}\n",
                "parameters": 'stop "<|eot_id|>"',
                "template": m["template"],
                "details": m["details"],
                "model_info": m["model_info"],
                "capabilities": ["completion"],
            }
        if path == "/api/embed":
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            return 200, {"model": model, "embeddings": [vector_for(t) for t in inputs], "prompt_eval_count": 8}
        return 200, self._chat_lines(model)

    def upload(self, digest: str, data: bytes) -> tuple[int, dict[str, Any]]:
        """``POST /api/blobs/<digest>``: stored when the bytes hash to the digest (201), refused otherwise."""
        self.requests.append(Request("POST", f"/api/blobs/{digest}", {"size": len(data)}))
        if ("/api/blobs", None) in self.failures:
            status, error = self.failures[("/api/blobs", None)]
            return status, {"error": error}
        if digest != "sha256:" + hashlib.sha256(data).hexdigest():
            return 400, {"error": "digest mismatch"}
        self.blobs[digest] = data
        return 201, {}

    def _create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """``POST /api/create`` from a model (``from``) or uploaded files, with optional LoRA ``adapters``."""
        files, adapters = body.get("files") or {}, body.get("adapters") or {}
        missing = [d for d in [*files.values(), *adapters.values()] if d not in self.blobs]
        if missing:
            return 400, {"error": f"blob {missing[0]} not found: upload it first"}
        base = body.get("from")
        if base is None and not files:
            return 400, {"error": "neither 'from' or 'files' was specified"}
        if base is not None and (base if ":" in base else f"{base}:latest") not in self.models:
            return 404, {"error": f"model '{base}' not found"}
        if adapters and self.refuse_adapters:
            return 400, {"error": self.refuse_adapters}
        name = body["model"] if ":" in body["model"] else f"{body['model']}:latest"
        parent = self.models.get(f"{base}:latest" if base and ":" not in base else str(base))
        self.models = {**self.models, name: {**(parent or next(iter(MODELS.values()))), "file": None}}
        return 200, {"status": "success"}

    def _chat_lines(self, model: str) -> list[dict[str, Any]]:
        created = "2025-01-01T00:00:00.000000Z"
        lines: list[dict[str, Any]] = [
            {"model": model, "created_at": created, "message": {"role": "assistant", "content": piece}, "done": False}
            for piece in REPLY
        ]
        lines.append(
            {
                "model": model,
                "created_at": created,
                "message": {"role": "assistant", "content": ""},
                "done_reason": "stop",
                "done": True,
                "total_duration": 512_000_000,
                "load_duration": 21_000_000,
                "prompt_eval_count": self.prompt_eval_count,
                "prompt_eval_duration": 85_000_000,
                "eval_count": len(REPLY),
                "eval_duration": 390_000_000,
            }
        )
        return lines


def _tag(name: str, model: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": "2025-01-01T00:00:00.000000Z",
        "size": 1_321_098_329,
        "digest": hashlib.sha256(name.encode()).hexdigest(),
        "details": model["details"],
    }


def _handler_for(replay: OllamaReplay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, as Ollama serves them

        def do_GET(self) -> None:
            self._answer({})

        def do_POST(self) -> None:
            raw = self._body()
            if self.path.startswith("/api/blobs/"):
                self._send(*replay.upload(self.path.removeprefix("/api/blobs/"), raw))
                return
            self._answer(json.loads(raw or b"{}"))

        def do_HEAD(self) -> None:  # does a blob exist?
            found = self.path.removeprefix("/api/blobs/") in replay.blobs
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(parts)

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _answer(self, body: dict[str, Any]) -> None:
            status, payload = replay.answer(self.command, self.path, body)
            if isinstance(payload, list):
                self._stream(payload, replay.faults.get(str(body.get("model"))))
                return
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, lines: list[dict[str, Any]], fault: str | None = None) -> None:
            if fault == "stall":
                time.sleep(replay.stall_s)
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i, line in enumerate(lines):
                    time.sleep(replay.delay)
                    data = json.dumps(line).encode() + b"\n"
                    if i == GOOD_LINES_BEFORE_FAULT and fault == "drop":
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)  # mid-stream, no closing chunk
                        self.close_connection = True
                        return
                    if i == GOOD_LINES_BEFORE_FAULT and fault == "malformed":
                        data = b"<html>502 Bad Gateway</html>\n"
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


def unused_url() -> str:
    """A URL where nothing listens: the port was free a moment ago and is closed again."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
