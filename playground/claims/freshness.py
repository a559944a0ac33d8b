"""Freshness: a changed fact reaches retrieval by re-indexing; a fine-tuned model keeps the old one."""

from __future__ import annotations

import time
from dataclasses import replace

from playground.claims import changes
from playground.claims.common import of, small_sample
from playground.claims.hallucination import core_estimate
from playground.claims.lab import Lab
from playground.claims.registry import Claim, ClaimResult, duration, register
from playground.compare import CONDITIONS, LABELS
from playground.config import Progress
from playground.evaluate.records import EvalRun
from playground.index import PlaygroundIndex

PREFER = ("ft", "ft+rag", "base+rag")  # facts the fine-tuned model knew show the claim best


def freshness(lab: Lab, progress: Progress) -> ClaimResult | None:
    before = lab.core(lab.config.latency_questions, lambda f, m: progress(0.5 * f, m))
    if before is None:
        return None
    picked = changes.pick_changes(lab, before, lab.config.changed_facts, prefer=PREFER)
    if not picked:
        return ClaimResult(
            "freshness",
            "not run",
            "No fact could be changed: no gold answer of the first held-out questions has a number and appears "
            "verbatim in exactly one document.",
        )
    progress(0.55, f"Changing {len(picked)} facts and re-indexing")
    index, reindex_s = changes.changed_index(lab, picked)
    after = changes.ask(lab, picked, index, "changed facts", CONDITIONS)
    if after is None:
        return None
    retrained = _retrain(lab, picked, index, progress) if lab.config.retrain else None
    if lab.config.retrain and retrained is None:
        return None
    by_q = {r.qid: r for r in before.results}
    old_of = {p.question.qid: p for p in picked}
    counts: dict[str, dict[str, int]] = {}
    for c in CONDITIONS:
        counts[c] = {"old_before": 0, "new_after": 0, "old_after": 0}
        for r in after.results:
            change = old_of[r.question.id]
            prior = by_q.get(change.question.qid)
            if prior is not None and c in prior.answers:
                counts[c]["old_before"] += changes.gave(prior.answers[c].text, change.old)
            if c in r.answers:
                counts[c]["new_after"] += changes.gave(r.answers[c].text, change.new)
                counts[c]["old_after"] += changes.gave(r.answers[c].text, change.old)
    n = len(after.results)
    rag_new = max(counts["base+rag"]["new_after"], counts["ft+rag"]["new_after"])
    ft_new = counts["ft"]["new_after"]
    verdict = "holds" if rag_new > ft_new else "does not hold" if rag_new == 0 else "depends"
    stats = index.stats
    retrain_numbers: dict[str, float] | None = None
    if retrained is not None:
        seconds, run = retrained
        absorbed = sum(changes.gave(r.answers["ft"].text, r.question.answer) for r in run.results if r.scored("ft"))
        retrain_text = (
            f"Retraining on the changed documents took {duration(seconds)} and absorbed {of(absorbed, n)} changes."
        )
        retrain_numbers = {"seconds": round(seconds, 1), "new_after": absorbed}
    else:
        retrain_text = (
            "Retraining on the changed documents was not run (opt-in: ClaimsConfig.retrain, "
            f"about {duration(_retrain_estimate(lab))} here)."
        )
    summary = (
        f"Re-indexing absorbed the change in {duration(reindex_s)} ({stats.embedded} chunks embedded again, "
        f"{stats.reused} reused); asked again, Base+RAG gave the new value in {of(counts['base+rag']['new_after'], n)} "
        f"questions and Fine-tuned+RAG in {of(counts['ft+rag']['new_after'], n)}; the fine-tuned model alone gave "
        f"the old value in {of(counts['ft']['old_after'], n)} (it had given it before in "
        f"{of(counts['ft']['old_before'], n)}) and the new one in {of(ft_new, n)}. {retrain_text}"
    )
    rows = [
        {
            "condition": LABELS[c],
            "old value before": of(counts[c]["old_before"], n),
            "old value after": of(counts[c]["old_after"], n),
            "new value after": of(counts[c]["new_after"], n),
        }
        for c in CONDITIONS
    ]
    details = [
        {
            "question": p.question.question,
            "file": p.file_name,
            "old": p.old,
            "new": p.new,
            **{f"{LABELS[c]} after": r.answers[c].text[:160] for c in CONDITIONS if c in r.answers},
        }
        for p, r in zip(picked, after.results, strict=False)
    ]
    return ClaimResult(
        "freshness",
        verdict,
        summary,
        numbers={
            "changed": n,
            "reindex_s": round(reindex_s, 2),
            "embedded": stats.embedded,
            "reused": stats.reused,
            "counts": counts,
            "changes": details,
            "retrained": retrain_numbers,
        },
        rows=rows,
        notes=[
            *small_sample(n, "changed facts"),
            "A fact the fine-tuned model never knew cannot show it keeping the old value; the table says how many it "
            "knew before the change.",
        ],
        figure=_figure(counts, n),
    )


def _retrain(
    lab: Lab, picked: list[changes.Change], index: PlaygroundIndex, progress: Progress
) -> tuple[float, EvalRun] | None:
    """An adapter trained on the changed documents, and its answers to the changed facts (no retrieval)."""
    from playground.claims.data_needs import train_adapter

    started = time.perf_counter()
    model = train_adapter(lab, 1.0, lambda f, m: progress(0.7 + 0.25 * f, f"Retraining: {m}"), index.nodes,
                          name="claims-freshness-retrained")  # fmt: skip
    if model is None:
        return None
    seconds = time.perf_counter() - started
    run = changes.ask(replace(lab, finetuned=model, _runs={}), picked, index, "changed facts, retrained", ("ft",))
    return None if run is None else (seconds, run)


def _retrain_estimate(lab: Lab) -> float:
    from playground.claims.data_needs import TRAIN_STEP_S

    return lab.config.data_steps * TRAIN_STEP_S + 20


def _figure(counts: dict[str, dict[str, int]], n: int) -> dict:
    import plotly.graph_objects as go

    from playground.claims.common import finish

    fig = go.Figure()
    for key, title, color in (
        ("old_after", "old value after the change", "#9e9e9e"),
        ("new_after", "new value after the change", "#2e7d32"),
    ):
        fig.add_bar(
            x=[LABELS[c] for c in CONDITIONS], y=[counts[c][key] for c in CONDITIONS], name=title, marker_color=color
        )
    return finish(fig, f"Answers to {n} changed facts", "answers", barmode="group")


def _estimate(lab: Lab) -> float:
    s = lab.answer_seconds()
    retrain = _retrain_estimate(lab) if lab.config.retrain else 0
    return 20 + retrain + lab.config.changed_facts * (2 * s["plain"] + 2 * s["rag"])


register(
    Claim(
        "freshness",
        "Retrieval absorbs a changed fact by re-indexing, with no retraining; a fine-tuned model keeps the old fact "
        "until it is retrained.",
        "Common in comparison articles (knowledge that changes is RAG's classic case).",
        "Facts the models answered are given new values in the documents' text, the index is updated incrementally "
        "(timed) and the four conditions are asked again: old and new values before and after.",
        freshness,
        _estimate,
        shared=lambda lab: {"core": core_estimate(lab, lab.config.latency_questions)},
    )
)
