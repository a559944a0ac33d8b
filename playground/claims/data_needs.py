"""Data needs: accuracy and house style against the size of the training set — a learning curve.

It trains one adapter per share of the training data (the workspace's own dataset, built by the
fine-tuning lab's recipe), with steps in proportion to the share, and asks each the held-out questions
without retrieval. It trains several adapters, so it is opt-in and says how long it will take first.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from llama_index.core.schema import TextNode

from playground.claims.common import column, finish, interval, small_sample
from playground.claims.lab import Lab
from playground.claims.registry import Claim, ClaimResult, duration, register
from playground.config import Progress
from playground.evaluate.records import EvalRun
from playground.models import ModelInfo

PRESET = "sample"  # the recipe and LoRA settings of the shipped fine-tune; steps come from ClaimsConfig.data_steps
TRAIN_STEP_S = 2.0  # seconds a training step takes on 2 cores (sample preset: 125 steps in about 4 minutes)


def train_adapter(
    lab: Lab, share: float, progress: Progress, nodes: Sequence[TextNode] | None = None, name: str = ""
) -> ModelInfo | None:
    """An adapter trained on ``share`` of the training data built from ``nodes`` (default: the index's chunks),
    for ``ClaimsConfig.data_steps * share`` steps; kept in the lab's folder, not in the models folder."""
    from playground.finetune.dataset import Dataset, build_dataset
    from playground.finetune.pipeline import finetune, resolve_base
    from playground.finetune.settings import preset

    chosen = preset(PRESET)
    dataset = build_dataset(nodes or lab.index.nodes, chosen.dataset, workspace=lab.workspace)
    examples = list(dataset.examples)
    random.Random(0).shuffle(examples)
    keep = max(4, round(len(examples) * share))
    subset = Dataset(examples[:keep], dataset.settings, dataset.leakage, dataset.facts)
    steps = max(2, round(lab.config.data_steps * share))
    lora = replace(chosen.lora, max_steps=steps, epochs=max(chosen.lora.epochs, 1))
    name = name or f"claims-data-{round(share * 100)}"
    out = lab.folder / "adapters"
    ft, result = finetune(
        subset,
        lora,
        base=resolve_base(lab.base, lab.catalogue),
        name=name,
        out_dir=out,
        progress=progress,
        cancel=lab.cancel,
    )
    if result.cancelled:
        return None
    return replace(
        lab.base,
        name=name,
        finetuned_from=lab.base.id,
        adapter_path=ft.adapter_path,
        details={"examples": keep, "steps": result.steps, "seconds": result.seconds},
    )


def data_needs(lab: Lab, progress: Progress) -> ClaimResult | None:
    if lab.base.backend != "embedded":
        return ClaimResult(
            "data-needs",
            "not run",
            "The learning curve trains adapters on the embedded engine; "
            f"the base model {lab.base.id} is not an embedded model.",
        )
    points = []
    boot = (lab.config.seed, lab.config.bootstrap)
    shares = sorted(lab.config.data_sizes)
    for i, share in enumerate(shares):

        def step(f: float, m: str, i: int = i, share: float = share) -> None:
            progress((i + 0.7 * f) / len(shares), f"{share:.0%} of the data: {m}")

        model = train_adapter(lab, share, step)
        if model is None or lab.cancelled:
            return None
        trained = replace(lab, finetuned=model, _runs={})
        run: EvalRun | None = trained.evaluation(
            lab.held_out,
            limit=lab.config.latency_questions,
            conditions=("ft",),
            index=None,
            progress=_part(progress, (i + 0.7) / len(shares), 0.3 / len(shares)),
        )
        if run is None:
            return None
        correct = interval(column(run, "ft", lambda r, a: a.scores.correct), *boot)
        styled = interval(column(run, "ft", lambda r, a: lab.style.follows(a.text)), *boot)
        points.append(
            {
                "share": share,
                "examples": model.details["examples"],
                "steps": model.details["steps"],
                "train_s": model.details["seconds"],
                "correct": correct.as_dict(),
                "style": styled.as_dict(),
                "questions": len(run.results),
            }
        )
    first, last = points[0], points[-1]
    grows_acc = (last["correct"]["low"] or 0) > (first["correct"]["high"] or 0)
    grows_style = (last["style"]["low"] or 0) > (first["style"]["high"] or 0)
    verdict = "holds" if grows_acc else "depends" if grows_style else "does not hold"
    summary = (
        "Trained on "
        + ", ".join(f"{p['examples']} examples ({p['steps']} steps, {duration(p['train_s'])})" for p in points)
        + ": correct without retrieval "
        + " → ".join(f"{p['correct']['mean']:.2f}" for p in points)
        + ", house style "
        + " → ".join(f"{p['style']['mean']:.0%}" for p in points)
        + f" on {points[0]['questions']} held-out questions."
    )
    return ClaimResult(
        "data-needs",
        verdict,
        summary,
        numbers={"points": points, "preset": PRESET},
        rows=[
            {
                "examples": p["examples"],
                "steps": p["steps"],
                "train": duration(p["train_s"]),
                "correct": f"{p['correct']['mean']:.2f} [{p['correct']['low']:.2f}–{p['correct']['high']:.2f}]",
                "house style": f"{p['style']['mean']:.0%}",
            }
            for p in points
        ],
        notes=[
            *small_sample(points[0]["questions"]),
            "Each point is one adapter; steps grow with the data, as they would.",
        ],
        figure=_figure(points),
    )


def _part(progress: Progress, start: float, width: float) -> Progress:
    return lambda f, m: progress(start + width * f, m)


def _figure(points: list[dict]) -> dict:
    import plotly.graph_objects as go

    fig = go.Figure()
    xs = [p["examples"] for p in points]
    for key, title, color in (("correct", "correct", "#1565c0"), ("style", "house style", "#ef6c00")):
        fig.add_scatter(
            x=xs,
            y=[p[key]["mean"] for p in points],
            mode="lines+markers",
            name=title,
            line={"color": color},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [p[key]["high"] - p[key]["mean"] for p in points],
                "arrayminus": [p[key]["mean"] - p[key]["low"] for p in points],
            },
        )
    return finish(fig, "Learning curve", "share", xaxis_title="training examples", yaxis_tickformat=".0%")


def _estimate(lab: Lab) -> float:
    steps = sum(max(2, round(lab.config.data_steps * s)) for s in lab.config.data_sizes)
    asks = len(lab.config.data_sizes) * lab.config.latency_questions * lab.answer_seconds()["plain"]
    return steps * TRAIN_STEP_S + len(lab.config.data_sizes) * 15 + asks


register(
    Claim(
        "data-needs",
        "Fine-tuning needs substantial data.",
        "Common in comparison articles (hundreds to thousands of examples are the usual advice).",
        "A learning curve: adapters trained on growing shares of the workspace's training data, each asked the "
        "held-out questions without retrieval; accuracy and house style against the number of examples.",
        data_needs,
        _estimate,
        opt_in=True,
    )
)
