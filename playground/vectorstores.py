"""Where an index keeps its chunk embeddings: a float32 matrix in the index folder (the default), or a vector
database through its LlamaIndex integration.

Every store answers the questions retrieval asks, by row number (the order of the index's saved chunks): the
rows nearest a question's embedding, with their cosine similarity, and the cosine of some given rows (a chunk
that only BM25 ranked still needs its cosine for the cutoff); an update also asks for stored vectors, so
unchanged files are not embedded again.

- :class:`MatrixStore` (``embedded``): ``vectors.npy`` beside the saved chunks, unit rows, opened
  memory-mapped, so loading costs nothing whatever the size, and searched exactly with one matrix-vector
  product.
- :class:`ServerStore`: any LlamaIndex vector store (``BasePydanticVectorStore``: ``add``, ``query`` with a
  ``VectorStoreQuery``, ``get_nodes``) behind one adapter. An :class:`Engine` says the little that differs
  between integrations: how to open a collection, what its similarity means, how to drop a collection, and the
  index and search settings that keep approximate search near exact (``python -m bench --scale`` measures
  them). Each saved version of an index is one collection, so an older version stays loadable and a failed
  build never damages the current one; BM25, fusion and the chunks' text stay in the index folder.

A workspace chooses its store in ``vector_store.json`` in its folder (:func:`set_workspace_vector_store`, or
``python -m playground store``); without one it uses ``PLAYGROUND_VECTOR_STORE`` (a server's own setting, e.g.
``milvus http://db:19530``), else the embedded store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shlex
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import numpy as np
from llama_index.core.schema import TextNode

from playground.config import _Config, _help, _require
from playground.errors import ConfigError, IndexStoreError
from playground.storage import write_atomic
from playground.workspace import workspace_dir

VECTORS_FILE = "vectors.npy"
SETTING_FILE = "vector_store.json"  # in the workspace's folder
SERVER_ENV = "PLAYGROUND_VECTOR_STORE"  # a server's default store, for workspaces without their own setting
ADD_BATCH = 1000  # nodes per request: well under a server's maximum batch (5461 for Chroma 1.5)
INDEX_WAIT_S = 600.0  # a build waits this long at most for the engine's index of what it added
CONNECT_TIMEOUT_S = 5.0  # a database host behind a firewall drops packets: a build must not hang on it


# -- the engines ----------------------------------------------------------------------------------------------
class Engine:
    """What one LlamaIndex vector-store integration needs beyond the shared interface. One instance per kind."""

    kind: ClassVar[str]
    title: ClassVar[str]
    extra: ClassVar[str]  # the optional extra that installs it: pip install -e '.[<extra>]'
    url_example: ClassVar[str]
    start: ClassVar[str]  # how to start one to try it, for the message when none answers ({port}: the URL's)
    # Index and search settings, in the integration's own names, chosen to keep a question's top 20 near the exact
    # top 20 (the goal: 0.95 at 100k chunks) at a bounded cost; python -m bench --scale prints both, beside them.
    tuned: ClassVar[dict[str, Any]] = {}

    def valid_url(self, url: str) -> bool:
        return _host_port(url) is not None

    def name(self, raw: str) -> str:
        """A collection name the engine accepts, from ``prefix-workspace-home-key``."""
        return raw

    def store_id(self, node_id: str) -> str:
        """The id a node is stored under (an engine may accept only some ids)."""
        return node_id

    def open(self, settings: VectorStoreSettings, name: str, dim: int, create: bool) -> Any:
        """The integration's vector store on collection ``name``; :class:`StoreMissing` when ``create`` is false
        and it does not exist. ``create`` replaces one left by an interrupted build."""
        raise NotImplementedError

    def count(self, store: Any, name: str) -> int | None:
        """How many vectors the collection holds; None when the engine cannot say cheaply."""
        return None

    def settle(self, store: Any, name: str) -> None:
        """After the last add: wait until the collection is searchable as configured (an index built in the
        background would answer the first questions another way, and slower)."""

    def drop(self, settings: VectorStoreSettings, name: str) -> None:
        raise NotImplementedError

    def ping(self, settings: VectorStoreSettings) -> None:
        """Raise unless the engine answers at ``settings.url``."""
        raise NotImplementedError

    def cosine(self, similarity: float) -> float | None:
        """The cosine the integration's similarity stands for; None: not known, ask for the stored vectors."""
        return similarity

    def query_kwargs(self) -> dict[str, Any]:
        return {}

    def fetch(self, store: Any, ids: list[str]) -> dict[str, list[float]]:
        """Stored vectors by stored id: ``get_nodes`` with their embeddings, where the integration returns them."""
        return {n.node_id: n.embedding for n in store.get_nodes(node_ids=ids) if n.embedding is not None}


