"""Evaluation runs: every question through the four conditions, scored, stored as it goes.

A run lives in ``workspaces/<ws>/evals/<run id>/``: ``config.json`` (settings, models with
their file hashes, the index, the question set) and ``results.jsonl`` (one line per answered
question, appended as soon as it is scored). The run id hashes everything the answers depend
on, so running the same evaluation again *resumes*: stored questions are skipped, answers that
failed are retried. ``cancel`` (a ``threading.Event``) stops the run between answers; what was
stored stays.

Retrieval runs once per question, ``max(top_k, 5)`` deep: the first ``top_k`` passages go to
both RAG conditions, the full list gives the rank of the first relevant passage (a chunk of the
right file that contains the gold answer; the chunk a generated question came from; failing
both, any chunk of the right file) for hit@1/3/5 and MRR.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from playground.compare import CONDITIONS, LABELS, PromptSettings, compare
from playground.config import (
    ChunkSettings,
    GenerationParams,
    Progress,
    RetrievalSettings,
    _Config,
    _help,
    _require,
    no_progress,
)
from playground.embeddings import DEFAULT_EMBED_MODEL
from playground.errors import ConfigError, PlaygroundError
from playground.evaluate.metrics import (
    embedding_similarity,
    exact_match,
    first_relevant_rank,
    normalize_answer,
    strict_exact_match,
    token_f1,
)
from playground.evaluate.questions import Question, QuestionSet, from_rows, register_for_evaluation
from playground.index import Hit, PlaygroundIndex
from playground.workspace import slug, workspace_dir
from playground.models import DEFAULT_MODEL, Catalogue, ModelInfo

if TYPE_CHECKING:
    from playground.evaluate.report import Summary

RANK_DEPTH = 5  # hit@1/3/5 and MRR look this deep; up to top_k 5 the RAG passages are a prefix of it
RESULTS_FILE = "results.jsonl"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class EvalConfig(_Config):
    """Everything an evaluation's numbers depend on; a card stores it and :func:`reproduce` reads it back."""

    conditions: tuple[str, ...] = _help(
        "Conditions to run, out of base, base+rag, ft, ft+rag. Base is the reference the others are read against.",
        CONDITIONS,
    )
    limit: int = _help("Evaluate the first N questions of the set; 0 evaluates them all.", 0)
    retrieval: RetrievalSettings = field(
        default_factory=RetrievalSettings,
        metadata={"help": "Passages given to the RAG conditions (top-k, mode, cutoff)."},
    )
    generation: GenerationParams = field(
        default_factory=GenerationParams,
        metadata={"help": "How answers are generated; temperature 0 with a fixed seed makes a run repeatable."},
    )
    chunk: ChunkSettings = field(
        default_factory=ChunkSettings,
        metadata={"help": "Chunking of the index (taken from the index, so a card can rebuild it)."},
    )
    prompts: PromptSettings = field(
        default_factory=PromptSettings, metadata={"help": "System prompt and RAG template, as on the Compare page."}
    )
    base: str = _help("The base model's id.", DEFAULT_MODEL)
    finetuned: str = _help("The fine-tuned model's id; empty runs the base model again in that slot.", "")
    embed_model: str = _help("Embedding model of the index and of answer similarity.", DEFAULT_EMBED_MODEL)
    seed: int = _help("Seed of the bootstrap resampling, so the intervals repeat.", 0)
    bootstrap: int = _help("Bootstrap resamples behind each 95% interval; more is steadier and slower.", 2000)

    def __post_init__(self) -> None:
        conditions = tuple(self.conditions)
        object.__setattr__(self, "conditions", conditions)  # a list from JSON becomes the tuple it stands for
        unknown = [c for c in conditions if c not in CONDITIONS]
        _require(bool(conditions) and not unknown, "EvalConfig", "conditions", conditions, f"choose from {CONDITIONS}")
        _require(len(set(conditions)) == len(conditions), "EvalConfig", "conditions", conditions, "names one twice")
        _require(self.limit >= 0, "EvalConfig", "limit", self.limit, "must be 0 (all) or more")
        _require(bool(self.base.strip()), "EvalConfig", "base", self.base, "needs a model id")
        _require(self.seed >= 0, "EvalConfig", "seed", self.seed, "must be 0 or more")
        _require(100 <= self.bootstrap <= 100_000, "EvalConfig", "bootstrap", self.bootstrap, "must be 100..100000")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalConfig:
        """Rebuild a config from :meth:`as_dict` output (e.g. a card's JSON); unknown keys are an error."""
        nested = {
            "retrieval": RetrievalSettings,
            "generation": GenerationParams,
            "chunk": ChunkSettings,
            "prompts": PromptSettings,
        }
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"EvalConfig has no setting(s) {unknown}: was the card written by another version?")
        values = {k: nested[k](**v) if k in nested and isinstance(v, dict) else v for k, v in data.items()}
        return cls(**values)

    def answer_key(self) -> dict[str, Any]:
        """The settings the answers depend on (not the limit or the bootstrap), for the run id."""
        out = self.as_dict()
        for name in ("limit", "seed", "bootstrap", "conditions"):
            out.pop(name)
        return out


