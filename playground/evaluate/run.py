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

import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from playground.compare import LABELS, Retrieved, compare
from playground.config import ChunkSettings, Progress, no_progress
from playground.errors import PlaygroundError
from playground.evaluate.judge import FAILED, judge
from playground.evaluate.metrics import (
    embedding_similarity,
    exact_match,
    first_relevant_rank,
    normalize_answer,
    strict_exact_match,
    token_f1,
)
from playground.evaluate.questions import Question, QuestionSet, from_rows, register_for_evaluation
from playground.evaluate.records import Answer, Cost, EvalConfig, EvalRun, Passage, QuestionResult, Retrieval, Scores
from playground.evaluate.refusal import detect_refusal
from playground.index import Hit, PlaygroundIndex
from playground.models import Catalogue, ModelInfo
from playground.storage import guarded, write_atomic
from playground.workspace import slug, workspace_dir

RANK_DEPTH = 5  # hit@1/3/5 and MRR look this deep; up to top_k 5 the RAG passages are a prefix of it
RESULTS_FILE = "results.jsonl"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class _Setup:
    """What every question of a run is answered with."""

    catalogue: Catalogue
    base: ModelInfo
    finetuned: ModelInfo | None  # None: the ft conditions repeat the base model's answers
    index: PlaygroundIndex | None
    config: EvalConfig
    embed_model: Any  # scores answer similarity; None skips it
    norm_texts: dict[str, str]  # chunk id -> normalised text, for the relevance rule
    cancel: threading.Event | None
    judge: ModelInfo | None = None  # judges each answer beside containment; None: no judge

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()


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
    config, base, finetuned = _resolve(config or EvalConfig(), catalogue, base, finetuned, index)
    workspace = workspace or (index.workspace if index else "default")
    register_for_evaluation(workspace, questions)
    meta = _describe(workspace, docs, base, finetuned, index, questions)
    judge_model = catalogue.resolve(config.judge.model) if config.judge.enabled else None
    if judge_model is not None:  # kept apart from "models": a judge changes no answer, so not the run id
        config = replace(config, judge=replace(config.judge, model=judge_model.id))
        meta["judge"] = {"model": describe_model(judge_model), "prompt": config.judge.prompt}
    folder = Path(run_dir) if run_dir else workspace_dir(workspace) / "evals" / _run_id(config, questions, meta, index)
    _write_config(folder, config, meta)

    setup = _Setup(
        catalogue,
        base,
        finetuned,
        index,
        config,
        embed_model if embed_model is not None else (index.embed_model if index else None),
        {n.node_id: normalize_answer(n.get_content()) for n in index.nodes} if index else {},
        cancel,
        judge_model,
    )
    stored = {r.qid: r for r in _read_results(folder).values() if not r.failed(config.conditions)}
    selected = questions.head(config.limit)
    total = len(selected)
    results: list[QuestionResult] = []
    cancelled = False
    for i, question in enumerate(selected.questions):
        if question.qid in stored:  # stored questions further on are collected even after a cancel
            kept = stored[question.qid]
            if setup.judge is not None and not cancelled and _unjudged(kept):  # a judge added to a stored run
                progress(i / max(total, 1), f"Question {i + 1}/{total}: judging the stored answers")
                judge_answers(kept, setup)
                _append(folder, kept)
            results.append(kept)
            continue
        if cancelled or setup.cancelled:
            cancelled = True
            continue

        def step(done: float, message: str, i: int = i) -> None:
            progress((i + done) / max(total, 1), f"Question {i + 1}/{total}: {message}")

        result = answer_question(question, setup, step)
        if result is None:  # cancelled mid-question: its partial answers are dropped
            cancelled = True
            continue
        _append(folder, result)
        results.append(result)
    done = len(results)
    progress(
        1.0 if not cancelled else done / max(total, 1),
        f"{done}/{total} questions scored" + (" (cancelled; run again to resume)" if cancelled else ""),
    )
    return EvalRun(folder, config, selected, results, meta, cancelled=cancelled)


def _resolve(
    config: EvalConfig,
    catalogue: Catalogue,
    base: ModelInfo | None,
    finetuned: ModelInfo | None,
    index: PlaygroundIndex | None,
) -> tuple[EvalConfig, ModelInfo, ModelInfo | None]:
    """The models to run, and the config as it really runs: model ids, and the index's chunking and embedder."""
    base = base or catalogue.resolve(config.base)
    if finetuned is None and config.finetuned:
        finetuned = catalogue.resolve(config.finetuned)
    if finetuned is not None and finetuned.id == base.id:
        finetuned = None
    config = replace(config, base=base.id, finetuned=finetuned.id if finetuned else "")
    if index is not None:  # record what the index really is, not what was asked for
        config = replace(config, chunk=ChunkSettings(**index.stats.chunk_settings), embed_model=index.stats.embed_model)
    return config, base, finetuned