def _key(settings: VectorStoreSettings) -> str | None:
    """The key or token from the environment variable the settings name (the key itself is never saved)."""
    if not settings.key_env:
        return None
    value = os.environ.get(settings.key_env, "").strip()
    if not value:
        raise IndexStoreError(f"the {settings.kind} store wants its key in ${settings.key_env}, which is not set")
    return value


class Chroma(Engine):
    kind, title, extra = "chroma", "Chroma server", "chroma"
    url_example = "http://localhost:8000"
    start = "`chroma run --path <folder> --port {port}`"
    # HNSW in cosine space, its only index. Its defaults (16 neighbours, a search list of 100) held 0.55 of the exact
    # top 20 at 100k on the bench's corpus (nearest neighbours all but tied: a graph's hardest case). 32 neighbours and
    # a list of 2000 held 0.90; a list of 8000 on that graph 0.93. A denser graph is what lifts the ceiling: with 64
    # neighbours a list of 12000 holds 0.96 (16000: 0.97 at a third more time), about 17 ms a search more than a
    # list of 2000 on this 2-core machine: python -m bench --scale.
    tuned: ClassVar[dict[str, Any]] = {"max_neighbors": 64, "ef_construction": 400, "ef_search": 12000}

    def _client(self, settings: VectorStoreSettings) -> Any:
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")  # nothing leaves the machine
        import chromadb
        from chromadb.config import Settings

        host, port, tls = _host_port(settings.url) or ("", 0, False)
        key = _key(settings)
        headers = {"Authorization": f"Bearer {key}"} if key else None
        return chromadb.HttpClient(
            host=host, port=port, ssl=tls, headers=headers, settings=Settings(anonymized_telemetry=False)
        )

    def open(self, settings: VectorStoreSettings, name: str, dim: int, create: bool) -> Any:
        from chromadb.errors import NotFoundError
        from llama_index.vector_stores.chroma import ChromaVectorStore

        client = self._client(settings)
        if create:
            with contextlib.suppress(Exception):  # absent: nothing to replace
                client.delete_collection(name)
            collection = client.create_collection(name, configuration={"hnsw": {"space": "cosine", **self.tuned}})
        else:
            try:
                collection = client.get_collection(name)
            except NotFoundError:
                raise StoreMissing(f"the Chroma server at {settings.url} has no collection {name}") from None
        return ChromaVectorStore(chroma_collection=collection)

    def count(self, store: Any, name: str) -> int | None:
        return int(store._collection.count())

    def drop(self, settings: VectorStoreSettings, name: str) -> None:
        self._client(settings).delete_collection(name)

    def ping(self, settings: VectorStoreSettings) -> None:
        self._client(settings).heartbeat()

    def cosine(self, similarity: float) -> float | None:
        # The integration reports exp(-distance); in cosine space the distance is 1 - cosine.
        return 1.0 + math.log(similarity) if similarity > 0 else -1.0

    def fetch(self, store: Any, ids: list[str]) -> dict[str, list[float]]:
        got = store.client.get(ids=ids, include=["embeddings"])
        return dict(zip(got["ids"], [list(v) for v in got["embeddings"]], strict=True))


