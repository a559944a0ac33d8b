"""Cost: building an index against training an adapter on the same documents, and what each answer costs."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from playground.claims.common import column, interval
from playground.claims.hallucination import core_estimate
from playground.claims.lab import Lab, chunking
from playground.claims.registry import Claim, ClaimResult, duration, register
from playground.compare import CONDITIONS, LABELS
from playground.config import Progress
from playground.index import build_index
from playground.workspace import workspace_dir


def _size(path: str | Path) -> int:
    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def training_record(lab: Lab) -> dict | None:
    """The fine-tune's training as recorded when it was trained: steps, seconds, device, examples."""
    if lab.finetuned is None or not lab.finetuned.adapter_path:
        return None
    from playground.finetune import registry

    try:
        ft = registry.load(registry.record_path(lab.finetuned.adapter_path))
    except (OSError, ValueError, TypeError):
        return None
    if not ft.seconds:
        return None
    return {
        "seconds": ft.seconds,
        "steps": ft.steps,
        "device": ft.device,
        "examples": ft.examples,
        "created": ft.created,
        "adapter_bytes": _size(ft.adapter_path),
    }


def cost(lab: Lab, progress: Progress) -> ClaimResult | None:
    progress(0.02, "Building the index from scratch, timed")
    fresh = f"{lab.workspace}-claims-cost"
    shutil.rmtree(workspace_dir(fresh), ignore_errors=True)  # a fresh build, nothing to reuse
    started = time.perf_counter()
    index = build_index(
        lab.files,
        embed_model=lab.index.embed_model,
        chunk_settings=chunking(lab.index),
        workspace=fresh,
        prebuilt=False,  # the install step's copy of the sample would time a copy, not a build
    )
    index_s = time.perf_counter() - started
    index_bytes = _size(index.path)
    shutil.rmtree(workspace_dir(fresh), ignore_errors=True)
    run = lab.core(lab.config.latency_questions, lambda f, m: progress(0.2 + 0.8 * f, m))
    if run is None:
        return None
    boot = (lab.config.seed, lab.config.bootstrap)
    latency = {c: interval(column(run, c, lambda r, a: a.metrics.latency_s), *boot) for c in CONDITIONS}
    prompt = {c: interval(column(run, c, lambda r, a: a.metrics.prompt_tokens), *boot) for c in CONDITIONS}
    accuracy = {c: interval(column(run, c, lambda r, a: a.scores.correct), *boot) for c in CONDITIONS}
    training = training_record(lab)
    numbers: dict = {
        "index_build_s": round(index_s, 2),
        "index_bytes": index_bytes,
        "chunks": len(index.nodes),
        "latency_s": {c: latency[c].as_dict() for c in CONDITIONS},
        "prompt_tokens": {c: round(prompt[c].mean, 1) for c in CONDITIONS},
        "accuracy": {c: accuracy[c].as_dict() for c in CONDITIONS},
        "training": training,
    }
    extra = latency["base+rag"].mean - latency["ft"].mean  # what each RAG answer costs over a fine-tuned one
    rows = [
        {"what": "index build (embed every chunk), measured now", "time": duration(index_s), "size": _mb(index_bytes)}
    ]
    notes = []
    if training is None:
        verdict = "not run" if lab.finetuned is None else "depends"
        summary = f"Building the index took {duration(index_s)} ({len(index.nodes)} chunks, {_mb(index_bytes)}); " + (
            "no fine-tuned model is chosen, so there is no training to compare with."
            if lab.finetuned is None
            else f"{lab.finetuned.name} has no training record (trained elsewhere): its training cost is unknown."
        )
    else:
        train_s = float(training["seconds"])
        ratio = train_s / max(index_s, 1e-9)
        rows.append(
            {
                "what": f"adapter training ({training['steps']} steps on {training['device']}, recorded "
                f"{str(training['created'])[:10]})",
                "time": duration(train_s),
                "size": _mb(int(training["adapter_bytes"])),
            }
        )
        payback = (train_s - index_s) / extra if extra > 0 and train_s > index_s else None
        numbers.update(
            {
                "training_s": train_s,
                "ratio": round(ratio, 1),
                "extra_rag_answer_s": round(extra, 3),
                "payback_answers": None if payback is None else round(payback),
            }
        )
        verdict = "holds" if ratio > 1 else "does not hold"
        summary = (
            f"Training the adapter took {duration(train_s)} against {duration(index_s)} to build the index "
            f"({ratio:.0f}× as long; adapter {_mb(int(training['adapter_bytes']))}, index {_mb(index_bytes)}). "
            f"A Base+RAG answer took {latency['base+rag'].mean:.2f} s ({prompt['base+rag'].mean:.0f} prompt tokens) "
            f"against {latency['ft'].mean:.2f} s for the fine-tuned model alone ({prompt['ft'].mean:.0f})"
            + (
                f", so training pays back its extra time after about {payback:.0f} answers — while answering "
                f"{accuracy['ft'].mean:.0%} right alone against {accuracy['base+rag'].mean:.0%} with retrieval."
                if payback is not None
                else "."
            )
        )
        notes.append(
            "The opposite claim (fine-tuning needs less time and fewer resources than RAG) "
            + ("does not hold here: " if ratio > 1 else "holds here: ")
            + f"training took {ratio:.0f}× the index build."
        )
        notes.append(
            "Training time is the one recorded when the adapter was trained (on this or another machine); "
            "the index build is measured in this run."
        )
    for c in CONDITIONS:
        rows.append(
            {
                "what": f"one answer: {LABELS[c]}",
                "time": f"{latency[c].mean:.2f} s",
                "size": f"{prompt[c].mean:.0f} prompt tokens",
            }
        )
    return ClaimResult("cost", verdict, summary, numbers=numbers, rows=rows, notes=notes, figure=_figure(numbers))


def _figure(numbers: dict) -> dict:
    import plotly.graph_objects as go

    from playground.claims.common import finish

    names = ["index build"]
    values = [numbers["index_build_s"]]
    if numbers.get("training"):
        names.append("adapter training")
        values.append(numbers["training"]["seconds"])
    fig = go.Figure(
        go.Bar(
            x=names,
            y=values,
            marker_color=["#1565c0", "#ef6c00"][: len(names)],
            text=[f"{v:.0f} s" for v in values],
            textposition="auto",
        )
    )
    return finish(fig, "Up-front time on these documents", "seconds")


register(
    Claim(
        "cost",
        "Fine-tuning is computationally expensive. (One widely read article claims the opposite: that fine-tuning "
        "needs less time and fewer resources than RAG.)",
        "Common in comparison articles; the opposite view in some vendor explainers.",
        "On this machine and these documents: index build time and size against the adapter's training time and "
        "size; each condition's cost per answer; after how many answers training pays back.",
        cost,
        lambda lab: 10 + 0.15 * len(lab.index.nodes),  # embedding every chunk again, about 7 chunks a second
        shared=lambda lab: {"core": core_estimate(lab, lab.config.latency_questions)},
    )
)
