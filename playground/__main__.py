"""Command line: the same core as the web app, headless.

    python -m playground retrieve --docs sample_docs --question "..." --json
    python -m playground ask --docs sample_docs --question "..." [--base M] [--finetuned M] [--json]
    python -m playground models [--json]
    python -m playground eval --docs sample_docs --questions sample_docs/questions.jsonl [--limit N] [--json]
    python -m playground finetune --docs sample_docs [--preset quick] [--base M] [--register-ollama [NAME]]
    python -m playground claims --docs sample_docs [--claim ID ...] [--finetuned M] [--json] [--report FILE]
    python -m playground decide --docs sample_docs --changes-per-month N --questions-per-day N [--latency-s S] --json
    python -m playground arena --docs sample_docs [--pairs base+rag:ft ...] [--judge M] [--questions FILE] --json

Progress goes to stderr, results to stdout; errors print one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

from playground.config import RETRIEVAL_MODES, ChunkSettings, GenerationParams, RetrievalSettings
from playground.errors import ConfigError, PlaygroundError


def _progress(fraction: float, message: str) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr)


def _add_retrieval_args(p: argparse.ArgumentParser) -> None:
    """How documents are chunked and retrieved: the same options, defaults and help wherever there is an index."""
    p.add_argument("--top-k", type=int, default=RetrievalSettings().top_k, help=RetrievalSettings.help("top_k"))
    p.add_argument(
        "--mode",
        default=None,
        choices=list(RETRIEVAL_MODES),
        help=RetrievalSettings.help("mode") + " Default: hybrid (retrieve: the retrieval check's choice).",
    )
    p.add_argument("--cutoff", type=float, default=0.0, help=RetrievalSettings.help("similarity_cutoff"))
    p.add_argument("--chunk-size", type=int, default=ChunkSettings().chunk_size, help=ChunkSettings.help("chunk_size"))
    p.add_argument(
        "--chunk-overlap", type=int, default=ChunkSettings().chunk_overlap, help=ChunkSettings.help("chunk_overlap")
    )


def _add_generation_args(p: argparse.ArgumentParser) -> None:
    """How answers are sampled: the same options, defaults and help wherever models answer."""
    for name, kind in (("max_tokens", int), ("temperature", float), ("seed", int)):
        default = getattr(GenerationParams(), name)
        p.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=GenerationParams.help(name))


def _add_docs_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--docs", required=True, type=Path, help="folder (or one file) of documents to index")
    p.add_argument("--question", required=True, help="the question to ask")
    _add_retrieval_args(p)
    p.add_argument(
        "--embed-model",
        default="all-MiniLM-L6-v2",
        help="embedding model: the bundled all-MiniLM-L6-v2, ollama:<name> (e.g. ollama:nomic-embed-text), or "
        "openai:<name> from the OpenAI-compatible server at OPENAI_BASE_URL (TEI, vLLM, llama.cpp's server)",
    )
    p.add_argument("--workspace", help="workspace name for the saved index (default: the folder's name)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a readable summary")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def escape_help(text: str | None) -> str | None:
    """A help text as argparse reads it: a bare ``%`` doubled, its own ``%(default)s`` and ``%%`` kept.

    Help texts come from the settings' dataclasses, written for people ("95% intervals"); argparse
    formats every help string with ``%`` and would fail on them.

    >>> escape_help("95% intervals, default %(default)s, already 5%%")
    '95%% intervals, default %(default)s, already 5%%'
    >>> escape_help(None) is None
    True
    """
    if text is None:
        return None
    return re.sub(r"%%|%\(|%", lambda m: m.group() if m.group() in ("%%", "%(") else "%%", text)


class _Parser(argparse.ArgumentParser):
    """Every argument's help escaped once, here, wherever it came from (subcommands get this class too)."""

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        if isinstance(kwargs.get("help"), str):
            kwargs["help"] = escape_help(kwargs["help"])
        return super().add_argument(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m playground", description="RAG vs fine-tuning playground")
    sub = parser.add_subparsers(dest="command", required=True)
    retrieve = sub.add_parser("retrieve", help="show the passages retrieval finds for a question")
    _add_docs_args(retrieve)
    ask = sub.add_parser("ask", help="four answers: base, base+rag, ft, ft+rag")
    _add_docs_args(ask)
    ask.add_argument(
        "--base", help="base model id or name (default: the embedded SmolLM2; openai:<model> with OPENAI_BASE_URL)"
    )
    ask.add_argument("--finetuned", help=FINETUNED_HELP)
    _add_generation_args(ask)
    ask.add_argument("--no-ollama", action="store_true", help="use only the embedded engine")
    models = sub.add_parser("models", help="list the models of every backend")
    models.add_argument("--json", action="store_true", help="print JSON instead of a readable list")
    models.add_argument("--no-ollama", action="store_true", help="list only the embedded engine's models")
    _add_eval_parser(sub)
    _add_finetune_parser(sub)
    _add_store_parser(sub)
    _add_claims_parser(sub)
    _add_decide_parser(sub)
    _add_arena_parser(sub)
    prepare = sub.add_parser(
        "prepare", help="what the install step does once: export the embedding model, index the sample"
    )
    prepare.add_argument("--force", action="store_true", help="export the embedding model again even when it is there")
    return parser


def _add_eval_parser(sub: Any) -> None:
    from playground.evaluate.records import EvalConfig

    p = sub.add_parser("eval", help="score the four conditions over a question set, with 95%% intervals")
    p.add_argument("--docs", type=Path, help="folder (or one file) of documents to index")
    p.add_argument("--questions", type=Path, help="question file (.jsonl or .csv); default: questions.jsonl in --docs")
    p.add_argument("--generate", type=int, metavar="N", help="evaluate N questions generated from the documents")
    p.add_argument("--limit", type=int, default=0, help=EvalConfig.help("limit"))
    p.add_argument("--base", help="base model id or name (default: the embedded SmolLM2)")
    p.add_argument("--finetuned", help=FINETUNED_HELP)
    p.add_argument(
        "--judge",
        metavar="MODEL",
        default="",
        help="a catalogue model that also judges each answer (verdict and reason beside containment, with "
        "Cohen's kappa between the two); default: no judge",
    )
    p.add_argument(
        "--conditions", default=",".join(EvalConfig().conditions), help="comma-separated: base,base+rag,ft,ft+rag"
    )
    p.add_argument("--workspace", help="workspace name for the index and the stored run (default: the folder's name)")
    p.add_argument("--card", type=Path, metavar="DIR", help="write the experiment card (JSON, Markdown, HTML) here")
    p.add_argument("--reproduce", type=Path, metavar="CARD", help="run a card.json's evaluation again and compare")
    _add_retrieval_args(p)
    p.add_argument("--embed-model", default="all-MiniLM-L6-v2", help="embedding model (see retrieve --help)")
    _add_generation_args(p)
    p.add_argument("--bootstrap", type=int, default=EvalConfig().bootstrap, help=EvalConfig.help("bootstrap"))
    p.add_argument("--no-ollama", action="store_true", help="use only the embedded engine")
    p.add_argument("--json", action="store_true", help="print JSON instead of a readable summary")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _add_finetune_parser(sub: Any) -> None:
    from playground.finetune.settings import DEFAULT_PRESET, PRESETS, LoraSettings

    p = sub.add_parser("finetune", help="train a LoRA adapter from the documents and add it to the catalogue")
    p.add_argument("--docs", required=True, type=Path, help="folder (or one file) of documents to learn from")
    p.add_argument(
        "--preset",
        default=DEFAULT_PRESET,
        choices=list(PRESETS),
        help=f"dataset recipe and LoRA settings (default: {DEFAULT_PRESET}, as on the Fine-tune page)",
    )
    p.add_argument("--base", help="base model id or name (default: the embedded SmolLM2; ollama:<name> for Ollama)")
    p.add_argument("--name", help="adapter name in the catalogue (default: the preset's, else <workspace>-ft)")
    p.add_argument("--out", type=Path, help="adapter file (.gguf) or folder (default: $PLAYGROUND_HOME/models)")
    p.add_argument("--dataset", type=Path, help="train on this JSONL instead of building a dataset")
    p.add_argument("--dataset-out", type=Path, metavar="PATH", help="also write the dataset as JSONL here")
    p.add_argument("--heldout", type=Path, action="append", default=[], help="more held-out question files")
    p.add_argument("--refuse-leaks", action="store_true", help="fail instead of dropping examples that leak")
    p.add_argument(
        "--report-only", action="store_true", help="show the dataset report (recipes, gates, ten examples); no training"
    )
    p.add_argument(
        "--generator",
        metavar="MODEL",
        help="a model that also writes Q&A from each chunk (e.g. ollama:llama3.2); 'auto': the largest Ollama or "
        "OpenAI-compatible model listed, where the documents are mostly prose",
    )
    for name in ("rank", "top_layers", "epochs", "max_steps", "batch_size", "max_seq_length", "seed"):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, help=LoraSettings.help(name))
    p.add_argument("--learning-rate", type=float, help=LoraSettings.help("learning_rate"))
    p.add_argument("--precision", choices=["auto", "float32", "bfloat16"], help=LoraSettings.help("precision"))
    p.add_argument("--register-ollama", nargs="?", const="", metavar="NAME", help="also create an Ollama model")
    p.add_argument("--workspace", help="workspace whose held-out questions apply (default: the folder's name)")
    p.add_argument("--chunk-size", type=int, default=ChunkSettings().chunk_size, help=ChunkSettings.help("chunk_size"))
    p.add_argument(
        "--chunk-overlap", type=int, default=ChunkSettings().chunk_overlap, help=ChunkSettings.help("chunk_overlap")
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a readable summary")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


FINETUNED_HELP = (
    "fine-tuned model id or name (default, as in the web app: a fine-tune trained on exactly these documents, "
    "the shipped one first, else the base model again; 'base' forces the base)"
)


def _models(args: argparse.Namespace, catalogue: Any, index: Any) -> tuple[Any, Any]:
    """The base and fine-tuned models: as named, else the defaults the web app picks for these documents."""
    from playground.models import default_finetune

    base = catalogue.resolve(args.base)
    if args.finetuned:
        finetuned = None if args.finetuned == "base" else catalogue.resolve(args.finetuned)
    else:
        finetuned = default_finetune(catalogue.listing().models, base, index.files)
    if not args.quiet:
        print(f"Fine-tuned slot: {finetuned.id if finetuned else 'the base model again'}", file=sys.stderr)
    return base, finetuned


def _index(args: argparse.Namespace) -> tuple[Any, Any]:
    from playground.documents import apply_budgets
    from playground.embeddings import embedding_model
    from playground.index import build_index
    from playground.workspace import default_workspace, load_path

    files = load_path(args.docs)  # before the embedding model loads: a wrong path fails in no time
    settings = ChunkSettings(args.chunk_size, args.chunk_overlap)
    files = apply_budgets(files, settings)  # a file over a chunk budget is refused before anything is embedded
    for f in files:
        if not f.ok:  # said even with --quiet: a file left out changes what the answers can draw on
            print(f"skipped {f.file_name!r}: {f.error}", file=sys.stderr)
    index = build_index(
        files,
        embed_model=embedding_model(args.embed_model),
        chunk_settings=settings,
        workspace=args.workspace or default_workspace(args.docs),
        progress=(lambda f, m: None) if args.quiet else _progress,
    )
    return files, index


def _retrieval(args: argparse.Namespace) -> RetrievalSettings:
    return RetrievalSettings(top_k=args.top_k, similarity_cutoff=args.cutoff, mode=args.mode or "hybrid")


def _catalogue(no_ollama: bool) -> Any:
    from playground.models import Catalogue, EmbeddedBackend, openai_backend

    backends: list[Any] = [EmbeddedBackend()]
    if not no_ollama:
        from playground.models.ollama import OllamaBackend

        backends.append(OllamaBackend())
    if openai := openai_backend():  # only where OPENAI_BASE_URL names a server
        backends.append(openai)
    return Catalogue(backends)


def cmd_retrieve(args: argparse.Namespace) -> int:
    from playground.retrieval_check import chosen_settings, folder_check, index_with_header, summary
    from playground.workspace import default_workspace

    files, index = _index(args)
    # The recipe this workspace measured best with, unless --mode names one (a person's override).
    check = folder_check(index, args.docs, files, args.workspace or default_workspace(args.docs))
    settings = _retrieval(args) if args.mode else chosen_settings(check, _retrieval(args))
    if not args.mode:  # the chosen header means chunks embedded under it: that index (built once, then kept)
        index = index_with_header(index, check.chosen.headers, files)
    hits = index.retrieve(args.question, settings)
    if not args.quiet:
        print(summary(check) if not args.mode else f"--mode {args.mode} (over the check's choice)", file=sys.stderr)
    if args.json:
        out = {
            "question": args.question,
            "hits": [{k: h.as_dict()[k] for k in ("file_name", "page", "score", "similarity", "text")} for h in hits],
            "retrieval_check": {
                **check.as_dict(),
                "used": {
                    "mode": settings.mode,
                    "vector_weight": settings.vector_weight,
                    "headers": index.recipe.headers,
                },
                "overridden": bool(args.mode),
            },
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
    from playground.documents import QUESTIONS_FILE, load_questions
    from playground.readout import Comparison, gold_answer

    catalogue = _catalogue(args.no_ollama)
    catalogue.resolve(args.base)  # a wrong model name fails before the index is built
    _, index = _index(args)
    base, finetuned = _models(args, catalogue, index)
    run = compare(
        args.question,
        catalogue=catalogue,
        base=base,
        finetuned=finetuned,
        index=index,
        retrieval=_retrieval(args),
        generation=GenerationParams(temperature=args.temperature, seed=args.seed, max_tokens=args.max_tokens),
        documents=index.files,
    )
    for i, condition in enumerate(run.conditions):
        if not args.quiet:
            _progress(i / 4, f"Answering: {condition.result.label} ({condition.result.model})")
        condition.run()
    results = run.results()
    rows = load_questions(args.docs) if args.docs.is_dir() and (args.docs / QUESTIONS_FILE).is_file() else []
    comparison = Comparison(run.question, results, gold=gold_answer(run.question, rows), workspace=index.workspace)
    if args.json:
        out = {
            "question": run.question,
            "gold": comparison.gold,
            "reading": comparison.reading(),
            "results": [_result_json(r, comparison) for r in results],
        }
        print(json.dumps(out, indent=2))
    else:
        _print_summary(comparison)
    return 0 if all(r.error is None for r in results) else 1


def _result_json(r: Any, comparison: Any) -> dict[str, Any]:
    m = r.metrics
    return {
        "condition": r.condition,
        "model": r.model,
        "text": r.text,
        "error": r.error,
        "note": r.note,
        "stopped_at": r.stopped_at,
        "unsupported": r.unsupported,
        "correct": comparison.verdict(r),
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


def _print_summary(comparison: Any) -> None:
    from playground.readout import flags

    width = 38
    results = comparison.results
    print(f"Q: {comparison.question}\n")
    if comparison.gold is not None:
        print(f"Expected: {comparison.gold}\n")
    for pair in (results[:2], results[2:]):
        cols = []
        for r in pair:
            body = f"ERROR: {r.error}" if r.error else r.text.strip()
            verdict = comparison.verdict(r)
            label = r.label if verdict is None else f"{r.label} ({'right' if verdict else 'wrong'})"
            lines = [label, r.model, "-" * width, *textwrap.wrap(body, width)]
            if r.metrics:
                m = r.metrics
                lines += ["", f"{m.latency_s:.2f}s, first token {m.first_token_s or 0:.2f}s"]
                lines += [f"{m.prompt_tokens} prompt + {m.completion_tokens} tokens, {m.tokens_per_s:.0f} tok/s"]
            if r.sources:
                lines += ["", "Sources: " + ", ".join(dict.fromkeys(s.file_name for s in r.sources))]
            for flag in flags(r):
                lines += ["", *textwrap.wrap(flag, width)]
            cols.append(lines)
        height = max(len(c) for c in cols)
        for row in range(height):
            print("  |  ".join((c[row] if row < len(c) else "").ljust(width) for c in cols).rstrip())
        print()
    print(textwrap.fill(f"Reading: {comparison.reading()}", 2 * width + 5))


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
        print(json.dumps({"models": rows, "errors": listing.errors, "unusable": listing.unusable}, indent=2))
        return 0
    for m in listing.models:
        lineage = f"  fine-tuned from {m.finetuned_from}" if m.finetuned_from else ""
        print(f"{m.id:45} {m.family:10} {m.parameter_size:>6} {m.quantization:8} ctx {m.context_length}{lineage}")
    for backend, message in listing.errors.items():
        print(f"{backend}: {message}", file=sys.stderr)
    for path, why in listing.unusable.items():
        print(f"unusable: {path}: {why}", file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from playground.evaluate import EvalConfig, evaluate, summarize, write_card
    from playground.evaluate.judge import JudgeSettings
    from playground.evaluate.questions import generate_questions, load_question_file

    progress = (lambda f, m: None) if args.quiet else _progress
    if args.reproduce:
        return _reproduce(args, progress)
    if args.docs is None:
        raise ConfigError("eval needs --docs PATH (the documents to index), or --reproduce CARD")
    if args.generate is None:  # read the questions before any model loads: a bad row fails in no time
        questions = load_question_file(args.questions or args.docs)
    config = EvalConfig(
        conditions=tuple(c.strip() for c in args.conditions.split(",") if c.strip()),
        limit=args.limit,
        retrieval=_retrieval(args),
        generation=GenerationParams(temperature=args.temperature, seed=args.seed, max_tokens=args.max_tokens),
        chunk=ChunkSettings(args.chunk_size, args.chunk_overlap),
        bootstrap=args.bootstrap,
        judge=JudgeSettings(model=args.judge),
    )
    catalogue = _catalogue(args.no_ollama)
    catalogue.resolve(args.base)  # a wrong model name fails before the index is built
    if args.judge:
        catalogue.resolve(args.judge)
    _, index = _index(args)
    base, finetuned = _models(args, catalogue, index)
    if args.generate is not None:
        questions = generate_questions(index.nodes, limit=args.generate, name=f"generated-{args.generate}")
    run = evaluate(
        questions,
        catalogue=catalogue,
        base=base,
        finetuned=finetuned,
        index=index,
        config=config,
        docs=args.docs,
        progress=progress,
    )
    summary = summarize(run)
    cards = {k: str(v) for k, v in write_card(run, args.card).items()} if args.card else {}
    if args.json:
        out = {"run_id": run.run_id, "run_dir": str(run.run_dir), "summary": summary.as_dict(), "card": cards}
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(summary.table())
        print(f"\nStored in {run.run_dir} (run the same command again to resume or reuse it)")
        for path in cards.values():
            print(f"Card: {path}")
    failed = any(s.errors for s in summary.conditions.values())
    return 1 if failed else 0


def _reproduce(args: argparse.Namespace, progress: Any) -> int:
    from playground.evaluate import summarize
    from playground.evaluate.card import read_card, reproduce_run

    card = read_card(args.reproduce)
    run = reproduce_run(args.reproduce, catalogue=_catalogue(args.no_ollama), docs=args.docs, progress=progress)
    summary = summarize(run)
    now = summary.as_dict()
    rows = []
    for condition, before in card["summary"]["conditions"].items():
        after = now["conditions"].get(condition, {})
        for metric in ("correct", "strict_em", "f1"):
            rows.append((condition, metric, before[metric]["mean"], after.get(metric, {}).get("mean")))
    same = all(b == a for *_, b, a in rows) and card["summary"]["retrieval"] == now["retrieval"]
    if args.json:
        out = {"run_dir": str(run.run_dir), "same": same, "card": card["summary"], "summary": now}
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(summary.table())
        print()
        for condition, metric, before, after in rows:
            print(f"{condition:9} {metric:10} card {before}  now {after}  {'same' if before == after else 'DIFFERS'}")
        print(f"\n{'The card reproduces.' if same else 'The numbers differ from the card.'} Stored in {run.run_dir}")
    return 0 if same else 1


def cmd_finetune(args: argparse.Namespace) -> int:
    from playground.documents import chunk
    from playground.finetune.dataset import build_dataset, import_dataset
    from playground.finetune.pipeline import finetune, resolve_base
    from playground.finetune.settings import preset
    from playground.workspace import default_workspace, load_path, slug

    progress = (lambda f, m: None) if args.quiet else _progress
    names = ("rank", "top_layers", "epochs", "max_steps", "batch_size", "max_seq_length", "seed")
    overrides = {k: getattr(args, k) for k in names}
    chosen = preset(args.preset, learning_rate=args.learning_rate, precision=args.precision, **overrides)
    workspace = args.workspace or default_workspace(args.docs)
    heldout = [args.docs if args.docs.is_dir() else args.docs.parent, *args.heldout]
    on_leak = "refuse" if args.refuse_leaks else "drop"
    files = load_path(args.docs)
    corpus = {"workspace": workspace, "files": {f.file_name: f.sha256 for f in files if f.ok}}
    if args.dataset:
        dataset = import_dataset(
            args.dataset.read_text(encoding="utf-8"), workspace=workspace, heldout_extra=heldout, on_leak=on_leak
        )
    else:
        chunks = chunk([f for f in files if f.ok], ChunkSettings(args.chunk_size, args.chunk_overlap))
        settings, generator_catalogue = chosen.dataset, None
        if args.generator:
            from dataclasses import replace

            from playground.questioncraft import prose_share, suggest_generator

            generator_catalogue = _catalogue(no_ollama=False)
            generator = args.generator
            if generator == "auto":
                offered = suggest_generator(chunks, generator_catalogue.listing().models)
                share = f"{prose_share(chunks):.0%} of sentences state no fact"
                print(f"Generator: {offered.id if offered else 'none'} ({share})", file=sys.stderr)
                generator = offered.id if offered else ""
            settings = replace(settings, generator=generator)
        dataset = build_dataset(
            chunks,
            settings,
            workspace=workspace,
            heldout_extra=heldout,
            on_leak=on_leak,
            progress=progress,
            catalogue=generator_catalogue,
        )
    print(dataset.leakage.summary(), file=sys.stderr)  # always shown: the check is part of the result
    if args.dataset_out:
        dataset.save(args.dataset_out)
    report = dataset.report()
    if args.report_only:
        if args.json:
            print(json.dumps({"dataset_report": report}, indent=2, ensure_ascii=False))
        else:
            print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    wants_ollama = args.register_ollama is not None or (args.base or "").startswith("ollama:")
    catalogue = _catalogue(no_ollama=not wants_ollama)
    base = resolve_base(catalogue.resolve(args.base), catalogue)
    out_dir, name = args.out, args.name or chosen.name or f"{slug(workspace)}-ft"
    if out_dir is not None and out_dir.suffix == ".gguf":
        out_dir, name = out_dir.parent, args.name or out_dir.stem
    ft, result = finetune(dataset, chosen.lora, base=base, name=name, out_dir=out_dir, corpus=corpus, progress=progress)
    if args.register_ollama is not None:
        from playground.finetune.ollama import register_ollama
        from playground.models.ollama import OllamaBackend

        ollama = catalogue.backends["ollama"]
        assert isinstance(ollama, OllamaBackend)  # the catalogue was made with it: wants_ollama
        registration = register_ollama(
            ft, base=base, backend=ollama, name=args.register_ollama or None, progress=progress
        )
        ft.ollama = registration.model
    summary = {
        "name": ft.name,
        "model_id": ft.model_id,
        "adapter_path": ft.adapter_path,
        "base": ft.base,
        "examples": dataset.counts(),
        "dataset_hash": ft.dataset_hash,
        "leakage": ft.leakage,
        "steps": ft.steps,
        "seconds": ft.seconds,
        "device": result.device,
        "precision": result.precision,
        "final_loss": result.final_loss,
        "skipped": result.skipped,
        "tokens_per_s": round(result.tokens_per_s, 1),
        "ollama": ft.ollama,
        "dataset_report": report,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{ft.model_id}  fine-tuned from {ft.base}")
        print(f"adapter: {ft.adapter_path}")
        print(f"data: {sum(dataset.counts().values())} examples {dataset.counts()}, hash {ft.dataset_hash}")
        loss = f"{result.final_loss:.3f}" if result.final_loss is not None else "-"
        print(f"training: {ft.steps} steps in {ft.seconds:.0f} s on {result.device} ({result.precision}), loss {loss}")
        if result.skipped:
            print(f"skipped {result.skipped} examples whose prompt is longer than --max-seq-length")
        if ft.ollama:
            print(f"ollama: {ft.ollama}")
    return 0


def _add_claims_parser(sub: Any) -> None:
    from playground.claims import CLAIMS, ClaimsConfig

    p = sub.add_parser("claims", help="test what articles claim about RAG and fine-tuning on these documents")
    p.add_argument("--docs", required=True, type=Path, help="folder (or one file) of documents")
    p.add_argument(
        "--claim",
        action="append",
        choices=list(CLAIMS),
        help="a claim to test (repeat for several; default: every claim but the opt-in data-needs)",
    )
    p.add_argument("--questions", type=Path, help="held-out question file (default: questions.jsonl in --docs)")
    p.add_argument("--base", help="base model id or name (default: the embedded SmolLM2)")
    p.add_argument("--finetuned", help=FINETUNED_HELP)
    for name in (
        "questions",
        "latency_questions",
        "unanswerable",
        "changed_facts",
        "contradicted",
        "general",
        "max_tokens",
    ):
        flag = "--n-questions" if name == "questions" else f"--{name.replace('_', '-')}"
        p.add_argument(
            flag, dest=f"n_{name}", type=int, default=getattr(ClaimsConfig(), name), help=ClaimsConfig.help(name)
        )
    p.add_argument("--retrain", dest="n_retrain", action="store_true", help=ClaimsConfig.help("retrain"))
    p.add_argument("--rerun", action="store_true", help="run again even where a stored result exists")
    p.add_argument("--workspace", help="workspace name for the index and stored results (default: the folder's name)")
    p.add_argument("--report", type=Path, metavar="FILE", help="also write the report (.html, .md or .json)")
    _add_retrieval_args(p)
    p.add_argument("--embed-model", default="all-MiniLM-L6-v2", help="embedding model (see retrieve --help)")
    p.add_argument("--no-ollama", action="store_true", help="use only the embedded engine")
    p.add_argument("--json", action="store_true", help='print {"claims": [...], "config": {...}} instead of a table')
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _claims_lab(args: argparse.Namespace, config: Any = None) -> Any:
    """The claims lab of these documents and models, built the same way wherever stored claims are read."""
    from playground.claims import ClaimsConfig, Lab
    from playground.evaluate.questions import load_question_file

    catalogue = _catalogue(args.no_ollama)
    catalogue.resolve(args.base)  # a wrong model name fails before the index is built
    files, index = _index(args)
    base, finetuned = _models(args, catalogue, index)
    questions_file = args.questions or (args.docs / "questions.jsonl" if args.docs.is_dir() else None)
    return Lab(
        index.workspace,
        [f for f in files if f.ok],
        index,
        catalogue,
        base,
        finetuned,
        config=config or ClaimsConfig(),
        retrieval=_retrieval(args),
        questions=load_question_file(questions_file) if questions_file and questions_file.is_file() else None,
    )


def cmd_claims(args: argparse.Namespace) -> int:
    from playground.claims import CLAIMS, ClaimsConfig, duration, estimate, report_json, run_claims, write_report

    progress = (lambda f, m: None) if args.quiet else _progress
    config = ClaimsConfig(**{k[2:]: v for k, v in vars(args).items() if k.startswith("n_")})
    lab = _claims_lab(args, config)
    ids = args.claim or [c.id for c in CLAIMS.values() if not c.opt_in]
    if not args.quiet:
        print(f"Testing {len(ids)} claim(s); about {duration(estimate(lab, ids))} on this machine", file=sys.stderr)
    results = run_claims(lab, ids, progress, rerun=args.rerun)
    if args.report:
        write_report(lab, results, args.report)
        if not args.quiet:
            print(f"Report written to {args.report}", file=sys.stderr)
    if args.json:
        print(json.dumps(report_json(lab, results), indent=2, default=str, ensure_ascii=False))
        return 0
    for r in results:
        print(f"{r.id:22} {r.verdict:14} {r.summary}\n")
    return 0


def _add_decide_parser(sub: Any) -> None:
    from playground.decide import Situation

    p = sub.add_parser(
        "decide", help="a recommendation (RAG, fine-tuning, both, neither yet) from the stored evidence; runs nothing"
    )
    p.add_argument("--docs", required=True, type=Path, help="folder (or one file) of documents the claims ran on")
    for name in ("changes_per_month", "questions_per_day", "latency_s", "hourly_cost"):
        default = 0.0 if name == "hourly_cost" else getattr(Situation(), name)  # 0: the machine's default rate
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=default, help=Situation.help(name))
    p.add_argument("--citations", action="store_true", help=Situation.help("citations"))
    p.add_argument("--style", action="store_true", help=Situation.help("style"))
    p.add_argument("--machine", default="cpu", choices=["cpu", "gpu"], help=Situation.help("machine"))
    p.add_argument("--brief", type=Path, metavar="FILE", help="also write the one-page brief (.html, .md or .json)")
    p.add_argument("--questions", type=Path, help="held-out question file the claims ran with (default: as claims)")
    p.add_argument("--base", help="base model id or name the claims ran with (default: the embedded SmolLM2)")
    p.add_argument("--finetuned", help=FINETUNED_HELP)
    p.add_argument("--workspace", help="workspace whose stored evidence is read (default: the folder's name)")
    _add_retrieval_args(p)
    p.add_argument("--embed-model", default="all-MiniLM-L6-v2", help="embedding model (see retrieve --help)")
    p.add_argument("--no-ollama", action="store_true", help="use only the embedded engine")
    p.add_argument("--json", action="store_true", help="print the decision as JSON instead of a readable summary")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def cmd_decide(args: argparse.Namespace) -> int:
    """What the stored evidence recommends for the situation given; the missing evidence is named, never run."""
    from playground.decide import Situation, decide, write_brief

    situation = Situation(
        changes_per_month=args.changes_per_month,
        questions_per_day=args.questions_per_day,
        latency_s=args.latency_s,
        citations=args.citations,
        style=args.style,
        machine=args.machine,
        hourly_cost=args.hourly_cost,
    )
    decision = decide(_claims_lab(args), situation)
    if args.brief:
        write_brief(decision, args.brief)
        if not args.quiet:
            print(f"Brief written to {args.brief}", file=sys.stderr)
    if args.json:
        print(json.dumps(decision.as_dict(), indent=2, default=str, ensure_ascii=False))
        return 0
    print(decision.headline)
    for title, lines in (
        ("Why", [f"{r.text} ({r.source})" for r in decision.reasons]),
        ("Break-even", [b.sentence() for b in decision.break_even]),
        ("What would change it", decision.would_change),
        ("Missing", [f"{m.claim or ''}: {m.why}".lstrip(": ") for m in decision.missing]),
    ):
        if lines:
            print(f"\n{title}:")
            print("\n".join(f"- {line}" for line in lines))
    return 0


def _add_store_parser(sub: Any) -> None:
    from playground.vectorstores import STORE_KINDS, VectorStoreSettings

    p = sub.add_parser(
        "store", help="show or set where a workspace's index keeps its vectors (embedded, Chroma, Milvus, Qdrant)"
    )
    p.add_argument("--workspace", required=True, help="workspace name (for --docs FOLDER, the folder's name)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--kind", choices=STORE_KINDS, help=VectorStoreSettings.help("kind"))
    where.add_argument(
        "--chroma", metavar="URL", help="a Chroma server started with `chroma run` (as --kind chroma --url URL)"
    )
    where.add_argument("--embedded", action="store_true", help="back to the default: vectors in the index folder")
    p.add_argument("--url", default="", help=VectorStoreSettings.help("url") + " Milvus Lite: a file ending in .db.")
    p.add_argument("--prefix", default="playground", help=VectorStoreSettings.help("prefix"))
    p.add_argument("--key-env", default="", metavar="VAR", help=VectorStoreSettings.help("key_env"))


def cmd_store(args: argparse.Namespace) -> int:
    from playground.vectorstores import VectorStoreSettings, choose_vector_store, workspace_vector_store
    from playground.workspace import slug

    kind, url = ("chroma", args.chroma) if args.chroma else (args.kind, args.url)
    if kind == "embedded" or args.embedded:
        choose_vector_store(args.workspace, VectorStoreSettings())
    elif kind:
        choose_vector_store(args.workspace, VectorStoreSettings(kind, url, args.prefix, args.key_env))
    store = workspace_vector_store(args.workspace)
    print(f"workspace {slug(args.workspace)}: vectors in the {store.describe()} store")
    if kind or args.embedded:
        print("the next index is built there, reusing the embeddings the workspace already has")
    return 0


def _add_arena_parser(sub: Any) -> None:
    from playground.arena import DEFAULT_PAIRS

    p = sub.add_parser("arena", help="blind pairwise votes ranked by Bradley-Terry; --judge lets a model vote")
    p.add_argument("--docs", required=True, type=Path, help="folder (or one file) of documents to index")
    p.add_argument(
        "--pairs",
        nargs="+",
        metavar="LEFT:RIGHT",
        help=f"pipelines to match, condition[@model][#kN] each (default: {' '.join(DEFAULT_PAIRS)})",
    )
    p.add_argument("--judge", metavar="MODEL", help="a catalogue model that votes on every pair, in both orders")
    p.add_argument("--questions", type=Path, help="question file (.jsonl or .csv); default: questions.jsonl in --docs")
    p.add_argument("--limit", type=int, default=2, help="questions to ask (0: all); each asks every pair")
    p.add_argument("--base", help="base model id or name (default: the embedded SmolLM2)")
    p.add_argument("--finetuned", help=FINETUNED_HELP)
    p.add_argument("--export", type=Path, metavar="DIR", help="write arena.json and an offline arena.html here")
    p.add_argument("--resamples", type=int, default=400, help="bootstrap resamples of the votes for the intervals")
    _add_retrieval_args(p)
    _add_generation_args(p)
    p.add_argument("--embed-model", default="all-MiniLM-L6-v2", help="embedding model (as for ask)")
    p.add_argument("--workspace", help="workspace whose votes are read and written (default: the folder's name)")
    p.add_argument("--no-ollama", action="store_true", help="use only the embedded engine")
    p.add_argument("--json", action="store_true", help="print JSON instead of a readable summary")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def cmd_arena(args: argparse.Namespace) -> int:
    """Ratings from the workspace's stored votes; with --judge, new rounds over the questions, judged first."""
    from playground.arena import ArenaStore, judge_rounds, new_round, pairs, rate
    from playground.arena import export as export_arena
    from playground.arena.report import labels
    from playground.documents import QUESTIONS_FILE
    from playground.evaluate.questions import load_question_file
    from playground.workspace import default_workspace

    matches = pairs(args.pairs)  # a wrong pair fails before anything loads
    store = ArenaStore.for_workspace(args.workspace or default_workspace(args.docs))
    out: dict[str, Any] = {"workspace": args.workspace or default_workspace(args.docs)}
    progress = (lambda f, m: None) if args.quiet else _progress
    if args.judge:
        catalogue = _catalogue(args.no_ollama)
        judge = catalogue.resolve(args.judge)
        path = args.questions or (args.docs / QUESTIONS_FILE)
        questions = load_question_file(path).questions
        questions = questions[: args.limit] if args.limit else questions
        args.question = ""
        _, index = _index(args)
        base, finetuned = _models(args, catalogue, index)
        generation = GenerationParams(temperature=args.temperature, seed=args.seed, max_tokens=args.max_tokens)
        rounds = []
        for i, q in enumerate(questions):
            for pair in matches:
                progress(i / len(questions), f"Answering: {q.question[:60]} ({pair[0].key} vs {pair[1].key})")
                rounds.append(
                    new_round(
                        store,
                        q.question,
                        pair,
                        gold=q.answer or None,
                        catalogue=catalogue,
                        base=base,
                        finetuned=finetuned,
                        index=index,
                        retrieval=_retrieval(args),
                        generation=generation,
                    )
                )
        out["judge"] = judge_rounds(store, rounds, catalogue, judge, progress=progress).as_dict()
    fit = rate(store.outcomes(), labels=labels(store.rounds()), resamples=args.resamples)
    out["ratings"] = fit.as_dict()
    if args.export:
        out["export"] = {k: str(v) for k, v in export_arena(store, args.export).items()}
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    print(fit.sentence())
    for row in fit.leaderboard():
        print(
            f"{row['rank']}. {row['label']:<28} Elo {row['elo']:>5} ({row['elo_low']}-{row['elo_high']})  "
            f"{row['votes']} votes"
        )
    if "judge" in out:
        j = out["judge"]
        print(f"Judge {j['judge']}: {j['votes']} votes, {j['position_bias']} flipped with the order")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    """Once per install: a fresh server then loads the embedding model and the sample's index in under a second."""
    from playground.embeddings import export_onnx, exported_path
    from playground.seed import seed_dir, seed_sample

    target = exported_path()
    if args.force or not target.exists():
        export_onnx(target)
    print(f"embedding model in ONNX: {target}")
    keys = seed_sample()
    print(f"sample index for new homes: {', '.join(keys)} in {seed_dir()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {
        "retrieve": cmd_retrieve,
        "ask": cmd_ask,
        "models": cmd_models,
        "eval": cmd_eval,
        "finetune": cmd_finetune,
        "store": cmd_store,
        "claims": cmd_claims,
        "decide": cmd_decide,
        "arena": cmd_arena,
        "prepare": cmd_prepare,
    }[args.command]
    try:
        return handler(args)
    except PlaygroundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