class Milvus(Engine):
    kind, title, extra = "milvus", "Milvus", "milvus"
    url_example = "http://localhost:19530, or a file such as ./vectors.db for Milvus Lite"
    start = "Milvus's `standalone_embed.sh start`, or give a file for Milvus Lite: `--url ./vectors.db`"
    # Milvus's own default is FLAT (exact, every vector read). IVF_FLAT clusters the vectors (nlist) and reads the
    # clusters nearest a question (nprobe): 0.99 of the exact top 20 at 100k on the bench's corpus (nprobe 32: 0.95,
    # 16: 0.89). Milvus Lite's search time grows with the collection whatever nprobe is: python -m bench --scale.
    tuned: ClassVar[dict[str, Any]] = {"index_type": "IVF_FLAT", "nlist": 1024, "nprobe": 64}

    def valid_url(self, url: str) -> bool:
        """A Milvus server, or a Milvus Lite file (``*.db``).

        >>> Milvus().valid_url("http://db:19530"), Milvus().valid_url("./v.db"), Milvus().valid_url("db:19530")
        (True, True, False)
        """
        return _host_port(url) is not None or url.strip().endswith(".db")

    def name(self, raw: str) -> str:
        """Letters, digits and underscores, starting with a letter.

        >>> Milvus().name("playground-my-docs-0a1b")
        'playground_my_docs_0a1b'
        """
        cleaned = re.sub(r"[^A-Za-z0-9_]", "_", raw)
        return cleaned if cleaned[:1].isalpha() else f"c_{cleaned}"

    def _uri(self, settings: VectorStoreSettings) -> str:
        url = settings.url.strip()
        if _host_port(url) is None:  # Milvus Lite: a local file (made absolute by the settings), one folder per file
            path = Path(url)
            path.parent.mkdir(parents=True, exist_ok=True)
            return str(path)
        return url

    def _client(self, settings: VectorStoreSettings) -> Any:
        from pymilvus import MilvusClient

        return MilvusClient(uri=self._uri(settings), token=_key(settings) or "", timeout=CONNECT_TIMEOUT_S)

    def open(self, settings: VectorStoreSettings, name: str, dim: int, create: bool) -> Any:
        from llama_index.vector_stores.milvus import MilvusVectorStore

        client = self._client(settings)
        if not create and not client.has_collection(name):
            raise StoreMissing(f"Milvus at {settings.url} has no collection {name}")
        index = {k: v for k, v in self.tuned.items() if k != "nprobe"}  # none: the integration's FLAT, exact
        store = MilvusVectorStore(
            uri=self._uri(settings),
            token=_key(settings) or "",
            collection_name=name,
            dim=dim,
            overwrite=create,
            similarity_metric="COSINE",
            index_config=index,
            search_config={"nprobe": self.tuned["nprobe"]} if "nprobe" in self.tuned else None,
            use_async_client=False,
        )
        store.client.load_collection(name)  # a restarted Milvus Lite keeps collections released until loaded
        return store

    def count(self, store: Any, name: str) -> int | None:
        rows = store.client.query(name, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def settle(self, store: Any, name: str) -> None:
        # Milvus indexes sealed segments in the background; until then it searches them exhaustively.
        store.client.flush(name)
        waited = time.monotonic()
        while time.monotonic() - waited < INDEX_WAIT_S:
            described = store.client.describe_index(name, store.embedding_field)
            if not described.get("pending_index_rows") and described.get("indexed_rows") == described.get("total_rows"):
                return
            time.sleep(0.5)

    def drop(self, settings: VectorStoreSettings, name: str) -> None:
        self._client(settings).drop_collection(name)

    def ping(self, settings: VectorStoreSettings) -> None:
        self._client(settings).list_collections()

    def fetch(self, store: Any, ids: list[str]) -> dict[str, list[float]]:
        rows = store.client.get(store.collection_name, ids=ids, output_fields=[store.embedding_field])
        return {str(r["id"]): list(r[store.embedding_field]) for r in rows}


class Qdrant(Engine):
    kind, title, extra = "qdrant", "Qdrant", "qdrant"
    url_example = "http://localhost:6333"
    start = "`docker run -p 6333:6333 qdrant/qdrant`"
    tuned: ClassVar[dict[str, Any]] = {"m": 32, "ef_construct": 400, "hnsw_ef": 400}

    def store_id(self, node_id: str) -> str:
        """Qdrant takes UUIDs or integers as point ids: a UUID made from the node id, the same every time.

        >>> Qdrant().store_id("doc:c0") == Qdrant().store_id("doc:c0") != Qdrant().store_id("doc:c1")
        True
        """
        return str(uuid.uuid5(uuid.NAMESPACE_URL, node_id))

    def _client(self, settings: VectorStoreSettings) -> Any:
        from qdrant_client import QdrantClient

        return QdrantClient(url=settings.url, api_key=_key(settings), timeout=int(CONNECT_TIMEOUT_S))

    def open(self, settings: VectorStoreSettings, name: str, dim: int, create: bool) -> Any:
        from llama_index.vector_stores.qdrant import QdrantVectorStore
        from qdrant_client.http import models as rest

        client = self._client(settings)
        if create:
            with contextlib.suppress(Exception):
                client.delete_collection(name)
        elif not client.collection_exists(name):
            raise StoreMissing(f"Qdrant at {settings.url} has no collection {name}")
        hnsw = rest.HnswConfigDiff(m=self.tuned.get("m"), ef_construct=self.tuned.get("ef_construct"))
        dense = rest.VectorParams(size=dim, distance=rest.Distance.COSINE, hnsw_config=hnsw)
        return QdrantVectorStore(collection_name=name, client=client, dense_config=dense)

    def count(self, store: Any, name: str) -> int | None:
        return int(store.client.count(name, exact=True).count)

    def drop(self, settings: VectorStoreSettings, name: str) -> None:
        self._client(settings).delete_collection(name)

    def ping(self, settings: VectorStoreSettings) -> None:
        self._client(settings).get_collections()

    def query_kwargs(self) -> dict[str, Any]:
        return {"search_params": {"hnsw_ef": self.tuned["hnsw_ef"]}} if "hnsw_ef" in self.tuned else {}


ENGINES: dict[str, Engine] = {e.kind: e for e in (Chroma(), Milvus(), Qdrant())}
STORE_KINDS = ("embedded", *ENGINES)


@dataclass(frozen=True)
class VectorStoreSettings(_Config):
    kind: str = _help(
        "Where chunk embeddings live: embedded (a file in the index folder), or a vector database through its "
        f"LlamaIndex integration: {', '.join(ENGINES)}.",
        "embedded",
    )
    url: str = _help("The database's URL, e.g. http://localhost:8000 (Chroma) or http://localhost:19530 (Milvus).", "")
    prefix: str = _help("What the names of this workspace's collections start with.", "playground")
    key_env: str = _help("The environment variable holding the database's API key or token (none: no key).", "")

    def __post_init__(self) -> None:
        _require(self.kind in STORE_KINDS, "VectorStoreSettings", "kind", self.kind, f"must be one of {STORE_KINDS}")
        _require(
            re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,39}", self.prefix) is not None,
            "VectorStoreSettings",
            "prefix",
            self.prefix,
            "must be a letter then up to 39 letters, digits, - or _",
        )
        _require(
            self.key_env == "" or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.key_env) is not None,
            "VectorStoreSettings",
            "key_env",
            self.key_env,
            "must be the name of an environment variable, e.g. MILVUS_TOKEN",
        )
        if self.kind in ENGINES:
            engine = ENGINES[self.kind]
            _require(engine.valid_url(self.url), "VectorStoreSettings", "url", self.url, f"e.g. {engine.url_example}")
            if _host_port(self.url) is None:  # a local file (Milvus Lite): the same one from any working folder
                object.__setattr__(self, "url", str(Path(self.url.strip()).expanduser().resolve()))

    @property
    def engine(self) -> Engine | None:
        return ENGINES.get(self.kind)

    def describe(self) -> str:
        """
        >>> VectorStoreSettings().describe()
        'embedded'
        >>> VectorStoreSettings("chroma", "http://db:8000").describe()
        'chroma at http://db:8000'
        """
        return "embedded" if self.kind == "embedded" else f"{self.kind} at {self.url}"


