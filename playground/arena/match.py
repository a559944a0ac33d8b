"""Pipelines and the answers a round shows: one question, two pipelines, A and B in a drawn order.

A pipeline is one of the four conditions, optionally with its own model or top-k, written
``condition[@model][#kN]``: ``base+rag``, ``ft``, ``base+rag#k8`` (another top-k),
``base@embedded:other`` (another base model or fine-tune). Answers come from
:func:`playground.compare.compare`, generated once per round and stored with it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from playground.compare import CONDITIONS, LABELS, Retriever, compare
from playground.config import GenerationParams, RetrievalSettings
from playground.errors import ConfigError
from playground.evaluate.metrics import exact_match
from playground.models import Catalogue, ModelInfo

T = TypeVar("T")

DEFAULT_PAIRS = ("base+rag:ft", "base:base+rag", "ft:ft+rag", "base+rag:ft+rag")


@dataclass(frozen=True)
class Pipeline:
    key: str
    condition: str
    model: str | None = None  # None: the slot's model (base, or the fine-tune for ft conditions)
    top_k: int | None = None

    @property
    def label(self) -> str:
        """How a leaderboard names it.

        >>> parse_pipeline("base+rag#k8").label, parse_pipeline("ft@embedded:x").label
        ('Base+RAG (top-8)', 'Fine-tuned (embedded:x)')
        """
        extra = [f"top-{self.top_k}"] if self.top_k else []
        if self.model:
            extra.append(self.model)
        return LABELS[self.condition] + (f" ({', '.join(extra)})" if extra else "")


def parse_pipeline(text: str) -> Pipeline:
    """``condition[@model][#kN]`` as a :class:`Pipeline`; a wrong one names what is accepted.

    >>> parse_pipeline("base+rag#k5")
    Pipeline(key='base+rag#k5', condition='base+rag', model=None, top_k=5)
    >>> parse_pipeline("rag")
    Traceback (most recent call last):
    ...
    playground.errors.ConfigError: pipeline 'rag': the condition must be one of base, base+rag, ft, ft+rag
    """
    m = re.fullmatch(r"\s*([a-z+]+)(?:@([^#\s]+))?(?:#k(\d+))?\s*", text)
    if not m or m.group(1) not in CONDITIONS:
        raise ConfigError(f"pipeline {text!r}: the condition must be one of {', '.join(CONDITIONS)}")
    return Pipeline(text.strip(), m.group(1), m.group(2), int(m.group(3)) if m.group(3) else None)


def parse_pair(text: str) -> tuple[Pipeline, Pipeline]:
    """``left:right``, e.g. ``base+rag:ft``.

    >>> [p.key for p in parse_pair("base+rag:ft")]
    ['base+rag', 'ft']
    """
    # a model id may hold ":" itself (embedded:x): split where the right-hand condition starts
    parts = re.split(r":(?=(?:base|ft)(?:\+rag)?(?:[@#]|$))", text, maxsplit=1)
    if len(parts) != 2:
        raise ConfigError(f"pair {text!r}: write two pipelines as left:right, e.g. base+rag:ft")
    left, right = parse_pipeline(parts[0]), parse_pipeline(parts[1])
    if left.key == right.key:
        raise ConfigError(f"pair {text!r}: the two pipelines are the same")
    return left, right


def answer(
    pipeline: Pipeline,
    question: str,
    *,
    catalogue: Catalogue,
    base: ModelInfo,
    finetuned: ModelInfo | None,
    index: Retriever | None,
    retrieval: RetrievalSettings | None = None,
    generation: GenerationParams | None = None,
    gold: str | None = None,
    on_text: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """One pipeline's answer as a round stores it: text, model, sources and right/wrong against ``gold``.

    ``on_text(text so far)`` is told as the answer streams (its sources stay out of it: they would give
    retrieval away before the vote)."""
    retrieval = retrieval or RetrievalSettings()
    if pipeline.top_k:
        retrieval = replace(retrieval, top_k=pipeline.top_k)
    if pipeline.model:
        model = catalogue.resolve(pipeline.model)
        base, finetuned = (model, finetuned) if pipeline.condition.startswith("base") else (base, model)
    run = compare(
        question,
        catalogue=catalogue,
        base=base,
        finetuned=finetuned,
        index=index,
        retrieval=retrieval,
        generation=generation,
    )
    condition = next(c for c in run.conditions if c.condition == pipeline.condition)
    text = ""
    for piece in condition.stream():
        text += piece
        if on_text:
            on_text(text)
    result = condition.result
    return {
        "pipeline": pipeline.key,
        "label": pipeline.label,
        "model": result.model,
        "text": result.text,
        "error": result.error,
        "sources": [{"rank": s.rank, "file_name": s.file_name, "page": s.page, "text": s.text} for s in result.sources],
        "correct": None if gold is None else bool(exact_match(result.text, gold)),
    }


def draw(left: T, right: T, rng: random.Random | None = None) -> tuple[T, T]:
    """The two pipelines (or answers) in the order shown (A, B): a coin flip, so neither always sits left."""
    return (left, right) if (rng or random.SystemRandom()).random() < 0.5 else (right, left)


def pairs(texts: Sequence[str] | None) -> list[tuple[Pipeline, Pipeline]]:
    return [parse_pair(t) for t in (texts or DEFAULT_PAIRS)]


__all__ = ["DEFAULT_PAIRS", "Pipeline", "answer", "draw", "pairs", "parse_pair", "parse_pipeline"]
