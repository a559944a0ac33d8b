"""Where an index keeps its chunk embeddings: a float32 matrix in the index folder (the default), or a Chroma server.

Both stores answer the two questions retrieval asks, by row number (the order of the index's saved
chunks): the rows nearest a question's embedding, with their cosine similarity, and the stored
vectors of some rows (a chunk that only BM25 ranked still needs its cosine for the cutoff).

- :class:`MatrixStore` (``embedded``): ``vectors.npy`` beside the saved chunks, unit rows, opened
  memory-mapped, so loading costs nothing whatever the size, and searched with one matrix-vector
  product (about 10 ms for 100k chunks of 384 dimensions on one core).
- :class:`ChromaStore` (``chroma``): a Chroma server in client/server mode (``chroma run``), through
  LlamaIndex's Chroma integration; each saved version of an index is one collection, so an older
  version stays loadable and a failed build never damages the current one.

A workspace chooses its store in ``vector_store.json`` in its folder (:func:`set_workspace_vector_store`, or
``python -m playground store``); without one it uses the embedded store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import numpy as np
from llama_index.core.schema import TextNode

from playground.config import _Config, _help, _require
from playground.errors import IndexStoreError
from playground.storage import write_atomic
from playground.workspace import workspace_dir

STORE_KINDS = ("embedded", "chroma")
VECTORS_FILE = "vectors.npy"
SETTING_FILE = "vector_store.json"  # in the workspace's folder
CHROMA_BATCH = 1000  # ids per request: well under a server's maximum batch (5461 for Chroma 1.5)


@dataclass(frozen=True)
class VectorStoreSettings(_Config):
    kind: str = _help(
        "Where chunk embeddings live: embedded (a file in the index folder) or chroma (a Chroma server).", "embedded"
    )
    url: str = _help("The Chroma server, e.g. http://localhost:8000 (started with `chroma run`); chroma only.", "")

    def __post_init__(self) -> None:
        _require(self.kind in STORE_KINDS, "VectorStoreSettings", "kind", self.kind, f"must be one of {STORE_KINDS}")
        if self.kind == "chroma":
            _require(
                _host_port(self.url) is not None,
                "VectorStoreSettings",
                "url",
                self.url,
                "must be http://host:port (or https://), e.g. http://localhost:8000",
            )

    def describe(self) -> str:
        """
        >>> VectorStoreSettings().describe()
        'embedded'
        >>> VectorStoreSettings("chroma", "http://db:8000").describe()
        'chroma at http://db:8000'
        """
        return "embedded" if self.kind == "embedded" else f"chroma at {self.url}"


def workspace_vector_store(workspace: str) -> VectorStoreSettings:
    """Where ``workspace``'s index keeps its vectors: the embedded store unless it was pointed elsewhere."""
    path = workspace_dir(workspace) / SETTING_FILE
    if not path.is_file():
        return VectorStoreSettings()
    try:
        return VectorStoreSettings(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as err:
        raise IndexStoreError(f"{path} cannot be read ({err}): fix it, or delete it to use the embedded store") from err


def set_workspace_vector_store(workspace: str, settings: VectorStoreSettings) -> None:
    """Point ``workspace`` at a store; its next index is built there, reusing the vectors it already has."""
    path = workspace_dir(workspace) / SETTING_FILE
    if settings == VectorStoreSettings():
        path.unlink(missing_ok=True)
    else:
        write_atomic(path, json.dumps(settings.as_dict(), indent=2))


def _host_port(url: str) -> tuple[str, int, bool] | None:
    """Host, port and TLS of an http(s) URL; None when it is not one.

    >>> _host_port("http://localhost:8000"), _host_port("https://db.example")
    (('localhost', 8000, False), ('db.example', 443, True))
    >>> _host_port("localhost:8000") is None, _host_port("") is None
    (True, True)
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    tls = parts.scheme == "https"
    return parts.hostname, port or (443 if tls else 80), tls


def unit_rows(vectors: Any) -> np.ndarray:
    """Rows scaled to length 1 as float32, so a dot product is the cosine; a zero row stays zero.

    >>> unit_rows([[3.0, 4.0], [0.0, 0.0]]).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    matrix = np.array(vectors, dtype=np.float32, ndmin=2)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """The indices of the ``k`` highest scores, highest first (ties: lower index first).

    ``argpartition`` finds them in linear time; only those ``k`` are sorted.

    >>> top_rows(np.array([0.1, 0.9, 0.5, 0.9]), 3).tolist()
    [1, 3, 2]
    >>> top_rows(np.array([0.2]), 5).tolist()
    [0]
    """
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


class VectorStore(Protocol):
    kind: str

    def search(self, query: np.ndarray, k: int) -> tuple[list[int], list[float]]:
        """The ``k`` rows nearest ``query`` (a unit vector), best first, and their cosine similarities."""
        ...

    def vectors(self, rows: Sequence[int]) -> np.ndarray:
        """The stored (unit) vectors of ``rows``, in that order."""
        ...


class MatrixStore:
    """All vectors as one float32 matrix; row ``i`` belongs to the index's chunk ``i``."""

    kind = "embedded"

    def __init__(self, matrix: np.ndarray):
        self.matrix = matrix

    @classmethod
    def load(cls, folder: Path) -> MatrixStore:
        # Memory-mapped: the OS reads pages as a search touches them, and shares them between processes.
        return cls(np.load(folder / VECTORS_FILE, mmap_mode="r"))

    @staticmethod
    def save(folder: Path, matrix: np.ndarray) -> None:
        np.save(folder / VECTORS_FILE, np.ascontiguousarray(matrix, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.matrix)

    def search(self, query: np.ndarray, k: int) -> tuple[list[int], list[float]]:
        scores = self.matrix @ query.astype(np.float32)
        rows = top_rows(scores, k)
        return rows.tolist(), scores[rows].astype(float).tolist()

    def vectors(self, rows: Sequence[int]) -> np.ndarray:
        return np.asarray(self.matrix[np.asarray(rows, dtype=np.int64)], dtype=np.float32)


def collection_name(folder: Path, workspace: str, key: str) -> str:
    """The Chroma collection of one saved index: readable, and distinct for each workspace folder
    (two ``PLAYGROUND_HOME`` sharing a server never prune each other's collections).

    >>> collection_name(Path("/h/workspaces/docs"), "docs", "0123456789abcdef")[:14]
    'playground-doc'
    >>> len(collection_name(Path("/h"), "w" * 300, "k" * 16)) < 100
    True
    """
    home = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:8]
    return f"playground-{workspace[:40].strip('-') or 'ws'}-{home}-{key}"


class ChromaStore:
    """One saved index's vectors in a Chroma collection (cosine space); ids are the chunks' node ids."""

    kind = "chroma"

    def __init__(self, url: str, name: str, ids: Sequence[str]):
        """Open the collection ``name``; an :class:`IndexStoreError` says when it is missing or incomplete."""
        self.url, self.name, self.ids = url, name, ids
        self._rows: dict[str, int] | None = None
        with _translated(url):
            from chromadb.errors import NotFoundError

            try:
                collection = _client(url).get_collection(name)
            except NotFoundError:
                raise StoreMissing(f"the Chroma server at {url} has no collection {name}") from None
            self._store = _llama_store(collection)
            count = collection.count()
        if count != len(ids):
            raise StoreMissing(f"the Chroma collection {name} at {url} holds {count} vectors, not {len(ids)}")

    @classmethod
    def create(cls, url: str, name: str, nodes: Sequence[TextNode], matrix: np.ndarray) -> ChromaStore:
        """A new collection (replacing any left by an interrupted build) holding ``matrix``'s rows for ``nodes``."""
        with _translated(url):
            client = _client(url)
            with contextlib.suppress(Exception):  # absent: nothing to replace
                client.delete_collection(name)
            collection = client.create_collection(name, configuration={"hnsw": {"space": "cosine"}})
            store = _llama_store(collection)
            for start in range(0, len(nodes), CHROMA_BATCH):
                end = start + CHROMA_BATCH
                # A shallow copy carries the embedding: the caller's nodes keep none (one copy in memory).
                batch = [
                    node.model_copy(update={"embedding": row.tolist()})
                    for node, row in zip(nodes[start:end], matrix[start:end], strict=True)
                ]
                store.add(batch)
        return cls(url, name, [n.node_id for n in nodes])

    @staticmethod
    def check(url: str) -> None:
        """Raise an :class:`IndexStoreError` saying what to do unless a Chroma server answers at ``url``."""
        with _translated(url):
            _client(url).heartbeat()

    @staticmethod
    def drop(url: str, name: str) -> None:
        """Delete a collection; best effort (an unreachable server or a missing collection is not an error)."""
        with contextlib.suppress(Exception):
            _client(url).delete_collection(name)

    def __len__(self) -> int:
        return len(self.ids)

    def _row(self, node_id: str) -> int:
        if self._rows is None:
            self._rows = {node_id: row for row, node_id in enumerate(self.ids)}
        return self._rows[node_id]

    def search(self, query: np.ndarray, k: int) -> tuple[list[int], list[float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        with _translated(self.url):
            found = self._store.query(VectorStoreQuery(query_embedding=query.tolist(), similarity_top_k=k))
        # The integration reports exp(-distance); in cosine space the distance is 1 - cosine.
        cosines = [1.0 + math.log(s) if s > 0 else -1.0 for s in found.similarities or []]
        return [self._row(i) for i in found.ids or []], cosines

    def vectors(self, rows: Sequence[int]) -> np.ndarray:
        ids = [self.ids[r] for r in rows]
        out: dict[str, Any] = {}
        with _translated(self.url):
            for start in range(0, len(ids), CHROMA_BATCH):
                got = self._store.client.get(ids=ids[start : start + CHROMA_BATCH], include=["embeddings"])
                out.update(zip(got["ids"], got["embeddings"], strict=True))
        dim = len(next(iter(out.values()))) if out else 0
        return np.array([out[i] for i in ids], dtype=np.float32).reshape(len(ids), dim)


class StoreMissing(IndexStoreError):
    """A saved index's vectors are no longer where it left them (e.g. a new, empty Chroma server)."""


class StoreUnavailable(IndexStoreError):
    """The vector store's server does not answer; the message names it and how to start one."""


def _client(url: str) -> Any:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")  # nothing leaves the machine
    import chromadb
    from chromadb.config import Settings

    parsed = _host_port(url)
    if parsed is None:
        raise IndexStoreError(f"Chroma URL {url!r}: use http://host:port, e.g. http://localhost:8000")
    host, port, tls = parsed
    return chromadb.HttpClient(host=host, port=port, ssl=tls, settings=Settings(anonymized_telemetry=False))


def _llama_store(collection: Any) -> Any:
    from llama_index.vector_stores.chroma import ChromaVectorStore

    return ChromaVectorStore(chroma_collection=collection)


@contextlib.contextmanager
def _translated(url: str) -> Iterator[None]:
    """Chroma's and httpx's errors, once, as a sentence a person can act on."""
    try:
        yield
    except IndexStoreError:
        raise
    except ImportError as err:
        raise IndexStoreError(
            f"the chroma vector store needs the chromadb package ({err}): install it with "
            "`.venv/bin/pip install -e '.[chroma]'`"
        ) from err
    except Exception as err:
        text = str(err) or type(err).__name__
        if "connect" in text.lower() or type(err).__name__ in ("ConnectError", "ConnectTimeout", "ReadTimeout"):
            raise StoreUnavailable(
                f"cannot reach the Chroma server at {url}: start one with `chroma run --path <folder> --port "
                f"{(_host_port(url) or ('', 8000, False))[1]}`, or switch the workspace back to the embedded "
                "store (`python -m playground store --workspace <name> --embedded`)"
            ) from err
        raise IndexStoreError(f"the Chroma server at {url} refused the request: {text}") from err


__all__ = [
    "STORE_KINDS",
    "ChromaStore",
    "MatrixStore",
    "StoreMissing",
    "StoreUnavailable",
    "VectorStore",
    "VectorStoreSettings",
    "collection_name",
    "set_workspace_vector_store",
    "top_rows",
    "unit_rows",
    "workspace_vector_store",
]
