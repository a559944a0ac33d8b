"""Forgetting: does the fine-tune lose what the base model knew? A shipped general-knowledge set, before and after.

``general_knowledge.jsonl`` holds short questions of general knowledge, written for this lab: of the 60
written, the 45 the bundled SmolLM2-135M answered right (greedy, 48 tokens) are kept, so a loss after
fine-tuning shows. Another base model may know fewer of them; its own score is the "before".
"""

from __future__ import annotations

from pathlib import Path

from playground.claims.common import bars, column, interval, of, paired, small_sample
from playground.claims.lab import Lab
from playground.claims.registry import Claim, ClaimResult, register
from playground.config import Progress
from playground.evaluate.questions import QuestionSet, load_question_file

GENERAL = Path(__file__).with_name("general_knowledge.jsonl")


def general_set() -> QuestionSet:
    questions = load_question_file(GENERAL)
    return QuestionSet("general knowledge", questions.questions, origin="shipped with the claims lab")


def forgetting(lab: Lab, progress: Progress) -> ClaimResult | None:
    if lab.finetuned is None:
        return ClaimResult(
            "forgetting", "not run", "No fine-tuned model is chosen: there is nothing to compare the base model with."
        )
    run = lab.evaluation(
        general_set(), limit=lab.config.general, conditions=("base", "ft"), index=None, progress=progress
    )
    if run is None:
        return None
    boot = (lab.config.seed, lab.config.bootstrap)
    base = column(run, "base", lambda r, a: a.scores.correct)
    ft = column(run, "ft", lambda r, a: a.scores.correct)
    styled = column(run, "ft", lambda r, a: lab.style.follows(a.text))
    before, after = interval(base, *boot), interval(ft, *boot)
    change = paired(ft, base, *boot)
    lost = sum(1 for b, f in zip(base, ft, strict=True) if b and not f)
    gained = sum(1 for b, f in zip(base, ft, strict=True) if f and not b)
    n = len(base)
    verdict = "holds" if change.high < 0 else "does not hold" if change.low >= 0 or change.mean >= 0 else "depends"
    summary = (
        f"On {n} general-knowledge questions the base model was right on {of(int(sum(base)), n)} and the fine-tuned "
        f"model on {of(int(sum(ft)), n)}: {change.mean:+.2f} [{change.low:+.2f}, {change.high:+.2f}] "
        f"({lost} lost, {gained} gained); {of(int(sum(styled)), n)} of its answers to these unrelated questions "
        "came in the documents' house style."
    )
    examples = [
        {
            "question": r.question.question,
            "gold": r.question.answer,
            "base": r.answers["base"].text[:120],
            "fine-tuned": r.answers["ft"].text[:120],
        }
        for r in run.results
        if r.scored("base") and r.scored("ft") and r.correct("base") and not r.correct("ft")
    ][:5]
    return ClaimResult(
        "forgetting",
        verdict,
        summary,
        numbers={
            "questions": n,
            "base": before.as_dict(),
            "finetuned": after.as_dict(),
            "change": change.as_dict(),
            "lost": lost,
            "gained": gained,
            "house_style_on_general": int(sum(styled)),
            "examples_lost": examples,
            "run": run.run_id,
        },
        rows=[
            {"model": f"Base ({lab.base.name})", "right": of(int(sum(base)), n), "share": str(before)},
            {"model": f"Fine-tuned ({lab.finetuned.name})", "right": of(int(sum(ft)), n), "share": str(after)},
        ],
        notes=small_sample(n),
        figure=bars(
            {"general knowledge": {"base": before, "ft": after}},
            "General knowledge, 95% intervals",
            "share correct",
            percent=True,
        ),
    )


register(
    Claim(
        "forgetting",
        "Fine-tuning can overfit and lose general ability (catastrophic forgetting).",
        "Common in comparison articles; Luo et al. 2023 on forgetting during continual fine-tuning.",
        "A shipped set of general-knowledge questions the base model answers, asked of the base and the fine-tuned "
        "model, with the paired difference.",
        forgetting,
        lambda lab: (lab.config.general or len(general_set())) * 2 * lab.answer_seconds()["plain"],
    )
)
