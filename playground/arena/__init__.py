"""The arena: blind votes between two answers, from one person or a whole room, ranked by Bradley–Terry.

No Streamlit here: the Arena page, the room's voter view and ``python -m playground arena`` all use it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from playground.arena.judge import JudgeReport, judge_rounds, parse_verdict
from playground.arena.match import DEFAULT_PAIRS, Pipeline, answer, draw, pairs, parse_pair, parse_pipeline
from playground.arena.ratings import CHOICES, Ratings, fit, rate
from playground.arena.report import export, ratings, results_json, win_figure
from playground.arena.store import ArenaStore, Round, Vote


def new_round(
    store: ArenaStore,
    question: str,
    pair: tuple[Pipeline, Pipeline],
    *,
    kind: str = "match",
    gold: str | None = None,
    rng: random.Random | None = None,
    on_text: Callable[[str, str], None] | None = None,
    **answer_kwargs: Any,
) -> Round:
    """Draw which pipeline is A, generate both answers once and store the round (every voter then sees the
    same pair). ``on_text(side, text so far)`` streams each answer under its blind label, "a" then "b"."""
    first, second = draw(pair[0], pair[1], rng)

    def told(side: str) -> Callable[[str], None] | None:
        return (lambda text: on_text(side, text)) if on_text else None

    a = answer(first, question, gold=gold, on_text=told("a"), **answer_kwargs)
    b = answer(second, question, gold=gold, on_text=told("b"), **answer_kwargs)
    return store.add_round(question, a, b, kind=kind, gold=gold)


__all__ = [
    "CHOICES",
    "DEFAULT_PAIRS",
    "ArenaStore",
    "JudgeReport",
    "Pipeline",
    "Ratings",
    "Round",
    "Vote",
    "answer",
    "draw",
    "export",
    "fit",
    "judge_rounds",
    "new_round",
    "pairs",
    "parse_pair",
    "parse_pipeline",
    "parse_verdict",
    "rate",
    "ratings",
    "results_json",
    "win_figure",
]
