"""Hallucination: on questions the documents cannot answer, who refuses and who invents an answer.

Unanswerable questions are real held-out questions with their subject swapped for a name that exists
nowhere in the documents ("When did the GALE-9 go on sale?" becomes "When did the KORVEL-4 go on
sale?"): the same shape, so a model that answers is inventing. On the answerable questions the lab
also counts answers that cite a source (a file, a code, "[2]") that was never among their passages.
"""

from __future__ import annotations

import re

from playground.claims.common import above, bars, column, interval, of, small_sample
from playground.claims.lab import Lab
from playground.claims.registry import Claim, ClaimResult, register
from playground.compare import CONDITIONS, LABELS
from playground.config import Progress
from playground.evaluate.questions import UNANSWERABLE, Question, QuestionSet
from playground.evaluate.records import EvalRun
from playground.evaluate.report import SMALL_SAMPLE

# Invented names, checked against the corpus before use: a name a document holds is never used.
INVENTED = (
    "Korvel",
    "Quillmoor",
    "Tarvossa",
    "Brenhaven",
    "Ostrilla",
    "Zanthe",
    "Velmora",
    "Druskin",
    "Ambrelle",
    "Fennick",
    "Lorvane",
    "Castrel",
)
_CODE = re.compile(r"\b[A-Z]{2,}(?:-[A-Z0-9]+)*-\d+[A-Z]?\b")
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][a-z]{2,}\b")
_COMMON = {
    "What",
    "When",
    "Where",
    "Which",
    "Who",
    "How",
    "Why",
    "The",
    "Does",
    "Did",
    "Is",
    "Are",
    "Can",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
}


def make_unanswerable(questions: QuestionSet, corpus: str, count: int) -> QuestionSet:
    """Up to ``count`` questions with their subject (a product code, else a name) swapped for an invented one.

    >>> qs = QuestionSet("q", (Question("When did the GALE-9 go on sale?", "2 October 2023"),))
    >>> make_unanswerable(qs, "The GALE-9 went on sale on 2 October 2023.", 5).questions[0].question
    'When did the KORVEL-1 go on sale?'
    """
    lowered = corpus.lower()
    names = [n for n in INVENTED if n.lower() not in lowered]
    out: list[Question] = []
    for n, q in enumerate(questions.questions):
        if len(out) == count or not names:
            break
        invented = names[len(out) % len(names)]
        code = next((m for m in _CODE.finditer(q.question) if m.group(0).lower() in lowered), None)
        if code is not None:
            new_code = f"{invented.upper()}-{len(out) // len(names) + 1}"
            if new_code.lower() in lowered:
                continue
            text = q.question[: code.start()] + new_code + q.question[code.end() :]
        else:
            name = next(
                (m for m in _NAME.finditer(q.question) if m.group(0) not in _COMMON and m.group(0).lower() in lowered),
                None,
            )
            if name is None:
                continue
            text = q.question[: name.start()] + invented + q.question[name.end() :]
        out.append(Question(text, UNANSWERABLE, id=f"u{n}-{q.qid}"))
    return QuestionSet(
        f"{questions.name} (unanswerable)",
        tuple(out),
        origin="held-out questions with their subject swapped for a name no document holds",
    )


def unanswerable_set(lab: Lab) -> QuestionSet:
    corpus = "\n".join(d.text for f in lab.files if f.ok for d in f.documents)
    return make_unanswerable(lab.held_out, corpus, lab.config.unanswerable)


def unanswerable_run(lab: Lab, progress: Progress) -> EvalRun | None:
    return lab.evaluation(unanswerable_set(lab), limit=0, progress=progress)


def core_estimate(lab: Lab, n: int) -> float:
    from playground.claims.evidence import _questions_estimate

    return _questions_estimate(lab, n)


def estimate_unanswerable(lab: Lab) -> float:
    s = lab.answer_seconds()
    return lab.config.unanswerable * (2 * s["plain"] + 2 * s["rag"])


