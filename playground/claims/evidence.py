"""Claims read from the held-out evaluation: new knowledge, latency, consistency, retrieval dependence, combination.

All of them read one evaluation of the held-out questions through the four conditions (stored and
resumable in the evaluation lab); retrieval dependence also adds a contradicting document and asks again.
"""

from __future__ import annotations

from playground.claims import changes
from playground.claims.common import above, bars, column, interval, of, paired, small_sample
from playground.claims.lab import Lab
from playground.claims.registry import Claim, ClaimResult, register
from playground.compare import CONDITIONS, LABELS
from playground.config import Progress
from playground.evaluate.report import Interval

RAG = ("base+rag", "ft+rag")


def _questions_estimate(lab: Lab, n: int) -> float:
    s = lab.answer_seconds()
    done = sum(len(r.results) for r in lab._runs.values() if r.questions.sha256 == lab.held_out.sha256)
    todo = max(min(n, len(lab.held_out)) - done, 0)
    return todo * (2 * s["plain"] + 2 * s["rag"])


def _ft_note(lab: Lab) -> list[str]:
    if lab.finetuned is None:
        return ["No fine-tuned model was chosen: the Fine-tuned conditions repeat the base model."]
    return []


# -- new-knowledge -------------------------------------------------------------------------------------
def new_knowledge(lab: Lab, progress: Progress) -> ClaimResult | None:
    run = lab.core(lab.config.questions, progress)
    if run is None:
        return None
    s = lab.summary(run)
    acc = {c: s.conditions[c].scores["correct"] for c in CONDITIONS}
    correct = {c: column(run, c, lambda r, a: a.scores.correct) for c in CONDITIONS}
    rag_gain = s.conditions["base+rag"].vs_base or Interval(float("nan"), float("nan"), float("nan"))
    ft_gain = s.conditions["ft"].vs_base or Interval(float("nan"), float("nan"), float("nan"))
    both = paired(correct["ft+rag"], correct["base+rag"], lab.config.seed, lab.config.bootstrap)
    retrieval_adds = rag_gain.low > 0
    ft_injects = ft_gain.low > 0
    best = max(acc, key=lambda c: acc[c].mean) == "ft+rag" and both.low >= -1e-9 and both.mean > 0
    parts = [
        f"retrieval {'adds' if retrieval_adds else 'does not clearly add'} {rag_gain.mean:+.2f} "
        f"[{rag_gain.low:+.2f}, {rag_gain.high:+.2f}]",
        f"the fine-tune {'adds' if ft_injects else 'does not clearly add'} {ft_gain.mean:+.2f} "
        f"[{ft_gain.low:+.2f}, {ft_gain.high:+.2f}]",
        f"both together {both.mean:+.2f} [{both.low:+.2f}, {both.high:+.2f}] over retrieval alone",
    ]
    # "does not hold" needs evidence against: retrieval's gain clearly nil (its interval's top at or below 0).
    verdict = (
        "holds" if retrieval_adds and ft_injects and best else "does not hold" if rag_gain.high <= 0 else "depends"
    )
    summary = (
        f"On {s.n} held-out questions, correct: "
        + ", ".join(f"{LABELS[c]} {acc[c]}" for c in CONDITIONS)
        + f". Against Base, {parts[0]}; {parts[1]}; {parts[2]}."
    )
    return ClaimResult(
        "new-knowledge",
        verdict,
        summary,
        numbers={
            "questions": s.n,
            "accuracy": {c: acc[c].as_dict() for c in CONDITIONS},
            "retrieval_gain": rag_gain.as_dict(),
            "finetune_gain": ft_gain.as_dict(),
            "combined_over_rag": both.as_dict(),
            "run": run.run_id,
        },
        rows=s.measure_rows(),  # a column per condition: the card's table fits a narrow page
        notes=small_sample(s.n) + _ft_note(lab) + s.notes[:0],
        figure=bars({"correct": acc}, "Correct answers, 95% intervals", "share correct", percent=True),
    )


register(
    Claim(
        "new-knowledge",
        "Retrieval answers questions about facts the model never saw; fine-tuning injects some; both together do best.",
        "All comparison articles; Ovadia et al. 2024, “Fine-Tuning or Retrieval? Comparing Knowledge Injection in "
        "LLMs”.",
        "The held-out questions through Base, Base+RAG, Fine-tuned and Fine-tuned+RAG (the evaluation lab's 2×2), "
        "with 95% intervals and paired differences.",
        new_knowledge,
        lambda lab: 0.0,
        shared=lambda lab: {"core": _questions_estimate(lab, lab.config.questions)},
    )
)