@dataclass
class EvalRun:
    """A run as stored: its config, the questions it covers and the scored results (question order)."""

    run_dir: Path
    config: EvalConfig
    questions: QuestionSet  # the evaluated questions (the limit applied)
    results: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)  # models, index, question set, documents
    cancelled: bool = False

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    @property
    def complete(self) -> bool:
        return len(self.results) == len(self.questions)

    def summary(self) -> Summary:
        from playground.evaluate.report import summarize

        return summarize(self)


class _Retrieved:
    """Stands in for the index inside :func:`compare`: hands over passages already retrieved."""

    def __init__(self, hits: list[Hit], error: str | None):
        self.hits, self.error = hits, error

    def retrieve(self, question: str, settings: RetrievalSettings | None = None) -> list[Hit]:
        if self.error:
            raise PlaygroundError(self.error)
        return self.hits[: (settings or RetrievalSettings()).top_k]


def evaluate(
    questions: QuestionSet,
    *,
    catalogue: Catalogue,
    base: ModelInfo | None = None,
    finetuned: ModelInfo | None = None,
    index: PlaygroundIndex | None = None,
    config: EvalConfig | None = None,
    embed_model: Any = None,
    docs: str | Path | None = None,
    workspace: str | None = None,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
    run_dir: str | Path | None = None,
) -> EvalRun:
    """Answer and score ``questions`` under every condition of ``config``; resumes a stored run of the same inputs.

    Models default to ``config.base`` / ``config.finetuned`` resolved in ``catalogue``. Without a
    fine-tuned model the ft conditions are the base model again: their answers are taken from the
    base conditions (same model, prompt and seed) instead of being generated twice. ``embed_model``
    (default: the index's) scores answer similarity. ``docs`` is recorded so a card can rebuild the index.
    """
    config = config or EvalConfig()
    base = base or catalogue.resolve(config.base)
    if finetuned is None and config.finetuned:
        finetuned = catalogue.resolve(config.finetuned)
    if finetuned is not None and finetuned.id == base.id:
        finetuned = None
    config = replace(config, base=base.id, finetuned=finetuned.id if finetuned else "")
    if index is not None:  # record what the index really is, not what was asked for
        config = replace(config, chunk=ChunkSettings(**index.stats.chunk_settings), embed_model=index.stats.embed_model)
    embed_model = embed_model if embed_model is not None else (index.embed_model if index else None)
    workspace = workspace or (index.workspace if index else "default")
    register_for_evaluation(workspace, questions)

    selected = questions.head(config.limit)
    meta = {
        "workspace": workspace,
        "docs": str(Path(docs).resolve()) if docs else None,
        "models": {"base": describe_model(base), "finetuned": describe_model(finetuned) if finetuned else None},
        "index": describe_index(index),
        "questions": {
            "name": questions.name,
            "origin": questions.origin,
            "count": len(questions),
            "sha256": questions.sha256,
            "rows": questions.rows(),
            **({"prompt": questions.extra["prompt"]} if "prompt" in questions.extra else {}),
        },
    }
    key = {
        "config": config.answer_key(),
        "questions": questions.sha256,
        "models": meta["models"],
        "index": index.key if index else None,
    }
    run_id = f"{slug(questions.name)}-{_digest(key)[:12]}"
    folder = Path(run_dir) if run_dir else workspace_dir(workspace) / "evals" / run_id
    folder.mkdir(parents=True, exist_ok=True)
    previous = _read_json(folder / CONFIG_FILE) or {}
    _write_atomic(
        folder / CONFIG_FILE,
        json.dumps(
            {"run_id": folder.name, "created": previous.get("created") or _now(), "config": config.as_dict(), **meta},
            indent=2,
            ensure_ascii=False,
        ),
    )

    stored = {qid: row for qid, row in _read_results(folder).items() if not _failed(row, config.conditions)}
    norm_texts = {n.node_id: normalize_answer(n.get_content()) for n in index.nodes} if index else {}
    results: list[dict[str, Any]] = []
    cancelled = False
    total = len(selected)
    for i, question in enumerate(selected.questions):
        if question.qid in stored:
            results.append(stored[question.qid])
            continue
        if cancelled or (cancel is not None and cancel.is_set()):
            cancelled = True  # stored questions further on are still collected
            continue

        def step(done: float, message: str, i: int = i) -> None:
            progress((i + done) / max(total, 1), f"Question {i + 1}/{total}: {message}")

        row = _run_question(question, catalogue, base, finetuned, index, config, embed_model, norm_texts, step, cancel)
        if row is None:  # cancelled mid-question: its partial answers are dropped
            cancelled = True
            continue
        with (folder / RESULTS_FILE).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        results.append(row)
    done = len(results)
    progress(
        1.0 if not cancelled else done / max(total, 1),
        f"{done}/{total} questions scored" + (" (cancelled; run again to resume)" if cancelled else ""),
    )
    return EvalRun(folder, config, selected, results, meta, cancelled=cancelled)


