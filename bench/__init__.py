"""Measure the playground's overhead against the engines it wraps, on the sample corpus.

1. Answer path: one Base+RAG answer set up by ``compare`` (retrieval untimed), then streamed by its
   ``ConditionRun`` (chat template, tokenisation, generation, detokenisation, metrics, cited spans)
   vs ``Llama.create_completion`` on the same prompt tokens, the same ``Llama`` object and the same
   token budget. Both start from an empty KV cache and alternate, so prefix caching and machine
   drift favour neither.
2. Index build: ``build_index`` from scratch (chunk, embed, store, save) vs raw
   encoding of the same chunk texts by the embedding runtime (onnxruntime on the install step's export, else
   sentence-transformers), and vs LlamaIndex's stock
   ``VectorStoreIndex.from_documents``; plus reloading the saved index (a cache hit).
3. Training (``bench/training.py``): a step of the fine-tuning lab's loop vs a bare PEFT loop on the
   same batch, and training tokens/s.

Each ratio is the median of per-repetition ratios (project / raw): pairs run back to back, so
another process's load hits both sides of a pair alike.
"""

from __future__ import annotations

import functools
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DOCS = ROOT / "sample_docs"
QUESTION = 0  # the first question of the sample set (its answer is short, so prefill dominates)
GOALS = {"answer": 1.05, "index_raw": 1.15, "end_to_end_s": 12.0, "browser_answers": 1.1, "training": 1.10}


@dataclass
class Series:
    """Wall-clock seconds of repeated runs."""

    times: list[float] = field(default_factory=list)

    @property
    def min(self) -> float:
        return min(self.times)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def paired_ratio(a: Series, b: Series) -> float:
    return statistics.median(x / y for x, y in zip(a.times, b.times, strict=True))


_T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def cold(llm: Any) -> None:
    """Forget the evaluated tokens, so the next call evaluates its whole prompt (no prefix reuse).

    The next evaluation drops every cached position from ``n_tokens`` (now 0) on: the same cold
    start ``EmbeddedBackend.chat`` gives each answer.
    """
    llm.reset()


def bench_answer(catalogue: Any, index: Any, reps: int) -> dict[str, Any]:
    from playground import GenerationParams, compare
    from playground.documents import load_questions

    backend = catalogue.backends["embedded"]
    model = catalogue.resolve(None)
    question = load_questions(SAMPLE_DOCS)[QUESTION]["question"]
    params = GenerationParams()  # the app's defaults: greedy, 160 tokens
    # Retrieval happens here, once and untimed: both sides get the same passages.
    run = compare(question, catalogue=catalogue, base=model, index=index, generation=params)
    condition = next(c for c in run.conditions if c.condition == "base+rag")
    llm = backend.llama(model)
    tokens = backend.prompt_tokens(model, condition.result.messages)
    budget = min(params.max_tokens, llm.n_ctx() - len(tokens))  # what EmbeddedBackend.chat allows

    def project() -> None:
        cold(llm)
        result = condition.run()
        if result.error:
            raise RuntimeError(f"the project's answer failed: {result.error}")

    def raw() -> dict[str, Any]:
        cold(llm)
        # Same sampler as EmbeddedBackend.chat; temperature 0 is greedy, so both pick the same tokens.
        return llm.create_completion(
            prompt=tokens,
            max_tokens=budget,
            temperature=0.0,
            top_p=params.top_p,
            top_k=40,
            min_p=0.05,
            repeat_penalty=1.0,
            seed=params.seed,
        )

    log(f"answer path ({backend.n_threads} threads): a warm-up, then {reps} repetitions")
    project()  # warm-up: first-touch page faults, allocator growth
    raw()
    ours, theirs = Series(), Series()
    for rep in range(reps):
        seconds, _ = timed(project)
        ours.times.append(seconds)
        seconds, out = timed(raw)
        theirs.times.append(seconds)
        log(f"  answer {rep + 1}/{reps}: project {ours.times[-1]:.2f}s  raw {theirs.times[-1]:.2f}s")
    metrics = condition.result.metrics
    return {
        "question": question,
        "threads": backend.n_threads,
        "prompt_tokens": len(tokens),
        "budget": budget,
        "completion_tokens": {"project": metrics.completion_tokens, "raw": out["usage"]["completion_tokens"]},
        "same_text": condition.result.text == out["choices"][0]["text"],
        "project_s": ours.times,
        "raw_s": theirs.times,
        "ratio": paired_ratio(ours, theirs),
        "ratio_min": ours.min / theirs.min,
    }


