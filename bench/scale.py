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
(it pages the vectors in). The Chroma rows use a ``chroma run`` server this bench starts and stops, the Milvus
rows Milvus Lite (the Milvus engine in a local file); each approximate store's recall@20 is measured against the
embedded store's exact top 20 for the same questions, at the settings ``playground/vectorstores.py`` chose (and,
with ``--scale-defaults``, at its integration's own). Last, chunks a second of the bundled embedding model and of
an embedding server (llama-cpp-python's, started here) on the same chunks of the sample.
"""

from __future__ import annotations

import contextlib
import importlib
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.child import free_port, listening, running

GOALS = {"retrieve_ms_100k": 50.0, "load_s_100k": 2.0, "recall_at_20": 0.95}
SIZES = (1_000, 10_000, 100_000)
PER_FILE = 25  # chunks a file (the 1,544-file corpus of the report had 25 on average)
WORDS = 90  # words a chunk: about 128 tokens of real prose
DIM = 384  # all-MiniLM-L6-v2's
QUESTIONS = 30
ROOT = Path(__file__).resolve().parent.parent
STORES = ("embedded", "chroma", "milvus")  # the engines the tests start; the embedded store is the exact one


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


def _store(kind: str, url: str, untuned: bool) -> Any:
    from playground.vectorstores import ENGINES, VectorStoreSettings

    if untuned:  # the integration's own defaults, as the project used them before (Chroma) or as Milvus ships
        ENGINES[kind].tuned = {}  # type: ignore[misc]
    return VectorStoreSettings(kind, url)


def _workspace(kind: str, count: int, untuned: bool) -> str:
    return f"{kind}-{'defaults-' if untuned else ''}{count}"


def child_build(count: int, kind: str, url: str, untuned: bool = False) -> dict[str, Any]:
    import playground.index as index_module
    from playground.index import build_index
    from playground.vectorstores import set_workspace_vector_store

    files = _files(count)
    embed = _embedding()
    index_module.chunk = _paragraph_chunks  # type: ignore[assignment]  # see the module docstring
    workspace = _workspace(kind, count, untuned)
    set_workspace_vector_store(workspace, _store(kind, url, untuned))
    base = _current_rss_mib()
    started = time.perf_counter()
    index = build_index(files, embed_model=embed, workspace=workspace)
    seconds = time.perf_counter() - started
    assert index.stats.status == "built" and index.stats.chunks == count, index.stats
    size = sum(p.stat().st_size for p in index.path.rglob("*") if p.is_file())
    return {"build_s": seconds, "saved_mib": size / 2**20, "build_peak_mib": _rss_mib(), "base_mib": base}


def child_query(count: int, kind: str, url: str, untuned: bool = False) -> dict[str, Any]:
    from playground.config import RetrievalSettings
    from playground.index import load_latest
    from playground.vectorstores import unit_rows

    embed = _embedding()
    texts = _chunk_texts(count, seed=count)  # the same corpus, to make questions from
    rng = np.random.default_rng(1)
    targets = rng.choice(count, size=QUESTIONS + 3, replace=False)
    questions = [" ".join(rng.choice(texts[t].rstrip(".").lower().split(), size=8)) for t in targets]
    vectors = [unit_rows(v)[0] for v in embed._get_text_embeddings(questions)]
    workspace = _workspace(kind, count, untuned)
    _store(kind, url, untuned)
    imported = time.perf_counter()
    if kind != "embedded":  # once per process (the web app's server imports it once): shown apart from the load
        importlib.import_module(f"llama_index.vector_stores.{kind}")
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
    # Each question's top 20 by vector alone: the runner compares them with the exact (embedded) store's.
    dense = [index._store.search(v, 20)[0] for v in vectors[3:]]
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


EMBEDDING_ALIAS = "smollm2"


def pooled_gguf(folder: Path) -> Path:
    """A copy of the bundled SmolLM2 GGUF that says to mean-pool its token vectors (``llama.pooling_type``), so a
    server gives one vector a text: what ``llama-server --pooling mean`` does with a flag llama-cpp-python's server
    lacks. Written once per folder (under a second: the weights are copied as they are)."""
    import gguf
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata

    from playground.models.embedded import bundled_model_path

    target = folder / "smollm2-mean-pooled.gguf"
    if not target.exists():
        reader = gguf.GGUFReader(bundled_model_path(), "r")
        arch = str(reader.fields[gguf.Keys.General.ARCHITECTURE].contents())
        writer = gguf.GGUFWriter(str(target), arch=arch, endianess=reader.endianess)
        pooling = {f"{arch}.pooling_type": MetadataDetails(gguf.GGUFValueType.UINT32, 1)}  # 1: mean
        copy_with_new_metadata(reader, writer, pooling, [])
    return target


@contextlib.contextmanager
def embedding_server(folder: Path, threads: int | None = None) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server in embedding mode on the bundled SmolLM2 (mean-pooled, see
    :func:`pooled_gguf`), for as long as the ``with`` block; yields its API root (``http://127.0.0.1:PORT/v1``).
    A chat model, not an embedding model: it stands in for a GPU host's TEI, vLLM or llama.cpp server, which
    speak the same ``/v1/embeddings``."""
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(pooled_gguf(folder)), "--model_alias",
        EMBEDDING_ALIAS, "--embedding", "true", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
    ]  # fmt: skip
    command += ["--n_threads", str(threads or os.cpu_count() or 1)]  # its default is half the cores

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/models", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    with running(command, ready=answers, log=folder / "embedding-server.log", timeout_s=90, stop_timeout_s=10):
        yield url