def _run_question(
    question: Question,
    catalogue: Catalogue,
    base: ModelInfo,
    finetuned: ModelInfo | None,
    index: PlaygroundIndex | None,
    config: EvalConfig,
    embed_model: Any,
    norm_texts: dict[str, str],
    step: Progress,
    cancel: threading.Event | None,
) -> dict[str, Any] | None:
    wanted = [c for c in CONDITIONS if c in config.conditions]
    hits: list[Hit] = []
    retrieval: dict[str, Any] | None = None
    error: str | None = None
    if index is not None:
        deep = replace(config.retrieval, top_k=max(config.retrieval.top_k, RANK_DEPTH))
        started = time.perf_counter()
        try:
            hits = index.retrieve(question.question, deep)
        except PlaygroundError as err:
            error = str(err)
        relevant, rule = relevant_ids(index, question, norm_texts)
        ids = [h.node_id for h in hits]
        retrieval = {
            "ids": ids,
            "files": [h.file_name for h in hits],
            "relevant": relevant,
            "relevance": rule,
            "rank": first_relevant_rank(ids, relevant),
            "file_rank": next((h.rank for h in hits if h.file_name == question.source), None)
            if question.source
            else None,
            "seconds": round(time.perf_counter() - started, 4),
            "error": error,
        }
    context = hits[: config.retrieval.top_k]
    run = compare(
        question.question,
        catalogue=catalogue,
        base=base,
        finetuned=finetuned,
        index=cast(PlaygroundIndex, _Retrieved(context, error)) if index is not None else None,
        retrieval=config.retrieval,
        generation=config.generation,
        prompts=config.prompts,
    )
    answers: dict[str, dict[str, Any]] = {}
    runs = {c.condition: c for c in run.conditions}
    for n, condition in enumerate(wanted):
        twin = "base" + condition.removeprefix("ft")
        if finetuned is None and condition.startswith("ft") and twin in answers:
            # The ft slot runs the base model again: the same model, prompt and seed give the same answer.
            answers[condition] = {**answers[twin], "same_as": twin}
            continue
        if cancel is not None and cancel.is_set():
            return None
        step(n / len(wanted), f"{LABELS[condition]} ({runs[condition].result.model})")
        result = runs[condition].run()
        m = result.metrics
        answers[condition] = {
            "model": result.model,
            "text": result.text,
            "error": result.error,
            "same_as": None,
            "metrics": None
            if m is None
            else {
                "latency_s": round(m.latency_s, 4),
                "first_token_s": None if m.first_token_s is None else round(m.first_token_s, 4),
                "prompt_tokens": m.prompt_tokens,
                "completion_tokens": m.completion_tokens,
                "tokens_per_s": round(m.tokens_per_s, 2),
            },
        }
    _score(answers, question.answer, embed_model)
    return {
        "qid": question.qid,
        **question.as_row(),
        "retrieval": retrieval,
        "passages": [
            {k: h.as_dict()[k] for k in ("rank", "node_id", "file_name", "page", "score", "similarity", "text")}
            for h in context
        ],
        "conditions": answers,
    }


def _score(answers: dict[str, dict[str, Any]], gold: str, embed_model: Any) -> None:
    for answer in answers.values():
        text = answer["text"] or ""
        answer["scores"] = (
            None
            if answer["error"]
            else {
                "correct": exact_match(text, gold),
                "strict_em": strict_exact_match(text, gold),
                "f1": round(token_f1(text, gold), 4),
                "similarity": None if embed_model is None else round(embedding_similarity(text, gold, embed_model), 4),
            }
        )