# -- latency -------------------------------------------------------------------------------------------
def latency(lab: Lab, progress: Progress) -> ClaimResult | None:
    run = lab.core(lab.config.latency_questions, progress)
    if run is None:
        return None
    boot = (lab.config.seed, lab.config.bootstrap)
    first = {c: interval(column(run, c, lambda r, a: a.metrics.first_token_s or 0), *boot) for c in CONDITIONS}
    total = {c: interval(column(run, c, lambda r, a: a.metrics.latency_s), *boot) for c in CONDITIONS}
    prompt = {c: interval(column(run, c, lambda r, a: a.metrics.prompt_tokens), *boot) for c in CONDITIONS}
    fetch = interval([r.retrieval.seconds for r in run.results if r.retrieval], *boot)
    slower = above(first["base+rag"], first["base"]) and above(first["ft+rag"], first["ft"])
    faster = above(first["base"], first["base+rag"]) and above(first["ft"], first["ft+rag"])
    verdict = "holds" if slower else "does not hold" if faster else "depends"
    n = len(run.results)
    summary = (
        f"Over {n} questions, retrieval took {fetch.mean * 1000:.0f} ms a question; RAG prompts were "
        f"{prompt['base+rag'].mean:.0f} tokens against {prompt['base'].mean:.0f}, and the first token came after "
        f"{first['base+rag'].mean:.2f} s [{first['base+rag'].low:.2f}–{first['base+rag'].high:.2f}] with retrieval "
        f"against {first['base'].mean:.2f} s [{first['base'].low:.2f}–{first['base'].high:.2f}] without "
        f"(whole answers {total['base+rag'].mean:.2f} s against {total['base'].mean:.2f} s)."
    )
    rows = [
        {
            "condition": LABELS[c],
            "first token s": str(first[c]),
            "whole answer s": str(total[c]),
            "prompt tokens": f"{prompt[c].mean:.0f}",
            "retrieval ms": f"{fetch.mean * 1000:.0f}" if c in RAG else "",
        }
        for c in CONDITIONS
    ]
    return ClaimResult(
        "latency",
        verdict,
        summary,
        numbers={
            "questions": n,
            "retrieval_s": fetch.as_dict(),
            "first_token_s": {c: first[c].as_dict() for c in CONDITIONS},
            "latency_s": {c: total[c].as_dict() for c in CONDITIONS},
            "prompt_tokens": {c: round(prompt[c].mean, 1) for c in CONDITIONS},
            "run": run.run_id,
        },
        rows=rows,
        notes=[
            *small_sample(n),
            "Whole-answer time depends on answer length too; first-token time is the fair one.",
        ],
        figure=bars({"first token": first, "whole answer": total}, "Seconds per answer, 95% intervals", "seconds"),
    )


register(
    Claim(
        "latency",
        "Retrieval adds latency: fetching passages plus a longer prompt.",
        "Common in comparison articles (e.g. IBM, Red Hat and Monte Carlo explainers on RAG vs fine-tuning).",
        "Retrieval time, prompt tokens and time to the first token of each condition, with 95% intervals, on the "
        "first questions of the held-out evaluation.",
        latency,
        lambda lab: 0.0,
        shared=lambda lab: {"core": _questions_estimate(lab, lab.config.latency_questions)},
    )
)


# -- consistency ---------------------------------------------------------------------------------------
def consistency(lab: Lab, progress: Progress) -> ClaimResult | None:
    run = lab.core(lab.config.questions, progress)
    if run is None:
        return None
    boot = (lab.config.seed, lab.config.bootstrap)
    styled = {c: column(run, c, lambda r, a: lab.style.follows(a.text)) for c in CONDITIONS}
    rate = {c: interval(v, *boot) for c, v in styled.items()}
    holds = above(rate["ft"], rate["base"])
    verdict = "holds" if holds else "does not hold" if rate["ft"].mean <= rate["base"].mean else "depends"
    n = len(run.results)
    summary = (
        f"House style ({lab.style.description}) in {n} answers each: "
        + ", ".join(f"{LABELS[c]} {sum(styled[c]):.0f} ({rate[c].mean:.0%})" for c in CONDITIONS)
        + "."
    )
    return ClaimResult(
        "consistency",
        verdict,
        summary,
        numbers={
            "questions": n,
            "style": lab.style.as_dict(),
            "adherence": {c: rate[c].as_dict() for c in CONDITIONS},
            "run": run.run_id,
        },
        rows=[
            {"condition": LABELS[c], "in house style": of(int(sum(styled[c])), len(styled[c])), "share": str(rate[c])}
            for c in CONDITIONS
        ],
        notes=small_sample(n) + _ft_note(lab),
        figure=bars({"house style": rate}, "Answers in the house style, 95% intervals", "share", percent=True),
    )