def _size_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def _server(kind: str, folder: Path) -> Any:
    """The engine a store's rows run against, for as long as the ``with`` block: a ``chroma run`` server, or Milvus
    Lite in a local file (the engine of a Milvus server, in process); the embedded store needs none."""
    if kind == "chroma":
        return ChromaServer(folder / "chroma")
    if kind == "milvus":
        return _MilvusLite(folder / "milvus")
    return _nothing()


class _MilvusLite:
    def __init__(self, folder: Path):
        self.folder, self.url = folder, str(folder / "vectors.db")

    def __enter__(self) -> _MilvusLite:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def run_scale(
    sizes: tuple[int, ...] = SIZES,
    stores: tuple[str, ...] = STORES,
    untuned: tuple[str, ...] = (),
    embedders: bool = True,
) -> dict[str, Any]:
    """Every store at every size (exact first: the others' recall is measured against it); ``untuned``: stores to
    run again at their integration's own defaults, for comparison; ``embedders``: chunks a second of the bundled
    model and of an embedding server."""
    from bench import log

    rows: list[dict[str, Any]] = []
    runs = [(kind, False) for kind in stores] + [(kind, True) for kind in untuned]
    with tempfile.TemporaryDirectory(prefix="playground-scale-") as tmp:
        home = Path(tmp) / "home"
        log("chunking rate of the project's splitter (1k chunks)")
        splitter = _child("splitter_rate", home)
        rates = _child("embed_rates", home, str(Path(tmp))) if embedders else {}
        for kind, defaults in runs:
            with _server(kind, Path(tmp) / ("defaults" if defaults else "tuned")) as server:
                url = getattr(server, "url", "")
                for count in sizes:
                    label = f"{kind} store{' (defaults)' if defaults else ''}, {count} chunks"
                    log(f"{label}: build")
                    before = _size_mib(server.folder) if server else 0.0
                    built = _child("build", home, count, kind, url, defaults)
                    if server:
                        built["saved_mib"] += _size_mib(server.folder) - before
                    log(f"{label}: load and query")
                    queried = _child("query", home, count, kind, url, defaults)
                    row = {"store": kind + ("*" if defaults else ""), "chunks": count, **built, **queried}
                    row["settings"] = _settings(kind, defaults)
                    if isinstance(server, ChromaServer):
                        row["server_peak_mib"] = server.peak_mib()
                    rows.append(row)
    # Recall of approximate search: each question's top 20 by vector against the exact (embedded) store's.
    exact = {r["chunks"]: r["dense_rows"] for r in rows if r["store"] == "embedded"}
    for r in rows:
        if r["store"] != "embedded" and r["chunks"] in exact:
            pairs = zip(r["dense_rows"], exact[r["chunks"]], strict=True)
            r["recall_at_20"] = statistics.mean(len(set(a) & set(b)) / max(len(b), 1) for a, b in pairs)
    return {"rows": rows, **splitter, **rates}


def _settings(kind: str, defaults: bool) -> str:
    from playground.vectorstores import ENGINES

    if kind not in ENGINES:
        return "exact: one matrix-vector product"
    if defaults:
        return "the integration's defaults" + (" (FLAT: exact)" if kind == "milvus" else "")
    return " ".join(f"{k}={v}" for k, v in ENGINES[kind].tuned.items())


EMBED_TEXTS = 128  # chunks of the sample embedded by each embedder: seconds of work for the bundled model