def parse_store(text: str) -> VectorStoreSettings:
    """A store written on one line, as ``PLAYGROUND_VECTOR_STORE`` holds it: ``KIND [URL] [key=value…]``.

    >>> parse_store("milvus http://db:19530 prefix=team key_env=MILVUS_TOKEN")
    VectorStoreSettings(kind='milvus', url='http://db:19530', prefix='team', key_env='MILVUS_TOKEN')
    >>> parse_store("embedded") == VectorStoreSettings()
    True
    """
    words = shlex.split(text)
    if not words:
        return VectorStoreSettings()
    fields: dict[str, str] = {"kind": words[0]}
    for word in words[1:]:
        name, eq, value = word.partition("=")
        if eq and name in ("prefix", "key_env", "url"):
            fields[name] = value
        else:
            fields["url"] = word
    return VectorStoreSettings(**fields)


def server_vector_store() -> VectorStoreSettings:
    """``PLAYGROUND_VECTOR_STORE``: the store of every workspace that names none (the embedded store if unset)."""
    raw = os.environ.get(SERVER_ENV, "").strip()
    try:
        return parse_store(raw)
    except (ConfigError, ValueError) as err:
        raise ConfigError(f"{SERVER_ENV}={raw!r}: {err}; e.g. 'milvus http://db:19530'") from err