register(
    Claim(
        "consistency",
        "Fine-tuning gives consistent, specialised output in the domain's format and style.",
        "Common in comparison articles (style and format are fine-tuning's classic use).",
        "The share of answers that follow the workspace's house style rule, per condition.",
        consistency,
        lambda lab: 0.0,
        shared=lambda lab: {"core": _questions_estimate(lab, lab.config.questions)},
    )
)


# -- retrieval-dependence ------------------------------------------------------------------------------
def retrieval_dependence(lab: Lab, progress: Progress) -> ClaimResult | None:
    run = lab.core(lab.config.questions, lambda f, m: progress(0.7 * f, m))
    if run is None:
        return None
    boot = (lab.config.seed, lab.config.bootstrap)
    top_k = lab.retrieval.top_k
    split: dict[str, dict[str, Interval]] = {"retrieval hit": {}, "retrieval miss": {}}
    counts: dict[str, dict[str, int]] = {"retrieval hit": {}, "retrieval miss": {}}
    for c in RAG:
        for part, found in (("retrieval hit", True), ("retrieval miss", False)):
            values = [
                r.correct(c)
                for r in run.results
                if r.scored(c)
                and r.retrieval
                and r.retrieval.relevance == "answer"
                and ((r.retrieval.rank or 99) <= top_k) == found
            ]
            split[part][c] = interval(values, *boot)
            counts[part][c] = len(values)
    picked = changes.pick_changes(lab, run, lab.config.contradicted, prefer=RAG)
    misled: dict[str, int] = {}
    kept: dict[str, int] = {}
    asked = 0
    if picked:
        progress(0.75, f"Adding a document that contradicts {len(picked)} facts")
        index, _build_s = changes.contradicting_index(lab, picked)
        after = changes.ask(lab, picked, index, "contradicted facts", ("base", *RAG))
        if after is None:
            return None
        asked = len(after.results)
        for c in RAG:
            misled[c] = sum(changes.gave(r.answers[c].text, r.question.answer) for r in after.results if r.scored(c))
            old = {p.question.qid: p.old for p in picked}
            kept[c] = sum(changes.gave(r.answers[c].text, old[r.question.id]) for r in after.results if r.scored(c))
    separated = any(above(split["retrieval hit"][c], split["retrieval miss"][c]) for c in RAG)
    misleading = asked > 0 and max(misled.values(), default=0) >= max(1, asked // 3)
    verdict = "holds" if separated or misleading else "depends" if asked == 0 else "does not hold"
    hit, miss = split["retrieval hit"]["base+rag"], split["retrieval miss"]["base+rag"]
    summary = (
        f"Base+RAG was right on {hit.mean:.0%} of {counts['retrieval hit']['base+rag']} questions whose answer "
        f"was among the {top_k} passages and on {miss.mean:.0%} of {counts['retrieval miss']['base+rag']} where it "
        f"was not"
        + (
            f"; with a document stating {asked} facts with other values added, Base+RAG gave the contradicting value "
            f"in {of(misled['base+rag'], asked)} answers (the original in {kept['base+rag']}) and Fine-tuned+RAG in "
            f"{of(misled['ft+rag'], asked)} (the original in {kept['ft+rag']})."
            if asked
            else "; no fact could be contradicted (none of the gold answers has a number to alter)."
        )
    )
    rows = [
        {
            "condition": LABELS[c],
            "right when retrieved": f"{split['retrieval hit'][c]} (n={counts['retrieval hit'][c]})",
            "right when missed": f"{split['retrieval miss'][c]} (n={counts['retrieval miss'][c]})",
            "misled by the contradiction": of(misled.get(c, 0), asked) if asked else "",
            "kept the original": of(kept.get(c, 0), asked) if asked else "",
        }
        for c in RAG
    ]
    return ClaimResult(
        "retrieval-dependence",
        verdict,
        summary,
        numbers={
            "top_k": top_k,
            "accuracy_by_retrieval": {p: {c: v.as_dict() for c, v in by.items()} for p, by in split.items()},
            "counts": counts,
            "contradicted": asked,
            "misled": misled,
            "kept_original": kept,
            "changes": [
                {"question": p.question.question, "old": p.old, "new": p.new, "file": p.file_name} for p in picked
            ],
        },
        rows=rows,
        notes=small_sample(counts["retrieval miss"]["base+rag"], "questions where retrieval missed")
        + small_sample(asked, "contradicted facts"),
        figure=bars(split, "Correct answers by whether retrieval found the answer", "share correct", percent=True),
    )


register(
    Claim(
        "retrieval-dependence",
        "Retrieval may give wrong answers when it fails or returns misleading passages.",
        "Common in comparison articles; Ovadia et al. 2024 and RAG failure-mode studies.",
        "RAG accuracy split by whether retrieval found the answer; then a document that states some facts with "
        "other values is added and those questions are asked again.",
        retrieval_dependence,
        lambda lab: 30 + lab.config.contradicted * (lab.answer_seconds()["plain"] + 2 * lab.answer_seconds()["rag"]),
        shared=lambda lab: {"core": _questions_estimate(lab, lab.config.questions)},
    )
)


# -- combination ---------------------------------------------------------------------------------------
def combination(lab: Lab, progress: Progress) -> ClaimResult | None:
    from playground.claims.hallucination import unanswerable_run

    run = lab.core(lab.config.questions, lambda f, m: progress(0.6 * f, m))
    if run is None:
        return None
    unanswerable = unanswerable_run(lab, lambda f, m: progress(0.6 + 0.4 * f, m))
    if unanswerable is None:
        return None
    boot = (lab.config.seed, lab.config.bootstrap)
    trio = ("base+rag", "ft", "ft+rag")
    acc = {c: interval(column(run, c, lambda r, a: a.scores.correct), *boot) for c in trio}
    style = {c: interval(column(run, c, lambda r, a: lab.style.follows(a.text)), *boot) for c in trio}
    fab = {c: interval(column(unanswerable, c, lambda r, a: 1 - (a.scores.refused or 0)), *boot) for c in trio}
    cost = {c: interval(column(run, c, lambda r, a: a.metrics.latency_s), *boot) for c in trio}
    best_acc = not any(above(acc[c], acc["ft+rag"]) for c in ("base+rag", "ft"))
    best_style = not any(above(style[c], style["ft+rag"]) for c in ("base+rag", "ft"))
    fewer_fab = not any(above(fab["ft+rag"], fab[c]) for c in ("base+rag", "ft"))
    beats = above(acc["ft+rag"], acc["ft"]) and above(style["ft+rag"], style["base+rag"])
    verdict = "holds" if best_acc and best_style and fewer_fab and beats else "depends"
    if above(acc["base+rag"], acc["ft+rag"]) or above(fab["ft+rag"], fab["base+rag"]):
        verdict = "does not hold"
    summary = (
        "Fine-tuned+RAG against Base+RAG and Fine-tuned: correct "
        + " / ".join(f"{acc[c].mean:.2f}" for c in ("ft+rag", "base+rag", "ft"))
        + ", house style "
        + " / ".join(f"{style[c].mean:.0%}" for c in ("ft+rag", "base+rag", "ft"))
        + ", fabrication on unanswerable questions "
        + " / ".join(f"{fab[c].mean:.0%}" for c in ("ft+rag", "base+rag", "ft"))
        + ", seconds an answer "
        + " / ".join(f"{cost[c].mean:.2f}" for c in ("ft+rag", "base+rag", "ft"))
        + f" ({len(run.results)} answerable, {len(unanswerable.results)} unanswerable questions)."
    )
    rows = [
        {
            "condition": LABELS[c],
            "correct": str(acc[c]),
            "house style": str(style[c]),
            "fabricates": str(fab[c]),
            "seconds": f"{cost[c].mean:.2f}",
        }
        for c in ("ft+rag", "base+rag", "ft")
    ]
    return ClaimResult(
        "combination",
        verdict,
        summary,
        numbers={
            "accuracy": {c: acc[c].as_dict() for c in trio},
            "style": {c: style[c].as_dict() for c in trio},
            "fabrication": {c: fab[c].as_dict() for c in trio},
            "latency_s": {c: cost[c].as_dict() for c in trio},
        },
        rows=rows,
        notes=small_sample(len(run.results))
        + small_sample(len(unanswerable.results), "unanswerable questions")
        + _ft_note(lab),
        figure=bars(
            {"correct": acc, "house style": style, "fabricates": fab},
            "Fine-tuned+RAG against each alone, 95% intervals",
            "share",
            percent=True,
        ),
    )


def _combination_needs(lab: Lab) -> dict[str, float]:
    from playground.claims.hallucination import estimate_unanswerable

    return {"core": _questions_estimate(lab, lab.config.questions), "unanswerable": estimate_unanswerable(lab)}


register(
    Claim(
        "combination",
        "Combining both gives the best of each: the facts of retrieval and the form of fine-tuning.",
        "Common in comparison articles; RAFT (Zhang et al. 2024) trains for it.",
        "Fine-tuned+RAG against Base+RAG and Fine-tuned on accuracy, house style, fabrication and cost together.",
        combination,
        lambda lab: 0.0,
        shared=_combination_needs,
    )
)