def _describe(
    workspace: str,
    docs: str | Path | None,
    base: ModelInfo,
    finetuned: ModelInfo | None,
    index: PlaygroundIndex | None,
    questions: QuestionSet,
) -> dict[str, Any]:
    """What the run is made of, for its config file and card: models with file hashes, the index, the questions."""
    return {
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


def _run_id(config: EvalConfig, questions: QuestionSet, meta: dict[str, Any], index: PlaygroundIndex | None) -> str:
    """Named by the question set, keyed by everything the answers depend on: the same inputs resume one run."""
    key = {
        "config": config.answer_key(),
        "questions": questions.sha256,
        "models": meta["models"],
        "index": index.key if index else None,
    }
    return f"{slug(questions.name)}-{_digest(key)[:12]}"


def _write_config(folder: Path, config: EvalConfig, meta: dict[str, Any]) -> None:
    previous = _read_json(folder / CONFIG_FILE) or {}
    stored = {"run_id": folder.name, "created": previous.get("created") or _now(), "config": config.as_dict(), **meta}
    write_atomic(folder / CONFIG_FILE, json.dumps(stored, indent=2, ensure_ascii=False))


def _append(folder: Path, result: QuestionResult) -> None:
    """One line per scored question, on disk before the next question starts: a killed run keeps it.

    A run killed in the middle of a line leaves that line torn (and skipped when read); the next line starts
    on a line of its own, so the torn one never takes a good result down with it.
    """
    path = folder / RESULTS_FILE
    line = (json.dumps(result.to_json(), ensure_ascii=False) + "\n").encode("utf-8")
    with guarded(path), path.open("ab+") as fh:
        if fh.tell() > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                line = b"\n" + line
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def answer_question(question: Question, setup: _Setup, step: Progress = no_progress) -> QuestionResult | None:
    """Retrieve once, answer under every wanted condition, score; None when cancelled half-way."""
    hits, retrieval = _retrieve(question, setup)
    context = hits[: setup.config.retrieval.top_k]
    answers = _answer(question, setup, Retrieved(context, retrieval.error if retrieval else None), step)
    if answers is None:
        return None
    for answer in answers.values():  # a copy of its twin's answer (same_as) takes its twin's scores
        if not answer.same_as:
            answer.scores = score(answer, question.answers, setup.embed_model)
    result = QuestionResult(question, retrieval, [Passage.of(h) for h in context], answers)
    if setup.judge is not None:
        step(1.0, f"judging with {setup.judge.name}")
        judge_answers(result, setup)
    for answer in answers.values():
        if answer.same_as:
            answer.scores = answers[answer.same_as].scores
    return result


def judge_answers(result: QuestionResult, setup: _Setup) -> None:
    """The judge's verdict on each scored answer, stored beside its containment score (copies share their twin's)."""
    assert setup.judge is not None
    for answer in result.answers.values():
        if answer.scores is None or answer.same_as:
            continue
        q = result.question
        verdict = judge(answer.text, q.question, q.answers, setup.catalogue, setup.judge, setup.config.judge)
        answer.scores.judged = None if verdict.correct is None else float(verdict.correct)
        answer.scores.judgement = verdict.reason
    for answer in result.answers.values():
        twin = result.answers.get(answer.same_as or "")
        if twin is not None and twin.scores is not None:
            answer.scores = twin.scores


def _unjudged(result: QuestionResult) -> bool:
    """Whether an answer was never judged, or its judge could not be asked (a resumed run asks again)."""
    return any(
        a.scores is not None and (not a.scores.judgement or a.scores.judgement.startswith(FAILED))
        for a in result.answers.values()
        if not a.same_as
    )


def _retrieve(question: Question, setup: _Setup) -> tuple[list[Hit], Retrieval | None]:
    """``RANK_DEPTH`` passages deep, with the rank of the first relevant one."""
    index = setup.index
    if index is None:
        return [], None
    deep = replace(setup.config.retrieval, top_k=max(setup.config.retrieval.top_k, RANK_DEPTH))
    started = time.perf_counter()
    hits: list[Hit] = []
    error: str | None = None
    try:
        hits = index.retrieve(question.question, deep)
    except PlaygroundError as err:
        error = str(err)
    relevant, rule = relevant_ids(index, question, setup.norm_texts)
    ids = [h.node_id for h in hits]
    return hits, Retrieval(
        ids=ids,
        files=[h.file_name for h in hits],
        relevant=relevant,
        relevance=rule,
        rank=first_relevant_rank(ids, relevant),
        file_rank=next((h.rank for h in hits if h.file_name == question.source), None) if question.source else None,
        seconds=round(time.perf_counter() - started, 4),
        error=error,
    )


def _answer(question: Question, setup: _Setup, passages: Retrieved, step: Progress) -> dict[str, Answer] | None:
    """Each wanted condition's answer; the ft slot copies the base's when it runs the base model again."""
    run = compare(
        question.question,
        catalogue=setup.catalogue,
        base=setup.base,
        finetuned=setup.finetuned,
        index=passages if setup.index is not None else None,
        retrieval=setup.config.retrieval,
        generation=setup.config.generation,
        prompts=setup.config.prompts,
    )
    runs = {c.condition: c for c in run.conditions}
    wanted = setup.config.wanted
    answers: dict[str, Answer] = {}
    for n, condition in enumerate(wanted):
        twin = "base" + condition.removeprefix("ft")
        if setup.finetuned is None and condition.startswith("ft") and twin in answers:
            # The same model, prompt and seed give the same answer: copied, not generated twice.
            answers[condition] = replace(answers[twin], same_as=twin)
            continue
        if setup.cancelled:
            return None
        step(n / len(wanted), f"{LABELS[condition]} ({runs[condition].result.model})")
        result = runs[condition].run()
        answers[condition] = Answer(
            model=result.model,
            text=result.text,
            error=result.error,
            metrics=Cost.of(result.metrics) if result.metrics else None,
        )
    return answers


def score(answer: Answer, gold: str | Sequence[str], embed_model: Any) -> Scores | None:
    """An answer's scores against the gold answer (any of several counts); None for an answer that failed."""
    if answer.error:
        return None
    text = answer.text or ""
    declined = detect_refusal(text, embed_model)
    return Scores(
        correct=exact_match(text, gold),
        strict_em=strict_exact_match(text, gold),
        f1=round(token_f1(text, gold), 4),
        similarity=None if embed_model is None else round(embedding_similarity(text, gold, embed_model), 4),
        refused=float(declined.refused),
        refusal=declined.reason,
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
    golds = [g for g in (normalize_answer(a) for a in question.answers) if g]
    found = {i for i in in_file if any(f" {g} " in f" {texts[i]} " for g in golds)}
    if question.chunk_id and question.chunk_id in texts:
        found.add(question.chunk_id)
    if found:
        return sorted(found), "answer"
    if question.source and in_file:
        return sorted(in_file), "file"
    return [], "none"


def load_run(run_dir: str | Path, limit: int | None = None) -> EvalRun:
    """A stored run, as far as it got. ``limit``: the first questions to read (default: the run's own limit, which
    the last evaluation of the same inputs set; 0: every question of the set)."""
    folder = Path(run_dir)
    stored = _read_json(folder / CONFIG_FILE)
    if stored is None:
        raise PlaygroundError(f"{folder} holds no evaluation run (no {CONFIG_FILE})")
    config = EvalConfig.from_dict(stored["config"])
    q = stored["questions"]
    questions = from_rows(q["name"], q["rows"], q.get("origin", "")).head(config.limit if limit is None else limit)
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


def run_questions(run_dir: str | Path) -> str | None:
    """The name of the question set a stored run asked (the Evaluate page opens on a run of the set it shows)."""
    name = ((_read_json(Path(run_dir) / CONFIG_FILE) or {}).get("questions") or {}).get("name")
    return str(name) if name is not None else None


def run_label(run_dir: str | Path) -> str:
    """A stored run as a person tells runs apart: when, which questions, how far it got. Short enough for a
    choice box on a narrow page; the models are named with the run's results.

    Reads the config and counts result lines; nothing is parsed beyond that.
    """
    folder = Path(run_dir)
    stored = _read_json(folder / CONFIG_FILE) or {}
    config = stored.get("config") or {}
    q = stored.get("questions") or {}
    limit = int(config.get("limit") or 0)
    total = min(limit, int(q.get("count") or 0)) if limit else int(q.get("count") or 0)
    results = folder / RESULTS_FILE
    done = len(results.read_text(encoding="utf-8").splitlines()) if results.is_file() else 0
    when = str(stored.get("created") or "")[:16].replace("T", " ")
    return f"{when} · {q.get('name', folder.name)} · {min(done, total)}/{total} questions"


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


def _read_results(folder: Path) -> dict[str, QuestionResult]:
    """Stored results by question id; a later line for a question replaces an earlier one; a torn line is skipped."""
    path = folder / RESULTS_FILE
    rows: dict[str, QuestionResult] = {}
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            result = QuestionResult.from_json(row)
        except (json.JSONDecodeError, TypeError, KeyError, AttributeError):
            continue
        rows[str(row.get("qid") or result.qid)] = result
    return rows


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


__all__ = [
    "RANK_DEPTH",
    "EvalConfig",
    "EvalRun",
    "answer_question",
    "describe_index",
    "describe_model",
    "evaluate",
    "file_sha256",
    "list_runs",
    "load_run",
    "relevant_ids",
    "run_label",
    "run_questions",
    "score",
]
