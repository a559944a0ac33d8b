"""What every claim experiment runs on: the workspace, its index and models, the settings, shared evaluations.

Several claims read the same evidence (the held-out questions through the four conditions), so the lab
runs that evaluation once through the evaluation lab and every claim that needs it reads the stored
run: it resumes question by question, shows on the Evaluate page, and a later claim with fewer
questions reuses the first ones. Results live in ``workspaces/<ws>/claims/<key>/<claim id>.json``,
keyed by everything the numbers depend on (settings, models with file hashes, index, house style).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

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
from playground.documents import LoadedFile
from playground.evaluate.questions import QuestionSet, generate_questions, workspace_questions
from playground.evaluate.records import EvalConfig, EvalRun
from playground.evaluate.report import Summary, summarize
from playground.evaluate.run import describe_model, evaluate
from playground.index import PlaygroundIndex, build_index
from playground.models import Catalogue, ModelInfo
from playground.style import StyleRule
from playground.workspace import Workspace, workspace_dir

# Seconds an answer takes on a 2-core CPU with the bundled model, measured, for estimates before any run;
# once the workspace has answers, their measured latencies are used instead.
DEFAULT_ANSWER_S = {"plain": 1.0, "rag": 2.5}


@dataclass(frozen=True)
class ClaimsConfig(_Config):
    """How big each experiment is; the defaults fit every claim but data-needs in about 20 minutes on 2 cores."""

    questions: int = _help(
        "Held-out questions through the four conditions (new-knowledge, consistency, retrieval-dependence, "
        "combination). Below 20 the intervals are wide and the verdicts say so.",
        30,
    )
    latency_questions: int = _help(
        "Questions whose cost is measured (latency, cost); the first ones of the same evaluation.", 20
    )
    unanswerable: int = _help("Questions made unanswerable by swapping in an entity no document names.", 20)
    changed_facts: int = _help("Facts changed for the freshness experiment.", 3)
    contradicted: int = _help("Facts contradicted by an added document (retrieval-dependence).", 6)
    retrain: bool = _help(
        "Freshness: also train an adapter on the changed documents (data_steps steps; minutes) and ask it.", False
    )
    general: int = _help("General-knowledge questions for forgetting (0 asks the whole shipped set).", 0)
    data_sizes: tuple[float, ...] = _help(
        "Shares of the training data for the data-needs learning curve (each trains an adapter).", (0.25, 0.5, 1.0)
    )
    data_steps: int = _help("Training steps of the adapter on all the data; smaller shares train proportionally.", 60)
    max_tokens: int = _help("Longest answer, in tokens (short answers keep the experiments quick).", 64)
    seed: int = _help("Seed of the bootstrap intervals (answers are greedy, so they repeat anyway).", 0)
    bootstrap: int = _help("Bootstrap resamples behind each 95% interval.", 2000)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_sizes", tuple(float(x) for x in self.data_sizes))
        for name in ("questions", "latency_questions", "unanswerable", "changed_facts", "contradicted"):
            value = getattr(self, name)
            _require(1 <= value <= 1000, "ClaimsConfig", name, value, "must be 1..1000")
        _require(
            len(self.data_sizes) >= 3 and all(0 < x <= 1 for x in self.data_sizes),
            "ClaimsConfig",
            "data_sizes",
            self.data_sizes,
            "needs at least 3 shares, each in (0, 1]",
        )
        _require(self.general >= 0, "ClaimsConfig", "general", self.general, "must be 0 (all) or more")
        _require(2 <= self.data_steps <= 5000, "ClaimsConfig", "data_steps", self.data_steps, "must be 2..5000")
        _require(8 <= self.max_tokens <= 4096, "ClaimsConfig", "max_tokens", self.max_tokens, "must be 8..4096")

    @property
    def generation(self) -> GenerationParams:
        return GenerationParams(temperature=0.0, max_tokens=self.max_tokens)

    def eval_config(self, conditions: tuple[str, ...], limit: int, lab: Lab) -> EvalConfig:
        return EvalConfig(
            conditions=conditions,
            limit=limit,
            retrieval=lab.retrieval,
            generation=self.generation,
            base=lab.base.id,
            finetuned=lab.finetuned.id if lab.finetuned else "",
            seed=self.seed,
            bootstrap=self.bootstrap,
        )


@dataclass
class Lab:
    """One workspace, index and pair of models that claims are tested on."""

    workspace: str
    files: list[LoadedFile]
    index: PlaygroundIndex
    catalogue: Catalogue
    base: ModelInfo
    finetuned: ModelInfo | None
    config: ClaimsConfig = field(default_factory=ClaimsConfig)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    style: StyleRule = field(default_factory=StyleRule)
    questions: QuestionSet | None = None  # held-out questions; default: the workspace's, else generated
    cancel: threading.Event | None = None
    _runs: dict[Any, EvalRun] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.questions is None:
            self.questions = held_out(self.workspace, self.index)

    # -- identity and storage ------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """What the numbers depend on: settings, models with file hashes, the index and the house style."""
        return {
            "workspace": self.workspace,
            "config": self.config.as_dict(),
            "retrieval": self.retrieval.as_dict(),
            "style": self.style.as_dict(),
            "models": {
                "base": describe_model(self.base),
                "finetuned": describe_model(self.finetuned) if self.finetuned else None,
            },
            "index": {
                "key": self.index.key,
                "chunks": len(self.index.nodes),
                "files": dict(sorted(self.index.files.items())),
            },
            "questions": {"name": self.held_out.name, "count": len(self.held_out), "sha256": self.held_out.sha256},
        }

    @property
    def key(self) -> str:
        blob = json.dumps(self.describe(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    @property
    def folder(self) -> Path:
        return workspace_dir(self.workspace) / "claims" / self.key

    @property
    def scratch(self) -> str:
        """A workspace of its own for the indexes experiments build (changed, contradicted documents), so the
        real workspace's index is never swapped; it has no documents folder, so it is never listed."""
        return f"{self.workspace}-claims-lab"

    @property
    def held_out(self) -> QuestionSet:
        assert self.questions is not None
        return self.questions

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    # -- shared evidence -----------------------------------------------------------------------------
    def evaluation(
        self,
        questions: QuestionSet,
        *,
        limit: int,
        conditions: tuple[str, ...] = ("base", "base+rag", "ft", "ft+rag"),
        index: PlaygroundIndex | str | None = "default",
        progress: Progress = no_progress,
    ) -> EvalRun | None:
        """An evaluation through the evaluation lab (stored, resumable); None when cancelled before it finished."""
        use = self.index if index == "default" else index
        assert not isinstance(use, str)
        config = self.config.eval_config(conditions, limit, self)
        key = (questions.sha256, conditions, limit, use.key if use else None)
        if key in self._runs:
            return self._runs[key]
        run = evaluate(
            questions,
            catalogue=self.catalogue,
            base=self.base,
            finetuned=self.finetuned,
            index=use,
            config=config,
            workspace=self.workspace,
            progress=progress,
            cancel=self.cancel,
        )
        if run.cancelled or not run.complete:
            return None
        self._runs[key] = run
        return run

    def core(self, limit: int, progress: Progress = no_progress) -> EvalRun | None:
        """The held-out questions through all four conditions: the evidence most claims read."""
        return self.evaluation(self.held_out, limit=limit, progress=progress)

    def summary(self, run: EvalRun) -> Summary:
        return summarize(run, self.style)

    def build(self, files: list[LoadedFile], progress: Progress = no_progress) -> PlaygroundIndex:
        """An index of ``files`` in the lab's own scratch workspace (incremental against its last one)."""
        return build_index(
            files,
            embed_model=self.index.embed_model,
            chunk_settings=chunking(self.index),
            workspace=self.scratch,
            progress=progress,
        )

    def answer_seconds(self) -> dict[str, float]:
        """Mean seconds of an answer without and with retrieval, from this lab's runs when it has any."""
        out = dict(DEFAULT_ANSWER_S)
        for run in self._runs.values():
            for kind, conditions in (("plain", ("base", "ft")), ("rag", ("base+rag", "ft+rag"))):
                values = [
                    a.metrics.latency_s
                    for r in run.results
                    for c in conditions
                    if (a := r.answers.get(c)) and a.metrics and not a.same_as
                ]
                if values:
                    out[kind] = sum(values) / len(values)
        return out

    def with_config(self, **changes: Any) -> Lab:
        return replace(self, config=replace(self.config, **changes), _runs={})


def held_out(workspace: str, index: PlaygroundIndex, limit: int = 200) -> QuestionSet:
    """The workspace's own held-out questions, else questions generated from its chunks (no model needed)."""
    ws = Workspace(workspace)
    if (ws.dir / "questions.jsonl").is_file():
        return workspace_questions(ws.dir, name=f"{workspace} questions")
    return generate_questions(index.nodes, limit=limit, name=f"{workspace} generated")


def chunking(index: PlaygroundIndex) -> ChunkSettings:
    """The chunk settings an index was built with, to build another the same way."""
    return ChunkSettings(**index.stats.chunk_settings)


__all__ = ["DEFAULT_ANSWER_S", "ClaimsConfig", "Lab", "held_out"]
