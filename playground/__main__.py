"""Command line: the same core as the web app, headless.

    python -m playground retrieve --docs sample_docs --question "..." --json
    python -m playground ask --docs sample_docs --question "..." [--base M] [--finetuned M] [--json]
    python -m playground models [--json]

Progress goes to stderr, results to stdout; errors print one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from playground.config import ChunkSettings, GenerationParams, RetrievalSettings
from playground.errors import PlaygroundError


def _progress(fraction: float, message: str) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr)


def _add_docs_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--docs", required=True, type=Path, help="folder (or one file) of documents to index")
    p.add_argument("--question", required=True, help="the question to ask")
    p.add_argument("--top-k", type=int, default=RetrievalSettings().top_k, help=RetrievalSettings.help("top_k"))
    p.add_argument(
        "--mode", default="hybrid", choices=["hybrid", "vector", "bm25"], help=RetrievalSettings.help("mode")
    )
    p.add_argument("--cutoff", type=float, default=0.0, help=RetrievalSettings.help("similarity_cutoff"))
    p.add_argument("--chunk-size", type=int, default=ChunkSettings().chunk_size, help=ChunkSettings.help("chunk_size"))
    p.add_argument(
        "--chunk-overlap", type=int, default=ChunkSettings().chunk_overlap, help=ChunkSettings.help("chunk_overlap")
    )
    p.add_argument(
        "--embed-model",
        default="all-MiniLM-L6-v2",
        help="embedding model: the bundled all-MiniLM-L6-v2, or ollama:<name> (e.g. ollama:nomic-embed-text)",
    )
    p.add_argument("--workspace", help="workspace name for the saved index (default: the folder's name)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a readable summary")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m playground", description="RAG vs fine-tuning playground")
    sub = parser.add_subparsers(dest="command", required=True)
    retrieve = sub.add_parser("retrieve", help="show the passages retrieval finds for a question")
    _add_docs_args(retrieve)
    ask = sub.add_parser("ask", help="four answers: base, base+rag, ft, ft+rag")
    _add_docs_args(ask)
    ask.add_argument("--base", help="base model id or name (default: the embedded SmolLM2)")
    ask.add_argument("--finetuned", help="fine-tuned model id or name (default: the base model)")
    ask.add_argument("--max-tokens", type=int, default=GenerationParams().max_tokens)
    ask.add_argument("--temperature", type=float, default=GenerationParams().temperature)
    ask.add_argument("--seed", type=int, default=GenerationParams().seed)
    ask.add_argument("--no-ollama", action="store_true", help="use only the embedded engine")
    models = sub.add_parser("models", help="list the models of every backend")
    models.add_argument("--json", action="store_true")
    models.add_argument("--no-ollama", action="store_true")
    return parser


def _index(args: argparse.Namespace) -> tuple[Any, Any]:
    from playground.embeddings import embedding_model
    from playground.index import build_index, default_workspace, load_path

    files = load_path(args.docs)  # before the embedding model loads: a wrong path fails in no time
    index = build_index(
        files,
        embed_model=embedding_model(args.embed_model),
        chunk_settings=ChunkSettings(args.chunk_size, args.chunk_overlap),
        workspace=args.workspace or default_workspace(args.docs),
        progress=(lambda f, m: None) if args.quiet else _progress,
    )
    for f in files:
        if not f.ok and not args.quiet:
            print(f"skipped {f.file_name}: {f.error}", file=sys.stderr)
    return files, index


def _retrieval(args: argparse.Namespace) -> RetrievalSettings:
    return RetrievalSettings(top_k=args.top_k, similarity_cutoff=args.cutoff, mode=args.mode)


def _catalogue(no_ollama: bool) -> Any:
    from playground.models import Catalogue, EmbeddedBackend

    backends: list[Any] = [EmbeddedBackend()]
    if not no_ollama:
        from playground.models.ollama import OllamaBackend

        backends.append(OllamaBackend())
    return Catalogue(backends)


def cmd_retrieve(args: argparse.Namespace) -> int:
    _, index = _index(args)
    hits = index.retrieve(args.question, _retrieval(args))
    if args.json:
        out = {
            "question": args.question,
            "hits": [{k: h.as_dict()[k] for k in ("file_name", "page", "score", "similarity", "text")} for h in hits],
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    print(f"Q: {args.question}\n")
    for h in hits:
        where = f"{h.file_name} p.{h.page}" if h.page else h.file_name
        print(f"#{h.rank}  {where}  score {h.score:.3f}  similarity {h.similarity:.3f}")
        print(textwrap.indent(textwrap.shorten(h.text, 300), "    "), "\n")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from playground.compare import compare

    catalogue = _catalogue(args.no_ollama)
    base = catalogue.resolve(args.base)
    finetuned = catalogue.resolve(args.finetuned) if args.finetuned else None
    _, index = _index(args)
    run = compare(
        args.question,
        catalogue=catalogue,
        base=base,
        finetuned=finetuned,
        index=index,
        retrieval=_retrieval(args),
        generation=GenerationParams(temperature=args.temperature, seed=args.seed, max_tokens=args.max_tokens),
    )
    for i, condition in enumerate(run.conditions):
        if not args.quiet:
            _progress(i / 4, f"Answering: {condition.result.label} ({condition.result.model})")
        condition.run()
    results = run.results()
    if args.json:
        print(json.dumps({"question": run.question, "results": [_result_json(r) for r in results]}, indent=2))
    else:
        _print_summary(run.question, results)
    return 0 if all(r.error is None for r in results) else 1


def _result_json(r: Any) -> dict[str, Any]:
    m = r.metrics
    return {
        "condition": r.condition,
        "model": r.model,
        "text": r.text,
        "error": r.error,
        "note": r.note,
        "sources": [
            {"file_name": s.file_name, "page": s.page, "score": s.score, "text": s.text, "used_spans": s.used_spans}
            for s in r.sources
        ],
        "metrics": None
        if m is None
        else {
            "latency_s": round(m.latency_s, 3),
            "first_token_s": None if m.first_token_s is None else round(m.first_token_s, 3),
            "prompt_tokens": m.prompt_tokens,
            "completion_tokens": m.completion_tokens,
            "tokens_per_s": round(m.tokens_per_s, 1),
            "context_window": m.context_window,
            "retrieval_s": None if r.retrieval_s is None else round(r.retrieval_s, 3),
        },
    }


def _print_summary(question: str, results: list[Any]) -> None:
    width = 38
    print(f"Q: {question}\n")
    for pair in (results[:2], results[2:]):
        cols = []
        for r in pair:
            body = f"ERROR: {r.error}" if r.error else r.text.strip()
            lines = [r.label, r.model, "-" * width, *textwrap.wrap(body, width)]
            if r.metrics:
                m = r.metrics
                lines += ["", f"{m.latency_s:.2f}s, first token {m.first_token_s or 0:.2f}s"]
                lines += [f"{m.prompt_tokens} prompt + {m.completion_tokens} tokens, {m.tokens_per_s:.0f} tok/s"]
            if r.sources:
                lines += ["", "Sources: " + ", ".join(dict.fromkeys(s.file_name for s in r.sources))]
            if r.note:
                lines += ["", *textwrap.wrap(r.note, width)]
            cols.append(lines)
        height = max(len(c) for c in cols)
        for row in range(height):
            print("  |  ".join((c[row] if row < len(c) else "").ljust(width) for c in cols).rstrip())
        print()


def cmd_models(args: argparse.Namespace) -> int:
    listing = _catalogue(args.no_ollama).listing()
    if args.json:
        rows = [
            {
                "id": m.id,
                "family": m.family,
                "parameter_size": m.parameter_size,
                "quantization": m.quantization,
                "context_length": m.context_length,
                "finetuned_from": m.finetuned_from,
            }
            for m in listing.models
        ]
        print(json.dumps({"models": rows, "errors": listing.errors}, indent=2))
        return 0
    for m in listing.models:
        lineage = f"  fine-tuned from {m.finetuned_from}" if m.finetuned_from else ""
        print(f"{m.id:45} {m.family:10} {m.parameter_size:>6} {m.quantization:8} ctx {m.context_length}{lineage}")
    for backend, message in listing.errors.items():
        print(f"{backend}: {message}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"retrieve": cmd_retrieve, "ask": cmd_ask, "models": cmd_models}[args.command]
    try:
        return handler(args)
    except PlaygroundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