def bench_index(embed_model: Any, reps: int, root: Path) -> dict[str, Any]:
    from llama_index.core import VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter

    from playground import ChunkSettings, build_index, chunk, load_folder
    from playground.embeddings import _OnnxEncoder, bundled_minilm_path, exported_path

    files = load_folder(SAMPLE_DOCS)  # loading files is not part of the build
    documents = [d for f in files if f.ok for d in f.documents]
    settings = ChunkSettings()
    texts = [n.get_content(metadata_mode="embed") for n in chunk(files, settings)]  # what build_index embeds
    # The raw engine is the runtime the project's model runs on: onnxruntime on the install step's export, else
    # sentence-transformers.
    if embed_model.runtime == "onnx":
        encoder = _OnnxEncoder(exported_path(), bundled_minilm_path())

        def encode(batch: list[str]) -> int:
            return len(encoder.encode(batch, batch_size=64))

    else:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(bundled_minilm_path()), device="cpu", local_files_only=True)

        def encode(batch: list[str]) -> int:
            return len(model.encode(batch, batch_size=64, normalize_embeddings=True))

    counts: dict[str, int] = {}

    def project(home: Path) -> None:
        os.environ["PLAYGROUND_HOME"] = str(home)  # an empty home: a real build, not a cache hit
        index = build_index(files, embed_model=embed_model, chunk_settings=settings, workspace="bench")
        assert index.stats.status == "built", index.stats
        counts["project"] = index.stats.chunks

    def reload(home: Path) -> None:
        os.environ["PLAYGROUND_HOME"] = str(home)
        index = build_index(files, embed_model=embed_model, chunk_settings=settings, workspace="bench")
        assert index.stats.status == "loaded", index.stats

    def raw(_: Path) -> None:
        counts["raw"] = encode(texts)

    def stock(_: Path) -> None:
        splitter = SentenceSplitter(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)
        index = VectorStoreIndex.from_documents(documents, embed_model=embed_model, transformations=[splitter])
        counts["stock"] = len(index.index_struct.nodes_dict)

    runs = {"project": project, "reload": reload, "raw": raw, "stock": stock}
    series = {name: Series() for name in runs}
    for rep in range(reps + 1):  # repetition 0 is the warm-up
        home = Path(tempfile.mkdtemp(dir=root))
        for name, fn in runs.items():
            seconds, _ = timed(functools.partial(fn, home))
            if rep:
                series[name].times.append(seconds)
        if rep:
            log(f"  index {rep}/{reps}: " + "  ".join(f"{n} {s.times[-1]:.2f}s" for n, s in series.items()))
    return {
        "chunks": counts,
        **{f"{name}_s": s.times for name, s in series.items()},
        "ratio_raw": paired_ratio(series["project"], series["raw"]),
        "ratio_raw_min": series["project"].min / series["raw"].min,
        "ratio_stock": paired_ratio(series["project"], series["stock"]),
        "ratio_stock_min": series["project"].min / series["stock"].min,
    }


def machine() -> dict[str, Any]:
    import llama_cpp
    import llama_index.core
    import sentence_transformers
    import torch

    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    return {
        "cores": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "load_avg_1m": round(os.getloadavg()[0], 2),  # includes this run; much above the core count means others ran
        "python": platform.python_version(),
        "llama_cpp": llama_cpp.__version__,
        "llama_index.core": llama_index.core.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
    }


def run(reps: int) -> dict[str, Any]:
    """Every measurement, in one process, under a temporary PLAYGROUND_HOME (a person's files are never read)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    with tempfile.TemporaryDirectory(prefix="playground-bench-") as tmp:
        root = Path(tmp)
        os.environ["PLAYGROUND_HOME"] = str(root / "home")
        from playground import Catalogue, EmbeddedBackend, LocalEmbedding, build_index, load_folder

        load_s, embed_model = timed(LocalEmbedding)
        log(f"embedding model loaded in {load_s:.1f}s; index build, {reps} repetitions")
        index_results = bench_index(embed_model, reps, root)
        os.environ["PLAYGROUND_HOME"] = str(root / "home")
        index = build_index(load_folder(SAMPLE_DOCS), embed_model=embed_model, workspace="bench")
        catalogue = Catalogue([EmbeddedBackend()])  # threads: PLAYGROUND_THREADS, else every core (the app's default)
        answer_results = bench_answer(catalogue, index, reps)
        from bench.browser import bench_end_to_end, bench_rerun

        browser_results = bench_end_to_end(index, root)
        rerun_results = bench_rerun(root)
        from bench.training import bench_training

        training_results = bench_training(reps)
    return {
        "training": training_results,
        "browser": browser_results,
        "rerun": rerun_results,
        "machine": machine(),
        "answer": answer_results,
        "index": index_results,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
    }


__all__ = ["GOALS", "Series", "bench_answer", "bench_index", "machine", "run"]