def relevant_ids(
    index: PlaygroundIndex, question: Question, norm_texts: dict[str, str] | None = None
) -> tuple[list[str], str]:
    """The chunks that answer ``question`` and the rule that chose them.

    ``"answer"``: chunks of the question's file (any file when it names none) whose text contains the
    gold answer, plus the chunk a generated question came from; ``"file"``: when no chunk contains
    it, every chunk of the right file; ``"none"``: nothing to go by.
    """
    texts = norm_texts or {n.node_id: normalize_answer(n.get_content()) for n in index.nodes}
    in_file = [n.node_id for n in index.nodes if not question.source or n.metadata.get("file_name") == question.source]
    gold = normalize_answer(question.answer)
    found = {i for i in in_file if gold and f" {gold} " in f" {texts[i]} "}
    if question.chunk_id and question.chunk_id in texts:
        found.add(question.chunk_id)
    if found:
        return sorted(found), "answer"
    if question.source and in_file:
        return sorted(in_file), "file"
    return [], "none"


def _failed(row: dict[str, Any], conditions: Sequence[str]) -> bool:
    """A stored question is retried when one of its wanted answers failed or is missing."""
    answers = row.get("conditions", {})
    return any(c not in answers or answers[c].get("error") for c in conditions)


def load_run(run_dir: str | Path) -> EvalRun:
    """A stored run, as far as it got."""
    folder = Path(run_dir)
    stored = _read_json(folder / CONFIG_FILE)
    if stored is None:
        raise PlaygroundError(f"{folder} holds no evaluation run (no {CONFIG_FILE})")
    config = EvalConfig.from_dict(stored["config"])
    q = stored["questions"]
    questions = from_rows(q["name"], q["rows"], q.get("origin", "")).head(config.limit)
    results = _read_results(folder)
    rows = [results[x.qid] for x in questions.questions if x.qid in results]
    meta = {k: v for k, v in stored.items() if k not in ("config", "run_id", "created")}
    meta["created"] = stored.get("created")
    return EvalRun(folder, config, questions, rows, meta, cancelled=len(rows) < len(questions))


def list_runs(workspace: str) -> list[Path]:
    """A workspace's stored runs, newest first."""
    root = workspace_dir(workspace) / "evals"
    runs = [p for p in root.iterdir() if (p / CONFIG_FILE).is_file()] if root.is_dir() else []
    return sorted(runs, key=lambda p: (p / CONFIG_FILE).stat().st_mtime, reverse=True)


def default_finetune(catalogue: Catalogue, base: ModelInfo) -> ModelInfo | None:
    """The fine-tune of ``base`` when the catalogue lists exactly one, else None (the base model again)."""
    tuned = [m for m in catalogue.listing().models if m.finetuned_from == base.id]
    return tuned[0] if len(tuned) == 1 else None


def describe_model(model: ModelInfo) -> dict[str, Any]:
    """A model's identity for a card: id, lineage, and the sha256 of its GGUF file and adapter."""
    return {
        "id": model.id,
        "family": model.family,
        "parameter_size": model.parameter_size,
        "quantization": model.quantization,
        "finetuned_from": model.finetuned_from,
        "path": model.path,
        "sha256": file_sha256(model.path) if model.path else None,
        "adapter_path": model.adapter_path,
        "adapter_sha256": file_sha256(model.adapter_path) if model.adapter_path else None,
        "digest": model.details.get("digest"),  # Ollama's content hash, when the model comes from there
    }


def describe_index(index: PlaygroundIndex | None) -> dict[str, Any] | None:
    if index is None:
        return None
    return {
        "key": index.key,
        "workspace": index.workspace,
        "chunks": len(index.nodes),
        "embed_model": index.stats.embed_model,
        "chunk_settings": index.stats.chunk_settings,
        "files": dict(sorted(index.files.items())),
        "dataset_sha256": _digest(sorted(index.files.items())),
    }


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, remembered while its size and modification time stay the same."""
    stat = Path(path).stat()
    return _file_sha256(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _read_results(folder: Path) -> dict[str, dict[str, Any]]:
    """Stored rows by question id; a later line for a question replaces an earlier one; a torn last line is skipped."""
    path = folder / RESULTS_FILE
    rows: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "qid" in row:
            rows[row["qid"]] = row
    return rows


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


__all__ = [
    "RANK_DEPTH",
    "EvalConfig",
    "EvalRun",
    "default_finetune",
    "describe_index",
    "describe_model",
    "evaluate",
    "file_sha256",
    "list_runs",
    "load_run",
    "relevant_ids",
]