def workspace_vector_store(workspace: str) -> VectorStoreSettings:
    """Where ``workspace``'s index keeps its vectors: its own setting, else the server's, else the embedded store."""
    path = workspace_dir(workspace) / SETTING_FILE
    if not path.is_file():
        return server_vector_store()
    try:
        return VectorStoreSettings(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as err:
        raise IndexStoreError(f"{path} cannot be read ({err}): fix it, or delete it to use the embedded store") from err


def set_workspace_vector_store(workspace: str, settings: VectorStoreSettings) -> None:
    """Point ``workspace`` at a store; its next index is built there, reusing the vectors it already has."""
    path = workspace_dir(workspace) / SETTING_FILE
    if settings == server_vector_store():
        path.unlink(missing_ok=True)
    else:
        write_atomic(path, json.dumps(settings.as_dict(), indent=2))


def choose_vector_store(workspace: str, settings: VectorStoreSettings) -> VectorStoreSettings:
    """Point ``workspace`` at ``settings`` once its engine answers (a wrong URL fails now, not at the next
    question); the embedded store needs no check. What the CLI's ``store`` and the Documents page call."""
    if settings.engine is not None:
        ServerStore.check(settings)
    set_workspace_vector_store(workspace, settings)
    return workspace_vector_store(workspace)


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


# -- the stores -----------------------------------------------------------------------------------------------
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
    dim: int

    def search(self, query: np.ndarray, k: int) -> tuple[list[int], list[float]]:
        """The ``k`` rows nearest ``query`` (a unit vector), best first, and their cosine similarities."""
        ...

    def vectors(self, rows: Sequence[int]) -> np.ndarray:
        """The stored (unit) vectors of ``rows``, in that order."""
        ...

    def cosines(self, rows: Sequence[int], query: np.ndarray) -> list[float]:
        """The cosine similarity of each of ``rows`` with ``query``."""
        ...


class MatrixStore:
    """All vectors as one float32 matrix; row ``i`` belongs to the index's chunk ``i``."""

    kind = "embedded"

    def __init__(self, matrix: np.ndarray):
        self.matrix = matrix
        self.dim = int(matrix.shape[1]) if matrix.ndim == 2 else 0

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

    def cosines(self, rows: Sequence[int], query: np.ndarray) -> list[float]:
        return (self.vectors(rows) @ query.astype(np.float32)).astype(float).tolist()


def collection_name(folder: Path, workspace: str, key: str, settings: VectorStoreSettings | None = None) -> str:
    """The collection of one saved index: readable, and distinct for each workspace folder (two
    ``PLAYGROUND_HOME`` sharing a server never prune each other's collections), in the engine's alphabet.

    >>> collection_name(Path("/h/workspaces/docs"), "docs", "0123456789abcdef")[:14]
    'playground-doc'
    >>> len(collection_name(Path("/h"), "w" * 300, "k" * 16)) < 100
    True
    >>> collection_name(Path("/h"), "my-docs", "k" * 16, VectorStoreSettings("milvus", "x.db", "team"))[:13]
    'team_my_docs_'
    """
    settings = settings or VectorStoreSettings()
    home = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:8]
    raw = f"{settings.prefix}-{workspace[:40].strip('-') or 'ws'}-{home}-{key}"
    return settings.engine.name(raw) if settings.engine else raw


