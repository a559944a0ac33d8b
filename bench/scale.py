"""``python -m bench --scale``: build, save, load and query indexes of 1k, 10k and 100k chunks, per vector store.

Each size is a synthetic corpus: files of 25 chunks of made-up words (a Zipf vocabulary, so BM25 has
common and rare terms) and a bag-of-words embedding (each word a fixed random vector), so that
chunks sharing words have close vectors and a question made of one chunk's words finds it. The
embedding costs microseconds: the model's own cost (about 32 chunks/s on 2 cores with the bundled
model) is not the point here, the index is. Chunking is the project's ``SentenceSplitter`` pass at
about 300 chunks/s; at these sizes it would dominate, so the corpus comes pre-cut (one chunk per
paragraph) and the splitter's rate is printed once, measured on the 1k corpus.

Every build and every load runs in a fresh process, so each peak RSS is that step's own. Retrieval
is ``PlaygroundIndex.search`` (hybrid: vectors, BM25, fusion, reading the hits) given the question's
embedding, timed after three warm-up questions; the first question after a load is shown apart
(it pages the vectors in). The Chroma rows use a ``chroma run`` server this bench starts and stops.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.child import free_port, listening, running

GOALS = {"retrieve_ms_100k": 50.0, "load_s_100k": 2.0}
SIZES = (1_000, 10_000, 100_000)
PER_FILE = 25  # chunks a file (the 1,544-file corpus of the report had 25 on average)
WORDS = 90  # words a chunk: about 128 tokens of real prose
DIM = 384  # all-MiniLM-L6-v2's
QUESTIONS = 30
ROOT = Path(__file__).resolve().parent.parent


def _vocabulary(seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    syllables = ["ka", "po", "re", "lu", "mi", "sa", "to", "ne", "vi", "do", "ra", "ke", "lo", "fi", "gu", "be"]
    syllables += ["sha", "tor", "mel", "dan", "wy", "qui", "zo"]
    words = {"".join(rng.choice(syllables, size=int(rng.integers(2, 5)))) for _ in range(30_000)}
    return sorted(words)


def _chunk_texts(count: int, seed: int) -> list[str]:
    vocab = _vocabulary()
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(vocab), size=(count, WORDS), p=weights / weights.sum())
    return [" ".join(vocab[i] for i in row).capitalize() + "." for row in picks]


class _BagOfWords:
    """A stand-in embedding model: the normalised sum of fixed random word vectors (microseconds a text)."""

    def __init__(self) -> None:
        vocab = _vocabulary()
        self.row = {w: i for i, w in enumerate(vocab)}
        self.table = np.random.default_rng(11).standard_normal((len(vocab), DIM)).astype(np.float32)

    def __call__(self, texts: list[str]) -> list[list[float]]:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            rows = [self.row[w] for w in text.lower().rstrip(".").split() if w in self.row]
            if rows:
                out[i] = self.table[rows].sum(axis=0)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        return out.tolist()


def _embedding() -> Any:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class SyntheticEmbedding(BaseEmbedding):
        _bag: Any = PrivateAttr()

        def __init__(self) -> None:
            super().__init__(model_name="synthetic-bag-of-words", embed_batch_size=2048)
            self._bag = _BagOfWords()

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._bag([query])[0]

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._bag([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._bag(texts)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return SyntheticEmbedding()


def _files(count: int) -> list[Any]:
    from playground.documents import load_bytes

    texts = _chunk_texts(count, seed=count)
    return [
        load_bytes(f"doc{i // PER_FILE:05d}.txt", "\n\n".join(texts[i : i + PER_FILE]).encode())
        for i in range(0, count, PER_FILE)
    ]


def _paragraph_chunks(items: Any, settings: Any) -> list[Any]:
    """``documents.chunk`` for the pre-cut corpus: one node a paragraph, with the metadata chunk() gives."""
    from llama_index.core.schema import NodeRelationship, TextNode

    nodes = []
    for item in items:
        for doc in item.documents:
            start = 0
            for i, piece in enumerate(doc.text.split("\n\n")):
                meta = {**doc.metadata, "start_char": start, "end_char": start + len(piece)}
                nodes.append(
                    TextNode(
                        id_=f"{doc.id_}:c{i}",
                        text=piece,
                        metadata=meta,
                        excluded_embed_metadata_keys=list(meta),
                        excluded_llm_metadata_keys=list(meta),
                        start_char_idx=start,
                        end_char_idx=start + len(piece),
                        relationships={NodeRelationship.SOURCE: doc.as_related_node_info()},
                    )
                )
                start += len(piece) + 2
    return nodes


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _store(kind: str, url: str) -> Any:
    from playground.vectorstores import VectorStoreSettings

    return VectorStoreSettings(kind, url if kind == "chroma" else "")


def child_build(count: int, kind: str, url: str) -> dict[str, Any]:
    import playground.index as index_module
    from playground.index import build_index
    from playground.vectorstores import set_workspace_vector_store

    files = _files(count)
    embed = _embedding()
    index_module.chunk = _paragraph_chunks  # type: ignore[assignment]  # see the module docstring
    set_workspace_vector_store(f"{kind}-{count}", _store(kind, url))
    base = _current_rss_mib()
    started = time.perf_counter()
    index = build_index(files, embed_model=embed, workspace=f"{kind}-{count}")
    seconds = time.perf_counter() - started
    assert index.stats.status == "built" and index.stats.chunks == count, index.stats
    size = sum(p.stat().st_size for p in index.path.rglob("*") if p.is_file())
    return {"build_s": seconds, "saved_mib": size / 2**20, "build_peak_mib": _rss_mib(), "base_mib": base}


def child_query(count: int, kind: str, url: str) -> dict[str, Any]:
    from playground.config import RetrievalSettings
    from playground.index import load_latest
    from playground.vectorstores import unit_rows

    embed = _embedding()
    texts = _chunk_texts(count, seed=count)  # the same corpus, to make questions from
    rng = np.random.default_rng(1)
    targets = rng.choice(count, size=QUESTIONS + 3, replace=False)
    questions = [" ".join(rng.choice(texts[t].rstrip(".").lower().split(), size=8)) for t in targets]
    vectors = [unit_rows(v)[0] for v in embed._get_text_embeddings(questions)]
    workspace = f"{kind}-{count}"
    imported = time.perf_counter()
    if kind == "chroma":  # once per process (the web app's server imports it once): shown apart from the load
        import llama_index.vector_stores.chroma  # noqa: F401
    import bm25s  # noqa: F401

    import_s = time.perf_counter() - imported
    base = _current_rss_mib()
    started = time.perf_counter()
    index = load_latest(workspace, embed)
    load_s = time.perf_counter() - started
    assert index is not None and len(index.nodes) == count
    settings = RetrievalSettings(top_k=5)
    first_started = time.perf_counter()
    index.search(questions[0], vectors[0], settings)
    first_ms = (time.perf_counter() - first_started) * 1000
    for q, v in zip(questions[1:3], vectors[1:3], strict=True):
        index.search(q, v, settings)
    times, found = [], 0
    for q, v, t in zip(questions[3:], vectors[3:], targets[3:], strict=True):
        started = time.perf_counter()
        hits = index.search(q, v, settings)
        times.append((time.perf_counter() - started) * 1000)
        found += any(h.node_id == index.nodes[int(t)].node_id for h in hits)
    dense, _ = index._store.search(vectors[3], 20)
    return {
        "load_s": load_s,
        "import_s": import_s,
        "first_ms": first_ms,
        "retrieve_ms": statistics.median(times),
        "retrieve_p95_ms": sorted(times)[int(0.95 * len(times)) - 1],
        "found_at_5": found / len(times),
        "query_peak_mib": _rss_mib(),
        "query_base_mib": base,
        "dense_rows": dense,
    }


def child_splitter_rate() -> dict[str, Any]:
    from playground.config import ChunkSettings
    from playground.documents import chunk

    files = _files(1_000)
    started = time.perf_counter()
    nodes = chunk(files, ChunkSettings())
    return {"splitter_chunks_per_s": len(nodes) / (time.perf_counter() - started)}


def _child(step: str, home: Path, *args: Any) -> dict[str, Any]:
    env = {**os.environ, "PLAYGROUND_HOME": str(home), "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env["PLAYGROUND_MAX_CHUNKS"] = str(10 * max(SIZES))  # the workspace budget (50k by default) is not measured
    code = f"import json, bench.scale as s; print('RESULT', json.dumps(s.child_{step}(*{args!r})))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{step}{args} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


class ChromaServer:
    """A ``chroma run`` server in a temporary folder, for as long as the ``with`` block."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.url = f"http://localhost:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> ChromaServer:
        chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
        if chroma is None:
            raise RuntimeError("the chroma CLI is missing: pip install chromadb")
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        cmd = [chroma, "run", "--path", str(self.folder), "--port", str(self.port)]
        log = self.folder.parent / f"chroma-{self.port}.log"
        ready = listening(self.port, "localhost")
        self.proc, _ = self._stack.enter_context(running(cmd, ready=ready, log=log, timeout_s=60, env=env))
        return self

    def peak_mib(self) -> float:
        """The server's peak RSS so far (VmHWM)."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def _size_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def run_scale(sizes: tuple[int, ...] = SIZES, stores: tuple[str, ...] = ("embedded", "chroma")) -> dict[str, Any]:
    from bench import log

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="playground-scale-") as tmp:
        home = Path(tmp) / "home"
        log("chunking rate of the project's splitter (1k chunks)")
        splitter = _child("splitter_rate", home)
        for kind in stores:
            server = ChromaServer(Path(tmp) / "chroma") if kind == "chroma" else None
            with server or _nothing():
                url = server.url if server else ""
                for count in sizes:
                    log(f"{kind} store, {count} chunks: build")
                    before = _size_mib(server.folder) if server else 0.0
                    built = _child("build", home, count, kind, url)
                    if server:
                        built["saved_mib"] += _size_mib(server.folder) - before
                    log(f"{kind} store, {count} chunks: load and query")
                    queried = _child("query", home, count, kind, url)
                    row = {"store": kind, "chunks": count, **built, **queried}
                    if server:
                        row["server_peak_mib"] = server.peak_mib()
                    rows.append(row)
    # Recall of the server's approximate search: its top 20 for a question vs the exact (embedded) top 20.
    exact = {r["chunks"]: r["dense_rows"] for r in rows if r["store"] == "embedded"}
    for r in rows:
        if r["store"] != "embedded" and r["chunks"] in exact:
            r["recall_at_20"] = len(set(r["dense_rows"]) & set(exact[r["chunks"]])) / max(len(exact[r["chunks"]]), 1)
    return {"rows": rows, **splitter}


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def scale_table(result: dict[str, Any]) -> str:
    rows = result["rows"]
    head = (
        f"{'store':<10}{'chunks':>8}{'build s':>9}{'saved MiB':>11}{'load s':>8}{'first ms':>10}"
        f"{'ms p50':>8}{'ms p95':>8}{'hit@5':>7}{'build MiB':>11}{'query MiB':>11}{'server MiB':>12}"
    )
    out = [
        "Index at scale: synthetic chunks (25 a file, 90 words), bag-of-words vectors of 384 dimensions.",
        "load = load_latest in a fresh process; ms = hybrid search given the question's embedding (vectors + BM25",
        "+ fusion + reading 5 hits), first = the first question after the load; hit@5 = the question's own chunk",
        "found; MiB = peak RSS of the building process, of the loading + querying process, of the Chroma server",
        head,
    ]
    for r in rows:
        server = f"{r['server_peak_mib']:>12.0f}" if "server_peak_mib" in r else f"{'':>12}"
        out.append(
            f"{r['store']:<10}{r['chunks']:>8}{r['build_s']:>9.1f}{r['saved_mib']:>11.1f}{r['load_s']:>8.3f}"
            f"{r['first_ms']:>10.1f}{r['retrieve_ms']:>8.1f}{r['retrieve_p95_ms']:>8.1f}{r['found_at_5']:>7.2f}"
            f"{r['build_peak_mib']:>11.0f}{r['query_peak_mib']:>11.0f}{server}"
        )
    for r in rows:
        if "recall_at_20" in r:
            out.append(
                f"  {r['store']} {r['chunks']}: its top 20 vectors hold {r['recall_at_20']:.2f} of the exact top 20"
                f" (approximate HNSW search); importing its client took {r['import_s']:.1f} s once, not in load"
            )
    out.append(f"  build excludes chunking: the splitter runs at {result['splitter_chunks_per_s']:.0f} chunks/s here")
    for kind in sorted({r["store"] for r in rows}):
        mine = sorted((r for r in rows if r["store"] == kind), key=lambda r: r["chunks"])
        biggest = mine[-1]
        if biggest["chunks"] == 100_000:
            ms, load = biggest["retrieve_ms"], biggest["load_s"]
            out.append(
                f"  goals at 100k ({kind}): retrieval {ms:.1f} ms ≤ {GOALS['retrieve_ms_100k']:.0f} ms "
                f"{'ok' if ms <= GOALS['retrieve_ms_100k'] else 'OVER'}; load {load:.2f} s ≤ "
                f"{GOALS['load_s_100k']:.0f} s {'ok' if load <= GOALS['load_s_100k'] else 'OVER'}"
            )
        # Linear growth: each step's extra memory per extra chunk stays about the same (or falls).
        for key, label in (("query_peak_mib", "loading + querying"), ("build_peak_mib", "building")):
            steps = [
                f"{(b[key] - a[key]) * 1024 / (b['chunks'] - a['chunks']):.2f}" for a, b in itertools.pairwise(mine)
            ]
            if steps:
                sizes = " → ".join(f"{r['chunks'] // 1000}k" for r in mine)
                out.append(f"  memory per added chunk, {label} ({kind}, {sizes}): {' / '.join(steps)} KiB")
    return "\n".join(out)


__all__ = ["GOALS", "SIZES", "run_scale", "scale_table"]
