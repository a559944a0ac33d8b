"""Build, load and update a workspace's index; retrieve with embeddings + BM25 fused by reciprocal rank.

Layout under ``PLAYGROUND_HOME``::

    workspaces/<workspace>/indexes/<key>/   one saved index (LlamaIndex storage + manifest.json)
    workspaces/<workspace>/latest.json      the key of the index built or loaded last

``key`` hashes the documents' contents, the chunk settings and the embedding
model, so the same inputs load instead of rebuilding. A changed document set
starts from the latest index: chunks of unchanged files keep their embeddings and
only new files are embedded. Saves are atomic: an index is written to a temporary
folder and renamed into place, then ``latest.json`` is replaced, so a crash
mid-save leaves the previous index loadable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core import StorageContext, VectorStoreIndex, load_index_from_storage
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import QueryBundle, TextNode
from llama_index.core.storage.storage_context import (
    DOCSTORE_FNAME,
    GRAPH_STORE_FNAME,
    INDEX_STORE_FNAME,
    NAMESPACE_SEP,
    VECTOR_STORE_FNAME,
)
from llama_index.core.vector_stores import SimpleVectorStore

from playground.config import ChunkSettings, Progress, RetrievalSettings, no_progress
from playground.documents import LoadedFile, chunk
from playground.errors import IndexStoreError
from playground.storage import replace_dir, write_atomic
from playground.workspace import workspace_dir

FORMAT_VERSION = 1  # bump when the saved layout changes, so old saves are rebuilt, not misread
KEEP_VERSIONS = 5  # older saved versions of a workspace's index are pruned
EMBED_BATCH = 256  # texts per progress step; the model batches 64 within it, sorted by length


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk. ``score`` is the fused rank score in 0..1 (1 = first in every ranking)."""

    node_id: str
    file_name: str
    page: int | None
    score: float
    text: str
    rank: int
    similarity: float | None = None  # cosine similarity of chunk and question embeddings
    bm25: float | None = None  # raw BM25 score, when BM25 ranked it
    start_char: int | None = None
    end_char: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class IndexStats:
    files: int
    chunks: int
    embed_model: str
    chunk_settings: dict[str, int]
    status: str  # "loaded" (cache hit), "built" (from scratch) or "updated" (from the previous index)
    embedded: int  # chunks embedded by this call; 0 on a cache hit
    reused: int  # chunks whose embeddings came from the previous index
    seconds: float  # this call: a build, an update or a load
    build_s: float | None = None  # how long building (or updating) took when it was built