def child_embed_rates(folder: str) -> dict[str, Any]:
    """Chunks a second: the bundled model in this process, and llama-cpp-python's server in embedding mode on the
    bundled SmolLM2 (a stand-in for a GPU host's TEI or vLLM) through ``openai:smollm2``, the same texts each."""
    from playground.config import ChunkSettings
    from playground.documents import chunk, load_folder
    from playground.embeddings import LocalEmbedding
    from playground.index import embed_text
    from playground.models.openai import OpenAIBackend, OpenAIEmbedding

    nodes = chunk([f for f in load_folder(ROOT / "sample_docs") if f.ok], ChunkSettings())
    texts = [embed_text(n) for n in itertools.islice(itertools.cycle(nodes), EMBED_TEXTS)]
    bundled = LocalEmbedding()
    bundled.get_text_embedding_batch(texts[:8])  # warm-up: the model's first call pays for its session
    started = time.perf_counter()
    bundled.get_text_embedding_batch(texts)
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {"embed_texts": len(texts), "bundled_chunks_per_s": len(texts) / seconds}
    with embedding_server(Path(folder)) as url:  # as many cores as the bundled model uses
        served = OpenAIEmbedding(EMBEDDING_ALIAS, OpenAIBackend(url))
        served.get_text_embedding_batch(texts[:8])
        started = time.perf_counter()
        served.get_text_embedding_batch(texts)
        out["server_chunks_per_s"] = len(texts) / (time.perf_counter() - started)
        out["server_requests"], out["server_batch"] = served.requests, served.embed_batch_size // served.requests
    return out


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def scale_table(result: dict[str, Any]) -> str:
    rows = result["rows"]
    head = (
        f"{'store':<10}{'chunks':>8}{'build s':>9}{'saved MiB':>11}{'load s':>8}{'first ms':>10}"
        f"{'ms p50':>8}{'ms p95':>8}{'hit@5':>7}{'recall@20':>10}{'build MiB':>11}{'query MiB':>11}{'server MiB':>12}"
    )
    out = [
        "Index at scale: synthetic chunks (25 a file, 90 words), bag-of-words vectors of 384 dimensions.",
        "load = load_latest in a fresh process; ms = hybrid search given the question's embedding (vectors + BM25",
        "+ fusion + reading 5 hits), first = the first question after the load; hit@5 = the question's own chunk",
        "found; recall@20 = of the exact top 20 by vector (the embedded store's), the share in the store's top 20,",
        "mean of the questions; MiB = peak RSS of the building process, of the loading + querying process, of the",
        "Chroma server (Milvus Lite runs in the building and querying processes); * = the integration's defaults",
        head,
    ]
    for r in rows:
        server = f"{r['server_peak_mib']:>12.0f}" if "server_peak_mib" in r else f"{'':>12}"
        recall = f"{r['recall_at_20']:>10.3f}" if "recall_at_20" in r else f"{'exact':>10}"
        out.append(
            f"{r['store']:<10}{r['chunks']:>8}{r['build_s']:>9.1f}{r['saved_mib']:>11.1f}{r['load_s']:>8.3f}"
            f"{r['first_ms']:>10.1f}{r['retrieve_ms']:>8.1f}{r['retrieve_p95_ms']:>8.1f}{r['found_at_5']:>7.2f}"
            f"{recall}{r['build_peak_mib']:>11.0f}{r['query_peak_mib']:>11.0f}{server}"
        )
    out.append("  settings (the integration's own names; python -m bench --scale prints what the code uses):")
    for store, settings in dict.fromkeys((r["store"], r["settings"]) for r in rows):
        out.append(f"    {store}: {settings}")
    for r in rows:
        if r["store"] != "embedded" and r["chunks"] == max(x["chunks"] for x in rows):
            out.append(f"  importing the {r['store']} integration took {r['import_s']:.1f} s once, not in load")
    out.append(f"  build excludes chunking: the splitter runs at {result['splitter_chunks_per_s']:.0f} chunks/s here")
    if "bundled_chunks_per_s" in result:
        out.append(
            f"  embedding {result['embed_texts']} chunks of the sample: the bundled model "
            f"{result['bundled_chunks_per_s']:.1f} chunks/s in process; llama-cpp-python's server in embedding mode "
            f"(SmolLM2, this machine's CPU) {result['server_chunks_per_s']:.1f} chunks/s through openai:"
            f"{EMBEDDING_ALIAS}, {result['server_batch']} texts a request, {result['server_requests']} in flight"
        )
    for kind in sorted({r["store"] for r in rows}):
        mine = sorted((r for r in rows if r["store"] == kind), key=lambda r: r["chunks"])
        biggest = mine[-1]
        if biggest["chunks"] == 100_000:
            ms, load = biggest["retrieve_ms"], biggest["load_s"]
            out.append(
                f"  goals at 100k ({kind}): retrieval {ms:.1f} ms ≤ {GOALS['retrieve_ms_100k']:.0f} ms "
                f"{'ok' if ms <= GOALS['retrieve_ms_100k'] else 'OVER'}; load {load:.2f} s ≤ "
                f"{GOALS['load_s_100k']:.0f} s {'ok' if load <= GOALS['load_s_100k'] else 'OVER'}"
                + (
                    f"; recall@20 {biggest['recall_at_20']:.3f} ≥ {GOALS['recall_at_20']:.2f} "
                    f"{'ok' if biggest['recall_at_20'] >= GOALS['recall_at_20'] else 'UNDER'}"
                    if "recall_at_20" in biggest and not kind.endswith("*")
                    else ""
                )
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


__all__ = ["GOALS", "SIZES", "STORES", "embedding_server", "pooled_gguf", "run_scale", "scale_table"]
