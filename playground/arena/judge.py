"""A model as a voter: each pair asked in both orders, so a judge that prefers a position is caught.

The judge sees the question and the two answers (never their sources or pipelines) and answers A, B or
T. A verdict that flips when the answers swap places is a tie, and counted as position bias. Its
agreement with the people's votes and with the gold answers says how far to trust it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from playground.arena.store import ArenaStore, Round
from playground.config import GenerationParams
from playground.models import Catalogue, ModelInfo

JUDGE_PROMPT = (
    "Question: {question}\n\nAnswer A: {a}\n\nAnswer B: {b}\n\n"
    "Which answer is more correct and helpful? Reply with one letter: A, B, or T if they are equally good."
)
# Short and greedy: the verdict is one letter, and the same pair must get the same verdict on a rerun.
JUDGE_PARAMS = GenerationParams(max_tokens=4, temperature=0.0, seed=0)


def parse_verdict(text: str) -> str:
    """The first A, B or T the judge wrote: 'a', 'b' or 'tie' (anything else is a tie).

    >>> [parse_verdict(t) for t in ("B", " a) is better", "Tie.", "I think", "**A**")]
    ['b', 'a', 'tie', 'tie', 'a']
    """
    m = re.search(r"\b([ABT])\b", text.upper())
    return {"A": "a", "B": "b"}.get(m.group(1), "tie") if m else "tie"


@dataclass
class JudgeReport:
    judge: str
    votes: int = 0
    position_bias: int = 0  # verdicts that flipped with the order
    people_agree: int = 0
    people_compared: int = 0
    gold_agree: int = 0
    gold_compared: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "votes": self.votes,
            "position_bias": self.position_bias,
            "agreement_with_people": _share(self.people_agree, self.people_compared),
            "agreement_with_gold": _share(self.gold_agree, self.gold_compared),
            "rows": self.rows,
        }


def _share(k: int, n: int) -> dict[str, Any]:
    return {"agree": k, "of": n, "rate": k / n if n else None}


def ask(
    catalogue: Catalogue, judge: ModelInfo, question: str, a: str, b: str, params: GenerationParams = JUDGE_PARAMS
) -> str:
    messages = [{"role": "user", "content": JUDGE_PROMPT.format(question=question, a=a, b=b)}]
    generation = catalogue.chat(judge, messages, params)
    for _ in generation:
        pass
    return parse_verdict(generation.text)


def verdict(
    catalogue: Catalogue, judge: ModelInfo, r: Round, params: GenerationParams = JUDGE_PARAMS
) -> tuple[str, bool]:
    """The judge's vote on a round as shown (A first), and whether it flipped when the order was swapped."""
    a, b = r.answer("a").get("text", ""), r.answer("b").get("text", "")
    first = ask(catalogue, judge, r.question, a, b, params)
    swapped = {"a": "b", "b": "a", "tie": "tie"}[ask(catalogue, judge, r.question, b, a, params)]
    if first == swapped:
        return first, False
    flipped = first != "tie" and swapped != "tie"
    return "tie", flipped


def people_choice(store: ArenaStore, round_id: str) -> str | None:
    """The people's majority in a round ('a', 'b' or 'tie'); None without people's votes."""
    counts = {"a": 0, "b": 0}
    seen = False
    for v in store.votes(round_id):
        if not v.voter.startswith("judge:"):
            seen = True
            if v.choice in counts:
                counts[v.choice] += 1
    if not seen:
        return None
    return "a" if counts["a"] > counts["b"] else "b" if counts["b"] > counts["a"] else "tie"


def gold_choice(r: Round) -> str | None:
    """Which side the gold answer favours: the one that is right when only one is; None otherwise."""
    ca, cb = r.answer("a").get("correct"), r.answer("b").get("correct")
    if ca is None or cb is None or ca == cb:
        return None
    return "a" if ca else "b"


def judge_rounds(
    store: ArenaStore,
    rounds: Sequence[Round],
    catalogue: Catalogue,
    judge: ModelInfo,
    *,
    params: GenerationParams = JUDGE_PARAMS,
    progress: Callable[[float, str], None] | None = None,
) -> JudgeReport:
    """The judge votes on every round (stored as voter ``judge:<model id>``) and is compared with people and gold."""
    report = JudgeReport(judge.id)
    voter = f"judge:{judge.id}"
    for i, r in enumerate(rounds):
        if progress:
            progress(i / max(len(rounds), 1), f"Judging {i + 1}/{len(rounds)}: {r.question[:60]}")
        choice, flipped = verdict(catalogue, judge, r, params)
        store.vote(r.id, voter, choice)
        report.votes += 1
        report.position_bias += flipped
        people, gold = people_choice(store, r.id), gold_choice(r)
        if people is not None:
            report.people_compared += 1
            report.people_agree += choice == people
        if gold is not None:
            report.gold_compared += 1
            report.gold_agree += choice == gold
        report.rows.append(
            {
                "round": r.id,
                "question": r.question,
                "a": r.a,
                "b": r.b,
                "judge": choice,
                "flipped": flipped,
                "people": people,
                "gold": gold,
            }
        )
    return report


__all__ = ["JUDGE_PROMPT", "JudgeReport", "judge_rounds", "parse_verdict", "people_choice", "verdict"]
