"""Build, load and update a workspace's index; retrieve with embeddings + BM25 fused by reciprocal rank.

Layout under ``PLAYGROUND_HOME``::

    workspaces/<workspace>/indexes/<key>/   one saved index (see below)
    workspaces/<workspace>/latest.json      the key of the index built or loaded last

One saved index, its chunks in document order (row ``i`` of every file is chunk ``i``)::

    chunks.jsonl          one LlamaIndex TextNode a line (without its embedding), read one at a time
    chunks.offsets.npy    where each line starts, so a hit's chunk is read without reading the rest
    rows.json             node ids and file of each row: small, read at load
    vectors.npy           float32 unit embeddings, memory-mapped (the embedded store; see vectorstores.py)
    bm25/                 the BM25 index of the same rows (bm25s arrays, memory-mapped)
    manifest.json         files, statistics, format and vector store; written last

Loading reads ``rows.json`` and maps the rest, so it takes milliseconds at 100k chunks instead of
the minutes LlamaIndex's JSON stores took (every float decoded through dataclasses_json).

``key`` hashes the documents' contents, the chunk settings, the embedding model and the kind of
vector store, so the same inputs load instead of rebuilding. A changed document set starts from
the latest index: chunks of unchanged files keep their embeddings and only new files are embedded.
Saves are atomic: an index is written to a temporary folder and renamed into place, then
``latest.json`` is replaced, so a crash mid-save leaves the previous index loadable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import shutil
import threading
import time
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar, overload

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import MetadataMode, TextNode

from playground.config import ChunkSettings, Progress, RetrievalSettings, _Config, _help, _require, no_progress
from playground.documents import LoadedFile, apply_budgets, chunk
from playground.errors import IndexStoreError
from playground.outline import Outline, context_header
from playground.parsing import READER_VERSION
from playground.seed import copy_seed
from playground.storage import replace_dir, write_atomic
from playground.vectorstores import (
    MatrixStore,
    ServerStore,
    StoreMissing,
    StoreUnavailable,
    VectorStore,
    VectorStoreSettings,
    collection_name,
    top_rows,
    unit_rows,
    workspace_vector_store,
)
from playground.workspace import workspace_dir

# Bump when the saved layout or the text a chunk is embedded and searched by changes: an older
# index is then rebuilt (its key no longer matches), never misread.
FORMAT_VERSION = 2
KEEP_VERSIONS = 5  # older saved versions of a workspace's index are pruned
EMBED_BATCH = 256  # texts per progress step; the model batches 64 within it, sorted by length
BM25_DEPTH = 100  # BM25 candidates read before the zero scores are dropped and the pool is cut
CHUNKS_FILE, OFFSETS_FILE, ROWS_FILE, BM25_DIR = "chunks.jsonl", "chunks.offsets.npy", "rows.json", "bm25"

Item = TypeVar("Item", bound=Hashable)


@dataclass(frozen=True)
class SearchRecipe(_Config):
    """How an index makes its chunks findable beyond their bare text; saved with the index and part of its key.

    The defaults are what retrieval measured best with (``python -m bench --retrieval``).
    """

    headers: str = _help(
        "A contextual header each chunk is embedded and BM25-indexed under: its document's title ('title'), "
        "title and section ('section'), or none ('none').",
        "title",  # the title told overlapping documents apart; section paths, shared by them, blurred them
    )
    stem: bool = _help("BM25 matches English word stems (configure, configured, configuring).", True)
    stopwords: bool = _help("BM25 leaves out English stop words (the, of, is) from the chunks.", True)
    query_prefix: str = _help("Text put before a question before it is embedded, for models trained so.", "")
    passage_prefix: str = _help("Text put before a chunk before it is embedded, for models trained so.", "")

    def __post_init__(self) -> None:
        _require(self.headers in HEADERS, "SearchRecipe", "headers", self.headers, f"must be one of {HEADERS}")


HEADERS = ("none", "title", "section")
LEGACY_RECIPE = {"headers": "none"}  # what an index saved before recipes were recorded was made with


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
    vector_store: str = "embedded"  # where the vectors live: "embedded" or "<kind> at <url>", e.g. "milvus at …"


class _Chunks:
    """A saved index's chunks: ids and files in memory, each chunk's JSON read from the mapped file on demand."""

    def __init__(self, folder: Path):
        rows = json.loads((folder / ROWS_FILE).read_text(encoding="utf-8"))
        self.ids: list[str] = rows["ids"]
        self.file_names: list[str] = rows["files"]
        self.file_of = np.asarray(rows["file"], dtype=np.int32)
        self._offsets = np.load(folder / OFFSETS_FILE, mmap_mode="r")
        with open(folder / CHUNKS_FILE, "rb") as fh:  # the mapping outlives the file handle
            self._data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self._rows: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def record(self, row: int) -> dict[str, Any]:
        return json.loads(self._data[int(self._offsets[row]) : int(self._offsets[row + 1])])

    def node(self, row: int) -> TextNode:
        return TextNode.from_dict(self.record(row))

    def row(self, node_id: str) -> int:
        if self._rows is None:
            self._rows = {node_id: row for row, node_id in enumerate(self.ids)}
        return self._rows[node_id]

    @staticmethod
    def save(folder: Path, nodes: Sequence[TextNode], file_names: list[str]) -> None:
        offsets = np.zeros(len(nodes) + 1, dtype=np.int64)
        with open(folder / CHUNKS_FILE, "wb") as out:
            for row, node in enumerate(nodes):
                # Defaults are left out (TextNode.from_dict restores them); the vector store keeps the embedding.
                record = node.model_dump(exclude={"embedding"}, exclude_defaults=True)
                line = json.dumps({**record, "class_name": node.class_name()}, ensure_ascii=False).encode() + b"\n"
                out.write(line)
                offsets[row + 1] = offsets[row] + len(line)
        np.save(folder / OFFSETS_FILE, offsets)
        position = {name: i for i, name in enumerate(file_names)}
        rows = {
            "ids": [n.node_id for n in nodes],
            "files": file_names,
            "file": [position[str(n.metadata.get("file_name", ""))] for n in nodes],
        }
        (folder / ROWS_FILE).write_text(json.dumps(rows), encoding="utf-8")


class _Nodes(Sequence[TextNode]):
    """The index's chunks as TextNodes, made on first access: ``len`` costs nothing at any size."""

    def __init__(self, chunks: _Chunks, made: Sequence[TextNode] | None = None):
        self._chunks = chunks
        self._made: list[TextNode | None] = list(made) if made is not None else [None] * len(chunks)

    def __len__(self) -> int:
        return len(self._made)

    def _at(self, row: int) -> TextNode:
        node = self._made[row]
        if node is None:
            node = self._made[row] = self._chunks.node(row)
        return node

    @overload
    def __getitem__(self, i: int) -> TextNode: ...
    @overload
    def __getitem__(self, i: slice) -> list[TextNode]: ...
    def __getitem__(self, i: int | slice) -> TextNode | list[TextNode]:
        if isinstance(i, slice):
            return [self._at(r) for r in range(*i.indices(len(self)))]
        return self._at(range(len(self))[i])

    def __iter__(self) -> Iterator[TextNode]:
        return (self._at(r) for r in range(len(self)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # mutable cache, compared by content


class _Lexical:
    """BM25 over the same rows (bm25s, the engine of LlamaIndex's BM25Retriever), saved beside them.

    bm25s directly rather than ``BM25Retriever``: that one persists every node again as JSON and
    decodes it all at load; here the saved arrays are memory-mapped and a hit is a row number.
    English stemming and stop words, as ``BM25Retriever`` defaults to (the question keeps its stop
    words, as there; the index has none to match them).
    """

    def __init__(self, folder: Path, recipe: SearchRecipe):
        import bm25s

        self._bm25 = bm25s.BM25.load(str(folder / BM25_DIR), mmap=True)
        self._stem = recipe.stem

    @staticmethod
    def save(folder: Path, texts: list[str], recipe: SearchRecipe) -> None:
        import bm25s

        stemmer = _stemmer() if recipe.stem else None
        tokens = bm25s.tokenize(
            texts, stopwords="en" if recipe.stopwords else None, stemmer=stemmer, show_progress=False
        )
        bm25 = bm25s.BM25()
        bm25.index(tokens, show_progress=False)
        bm25.save(str(folder / BM25_DIR))

    def search(self, question: str, k: int) -> tuple[list[int], list[float]]:
        """The ``k`` best-scoring rows, best first, with their BM25 scores (0 where no term matches)."""
        import bm25s

        stemmer = _stemmer() if self._stem else None
        terms = bm25s.tokenize(question, stemmer=stemmer, return_ids=False, show_progress=False)[0]
        ids = self._bm25.get_tokens_ids(terms)  # terms the chunks never use count for nothing
        if not ids:
            return [], []
        # Scores of every row, then the top k: bm25s' own retrieve adds a thread pool per call (~1 ms).
        scores = self._bm25.get_scores_from_ids(ids)
        rows = top_rows(scores, k)
        return rows.tolist(), scores[rows].astype(float).tolist()


_STEMMERS = threading.local()  # a PyStemmer object is not safe across threads


def _stemmer() -> Any:
    if not hasattr(_STEMMERS, "english"):
        import Stemmer  # PyStemmer, a dependency of bm25s' stemming

        _STEMMERS.english = Stemmer.Stemmer("english")
    return _STEMMERS.english


def embed_text(node: TextNode) -> str:
    """What a chunk is BM25-indexed (and, after the recipe's passage prefix, embedded) by: its text, with the
    metadata it lets the embedding see (its contextual header, when the recipe adds one)."""
    return node.get_content(metadata_mode=MetadataMode.EMBED)


def add_headers(nodes: Sequence[TextNode], files: Sequence[LoadedFile], *, section: bool = False) -> None:
    """Give each chunk its document's title (and, with ``section``, its section path) as ``context``
    metadata, which the embedding and BM25 see (``embed_text``) and prompts do not; the text is unchanged."""
    outlines = {d.id_: Outline(d.text, f.file_name) for f in files for d in f.documents}
    for node in nodes:
        found = outlines.get(node.ref_doc_id or "")
        if found is None:
            continue
        path = found.section(node.start_char_idx or 0) if section else []
        node.metadata["context"] = context_header(found.title, path)
        node.excluded_llm_metadata_keys = [*node.excluded_llm_metadata_keys, "context"]
        node.metadata_template = "{value}"  # the header line itself, not "context: ..."


@dataclass
class PlaygroundIndex:
    """A loaded index: its chunks, their vectors (in the workspace's vector store) and BM25 over the same chunks."""

    key: str
    path: Path
    workspace: str
    files: dict[str, str]  # file name -> sha256 of its bytes
    stats: IndexStats
    embed_model: BaseEmbedding
    _chunks: _Chunks = field(repr=False)
    _store: VectorStore = field(repr=False)
    _nodes: _Nodes = field(repr=False)
    _lexical: _Lexical = field(repr=False)
    recipe: SearchRecipe = field(default_factory=SearchRecipe)

    @property
    def nodes(self) -> Sequence[TextNode]:
        """The chunks, in document order; each is read from disk the first time it is used."""
        return self._nodes

    def retrieve(self, question: str, settings: RetrievalSettings | None = None) -> list[Hit]:
        """The ``top_k`` chunks for ``question``, best first, fused from the rankings ``settings.mode`` names."""
        settings = settings or RetrievalSettings()
        if not question.strip():
            return []
        query = unit_rows(self.embed_model.get_query_embedding(self.recipe.query_prefix + question))[0]
        if self._store.dim and len(query) != self._store.dim:
            raise IndexStoreError(
                f"the embedding model {self.embed_model.model_name} gives {len(query)}-dimensional vectors, but this "
                f"index holds {self._store.dim}-dimensional ones: build the index again with this model"
            )
        return self.search(question, query, settings)

    def search(self, question: str, query: np.ndarray, settings: RetrievalSettings) -> list[Hit]:
        """:meth:`retrieve` given the question's unit embedding (``query``): what a benchmark times."""
        count = len(self._chunks)
        pool = min(count, max(4 * settings.top_k, 20))  # candidates per ranking before fusion
        rankings: list[list[int]] = []
        similarity: dict[int, float] = {}
        bm25: dict[int, float] = {}
        if settings.mode in ("hybrid", "vector"):
            rows, cosines = self._store.search(query, pool)
            rankings.append(rows)
            similarity.update(zip(rows, cosines, strict=True))
        if settings.mode in ("hybrid", "bm25"):
            rows, scores = self._lexical.search(question, min(count, BM25_DEPTH))
            sparse = [(r, s) for r, s in zip(rows, scores, strict=True) if s > 0][:pool]
            rankings.append([r for r, _ in sparse])
            bm25.update(sparse)
        # Weighted so that the default 0.5 gives both rankings weight 1, the equal fusion it always was.
        weights = [2 * settings.vector_weight, 2 * (1 - settings.vector_weight)] if len(rankings) == 2 else None
        fused = reciprocal_rank_fusion(rankings, k=settings.rrf_k, weights=weights)
        # Ranked by BM25 only: the chunk's cosine still decides the cutoff (one read for all of them).
        missing = [row for row, _ in fused if row not in similarity]
        if missing:
            similarity.update(zip(missing, self._store.cosines(missing, query), strict=True))
        hits: list[Hit] = []
        for row, score in fused:
            if similarity[row] < settings.similarity_cutoff:
                continue
            record = self._chunks.record(row)
            meta = record.get("metadata", {})
            hits.append(
                Hit(
                    node_id=record["id_"],
                    file_name=str(meta.get("file_name", "")),
                    page=meta.get("page"),
                    score=round(score, 4),
                    text=record.get("text", ""),
                    rank=len(hits) + 1,
                    similarity=round(similarity[row], 4),
                    bm25=round(bm25[row], 4) if row in bm25 else None,
                    start_char=meta.get("start_char"),
                    end_char=meta.get("end_char"),
                )
            )
            if len(hits) == settings.top_k:
                break
        return hits

    def embedding(self, node_id: str) -> list[float]:
        """A chunk's stored embedding, scaled to length 1 (cosine = dot product)."""
        return self._store.vectors([self._chunks.row(node_id)])[0].tolist()


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Item]], k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[Item, float]]:
    """Fuse rankings: each item scores ``sum(weight / (k + rank))``, normalised so 1.0 means first everywhere.

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
    >>> reciprocal_rank_fusion([["a", "b"], ["b", "a"]], k=1, weights=[1.0, 3.0])
    [('b', 0.9167), ('a', 0.75)]
    """
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    scores: dict[Item, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    best = sum(weights) / (k + 1) if rankings else 1.0
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


def index_key(
    files: dict[str, str],
    chunk_settings: ChunkSettings,
    embed_model_name: str,
    store: str = "embedded",
    recipe: SearchRecipe | None = None,
) -> str:
    """Content hash of everything an index depends on; file order does not matter.

    >>> a = index_key({"a.md": "1", "b.md": "2"}, ChunkSettings(), "m")
    >>> a == index_key({"b.md": "2", "a.md": "1"}, ChunkSettings(), "m")
    True
    >>> a == index_key({"a.md": "1"}, ChunkSettings(), "m")
    False
    >>> a == index_key({"a.md": "1", "b.md": "2"}, ChunkSettings(), "m", "chroma")
    False
    """
    payload = {
        "format": FORMAT_VERSION,
        "reader": READER_VERSION,  # the same bytes read another way are other documents
        "files": sorted(files.items()),
        "chunk": chunk_settings.as_dict(),
        "embed": embed_model_name,
        "store": store,
        "recipe": (recipe or SearchRecipe()).as_dict(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def build_index(
    files: Sequence[LoadedFile],
    *,
    embed_model: BaseEmbedding,
    chunk_settings: ChunkSettings | None = None,
    workspace: str = "default",
    progress: Progress = no_progress,
    vector_store: VectorStoreSettings | None = None,
    recipe: SearchRecipe | None = None,
    prebuilt: bool = True,
) -> PlaygroundIndex:
    """Load the index for these files if it was saved before, else build it (reusing what it can) and save it.

    ``vector_store``: where the vectors go; by default the workspace's setting (the embedded store unless
    the workspace was pointed at a vector database). ``recipe``: how chunks are made findable (the measured
    defaults unless an experiment says otherwise). ``prebuilt=False``: never copy the install step's index
    (a build that is timed must build).
    """
    chunk_settings = chunk_settings or ChunkSettings()
    store = vector_store or workspace_vector_store(workspace)
    started = time.perf_counter()
    # By name, the last one wins: uploading a corrected file again replaces the earlier one. A file over a
    # chunk budget is left out here, before anything is split or embedded (its reason: apply_budgets).
    budgeted = apply_budgets(list({f.file_name: f for f in files if f.ok}.values()), chunk_settings)
    good = [f for f in budgeted if f.ok]
    if not good:
        refused = [*(f for f in files if not f.ok), *budgeted]
        reasons = "; ".join(f"{f.file_name}: {f.error}" for f in refused) or "no files were given"
        raise IndexStoreError(f"no readable documents to index ({reasons})")
    file_shas = {f.file_name: f.sha256 for f in good}
    recipe = recipe or SearchRecipe()
    key = index_key(file_shas, chunk_settings, embed_model.model_name, store.kind, recipe)
    ws = workspace_dir(workspace)
    target = ws / "indexes" / key
    if prebuilt and store.kind == "embedded" and not (target / "manifest.json").exists() and copy_seed(key, target):
        progress(0.3, "Copied the index the install step built for these documents")
    if (target / "manifest.json").exists():
        progress(0.5, "Loading the saved index")
        try:
            loaded = _load(target, workspace, embed_model, store, status="loaded", started=started)
        except StoreMissing as gone:  # e.g. a new, empty server: build it there again
            progress(0.02, f"Building the index again: {gone}")
            shutil.rmtree(target, ignore_errors=True)
        else:
            _set_latest(ws, key)
            progress(1.0, f"Loaded {loaded.stats.chunks} chunks from the saved index")
            return loaded

    previous = _reusable_previous(ws, chunk_settings, embed_model, store, recipe, progress)
    dims = 0  # the dimension of the vectors reused, which new ones must match
    reused: list[TextNode] = []
    reused_vectors = np.zeros((0, 0), dtype=np.float32)
    todo = good
    if previous is not None:
        unchanged = {name for name, sha in file_shas.items() if previous.files.get(name) == sha}
        keep = [i for i, name in enumerate(previous._chunks.file_names) if name in unchanged]
        rows = np.flatnonzero(np.isin(previous._chunks.file_of, keep)).tolist()
        if rows:
            progress(0.01, f"Reusing {len(rows)} chunks of {len(unchanged)} unchanged file(s)")
            reused = [previous.nodes[r] for r in rows]
            reused_vectors = previous._store.vectors(rows)
        todo = [f for f in good if f.file_name not in unchanged]
        dims = previous._store.dim

    progress(0.02, f"Chunking {len(todo)} file(s)")
    new_nodes = chunk(todo, chunk_settings)
    if recipe.headers != "none":
        add_headers(new_nodes, todo, section=recipe.headers == "section")
    new_vectors: list[np.ndarray] = []  # float32 per batch: Python floats would take 6x the memory
    for start in range(0, len(new_nodes), EMBED_BATCH):
        batch = new_nodes[start : start + EMBED_BATCH]
        texts = [recipe.passage_prefix + embed_text(n) for n in batch]
        new_vectors.append(unit_rows(embed_model.get_text_embedding_batch(texts)))
        dims = dims or new_vectors[-1].shape[1]
        if new_vectors[-1].shape[1] != dims:  # a server that changed its model under the same name, say
            raise IndexStoreError(
                f"the embedding model {embed_model.model_name} gave {new_vectors[-1].shape[1]}-dimensional vectors "
                f"where the index's are {dims}-dimensional: check which model the server runs"
            )
        done = start + len(batch)
        progress(0.05 + 0.85 * done / max(len(new_nodes), 1), f"Embedded {done}/{len(new_nodes)} chunks")

    if not reused and not new_nodes:
        raise IndexStoreError("the documents produced no text chunks: check that they contain text")
    # Rows in document order (files as given, then page and position): a built and a loaded index agree.
    order = {f.file_name: i for i, f in enumerate(good)}
    nodes = reused + new_nodes
    matrix = np.concatenate([m for m in (reused_vectors, *new_vectors) if m.size])
    rank = sorted(range(len(nodes)), key=lambda i: _position(nodes[i], order))
    nodes, matrix = [nodes[i] for i in rank], matrix[rank]
    stats = IndexStats(
        files=len(good),
        chunks=len(nodes),
        embed_model=embed_model.model_name,
        chunk_settings=dict(chunk_settings.as_dict()),
        status="updated" if reused else "built",
        embedded=len(new_nodes),
        reused=len(reused),
        seconds=0.0,
        vector_store=store.describe(),
    )
    progress(0.93, f"Saving the index ({store.describe()})")
    manifest = {
        "files": file_shas,
        "stats": asdict(stats),
        "format": FORMAT_VERSION,
        "store": asdict(store),
        "recipe": recipe.as_dict(),
        "dim": int(matrix.shape[1]),
    }
    name = collection_name(ws, ws.name, key, store)
    _save(target, nodes, [f.file_name for f in good], matrix, manifest, store, name)
    _set_latest(ws, key)
    _prune(ws / "indexes", keep=key)
    index = _load(target, workspace, embed_model, store, status=stats.status, started=started, made=nodes)
    index.stats.embedded, index.stats.reused = stats.embedded, stats.reused
    index.stats.build_s = index.stats.seconds
    progress(1.0, f"Indexed {len(nodes)} chunks ({len(new_nodes)} embedded, {len(reused)} reused)")
    return index


def _position(node: TextNode, order: dict[str, int]) -> tuple[int, int, int, str]:
    meta = node.metadata
    return (order.get(meta.get("file_name", ""), -1), meta.get("page") or 0, meta.get("start_char") or 0, node.node_id)


def index_state(
    workspace: str, files: Sequence[LoadedFile], chunk_settings: ChunkSettings, embed_model_name: str
) -> str:
    """``"current"`` (an index of exactly these documents is saved), ``"stale"`` (one of other
    documents or settings is, or one an earlier version of the playground saved) or ``"none"``;
    cheap: nothing is loaded, no server is asked."""
    budgeted = apply_budgets(list({f.file_name: f for f in files if f.ok}.values()), chunk_settings)
    good = {f.file_name: f.sha256 for f in budgeted if f.ok}  # as build_index keeps them
    indexes = workspace_dir(workspace) / "indexes"
    store = workspace_vector_store(workspace).kind
    key = index_key(good, chunk_settings, embed_model_name, store, SearchRecipe()) if good else ""
    if key and (indexes / key / "manifest.json").is_file():
        return "current"
    return "stale" if indexes.is_dir() and any(indexes.glob("*/manifest.json")) else "none"


def load_latest(workspace: str, embed_model: BaseEmbedding) -> PlaygroundIndex | None:
    """The index this workspace built or loaded last, or None if it has none (or it was made by another
    model, or by an earlier version of the playground)."""
    ws = workspace_dir(workspace)
    key = _latest_key(ws)
    path = ws / "indexes" / str(key)
    if key is None or _format(path) != FORMAT_VERSION:
        return None
    store = workspace_vector_store(workspace)
    index = _load(path, workspace, embed_model, store, status="loaded", started=time.perf_counter())
    return index if index.stats.embed_model == embed_model.model_name else None


def _format(path: Path) -> int | None:
    """The format of the index saved at ``path``; None when there is none (or its manifest is unreadable)."""
    try:
        return int(json.loads((path / "manifest.json").read_text()).get("format", 1))
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _load(
    path: Path,
    workspace: str,
    embed_model: BaseEmbedding,
    store: VectorStoreSettings,
    *,
    status: str,
    started: float,
    made: Sequence[TextNode] | None = None,
) -> PlaygroundIndex:
    """Open a saved index. ``store``: the workspace's setting (a server's index is read from the server it
    names, which may have moved since the save). ``made``: its nodes, already in memory."""
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        if manifest.get("format") != FORMAT_VERSION:
            old = manifest.get("format", 1)
            raise IndexStoreError(f"it was saved by an earlier version of the playground (format {old})")
        chunks = _Chunks(path)
        recipe = SearchRecipe(**manifest.get("recipe", LEGACY_RECIPE))
        lexical = _Lexical(path, recipe)
        saved = VectorStoreSettings(**manifest.get("store", {}))
        if saved.kind != "embedded":
            where = store if store.kind == saved.kind else saved  # the same engine may have moved since the save
            vectors: VectorStore = ServerStore(where, manifest["collection"], chunks.ids, int(manifest.get("dim", 0)))
            saved = where
        else:
            vectors = MatrixStore.load(path)
    except IndexStoreError as err:
        if isinstance(err, StoreMissing | StoreUnavailable):
            raise  # the index is sound; its server is empty or down, which the message says
        raise IndexStoreError(f"the saved index at {path} cannot be used: {err}; delete it to rebuild") from err
    except Exception as err:  # a damaged save must say so, not surface as a KeyError deep in numpy or json
        raise IndexStoreError(
            f"the saved index at {path} cannot be read ({err}); delete that folder to rebuild"
        ) from err
    built = manifest["stats"]
    stats = IndexStats(**{**built, "status": status, "embedded": 0, "reused": len(chunks)})
    stats.build_s = built.get("build_s") or built["seconds"]
    stats.vector_store = saved.describe()
    stats.seconds = round(time.perf_counter() - started, 3)
    nodes = _Nodes(chunks, made)
    return PlaygroundIndex(
        path.name, path, workspace, manifest["files"], stats, embed_model, chunks, vectors, nodes, lexical, recipe
    )


def _save(
    target: Path,
    nodes: Sequence[TextNode],
    file_names: list[str],
    matrix: np.ndarray,
    manifest: dict[str, Any],
    store: VectorStoreSettings,
    collection: str,
) -> None:
    """Write the index to a temporary sibling folder, then rename it into place in one step."""
    created: list[str] = []

    def fill(tmp: Path) -> None:
        _Chunks.save(tmp, nodes, file_names)
        _Lexical.save(tmp, [embed_text(n) for n in nodes], SearchRecipe(**manifest["recipe"]))
        if store.kind != "embedded":
            ServerStore.create(store, collection, nodes, matrix)
            created.append(collection)
            manifest["collection"] = collection
        else:
            MatrixStore.save(tmp, matrix)
        # The manifest goes last: a folder without one is never taken for a saved index.
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))

    try:
        # A concurrent build of the same inputs may have won; both are identical, so its copy stays.
        replace_dir(target, fill, complete=lambda path: (path / "manifest.json").exists())
    except BaseException:
        for name in created:  # the collection of a save that failed would never be used
            ServerStore.drop(store, name)
        raise


def _set_latest(ws: Path, key: str) -> None:
    write_atomic(ws / "latest.json", json.dumps({"key": key}))


def _latest_key(ws: Path) -> str | None:
    try:
        key = json.loads((ws / "latest.json").read_text())["key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return key if isinstance(key, str) else None


def _reusable_previous(
    ws: Path,
    chunk_settings: ChunkSettings,
    embed_model: BaseEmbedding,
    store: VectorStoreSettings,
    recipe: SearchRecipe,
    progress: Progress,
) -> PlaygroundIndex | None:
    key = _latest_key(ws)
    path = ws / "indexes" / str(key)
    saved = _format(path)
    if key is None or saved is None:
        return None
    if saved != FORMAT_VERSION:
        progress(
            0.01,
            f"The saved index was made by an earlier version of the playground (format {saved}): "
            "building a new one, which embeds every chunk again",
        )
        return None
    try:
        previous = _load(path, ws.name, embed_model, store, status="loaded", started=time.perf_counter())
    except IndexStoreError:
        return None  # a damaged previous index, or one whose server is gone, is simply not reused
    same = (
        previous.stats.embed_model == embed_model.model_name
        and previous.stats.chunk_settings == chunk_settings.as_dict()
        and previous.recipe == recipe  # another recipe embeds other text: its vectors would not fit
    )
    return previous if same else None


def _prune(indexes: Path, keep: str) -> None:
    """Keep the newest saved versions; drop temporary folders that a crashed save left an hour or more ago.

    A pruned index's collection in a vector database goes with it (best effort: the server may be down).
    """
    now = time.time()
    saved = sorted((p for p in indexes.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    debris = [p for p in saved if p.name.startswith(".tmp-") and now - p.stat().st_mtime > 3600]
    for stale in debris + [p for p in saved if not p.name.startswith(".")][KEEP_VERSIONS:]:
        if stale.name != keep:
            _drop_collection(stale)
            shutil.rmtree(stale, ignore_errors=True)


def _drop_collection(path: Path) -> None:
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        store, name = manifest.get("store", {}), manifest.get("collection")
    except (OSError, ValueError, AttributeError):
        return
    if isinstance(store, dict) and store.get("kind", "embedded") != "embedded" and name:
        with contextlib.suppress(IndexStoreError, TypeError):  # settings a newer or older version wrote
            ServerStore.drop(VectorStoreSettings(**store), str(name))


__all__ = [
    "FORMAT_VERSION",
    "Hit",
    "IndexStats",
    "PlaygroundIndex",
    "SearchRecipe",
    "build_index",
    "embed_text",
    "index_key",
    "index_state",
    "load_latest",
    "reciprocal_rank_fusion",
]
