"""A model as judge: does an answer state the gold answer? A verdict with a one-line reason, beside containment.

Containment (:func:`playground.evaluate.metrics.exact_match`) calls "You need a labeled dataset" wrong
against "large, labelled dataset", and calls an answer that lists every candidate right. A judge reads
the answer as a person would, with the short rubric :data:`JUDGE_PROMPT` (a list of candidates is wrong).
It never replaces containment: both are stored and shown, and :func:`cohen_kappa` says how far they agree.

A judge that fails (its server down, a reply in no known form) fails only its verdict: ``correct`` is
None and the reason says why; the run goes on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from playground.config import GenerationParams, _Config, _help, _require
from playground.models import Catalogue, ModelInfo

JUDGE_PROMPT = (
    "You grade answers. Decide whether the answer states the gold answer: the same fact, in any words "
    "(spelling, word order and extra explanation do not matter). An answer that lists several candidates, "
    "a refusal, or a different value is wrong.\n\n"
    "Question: {question}\n"
    "Gold answer: {gold}\n"
    "Answer: {answer}\n\n"
    "Reply in exactly two lines:\n"
    "Verdict: correct or wrong\n"
    "Reason: <one short sentence>"
)
PLACEHOLDERS = ("{question}", "{gold}", "{answer}")
UNPARSEABLE = "unparseable reply"
FAILED = "judge failed"  # the start of the reason when the judge could not be asked; a resumed run asks again


@dataclass(frozen=True)
class JudgeSettings(_Config):
    """Which model judges the answers, and with which rubric; an empty model means no judge."""

    model: str = _help("Catalogue id of the judging model; empty: no judge (containment only).", "")
    prompt: str = _help(
        "The rubric sent for each answer; {question}, {gold} (accepted answers joined by ' · ') and {answer} "
        "are filled in. The reply is read from its 'Verdict:' and 'Reason:' lines.",
        JUDGE_PROMPT,
    )
    max_tokens: int = _help("Tokens the judge may write; two short lines need few.", 48)

    def __post_init__(self) -> None:
        missing = [p for p in PLACEHOLDERS if p not in self.prompt]
        _require(not missing, "JudgeSettings", "prompt", self.prompt[:40] + "…", f"needs {', '.join(missing)}")
        _require(4 <= self.max_tokens <= 1024, "JudgeSettings", "max_tokens", self.max_tokens, "must be 4..1024")

    @property
    def enabled(self) -> bool:
        return bool(self.model.strip())


@dataclass(frozen=True)
class Verdict:
    """A judge's decision on one answer: True/False, or None when it could not decide, and why."""

    correct: bool | None
    reason: str


def parse_verdict(reply: str) -> Verdict:
    """A verdict from the judge's reply: its 'Verdict:' line (else a reply that starts with the word, or with
    "The answer is …"), and its reason.

    >>> parse_verdict("Verdict: correct\\nReason: it names the labelled dataset.")
    Verdict(correct=True, reason='it names the labelled dataset.')
    >>> parse_verdict("verdict: WRONG. Reason: gives two dates")
    Verdict(correct=False, reason='gives two dates')
    >>> parse_verdict("Incorrect - the amount differs")
    Verdict(correct=False, reason='the amount differs')
    >>> parse_verdict("The answer is incorrect.")
    Verdict(correct=False, reason='no reason given')
    >>> parse_verdict("Maybe?")
    Verdict(correct=None, reason='unparseable reply')
    """
    text = reply.strip()
    match = re.search(r"verdict\s*[:\-]\s*\**\s*(correct|incorrect|wrong|right)\b", text, re.I)
    match = match or re.match(r"\W*(correct|incorrect|wrong|right)\b", text, re.I)
    # Small models answer in a sentence instead of the two lines: "The answer is correct."
    match = match or re.match(r"\W*(?:the\s+)?answer\s+is\s+(correct|incorrect|wrong|right)\b", text, re.I)
    if not match:
        return Verdict(None, UNPARSEABLE)
    correct = match.group(1).lower() in ("correct", "right")
    reason = re.search(r"reason\s*:\s*(.+)", text, re.I)
    why = reason.group(1) if reason else text[match.end() :]
    why = why.strip().strip("-–.:* ").strip() if not reason else why.strip()
    return Verdict(correct, why.splitlines()[0][:200] if why else "no reason given")