def hallucination(lab: Lab, progress: Progress) -> ClaimResult | None:
    run = unanswerable_run(lab, lambda f, m: progress(0.6 * f, m))
    if run is None:
        return None
    answerable = lab.core(lab.config.latency_questions, lambda f, m: progress(0.6 + 0.4 * f, m))
    if answerable is None:
        return None
    boot = (lab.config.seed, lab.config.bootstrap)
    invented = {c: column(run, c, lambda r, a: 1 - (a.scores.refused or 0)) for c in CONDITIONS}
    fab = {c: interval(v, *boot) for c, v in invented.items()}
    unseen = {
        c: column(answerable, c, lambda r, a, c=c: bool((s := r.condition_result(c)) and s.unsupported))
        for c in CONDITIONS
    }
    cited = {
        c: column(
            answerable,
            c,
            lambda r, a, c=c: bool((s := r.condition_result(c)) and s.sources and any(x.used_spans for x in s.sources)),
        )
        for c in ("base+rag", "ft+rag")
    }
    n = len(run.results)
    if n == 0:
        return ClaimResult(
            "hallucination",
            "not run",
            "No unanswerable question could be made: no held-out question names a product code or a name that the "
            "documents hold.",
        )
    reduces = above(fab["base"], fab["base+rag"]) and above(fab["ft"], fab["ft+rag"])
    worse = above(fab["base+rag"], fab["base"])
    # "does not hold" needs evidence against: retrieval clearly worse, or no better on a sample big enough to tell.
    no_better = fab["base+rag"].mean >= fab["base"].mean and n >= SMALL_SAMPLE
    verdict = "holds" if reduces else "does not hold" if worse or no_better else "depends"
    summary = (
        f"On {n} unanswerable questions the models invented an answer in "
        + ", ".join(f"{LABELS[c]} {of(int(sum(invented[c])), len(invented[c]))}" for c in CONDITIONS)
        + f"; on {len(answerable.results)} answerable ones, answers citing a source they were not given: "
        + ", ".join(f"{LABELS[c]} {int(sum(unseen[c]))}" for c in CONDITIONS)
        + "."
    )
    rows = [
        {
            "condition": LABELS[c],
            "invents (unanswerable)": f"{of(int(sum(invented[c])), len(invented[c]))} · {fab[c]}",
            "refuses (unanswerable)": of(len(invented[c]) - int(sum(invented[c])), len(invented[c])),
            "cites a source not given": of(int(sum(unseen[c])), len(unseen[c])),
            "quotes its passages": of(int(sum(cited[c])), len(cited[c])) if c in cited else "",
        }
        for c in CONDITIONS
    ]
    examples = [
        {"question": r.question.question, **{LABELS[c]: r.answers[c].text[:160] for c in CONDITIONS if c in r.answers}}
        for r in run.results[:3]
    ]
    return ClaimResult(
        "hallucination",
        verdict,
        summary,
        numbers={
            "unanswerable": n,
            "answerable": len(answerable.results),
            "fabrication": {c: fab[c].as_dict() for c in CONDITIONS},
            "refusals": {c: len(invented[c]) - int(sum(invented[c])) for c in CONDITIONS},
            "unsupported_citations": {c: int(sum(unseen[c])) for c in CONDITIONS},
            "examples": examples,
            "run": run.run_id,
        },
        rows=rows,
        notes=[
            *small_sample(n, "unanswerable questions"),
            "Refusals are judged by rules, then similarity to refusal phrasings (playground/evaluate/refusal.py): an "
            "answer that hedges after stating a value counts as a refusal.",
        ],
        figure=bars(
            {"invents an answer": fab}, "Unanswerable questions answered anyway, 95% intervals", "share", percent=True
        ),
    )


register(
    Claim(
        "hallucination",
        "Retrieval reduces invented answers and shows where an answer came from; without it the model invents.",
        "Common in comparison articles; Lewis et al. 2020 (the RAG paper) on provenance.",
        "Held-out questions with their subject swapped for a name no document holds: refusals against invented "
        "answers per condition; on answerable questions, citations of passages the model was never shown.",
        hallucination,
        lambda lab: 0.0,
        shared=lambda lab: {
            "unanswerable": estimate_unanswerable(lab),
            "core": core_estimate(lab, lab.config.latency_questions),
        },
    )
)