@dataclass
class PlaygroundIndex:
    """A loaded index: the LlamaIndex ``VectorStoreIndex`` plus a BM25 retriever over the same chunks."""

    key: str
    path: Path
    workspace: str
    vector_index: VectorStoreIndex
    nodes: list[TextNode]
    files: dict[str, str]  # file name -> sha256 of its bytes
    stats: IndexStats
    embed_model: BaseEmbedding
    _bm25: Any = field(default=None, repr=False)

    def _bm25_retriever(self) -> Any:
        if self._bm25 is None:
            import Stemmer  # PyStemmer, a dependency of the BM25 retriever
            from llama_index.retrievers.bm25 import BM25Retriever

            # Built from the saved chunks on first use: milliseconds for thousands of chunks.
            self._bm25 = BM25Retriever.from_defaults(
                nodes=self.nodes,
                similarity_top_k=min(len(self.nodes), 100),
                stemmer=Stemmer.Stemmer("english"),
                language="english",
            )
        return self._bm25

    def retrieve(self, question: str, settings: RetrievalSettings | None = None) -> list[Hit]:
        """The ``top_k`` chunks for ``question``, best first, fused from the rankings ``settings.mode`` names."""
        settings = settings or RetrievalSettings()
        if not question.strip():
            return []
        pool = min(len(self.nodes), max(4 * settings.top_k, 20))  # candidates per ranking before fusion
        query = QueryBundle(query_str=question, embedding=self.embed_model.get_query_embedding(question))
        rankings: list[list[str]] = []
        similarity: dict[str, float] = {}
        bm25: dict[str, float] = {}
        if settings.mode in ("hybrid", "vector"):
            dense = self.vector_index.as_retriever(similarity_top_k=pool).retrieve(query)
            rankings.append([h.node.node_id for h in dense])
            similarity.update({h.node.node_id: float(h.score or 0.0) for h in dense})
        if settings.mode in ("hybrid", "bm25"):
            sparse = [h for h in self._bm25_retriever().retrieve(question) if (h.score or 0) > 0][:pool]
            rankings.append([h.node.node_id for h in sparse])
            bm25.update({h.node.node_id: float(h.score or 0.0) for h in sparse})
        fused = reciprocal_rank_fusion(rankings, k=settings.rrf_k)
        by_id = {n.node_id: n for n in self.nodes}
        query_vector = query.embedding or []
        hits: list[Hit] = []
        for node_id, score in fused:
            if node_id not in similarity:  # ranked by BM25 only: its cosine still decides the cutoff
                similarity[node_id] = cosine(query_vector, self.embedding(node_id))
            if similarity[node_id] < settings.similarity_cutoff:
                continue
            node = by_id[node_id]
            meta = node.metadata
            hits.append(
                Hit(
                    node_id=node_id,
                    file_name=str(meta.get("file_name", "")),
                    page=meta.get("page"),
                    score=round(score, 4),
                    text=node.get_content(),
                    rank=len(hits) + 1,
                    similarity=round(similarity[node_id], 4),
                    bm25=round(bm25[node_id], 4) if node_id in bm25 else None,
                    start_char=meta.get("start_char"),
                    end_char=meta.get("end_char"),
                )
            )
            if len(hits) == settings.top_k:
                break
        return hits

    def embedding(self, node_id: str) -> list[float]:
        """A chunk's stored embedding."""
        store = self.vector_index.vector_store
        assert isinstance(store, SimpleVectorStore)  # the only store this project persists
        return list(store.get(node_id))


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 60) -> list[tuple[str, float]]:
    """Fuse rankings: each item scores ``sum(1 / (k + rank))``, normalised so 1.0 means first everywhere.

    Written here rather than taken from LlamaIndex's ``QueryFusionRetriever``: that one fixes ``k`` at 60
    (``RetrievalSettings.rrf_k`` would do nothing), counts ranks from 0, merges chunks by text hash (two
    identical chunks of different files become one), replaces each ranking's own score (the cosine the
    cutoff needs, the BM25 score a source shows) and, given no LLM, reads LlamaIndex's process-wide
    ``Settings.llm``, which this project never touches.

    >>> reciprocal_rank_fusion([["a", "b", "c"], ["b", "a"]], k=1)
    [('a', 0.8333), ('b', 0.8333), ('c', 0.25)]
    >>> reciprocal_rank_fusion([["x", "y"]], k=60)
    [('x', 1.0), ('y', 0.9839)]
    >>> reciprocal_rank_fusion([])
    []
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    best = len(rankings) / (k + 1) if rankings else 1.0
    fused = sorted(scores.items(), key=lambda kv: -kv[1])  # stable: ties keep first-seen order
    return [(item, round(score / best, 4)) for item, score in fused]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity; 0.0 when either vector is zero.

    >>> round(cosine([1.0, 0.0], [1.0, 1.0]), 4)
    0.7071
    >>> cosine([0.0, 0.0], [1.0, 0.0])
    0.0
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norm = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(x @ y) / norm if norm else 0.0


def index_key(files: dict[str, str], chunk_settings: ChunkSettings, embed_model_name: str) -> str:
    """Content hash of everything an index depends on; file order does not matter.

    >>> a = index_key({"a.md": "1", "b.md": "2"}, ChunkSettings(), "m")
    >>> a == index_key({"b.md": "2", "a.md": "1"}, ChunkSettings(), "m")
    True
    >>> a == index_key({"a.md": "1"}, ChunkSettings(), "m")
    False
    """
    payload = {
        "format": FORMAT_VERSION,
        "files": sorted(files.items()),
        "chunk": chunk_settings.as_dict(),
        "embed": embed_model_name,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def build_index(
    files: Sequence[LoadedFile],
    *,
    embed_model: BaseEmbedding,
    chunk_settings: ChunkSettings | None = None,
    workspace: str = "default",
    progress: Progress = no_progress,
) -> PlaygroundIndex:
    """Load the index for these files if it was saved before, else build it (reusing what it can) and save it."""
    chunk_settings = chunk_settings or ChunkSettings()
    started = time.perf_counter()
    # By name, the last one wins: uploading a corrected file again replaces the earlier one.
    good = list({f.file_name: f for f in files if f.ok}.values())
    if not good:
        reasons = "; ".join(f"{f.file_name}: {f.error}" for f in files) or "no files were given"
        raise IndexStoreError(f"no readable documents to index ({reasons})")
    file_shas = {f.file_name: f.sha256 for f in good}
    key = index_key(file_shas, chunk_settings, embed_model.model_name)
    ws = workspace_dir(workspace)
    target = ws / "indexes" / key
    if (target / "manifest.json").exists():
        progress(0.5, "Loading the saved index")
        loaded = _load(target, workspace, embed_model, status="loaded", started=started)
        _set_latest(ws, key)
        progress(1.0, f"Loaded {loaded.stats.chunks} chunks from the saved index")
        return loaded

    previous = _reusable_previous(ws, chunk_settings, embed_model)
    reused: list[TextNode] = []
    todo = good
    if previous is not None:
        unchanged = {name for name, sha in file_shas.items() if previous.files.get(name) == sha}
        for node in previous.nodes:
            if node.metadata.get("file_name") in unchanged:
                node.embedding = previous.embedding(node.node_id)
                reused.append(node)
        todo = [f for f in good if f.file_name not in unchanged]

    progress(0.02, f"Chunking {len(todo)} file(s)")
    new_nodes = chunk(todo, chunk_settings)
    for start in range(0, len(new_nodes), EMBED_BATCH):
        batch = new_nodes[start : start + EMBED_BATCH]
        vectors = embed_model.get_text_embedding_batch([n.get_content(metadata_mode="embed") for n in batch])  # type: ignore[arg-type]
        for node, vector in zip(batch, vectors, strict=True):
            node.embedding = vector
        done = start + len(batch)
        progress(0.05 + 0.85 * done / max(len(new_nodes), 1), f"Embedded {done}/{len(new_nodes)} chunks")

    nodes = reused + new_nodes
    if not nodes:
        raise IndexStoreError("the documents produced no text chunks: check that they contain text")
    storage = StorageContext.from_defaults()
    # Every node already has its embedding, so this only stores them (no model call).
    vector_index = VectorStoreIndex(nodes=nodes, storage_context=storage, embed_model=embed_model)
    stats = IndexStats(
        files=len(good),
        chunks=len(nodes),
        embed_model=embed_model.model_name,
        chunk_settings=dict(chunk_settings.as_dict()),
        status="updated" if reused else "built",
        embedded=len(new_nodes),
        reused=len(reused),
        seconds=round(time.perf_counter() - started, 3),
    )
    stats.build_s = stats.seconds
    progress(0.93, "Saving the index")
    _save(target, storage, {"files": file_shas, "stats": asdict(stats), "format": FORMAT_VERSION})
    _set_latest(ws, key)
    _prune(ws / "indexes", keep=key)
    progress(1.0, f"Indexed {len(nodes)} chunks ({len(new_nodes)} embedded, {len(reused)} reused)")
    for node in nodes:
        node.embedding = None  # the vector store holds them; keep one copy in memory
    return PlaygroundIndex(key, target, workspace, vector_index, nodes, file_shas, stats, embed_model)


def index_state(
    workspace: str, files: Sequence[LoadedFile], chunk_settings: ChunkSettings, embed_model_name: str
) -> str:
    """``"current"`` (an index of exactly these documents is saved), ``"stale"`` (one of other
    documents or settings is) or ``"none"``; cheap: nothing is loaded."""
    good = {f.file_name: f.sha256 for f in files if f.ok}
    indexes = workspace_dir(workspace) / "indexes"
    key = index_key(good, chunk_settings, embed_model_name) if good else ""
    if key and (indexes / key / "manifest.json").is_file():
        return "current"
    return "stale" if indexes.is_dir() and any(indexes.glob("*/manifest.json")) else "none"


def load_latest(workspace: str, embed_model: BaseEmbedding) -> PlaygroundIndex | None:
    """The index this workspace built or loaded last, or None if it has none (or it was made by another model)."""
    ws = workspace_dir(workspace)
    key = _latest_key(ws)
    if key is None or not (ws / "indexes" / key / "manifest.json").exists():
        return None
    index = _load(ws / "indexes" / key, workspace, embed_model, status="loaded", started=time.perf_counter())
    return index if index.stats.embed_model == embed_model.model_name else None


def _load(path: Path, workspace: str, embed_model: BaseEmbedding, *, status: str, started: float) -> PlaygroundIndex:
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        storage = StorageContext.from_defaults(persist_dir=str(path))
        vector_index = load_index_from_storage(storage, embed_model=embed_model)
    except Exception as err:  # a damaged save must say so, not surface as a KeyError deep in LlamaIndex
        raise IndexStoreError(
            f"the saved index at {path} cannot be read ({err}); delete that folder to rebuild"
        ) from err
    assert isinstance(vector_index, VectorStoreIndex)
    nodes = [n for n in vector_index.docstore.docs.values() if isinstance(n, TextNode)]
    nodes.sort(key=lambda n: n.node_id)  # docstore order is insertion order; make BM25 input stable
    built = manifest["stats"]
    stats = IndexStats(**{**built, "status": status, "embedded": 0, "reused": len(nodes)})
    stats.build_s = built.get("build_s") or built["seconds"]
    stats.seconds = round(time.perf_counter() - started, 3)
    return PlaygroundIndex(path.name, path, workspace, vector_index, nodes, manifest["files"], stats, embed_model)


def _save(target: Path, storage: StorageContext, manifest: dict[str, Any]) -> None:
    """Write the index to a temporary sibling folder, then rename it into place in one step."""

    def fill(tmp: Path) -> None:
        _persist(storage, tmp)
        # The manifest goes last: a folder without one is never taken for a saved index.
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))

    # A concurrent build of the same inputs may have won; both are identical, so its copy stays.
    replace_dir(target, fill, complete=lambda path: (path / "manifest.json").exists())


def _persist(storage: StorageContext, path: Path) -> None:
    """What ``StorageContext.persist`` writes, under the same names, with each vector store in one write.

    ``SimpleVectorStore.persist`` deep-copies every float (``to_dict``) and streams ``json.dump``
    through an fsspec wrapper in ~100k small writes: 0.5 s for 70 vectors, a quarter of a build.
    """
    storage.docstore.persist(str(path / DOCSTORE_FNAME))
    storage.index_store.persist(str(path / INDEX_STORE_FNAME))
    storage.graph_store.persist(str(path / GRAPH_STORE_FNAME))
    for name, store in storage.vector_stores.items():
        assert isinstance(store, SimpleVectorStore)  # the only store this project persists
        data = {f.name: getattr(store.data, f.name) for f in dataclasses.fields(store.data)}
        (path / f"{name}{NAMESPACE_SEP}{VECTOR_STORE_FNAME}").write_text(json.dumps(data))


def _set_latest(ws: Path, key: str) -> None:
    write_atomic(ws / "latest.json", json.dumps({"key": key}))


def _latest_key(ws: Path) -> str | None:
    try:
        key = json.loads((ws / "latest.json").read_text())["key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return key if isinstance(key, str) else None


def _reusable_previous(ws: Path, chunk_settings: ChunkSettings, embed_model: BaseEmbedding) -> PlaygroundIndex | None:
    key = _latest_key(ws)
    path = ws / "indexes" / str(key)
    if key is None or not (path / "manifest.json").exists():
        return None
    try:
        previous = _load(path, ws.name, embed_model, status="loaded", started=time.perf_counter())
    except IndexStoreError:
        return None  # a damaged previous index is simply not reused
    same = (
        previous.stats.embed_model == embed_model.model_name
        and previous.stats.chunk_settings == chunk_settings.as_dict()
    )
    return previous if same else None


def _prune(indexes: Path, keep: str) -> None:
    """Keep the newest saved versions; drop temporary folders that a crashed save left an hour or more ago."""
    now = time.time()
    saved = sorted((p for p in indexes.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    debris = [p for p in saved if p.name.startswith(".tmp-") and now - p.stat().st_mtime > 3600]
    for stale in debris + [p for p in saved if not p.name.startswith(".")][KEEP_VERSIONS:]:
        if stale.name != keep:
            shutil.rmtree(stale, ignore_errors=True)


__all__ = [
    "Hit",
    "IndexStats",
    "PlaygroundIndex",
    "build_index",
    "index_key",
    "index_state",
    "load_latest",
    "reciprocal_rank_fusion",
]