def judge(
    answer: str,
    question: str,
    golds: Sequence[str],
    catalogue: Catalogue,
    model: ModelInfo,
    settings: JudgeSettings | None = None,
) -> Verdict:
    """Ask ``model`` whether ``answer`` states one of ``golds``; a failing model gives a None verdict, never raises."""
    settings = settings or JudgeSettings(model=model.id)
    if not answer.strip():
        return Verdict(False, "empty answer")
    prompt = (
        settings.prompt.replace("{question}", question)
        .replace("{gold}", " · ".join(golds))
        .replace("{answer}", answer.strip())
    )
    params = GenerationParams(temperature=0.0, max_tokens=settings.max_tokens)
    try:
        reply = catalogue.chat(model, [{"role": "user", "content": prompt}], params).collect()
    except Exception as err:  # a judge that is down or broken fails its verdicts, not the run
        return Verdict(None, f"{FAILED}: {str(err)[:160]}")
    verdict = parse_verdict(reply)
    if verdict.correct is None:  # keep what it said, so a person can see why no verdict was read
        return Verdict(None, f"{UNPARSEABLE}: {' '.join(reply.split())[:120]!r}")
    return verdict


@dataclass(frozen=True)
class Agreement:
    """How far two judgements of the same answers agree."""

    n: int  # answers both judged
    agree: int
    kappa: float | None  # None when undefined (both raters use one class only, or no answers)

    @property
    def disagreements(self) -> int:
        return self.n - self.agree

    def __str__(self) -> str:
        """``κ 0.62 over 40 answers (5 disagreements)``.

        >>> str(Agreement(4, 4, None))
        'κ undefined (every verdict the same class) over 4 answers (0 disagreements)'
        """
        k = f"κ {self.kappa:.2f}" if self.kappa is not None else "κ undefined (every verdict the same class)"
        return f"{k} over {self.n} answers ({self.disagreements} disagreements)"


def cohen_kappa(a: Sequence[bool | float], b: Sequence[bool | float]) -> float | None:
    """Cohen's κ of two binary raters over the same items: 1 is perfect agreement, 0 what chance gives.

    None when κ is undefined: no items, or chance agreement is 1 (both raters gave one and the same class
    to everything), where (p_o - p_e) / (1 - p_e) divides by zero.

    >>> cohen_kappa([1, 1, 0, 0], [1, 1, 0, 0])
    1.0
    >>> cohen_kappa([1, 0, 1, 0], [1, 1, 0, 0])
    0.0
    >>> cohen_kappa([1, 1, 1], [1, 1, 1]) is None
    True
    >>> round(cohen_kappa([1, 1, 1, 0], [1, 1, 0, 0]), 2)
    0.5
    """
    if len(a) != len(b):
        raise ValueError(f"raters judged different numbers of items: {len(a)} and {len(b)}")
    n = len(a)
    if n == 0:
        return None
    x = [bool(v) for v in a]
    y = [bool(v) for v in b]
    observed = sum(p == q for p, q in zip(x, y, strict=True)) / n
    pa, pb = sum(x) / n, sum(y) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


def agreement(a: Sequence[bool | float], b: Sequence[bool | float]) -> Agreement:
    """Counts and κ of two raters over the same items.

    >>> agreement([1, 0, 1], [1, 0, 0]).disagreements
    1
    """
    kappa = cohen_kappa(a, b)
    agree = sum(bool(p) == bool(q) for p, q in zip(a, b, strict=True))
    return Agreement(len(a), agree, None if kappa is None else round(kappa, 4))


__all__ = [
    "FAILED",
    "JUDGE_PROMPT",
    "UNPARSEABLE",
    "Agreement",
    "JudgeSettings",
    "Verdict",
    "agreement",
    "cohen_kappa",
    "judge",
    "parse_verdict",
]
