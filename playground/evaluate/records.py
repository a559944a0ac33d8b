"""What an evaluation stores, typed: its config, each question's result, each condition's answer.

A run folder holds ``config.json`` (an :class:`EvalConfig` plus what the run was made of) and
``results.jsonl``, one :class:`QuestionResult` a line. ``to_json`` writes exactly the shape that
runs have always been stored in and ``from_json`` reads it back, so runs written before these
classes existed load unchanged::

    {"qid", "question", "answer", "source"?, "chunk_id"?, "id"?,
     "retrieval": {"ids", "files", "relevant", "relevance", "rank", "file_rank", "seconds", "error"} | null,
     "passages": [{"rank", "node_id", "file_name", "page", "score", "similarity", "text"}],
     "conditions": {"base": {"model", "text", "error", "same_as", "metrics": {...} | null,
                             "scores": {"correct", "strict_em", "f1", "similarity"} | null}, ...}}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.compare import CONDITIONS, ConditionResult, PromptSettings, Source, answer_spans, unsupported_citations
from playground.config import ChunkSettings, GenerationParams, RetrievalSettings, _Config, _help, _require
from playground.embeddings import DEFAULT_EMBED_MODEL
from playground.errors import ConfigError
from playground.evaluate.judge import JudgeSettings
from playground.evaluate.questions import Question, QuestionSet
from playground.index import Hit
from playground.models import DEFAULT_MODEL, Metrics


@dataclass(frozen=True)
class EvalConfig(_Config):
    """Everything an evaluation's numbers depend on; a card stores it and ``reproduce`` reads it back."""

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
    judge: JudgeSettings = field(
        default_factory=JudgeSettings,
        metadata={"help": "An optional model that judges each answer beside containment (its model and rubric)."},
    )
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

    @property
    def wanted(self) -> list[str]:
        """The chosen conditions in the grid's order."""
        return [c for c in CONDITIONS if c in self.conditions]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalConfig:
        """Rebuild a config from :meth:`as_dict` output (e.g. a card's JSON); unknown keys are an error."""
        nested = {
            "retrieval": RetrievalSettings,
            "generation": GenerationParams,
            "chunk": ChunkSettings,
            "prompts": PromptSettings,
            "judge": JudgeSettings,
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
        for name in ("limit", "seed", "bootstrap", "conditions", "judge"):  # a judge adds verdicts, not answers
            out.pop(name)
        return out


def _from(cls: Any, data: dict[str, Any]) -> Any:
    """A record from stored JSON, ignoring keys this version does not know (read old and new runs alike)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Cost:
    """What one answer cost, as stored (rounded)."""

    latency_s: float
    first_token_s: float | None
    prompt_tokens: int
    completion_tokens: int
    tokens_per_s: float

    @classmethod
    def of(cls, m: Metrics) -> Cost:
        return cls(
            latency_s=round(m.latency_s, 4),
            first_token_s=None if m.first_token_s is None else round(m.first_token_s, 4),
            prompt_tokens=m.prompt_tokens,
            completion_tokens=m.completion_tokens,
            tokens_per_s=round(m.tokens_per_s, 2),
        )


@dataclass
class Scores:
    """One answer against the gold answer (see :mod:`playground.evaluate.metrics`)."""

    correct: float
    strict_em: float
    f1: float
    similarity: float | None = None
    refused: float | None = None  # 1.0 when the answer declines (see refusal.py); None in runs made before
    refusal: str = ""  # why it was judged so
    judged: float | None = None  # the judge's verdict (1.0 correct, 0.0 wrong); None: no judge, or it could not say
    judgement: str = ""  # the judge's one-line reason; "" when no judge ran


@dataclass
class Answer:
    """One condition's answer to one question."""

    model: str
    text: str = ""
    error: str | None = None
    same_as: str | None = None  # "base"/"base+rag": the ft slot ran the base model, so its answer is copied
    metrics: Cost | None = None
    scores: Scores | None = None  # None when the answer failed

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Answer:
        answer: Answer = _from(cls, data)
        answer.metrics = _from(Cost, data["metrics"]) if data.get("metrics") else None
        answer.scores = _from(Scores, data["scores"]) if data.get("scores") else None
        return answer

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if self.scores is not None and self.scores.refused is None:  # a run from before refusals were judged
            for key in ("refused", "refusal"):
                out["scores"].pop(key)
        if self.scores is not None and not self.scores.judgement:  # no judge ran: stored as before
            for key in ("judged", "judgement"):
                out["scores"].pop(key)
        return out


@dataclass
class Retrieval:
    """Where the passages that answer a question ranked."""

    ids: list[str]  # retrieved chunk ids, best first, ``RANK_DEPTH`` deep
    files: list[str]
    relevant: list[str]  # the chunks that answer it
    relevance: str  # the rule that chose them: "answer", "file" or "none"
    rank: int | None  # rank of the first relevant chunk; None when none was retrieved
    file_rank: int | None  # rank of the first chunk of the question's file
    seconds: float
    error: str | None = None


@dataclass
class Passage:
    """One passage the RAG conditions were given."""

    rank: int
    node_id: str
    file_name: str
    page: int | None
    score: float
    similarity: float | None
    text: str

    @classmethod
    def of(cls, hit: Hit) -> Passage:
        return cls(hit.rank, hit.node_id, hit.file_name, hit.page, hit.score, hit.similarity, hit.text)


@dataclass
class QuestionResult:
    """One question through every chosen condition: retrieval, passages and the scored answers."""

    question: Question
    retrieval: Retrieval | None = None  # None when there was no index
    passages: list[Passage] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)  # condition -> answer

    @property
    def qid(self) -> str:
        return self.question.qid

    def scored(self, condition: str) -> bool:
        """Whether ``condition`` answered this question without an error."""
        answer = self.answers.get(condition)
        return bool(answer and answer.scores)

    def correct(self, condition: str) -> float:
        scores = self.answers[condition].scores
        assert scores is not None, f"{condition} has no scores: check scored() first"
        return scores.correct

    def failed(self, conditions: list[str] | tuple[str, ...]) -> bool:
        """A stored question is retried when one of its wanted answers failed or is missing."""
        return any(c not in self.answers or self.answers[c].error for c in conditions)

    def condition_result(self, condition: str, max_tokens: int | None = None) -> ConditionResult | None:
        """One answer in the shape the Compare page shows (so both pages draw the same card, flags included:
        ``max_tokens``, the run's answer budget, tells an answer that ran into it)."""
        answer = self.answers.get(condition)
        if answer is None:
            return None
        cost = answer.metrics
        metrics = None
        if cost is not None:
            metrics = Metrics(
                latency_s=cost.latency_s,
                first_token_s=cost.first_token_s,
                prompt_tokens=cost.prompt_tokens,
                completion_tokens=cost.completion_tokens,
                tokens_per_s=cost.tokens_per_s,
                context_used=cost.prompt_tokens + cost.completion_tokens,
            )
        sources = []
        if condition.endswith("+rag"):
            for p in self.passages:
                spans = answer_spans(answer.text, p.text) if answer.text else []
                sources.append(Source(p.file_name, p.page, p.score, p.similarity, p.rank, p.text, spans))
        result = ConditionResult(condition, answer.model, answer.text, metrics, sources, error=answer.error)
        if max_tokens and cost is not None and cost.completion_tokens >= max_tokens:
            result.stopped_at = max_tokens
        result.unsupported = unsupported_citations(answer.text, sources)
        return result

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> QuestionResult:
        question = Question(
            **{k: str(row[k]) for k in ("question", "answer", "source", "chunk_id", "id") if k in row},
            answers=tuple(str(a) for a in row.get("answers") or ()),
        )
        retrieval = _from(Retrieval, row["retrieval"]) if row.get("retrieval") else None
        return cls(
            question=question,
            retrieval=retrieval,
            passages=[_from(Passage, p) for p in row.get("passages", [])],
            answers={c: Answer.from_json(a) for c, a in row.get("conditions", {}).items()},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "qid": self.qid,
            **self.question.as_row(),
            "retrieval": dataclasses.asdict(self.retrieval) if self.retrieval else None,
            "passages": [dataclasses.asdict(p) for p in self.passages],
            "conditions": {c: a.to_json() for c, a in self.answers.items()},
        }


@dataclass
class EvalRun:
    """A run as stored: its config, the questions it covers and the scored results (question order)."""

    run_dir: Path
    config: EvalConfig
    questions: QuestionSet  # the evaluated questions (the limit applied)
    results: list[QuestionResult]
    meta: dict[str, Any] = field(default_factory=dict)  # models, index, question set, documents
    cancelled: bool = False

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    @property
    def complete(self) -> bool:
        return len(self.results) == len(self.questions)


__all__ = ["Answer", "Cost", "EvalConfig", "EvalRun", "Passage", "QuestionResult", "Retrieval", "Scores"]