class ServerStore:
    """One saved index's vectors in a collection of a vector database, through its LlamaIndex integration."""

    def __init__(self, settings: VectorStoreSettings, name: str, ids: Sequence[str], dim: int, _store: Any = None):
        """Open the collection ``name``; :class:`StoreMissing` says when it is missing or incomplete."""
        assert settings.engine is not None, settings
        self.settings, self.engine, self.name, self.ids, self.dim = settings, settings.engine, name, ids, dim
        self.kind = settings.kind
        self._rows: dict[str, int] | None = None
        with _translated(settings):
            self._store = _store or self.engine.open(settings, name, dim, create=False)
            count = self.engine.count(self._store, name)
        if count is not None and count != len(ids):
            raise StoreMissing(f"the collection {name} in {settings.describe()} holds {count} vectors, not {len(ids)}")

    @classmethod
    def create(
        cls, settings: VectorStoreSettings, name: str, nodes: Sequence[TextNode], matrix: np.ndarray
    ) -> ServerStore:
        """A new collection (replacing any left by an interrupted build) holding ``matrix``'s rows for ``nodes``."""
        engine = settings.engine
        assert engine is not None, settings
        dim = int(matrix.shape[1])
        with _translated(settings):
            store = engine.open(settings, name, dim, create=True)
            for start in range(0, len(nodes), ADD_BATCH):
                end = start + ADD_BATCH
                # A shallow copy carries the embedding: the caller's nodes keep none (one copy in memory).
                batch = [
                    node.model_copy(update={"embedding": row.tolist(), "id_": engine.store_id(node.node_id)})
                    for node, row in zip(nodes[start:end], matrix[start:end], strict=True)
                ]
                store.add(batch)
            engine.settle(store, name)
        return cls(settings, name, [n.node_id for n in nodes], dim, _store=store)

    @staticmethod
    def check(settings: VectorStoreSettings) -> None:
        """Raise an :class:`IndexStoreError` saying what to do unless the store's engine answers."""
        assert settings.engine is not None, settings
        with _translated(settings):
            settings.engine.ping(settings)

    @staticmethod
    def drop(settings: VectorStoreSettings, name: str) -> None:
        """Delete a collection; best effort (an unreachable server or a missing collection is not an error)."""
        if settings.engine is not None:
            with contextlib.suppress(Exception):
                settings.engine.drop(settings, name)

    def __len__(self) -> int:
        return len(self.ids)

    def _row(self, stored_id: str) -> int:
        if self._rows is None:
            self._rows = {self.engine.store_id(node_id): row for row, node_id in enumerate(self.ids)}
        return self._rows[stored_id]

    def search(self, query: np.ndarray, k: int) -> tuple[list[int], list[float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        ask = VectorStoreQuery(query_embedding=query.tolist(), similarity_top_k=k, output_fields=["id"])
        with _translated(self.settings):
            found = self._store.query(ask, **self.engine.query_kwargs())
        rows = [self._row(str(i)) for i in found.ids or []]
        cosines = [self.engine.cosine(s) for s in found.similarities or []]
        if len(cosines) != len(rows) or any(c is None for c in cosines):  # the engine's score is no cosine
            return rows, self.cosines(rows, query)
        return rows, [float(c) for c in cosines if c is not None]

    def vectors(self, rows: Sequence[int]) -> np.ndarray:
        ids = [self.engine.store_id(self.ids[r]) for r in rows]
        out: dict[str, list[float]] = {}
        with _translated(self.settings):
            for start in range(0, len(ids), ADD_BATCH):
                out.update(self.engine.fetch(self._store, ids[start : start + ADD_BATCH]))
        missing = [i for i in ids if i not in out]
        if missing:
            raise StoreMissing(f"{self.settings.describe()} returned no vector for {len(missing)} of {len(ids)} chunks")
        if not ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.array([out[i] for i in ids], dtype=np.float32).reshape(len(ids), -1)

    def cosines(self, rows: Sequence[int], query: np.ndarray) -> list[float]:
        if not rows:
            return []
        return (unit_rows(self.vectors(rows)) @ query.astype(np.float32)).astype(float).tolist()


class StoreMissing(IndexStoreError):
    """A saved index's vectors are no longer where it left them (e.g. a new, empty server)."""


class StoreUnavailable(IndexStoreError):
    """The vector store's server does not answer; the message names it and how to start one."""


UNREACHABLE = ("connect", "unavailable", "refused", "timed out", "timeout", "name or service not known")


@contextlib.contextmanager
def _translated(settings: VectorStoreSettings) -> Iterator[None]:
    """Every integration's errors, once, as a sentence a person can act on."""
    engine = settings.engine
    assert engine is not None, settings
    try:
        yield
    except IndexStoreError:
        raise
    except ImportError as err:
        raise IndexStoreError(
            f"the {engine.kind} vector store needs its LlamaIndex integration ({err}): install it with "
            f"`.venv/bin/pip install -e '.[{engine.extra}]'`"
        ) from err
    except Exception as err:
        text = str(err) or type(err).__name__
        if any(word in text.lower() for word in UNREACHABLE) or type(err).__name__ in (
            "ConnectError",
            "ConnectTimeout",
            "ReadTimeout",
            "ConnectionError",
            "ResponseHandlingException",
        ):
            port = (_host_port(settings.url) or ("", 8000, False))[1]
            raise StoreUnavailable(
                f"cannot reach the {engine.title} at {settings.url}: start one ({engine.start.format(port=port)}), "
                "or switch the workspace back to the embedded store "
                "(`python -m playground store --workspace <name> --embedded`)"
            ) from err
        raise IndexStoreError(f"the {engine.title} at {settings.url} refused the request: {text[:500]}") from err


__all__ = [
    "ENGINES",
    "STORE_KINDS",
    "Engine",
    "MatrixStore",
    "ServerStore",
    "StoreMissing",
    "StoreUnavailable",
    "VectorStore",
    "VectorStoreSettings",
    "choose_vector_store",
    "collection_name",
    "parse_store",
    "server_vector_store",
    "set_workspace_vector_store",
    "top_rows",
    "unit_rows",
    "workspace_vector_store",
]
