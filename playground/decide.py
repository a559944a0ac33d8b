"""Decide: from the measured evidence to a recommendation for a person's own situation.

    lab = Lab(workspace, files, index, catalogue, base, finetuned)   # the claims lab, built as Claims builds it
    decision = decide(lab, Situation(changes_per_month=4.3, questions_per_day=100))
    decision.headline                 # one sentence: RAG, fine-tuning, both, or neither yet
    decision.reasons                  # each with its number, its interval and the run or claim it comes from
    write_brief(decision, "brief.html")   # one offline page for a stakeholder (also .md, .json)

It reads what is stored and never runs an experiment: the newest evaluation run on these models and
documents (accuracy and seconds per answer of the four options, paired differences between them) and the
claims' results (index build and training time, re-indexing and changed facts, citations, house style,
forgetting). What the situation needs and the workspace has not measured is named in
``decision.missing``, with the claim that measures it; without the essentials there is no recommendation.

How it chooses, in order: options the situation rules out (over the latency budget, no passages to cite,
off the house style, a fine-tune alone when documents change and retraining was never shown to absorb a
change); among the rest, those whose accuracy the intervals do not separate from the most accurate; among
those, the cheapest over the next 12 months at the person's rates, when the costs' intervals separate it.
Where nothing separates two options it says so instead of choosing. The cost arithmetic is
:class:`Profile` and :func:`break_evens`, and nothing else computes a cost.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from playground.claims import CLAIMS, ClaimResult, Lab, duration, latest_result
from playground.claims.common import above, finish, interval, paired
from playground.claims.report import measured_on
from playground.compare import COLORS, CONDITIONS, LABELS
from playground.config import _Config, _help, _require
from playground.errors import ConfigError
from playground.evaluate.card import PAGE_CSS, html_table
from playground.evaluate.records import EvalRun
from playground.evaluate.report import Interval, markdown_table
from playground.evaluate.run import describe_model, list_runs, load_run
from playground.storage import write_atomic

DAYS_PER_MONTH = 365.25 / 12  # 30.4375: a month is a twelfth of a year, leap days included
HORIZON = 12  # months the cost chart and the comparison look ahead
# What an hour of the machine costs by default, in the person's currency: assumptions to replace, not measurements.
# CPU: a small on-demand cloud machine of 2-4 cores (what the seconds here were measured on); GPU: one on-demand
# data-centre GPU. The seconds stay the measured ones: a faster machine shortens them, and the brief says so.
MACHINE_RATES = {"cpu": 0.10, "gpu": 2.00}
RAG = ("base+rag", "ft+rag")
FINETUNED = ("ft", "ft+rag")
KINDS = ("RAG", "fine-tuning", "both", "neither yet")
# What each claim tells the decision (named when it is missing); the evaluation comes from new-knowledge's run.
USED = {
    "new-knowledge": "accuracy and seconds per answer of the four options (the held-out questions through each)",
    "cost": "the time to build the index and to train the adapter",
    "freshness": "how a changed document reaches each option, and how long re-indexing takes",
    "hallucination": "which options cite sources they were never given",
    "consistency": "which options answer in the house style",
    "forgetting": "how much general knowledge the fine-tune lost",
}


@dataclass(frozen=True)
class Situation(_Config):
    """The person's own situation: how their documents and questions behave, and what compute costs them."""

    changes_per_month: float = _help(
        "How often the documents change, in changes a month (a weekly update is about 4.3). Each change costs a "
        "re-index for the retrieval options and a retraining for the fine-tuned ones.",
        0.0,
    )
    questions_per_day: float = _help("Questions asked a day; each costs its measured seconds of compute.", 100.0)
    latency_s: float = _help(
        "The longest one answer may take, in seconds (0: no budget). An option whose measured seconds per answer "
        "lie wholly above it is ruled out.",
        0.0,
    )
    citations: bool = _help(
        "Answers must cite their sources: only the retrieval options are given passages to cite.", False
    )
    style: bool = _help(
        "A house style matters: options clearly less often in the workspace's house style are ruled out.", False
    )
    machine: str = _help(
        "The machine that would serve and train: cpu or gpu; it sets the default hourly cost "
        + ", ".join(f"{k} {v:.2f}" for k, v in MACHINE_RATES.items())
        + " (assumed on-demand prices, in your currency).",
        "cpu",
    )
    hourly_cost: float = _help(
        "What an hour of that machine costs, in your currency (0: the machine's default).",
        0.0,
    )

    def __post_init__(self) -> None:
        _require(self.machine in MACHINE_RATES, "Situation", "machine", self.machine, f"choose {list(MACHINE_RATES)}")
        for name in ("changes_per_month", "questions_per_day", "latency_s", "hourly_cost"):
            value = getattr(self, name)
            _require(math.isfinite(value) and value >= 0, "Situation", name, value, "must be 0 or more")
        if not self.hourly_cost:
            object.__setattr__(self, "hourly_cost", MACHINE_RATES[self.machine])

    def describe(self) -> list[str]:
        """The situation in words, one line per input.

        >>> Situation(changes_per_month=4.3, questions_per_day=100).describe()[:2]
        ['documents change 4.3 times a month', '100 questions a day']
        """
        return [
            f"documents change {_num(self.changes_per_month)} times a month"
            if self.changes_per_month
            else "documents do not change",
            f"{_num(self.questions_per_day)} questions a day",
            f"one answer may take up to {_num(self.latency_s)} s" if self.latency_s else "no latency budget",
            "answers must cite their sources" if self.citations else "citations not required",
            "a house style matters" if self.style else "no house style required",
            f"{self.machine.upper()} at {self.hourly_cost:.2f} an hour"
            + (" (the default)" if self.hourly_cost == MACHINE_RATES[self.machine] else ""),
        ]


# -- the cost arithmetic: the one place a cost is computed ----------------------------------------------------
@dataclass(frozen=True)
class Profile:
    """What one option costs in machine seconds: before the first answer, per answer, per document change."""

    upfront_s: float  # building the index, training the adapter
    answer_s: float  # one answer, as measured
    change_s: float  # one document change: re-indexing, retraining

    def monthly_s(self, situation: Situation) -> float:
        """Machine seconds a month: every answer, and every change.

        >>> Profile(0, 2.0, 60).monthly_s(Situation(questions_per_day=10, changes_per_month=3))
        788.75
        """
        return (
            situation.questions_per_day * DAYS_PER_MONTH * self.answer_s + situation.changes_per_month * self.change_s
        )

    def cost(self, month: float, situation: Situation) -> float:
        """What it has cost after ``month`` months, at the situation's hourly rate.

        >>> Profile(3600, 0, 0).cost(5, Situation(hourly_cost=2))
        2.0
        """
        return (self.upfront_s + month * self.monthly_s(situation)) / 3600 * situation.hourly_cost

    def busy(self, situation: Situation) -> float:
        """Machines kept busy answering (1.0: one machine answering all day long).

        >>> round(Profile(0, 0.864, 0).busy(Situation(questions_per_day=100_000)), 3)
        1.0
        """
        return situation.questions_per_day * self.answer_s / 86_400


@dataclass(frozen=True)
class BreakEven:
    """Where two options' cumulative costs meet: before it ``cheaper_before`` costs less, after it the other."""

    cheaper_before: str
    cheaper_after: str
    month: float
    cost: float

    def sentence(self) -> str:
        """In words; under a month, in days.

        >>> BreakEven("base+rag", "ft", 0.25, 1.5).sentence()
        'Fine-tuned costs less than Base+RAG from day 8 on (1.50 each by then)'
        >>> BreakEven("base+rag", "ft", 0.01, 0.02).sentence()
        'Fine-tuned costs less than Base+RAG from the first day on (0.02 each by then)'
        """
        days = self.month * DAYS_PER_MONTH
        when = "the first day" if days < 1 else f"day {round(days)}" if self.month < 1 else f"month {self.month:.1f}"
        return (
            f"{LABELS[self.cheaper_after]} costs less than {LABELS[self.cheaper_before]} from {when} on "
            f"({self.cost:.2f} each by then)"
        )


def break_evens(profiles: dict[str, Profile], situation: Situation, months: float = HORIZON) -> list[BreakEven]:
    """Every pair of options whose cumulative costs cross within ``months``, in the order they cross.

    The one that costs less up front is cheaper until its higher monthly cost catches up:
    ``month = (upfront_b - upfront_a) / (monthly_a - monthly_b)``.

    >>> cheap, fast = Profile(0, 1.0, 0), Profile(3600, 0.5, 0)
    >>> [b.month for b in break_evens({"base": cheap, "ft": fast}, Situation(questions_per_day=240))]
    [0.9856262833675564]
    """
    found = []
    names = list(profiles)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            pa, pb = profiles[a], profiles[b]
            ma, mb = pa.monthly_s(situation), pb.monthly_s(situation)
            if ma == mb or pa.upfront_s == pb.upfront_s:
                continue
            month = (pb.upfront_s - pa.upfront_s) / (ma - mb)
            if 0 < month <= months:
                first, second = (a, b) if pa.upfront_s < pb.upfront_s else (b, a)
                found.append(BreakEven(first, second, month, pa.cost(month, situation)))
    return sorted(found, key=lambda b: b.month)


def questions_threshold(a: Profile, b: Profile, situation: Situation, months: float = HORIZON) -> float | None:
    """Questions a day at which ``a`` and ``b`` cost the same over ``months`` (the situation's changes kept);
    None when no positive number of questions does it.

    >>> questions_threshold(Profile(0, 1.0, 0), Profile(3600, 0.5, 0), Situation(), months=1)
    236.55030800821356
    """
    per_question = months * DAYS_PER_MONTH * (a.answer_s - b.answer_s)
    rest = b.upfront_s - a.upfront_s + months * situation.changes_per_month * (b.change_s - a.change_s)
    if per_question == 0 or rest / per_question <= 0:
        return None
    return rest / per_question


def changes_threshold(a: Profile, b: Profile, situation: Situation, months: float = HORIZON) -> float | None:
    """Changes a month at which ``a`` and ``b`` cost the same over ``months`` (the situation's questions kept);
    None when no positive number of changes does it.

    >>> changes_threshold(Profile(0, 1.0, 0), Profile(0, 0.5, 600), Situation(questions_per_day=100), months=1)
    2.5364583333333335
    """
    per_change = months * (a.change_s - b.change_s)
    rest = b.upfront_s - a.upfront_s + months * situation.questions_per_day * DAYS_PER_MONTH * (b.answer_s - a.answer_s)
    if per_change == 0 or rest / per_change <= 0:
        return None
    return rest / per_change


# -- the evidence --------------------------------------------------------------------------------------------
@dataclass
class Evidence:
    """What the workspace has measured on these models and documents, as the decision reads it."""

    run_id: str | None  # the evaluation the accuracy and seconds come from
    correct: dict[str, list[float]]  # per option, one value per question every option answered, in order
    seconds: dict[str, list[float]]  # seconds per answer, the same questions
    prompt_tokens: dict[str, float]
    claims: dict[str, ClaimResult]
    estimates: dict[str, float]  # seconds each claim would take here, run alone
    described: dict[str, Any]  # the lab: models, index, documents (what the brief names)
    finetuned: bool  # a fine-tuned model is chosen (else the fine-tuned options repeat the base model)
    bundled: bool  # the base model is the bundled 135M one
    seed: int = 0
    bootstrap: int = 2000

    @property
    def questions(self) -> int:
        return len(self.correct.get("base", []))

    def accuracy(self, option: str) -> Interval:
        return interval(self.correct[option], self.seed, self.bootstrap)

    def answer_s(self, option: str) -> Interval:
        return interval(self.seconds[option], self.seed, self.bootstrap)

    def difference(self, a: str, b: str) -> Interval:
        """``a`` minus ``b`` in share of questions right, paired over the same questions."""
        return paired(self.correct[a], self.correct[b], self.seed, self.bootstrap)

    def number(self, claim: str, *path: str) -> Any:
        value: Any = self.claims[claim].numbers if claim in self.claims else None
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value


def gather(lab: Lab) -> Evidence:
    """Read the stored evidence for ``lab``'s models, index, questions and house style; runs nothing."""
    claims = {}
    for claim_id in USED:
        found = latest_result(lab, claim_id)
        if found is not None and (found[0].verdict != "not run" or found[0].numbers):
            claims[claim_id] = found[0]
    run = newest_run(lab)
    correct: dict[str, list[float]] = {c: [] for c in CONDITIONS}
    seconds: dict[str, list[float]] = {c: [] for c in CONDITIONS}
    tokens: dict[str, list[float]] = {c: [] for c in CONDITIONS}
    for r in run.results if run else []:
        if not all(r.scored(c) for c in CONDITIONS):
            continue  # paired differences need every option's answer to the same question
        for c in CONDITIONS:
            answer = r.answers[c]
            correct[c].append(r.correct(c))
            seconds[c].append(answer.metrics.latency_s if answer.metrics else math.nan)
            tokens[c].append(float(answer.metrics.prompt_tokens) if answer.metrics else math.nan)
    from playground.models.embedded import BUNDLED_NAME

    return Evidence(
        run_id=run.run_id if run and correct["base"] else None,
        correct=correct,
        seconds=seconds,
        prompt_tokens={c: _mean(v) for c, v in tokens.items()},
        claims=claims,
        estimates={c: CLAIMS[c].seconds(lab) for c in USED},
        described=json.loads(json.dumps(lab.describe(), default=str)),
        finetuned=lab.finetuned is not None,
        bundled=lab.base.name == BUNDLED_NAME,
        seed=run.config.seed if run else 0,
        bootstrap=run.config.bootstrap if run else 2000,
    )


def newest_run(lab: Lab) -> EvalRun | None:
    """The newest stored evaluation of answerable questions through all four options, on ``lab``'s models and
    index (the claims' own runs among them: their unanswerable, changed-fact and general-knowledge runs are not)."""
    models = json.loads(
        json.dumps(
            {"base": describe_model(lab.base), "finetuned": describe_model(lab.finetuned) if lab.finetuned else None}
        )
    )
    for folder in list_runs(lab.workspace):
        try:
            run = load_run(folder, limit=0)  # every answer stored: a claim that asked fewer set the run's limit last
        except (OSError, ValueError, KeyError, TypeError):
            continue
        index = run.meta.get("index") or {}
        if (
            set(CONDITIONS) <= set(run.config.conditions)
            and index.get("key") == lab.index.key
            and run.meta.get("models") == models
            and any(q.answerable for q in run.questions.questions)
            and any(all(r.scored(c) for c in CONDITIONS) for r in run.results)
        ):
            return run
    return None


# -- the decision --------------------------------------------------------------------------------------------
@dataclass
class Reason:
    """One reason, stated with its number: ``source`` names the run or claim the number comes from."""

    text: str
    source: str
    numbers: dict[str, Any] = field(default_factory=dict)


@dataclass
class Missing:
    """Evidence the situation needs that the workspace has not measured, and what measures it."""

    claim: str | None  # the claim that measures it (None: something a person does elsewhere, said in ``why``)
    why: str
    seconds: float = 0.0  # about how long the claim takes here, run alone
    blocking: bool = True  # without it there is no recommendation


@dataclass
class Decision:
    situation: Situation
    kind: str | None  # one of KINDS; None: evidence is missing, run the missing claims first
    options: list[str]  # the options recommended (two or more: the measurements do not separate them)
    headline: str
    reasons: list[Reason]
    ruled_out: dict[str, Reason]
    would_change: list[str]
    missing: list[Missing]
    profiles: dict[str, Profile]
    break_even: list[BreakEven]
    limits: list[str]
    evidence: dict[str, Any]  # where the numbers come from: the run, each claim with when it finished
    measured_on: dict[str, Any]

    def costs(self, months: float = HORIZON) -> dict[str, float]:
        return {c: p.cost(months, self.situation) for c, p in self.profiles.items()}

    def cost_rows(self) -> list[dict[str, Any]]:
        """Cumulative cost of each option, month by month (the chart's numbers, as a table)."""
        return [
            {"month": m, **{LABELS[c]: f"{p.cost(m, self.situation):.2f}" for c, p in self.profiles.items()}}
            for m in range(HORIZON + 1)
        ]

    def option_rows(self) -> list[dict[str, Any]]:
        """Each option's cost in its parts: seconds per answer, up front, per change, a month, 12 months."""
        s = self.situation
        return [
            {
                "option": LABELS[c] + (" (ruled out)" if c in self.ruled_out else ""),
                "s per answer": f"{p.answer_s:.2f}",
                "up front": duration(p.upfront_s),
                "per change": duration(p.change_s),
                "machines busy": f"{p.busy(s):.2f}",
                "a month": f"{p.monthly_s(s) / 3600 * s.hourly_cost:.2f}",
                f"{HORIZON} months": f"{p.cost(HORIZON, s):.2f}",
            }
            for c, p in self.profiles.items()
        ]

    def figure(self) -> dict[str, Any] | None:
        """Cumulative cost of the four options over the next 12 months, break-even points marked (plotly JSON)."""
        if not self.profiles:
            return None
        import plotly.graph_objects as go

        fig = go.Figure()
        months = list(range(HORIZON + 1))
        for c, p in self.profiles.items():
            out = c in self.ruled_out
            fig.add_scatter(
                x=months,
                y=[p.cost(m, self.situation) for m in months],
                mode="lines",
                name=LABELS[c] + (" (ruled out)" if out else ""),
                line={"color": COLORS[c], "dash": "dot" if out else "solid", "width": 3 if c in self.options else 2},
            )
        if self.break_even:
            fig.add_scatter(
                x=[b.month for b in self.break_even],
                y=[b.cost for b in self.break_even],
                mode="markers",
                name="break-even",
                marker={"symbol": "diamond", "size": 11, "color": "#212529", "line": {"color": "white", "width": 1}},
                hovertext=[b.sentence() for b in self.break_even],
                hoverinfo="text",
            )
        return finish(
            fig,
            f"Cumulative cost, next {HORIZON} months (at {self.situation.hourly_cost:.2f} an hour)",
            "cost",
            xaxis={"dtick": 1, "title": "months from now"},
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "situation": self.situation.as_dict(),
            "recommendation": self.kind,
            "options": self.options,
            "headline": self.headline,
            "reasons": [asdict(r) for r in self.reasons],
            "ruled_out": {c: asdict(r) for c, r in self.ruled_out.items()},
            "break_even": [{**asdict(b), "sentence": b.sentence()} for b in self.break_even],
            "costs": {
                "horizon_months": HORIZON,
                "hourly_cost": self.situation.hourly_cost,
                "options": {
                    c: {**asdict(p), f"cost_{HORIZON}_months": round(p.cost(HORIZON, self.situation), 4)}
                    for c, p in self.profiles.items()
                },
                "months": self.cost_rows(),
            },
            "would_change": self.would_change,
            "missing": [asdict(m) for m in self.missing],
            "limits": self.limits,
            "evidence": self.evidence,
            "measured_on": self.measured_on,
        }


def decide(lab: Lab, situation: Situation) -> Decision:
    """The recommendation for ``situation`` from what ``lab``'s workspace has measured (reads, never runs)."""
    return recommend(gather(lab), situation)


def recommend(ev: Evidence, situation: Situation) -> Decision:
    """The decision for ``situation`` from the evidence ``ev`` (pure: the same evidence gives the same answer)."""
    missing = _missing(ev, situation)
    sources = _sources(ev)
    limits = _limits(ev)
    measured = _measured_on(ev)
    if any(m.blocking for m in missing):
        names = ", ".join(m.claim or m.why for m in missing if m.blocking)
        return Decision(situation, None, [], f"No recommendation yet: run these first: {names}.", [], {}, [],
                        missing, {}, [], limits, sources, measured)  # fmt: skip
    profiles = _profiles(ev)
    ruled_out = _rule_out(ev, situation, profiles)
    reasons: list[Reason] = []
    would_change = _would_change_constraints(ev, situation, ruled_out)
    eligible = [c for c in CONDITIONS if c not in ruled_out]
    run = f"evaluation run {ev.run_id}"
    if not eligible:
        kind, chosen, headline = (
            "neither yet",
            [],
            "Neither yet: no option meets this situation (see what rules each out).",
        )
    else:
        best = max(eligible, key=lambda c: (ev.accuracy(c).mean, -profiles[c].answer_s))
        leaders = [best] + [c for c in eligible if c != best and ev.difference(best, c).low <= 0]
        chosen = _cheapest(leaders, profiles, ev, situation)
        lead = chosen[0]
        said: set[frozenset[str]] = set()

        def accuracy(a: str, b: str, clearly: bool) -> None:
            if frozenset((a, b)) not in said:
                said.add(frozenset((a, b)))
                reasons.append(_accuracy_reason(ev, a, b, run, clearly))

        if lead != "base":  # what the option chosen adds over the model alone
            accuracy(lead, "base", ev.difference(lead, "base").low > 0)
        for c in leaders:
            if c in chosen[1:]:
                said.add(frozenset((lead, c)))
                reasons.append(_tie_reason(ev, lead, c, run))
                would_change.append(_questions_to_separate(ev, lead, c))
            elif c != lead:
                accuracy(c, lead, False)  # as accurate within the intervals; the cost reason says why not
        for c in eligible:
            if c not in leaders:
                accuracy(best, c, True)
        if len(leaders) > 1:
            reasons.append(_cost_reason(leaders, profiles, ev, situation, chosen))
        kind = _kind(chosen)
        headline = _headline(kind, chosen, eligible)
        would_change += _would_change_costs(chosen, leaders, profiles, situation)
    reasons += [r for c, r in ruled_out.items()]
    reasons += _context_reasons(ev, situation, chosen)
    return Decision(
        situation, kind, chosen, headline, reasons, ruled_out, [w for w in would_change if w], missing, profiles,
        break_evens(profiles, situation), limits, sources, measured,
    )  # fmt: skip


def _missing(ev: Evidence, situation: Situation) -> list[Missing]:
    out = []
    if ev.run_id is None:
        out.append(Missing("new-knowledge", USED["new-knowledge"], ev.estimates["new-knowledge"]))
    if not ev.finetuned:
        out.append(
            Missing(
                None,
                "a fine-tuned model: train one on the Fine-tune page (or `python -m playground finetune`) and choose "
                "it, so the fine-tuned options are more than the base model again",
                blocking=False,
            )
        )
    needed = ["cost"]
    needed += ["freshness"] if situation.changes_per_month else []
    needed += ["hallucination"] if situation.citations else []
    needed += ["consistency"] if situation.style else []
    for claim_id in needed:
        if claim_id not in ev.claims:
            out.append(Missing(claim_id, USED[claim_id], ev.estimates[claim_id]))
    if ev.finetuned and "forgetting" not in ev.claims:
        out.append(Missing("forgetting", USED["forgetting"], ev.estimates["forgetting"], blocking=False))
    return out


def _profiles(ev: Evidence) -> dict[str, Profile]:
    build = float(ev.number("cost", "index_build_s") or 0.0)
    train = float(ev.number("cost", "training", "seconds") or ev.number("cost", "training_s") or 0.0)
    reindex = ev.number("freshness", "reindex_s")
    reindex = float(reindex) if reindex is not None else build  # not measured: a whole build, the upper bound
    seconds = {c: _mean(ev.seconds[c]) for c in CONDITIONS}
    return {
        "base": Profile(0.0, seconds["base"], 0.0),
        "base+rag": Profile(build, seconds["base+rag"], reindex),
        "ft": Profile(train, seconds["ft"], train),
        "ft+rag": Profile(build + train, seconds["ft+rag"], reindex + train),
    }


def _rule_out(ev: Evidence, situation: Situation, profiles: dict[str, Profile]) -> dict[str, Reason]:
    out: dict[str, Reason] = {}
    if not ev.finetuned:
        for c in FINETUNED:
            out[c] = Reason(
                f"{LABELS[c]}: no fine-tuned model is chosen, so this option would be the base model again.", "models"
            )
    elif not ev.number("cost", "training"):
        for c in FINETUNED:
            out[c] = Reason(
                f"{LABELS[c]}: the fine-tune has no training record (trained elsewhere), so its training and "
                "retraining cost is unknown.",
                _src(ev, "cost"),
            )
    if situation.latency_s:
        for c in CONDITIONS:
            s = ev.answer_s(c)
            if s.low > situation.latency_s and c not in out:
                out[c] = Reason(
                    f"{LABELS[c]} answers in {_si(s)} — over the {_num(situation.latency_s)} s budget.",
                    f"evaluation run {ev.run_id}",
                    {"seconds": s.as_dict(), "budget_s": situation.latency_s},
                )
    if situation.citations:
        unsupported = ev.number("hallucination", "unsupported_citations") or {}
        answered = ev.number("hallucination", "answerable") or 0
        for c in ("base", "ft"):
            if c in out:
                continue
            invented = (
                f"; without them {LABELS[c]} named a source it was never given in {unsupported[c]} of {answered} "
                "answers"
                if c in unsupported
                else ""
            )
            out[c] = Reason(
                f"Answers must cite sources: {LABELS[c]} is given no passages to cite{invented}.",
                _src(ev, "hallucination"),
                {"unsupported_citations": unsupported.get(c), "answers": answered},
            )
    if situation.style:
        adherence = {c: _interval(ev.number("consistency", "adherence", c)) for c in CONDITIONS}
        top = max(adherence, key=lambda c: adherence[c].mean)
        for c in CONDITIONS:
            if c not in out and above(adherence[top], adherence[c]):
                out[c] = Reason(
                    f"A house style matters: {LABELS[c]} answered in it {_pi(adherence[c])} of the time against "
                    f"{LABELS[top]}'s {_pi(adherence[top])}.",
                    _src(ev, "consistency"),
                    {"adherence": adherence[c].as_dict(), "best": top, "best_adherence": adherence[top].as_dict()},
                )
    if situation.changes_per_month and "ft" not in out:
        counts = ev.number("freshness", "counts") or {}
        changed = ev.number("freshness", "changed") or 0
        retrained = ev.number("freshness", "retrained")
        new = (counts.get("ft") or {}).get("new_after", 0)
        if changed and new == 0 and not (retrained and retrained.get("new_after")):
            rag = max(RAG, key=lambda c: (counts.get(c) or {}).get("new_after", 0))
            out["ft"] = Reason(
                f"Documents change {_num(situation.changes_per_month)} times a month: after a change the fine-tuned "
                f"model alone gave the new value of {new} of {changed} changed facts ({LABELS[rag]} "
                f"{(counts.get(rag) or {}).get('new_after', 0)} of {changed}), and "
                + (
                    "retraining on the changed documents absorbed none either."
                    if retrained
                    else "that retraining absorbs a change was not measured (the freshness claim with retraining "
                    "measures it)."
                ),
                _src(ev, "freshness"),
                {"changed": changed, "new_after": {c: (counts.get(c) or {}).get("new_after") for c in CONDITIONS}},
            )
    return {c: out[c] for c in CONDITIONS if c in out}


def _cheapest(leaders: list[str], profiles: dict[str, Profile], ev: Evidence, situation: Situation) -> list[str]:
    """The cheapest of ``leaders`` over the horizon, with every other whose cost interval overlaps its own (the
    seconds per answer have intervals; the up-front and per-change times are single measurements)."""
    span = {c: _cost_span(profiles[c], ev.answer_s(c), situation) for c in leaders}
    first = min(leaders, key=lambda c: (profiles[c].cost(HORIZON, situation), CONDITIONS.index(c)))
    ties = [c for c in leaders if c != first and span[c][0] <= span[first][1]]
    return [first, *ties]


def _cost_span(p: Profile, seconds: Interval, situation: Situation) -> tuple[float, float]:
    low = Profile(p.upfront_s, seconds.low, p.change_s).cost(HORIZON, situation)
    high = Profile(p.upfront_s, seconds.high, p.change_s).cost(HORIZON, situation)
    return low, high


def _kind(options: list[str]) -> str:
    """What the options have in common, as a recommendation.

    >>> _kind(["base+rag"]), _kind(["base+rag", "ft+rag"]), _kind(["ft+rag"]), _kind(["base", "ft"])
    ('RAG', 'RAG', 'both', 'neither yet')
    """
    if not options:
        return "neither yet"
    rag = all(c in RAG for c in options)
    tuned = all(c in FINETUNED for c in options)
    if rag and tuned:
        return "both"
    if rag:
        return "RAG"
    if tuned:
        return "fine-tuning"
    return "neither yet"


def _headline(kind: str, chosen: list[str], eligible: list[str]) -> str:
    names = " and ".join(LABELS[c] for c in chosen)
    if len(eligible) == 1 and kind != "neither yet":
        return f"{kind[0].upper() + kind[1:]}: {LABELS[chosen[0]]} is the only option this situation leaves."
    if len(chosen) == 1:
        what = {
            "RAG": "answer with retrieval over the documents, with the base model (Base+RAG)",
            "fine-tuning": "answer with the fine-tuned model alone (Fine-tuned)",
            "both": "answer with the fine-tuned model and retrieval together (Fine-tuned+RAG)",
            "neither yet": "the base model alone (Base): nothing measured here improves on it for this situation",
        }[kind]
        return f"{'Neither yet' if kind == 'neither yet' else kind[0].upper() + kind[1:]}: {what}."
    if kind == "RAG":
        return (
            f"RAG: answer with retrieval over the documents; the measurements do not separate {names}, so the "
            "fine-tune on top is optional."
        )
    if kind == "fine-tuning":
        return f"Fine-tuning; the measurements do not separate {names}, so retrieval on top is optional."
    return f"Neither yet: the measurements do not separate {names} in accuracy or in cost."


def _accuracy_reason(ev: Evidence, a: str, b: str, run: str, clearly: bool) -> Reason:
    d, acc_a, acc_b = ev.difference(a, b), ev.accuracy(a), ev.accuracy(b)
    verdict = "" if clearly else "; the intervals do not separate them"
    return Reason(
        f"{LABELS[a]} is right on {_signed(d)} more of the {ev.questions} held-out questions than {LABELS[b]} "
        f"({acc_a.mean:.2f} [{acc_a.low:.2f}–{acc_a.high:.2f}] against {acc_b.mean:.2f} "
        f"[{acc_b.low:.2f}–{acc_b.high:.2f}]){verdict}.",
        run,
        {"difference": d.as_dict(), a: acc_a.as_dict(), b: acc_b.as_dict(), "questions": ev.questions},
    )


def _tie_reason(ev: Evidence, a: str, b: str, run: str) -> Reason:
    d = ev.difference(b, a)
    return Reason(
        f"The intervals do not separate {LABELS[a]} and {LABELS[b]}: {LABELS[b]} is right on {_signed(d)} more of "
        f"the {ev.questions} questions, and their costs overlap (seconds per answer {_si(ev.answer_s(a))} and "
        f"{_si(ev.answer_s(b))}).",
        run,
        {"difference": d.as_dict(), "seconds": {a: ev.answer_s(a).as_dict(), b: ev.answer_s(b).as_dict()}},
    )


def _cost_reason(
    leaders: list[str], profiles: dict[str, Profile], ev: Evidence, situation: Situation, chosen: list[str]
) -> Reason:
    parts = []
    for c in sorted(leaders, key=lambda c: profiles[c].cost(HORIZON, situation)):
        p = profiles[c]
        extra = []
        if p.upfront_s:
            extra.append(f"{duration(p.upfront_s)} up front")
        if situation.changes_per_month and p.change_s:
            extra.append(f"{duration(p.change_s)} a change")
        parts.append(
            f"{LABELS[c]} {p.cost(HORIZON, situation):.2f} ({_si(ev.answer_s(c))} an answer"
            + "".join(f", {e}" for e in extra)
            + ")"
        )
    sources = [f"evaluation run {ev.run_id}", _src(ev, "cost")]
    if situation.changes_per_month and "freshness" in ev.claims:
        sources.append(_src(ev, "freshness"))
    return Reason(
        f"Over {HORIZON} months at {_num(situation.questions_per_day)} questions a day, "
        f"{_num(situation.changes_per_month)} changes a month and {situation.hourly_cost:.2f} an hour: "
        + "; ".join(parts)
        + ".",
        " · ".join(sources),
        {"costs": {c: round(profiles[c].cost(HORIZON, situation), 4) for c in leaders}},
    )


def _context_reasons(ev: Evidence, situation: Situation, chosen: list[str]) -> list[Reason]:
    """What else was measured that bears on the options chosen: forgetting, fabrication, re-indexing."""
    out = []
    change = _interval(ev.number("forgetting", "change"))
    if any(c in FINETUNED for c in chosen) and not math.isnan(change.mean):
        n = ev.number("forgetting", "questions")
        out.append(
            Reason(
                f"The fine-tune's general knowledge moved by {_signed(change)} on {n} general-knowledge questions "
                "against the base model: "
                + ("it forgot some." if change.high < 0 else "the intervals show no clear loss."),
                _src(ev, "forgetting"),
                {"change": change.as_dict(), "questions": n},
            )
        )
    counts = ev.number("freshness", "counts")
    if situation.changes_per_month and counts and any(c in RAG for c in chosen):
        c = next(c for c in chosen if c in RAG)
        out.append(
            Reason(
                "A changed document reaches retrieval by re-indexing in "
                f"{duration(ev.number('freshness', 'reindex_s'))}; asked again, {LABELS[c]} gave the new value "
                f"of {counts[c]['new_after']} of {ev.number('freshness', 'changed')} changed facts.",
                _src(ev, "freshness"),
                {"reindex_s": ev.number("freshness", "reindex_s"), "new_after": counts[c]["new_after"]},
            )
        )
    fabrication = ev.number("hallucination", "fabrication") or {}
    if situation.citations and chosen and all(c in fabrication for c in chosen):
        fab = {c: _interval(fabrication[c]) for c in chosen}
        n = ev.number("hallucination", "unanswerable")
        out.append(
            Reason(
                "On questions the documents cannot answer, "
                + ", ".join(f"{LABELS[c]} invented an answer {_pi(fab[c])} of the time" for c in chosen)
                + f" ({n} questions): citing sources does not stop a model inventing.",
                _src(ev, "hallucination"),
                {"fabrication": {c: f.as_dict() for c, f in fab.items()}, "questions": n},
            )
        )
    return out


def _would_change_constraints(ev: Evidence, situation: Situation, ruled_out: dict[str, Reason]) -> list[str]:
    out = []
    for c, reason in ruled_out.items():
        if "budget" in reason.text:
            out.append(
                f"A latency budget of {ev.answer_s(c).low:.2f} s or more (the low end of {LABELS[c]}'s interval) "
                f"would no longer rule {LABELS[c]} out."
            )
        elif "cite sources" in reason.text:
            out.append(f"If answers need not cite sources, {LABELS[c]} would be considered.")
        elif "house style" in reason.text:
            out.append(f"If the house style does not matter, {LABELS[c]} would be considered.")
        elif "change" in reason.text and c == "ft":
            out.append(
                "With documents that do not change, Fine-tuned would be considered"
                + (
                    ""
                    if ev.number("freshness", "retrained")
                    else "; so would it if retraining were shown to absorb a change (the freshness claim with "
                    "retraining)"
                )
                + "."
            )
    return out


def _would_change_costs(
    chosen: list[str], leaders: list[str], profiles: dict[str, Profile], situation: Situation
) -> list[str]:
    """For the option chosen and each other one the intervals do not separate from the best: the number of
    questions a day, and of changes a month, at which the other would cost less over the horizon."""
    if not chosen:
        return []
    out = []
    first = profiles[chosen[0]]
    for c in leaders:
        if c == chosen[0]:
            continue
        other = profiles[c]
        q = questions_threshold(first, other, situation)
        if q is not None:
            side = "over" if other.answer_s < first.answer_s else "under"
            out.append(
                f"At {_num(situation.changes_per_month)} changes a month and {side} {_num(q)} questions a day, "
                f"{LABELS[c]} would cost less than {LABELS[chosen[0]]} over {HORIZON} months."
            )
        n = changes_threshold(first, other, situation)
        if n is not None:
            side = "more" if other.change_s < first.change_s else "fewer"
            out.append(
                f"At {_num(situation.questions_per_day)} questions a day and {side} than {_num(n)} document "
                f"changes a month, {LABELS[c]} would cost less than {LABELS[chosen[0]]} over {HORIZON} months."
            )
    return out


def _questions_to_separate(ev: Evidence, a: str, b: str) -> str:
    """About how many questions would separate two options if their difference stayed as measured (an interval's
    width shrinks with the square root of the questions)."""
    d = ev.difference(b, a)
    half = (d.high - d.low) / 2
    if d.mean == 0 or half == 0:
        return f"{LABELS[a]} and {LABELS[b]} gave the same share of right answers: more questions may separate them."
    needed = math.ceil(ev.questions * (half / abs(d.mean)) ** 2 / 10) * 10
    return (
        f"If the difference between {LABELS[b]} and {LABELS[a]} stayed at {d.mean:+.2f}, about {needed} held-out "
        f"questions (now {ev.questions}) would separate them."
    )


def _limits(ev: Evidence) -> list[str]:
    out = []
    if ev.bundled:
        out.append(
            "The evidence comes from the bundled 135M-parameter model: its verdicts do not transfer to a larger "
            "model, which answers more of the questions and may change every number here. Measure the model you "
            "would deploy."
        )
    out += [
        "Seconds per answer, re-indexing and training were measured on the machine that ran the evidence; the "
        "costs apply them at the hourly rate given, so a faster machine costs less than shown.",
        "The costs count compute only (answers, re-indexing, retraining), not storage, people or idle machines.",
        f"The default hourly costs ({', '.join(f'{k} {v:.2f}' for k, v in MACHINE_RATES.items())}) are assumptions, "
        "not measurements: give your own.",
    ]
    if ev.questions and ev.questions < 20:
        out.append(
            f"Only {ev.questions} held-out questions: below 20 the intervals are wide; read this as an indication."
        )
    return out


def _sources(ev: Evidence) -> dict[str, Any]:
    return {
        "evaluation_run": ev.run_id,
        "questions": ev.questions,
        "claims": {c: {"verdict": r.verdict, "finished": r.finished} for c, r in ev.claims.items()},
    }


def _measured_on(ev: Evidence) -> dict[str, Any]:
    d = ev.described
    return {k: d[k] for k in ("workspace", "models", "index", "questions", "retrieval") if k in d}


def _src(ev: Evidence, claim: str) -> str:
    r = ev.claims.get(claim)
    return f"claim {claim}" + (f" (finished {r.finished})" if r and r.finished else "")


def _interval(d: dict[str, Any] | None) -> Interval:
    if not d:
        return Interval(math.nan, math.nan, math.nan)
    return Interval(*(math.nan if d.get(k) is None else float(d[k]) for k in ("mean", "low", "high")))


def _mean(values: Sequence[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


def _signed(i: Interval) -> str:
    return f"{i.mean:+.2f} [{i.low:+.2f}, {i.high:+.2f}]"


def _si(i: Interval) -> str:
    """Seconds with their interval: ``3.10 s [2.71–3.52]``."""
    return f"{i.mean:.2f} s [{i.low:.2f}–{i.high:.2f}]"


def _pi(i: Interval) -> str:
    """A share with its interval, in percent: ``87 % [73–97 %]``."""
    return f"{i.mean:.0%} [{i.low:.0%}–{i.high:.0%}]"


def _num(x: float) -> str:
    """A count as people write it: ``4.3``, ``100``, ``100,000``, ``0.01``.

    >>> _num(4.3), _num(4.333), _num(100.0), _num(100000), _num(0.01)
    ('4.3', '4.33', '100', '100,000', '0.01')
    """
    if x >= 100 or x == int(x):
        return f"{x:,.0f}"
    return f"{x:.2f}".rstrip("0").rstrip(".")


# -- the brief: one page for a stakeholder -------------------------------------------------------------------
TITLE = "RAG or fine-tuning: a recommendation"


def brief_markdown(decision: Decision) -> str:
    d = decision
    lines = [f"# {TITLE}", "", f"**{d.headline}**", "", "## The situation", ""]
    lines += [f"- {line}" for line in d.situation.describe()]
    lines += _md_section("Why", [f"{r.text} _({r.source})_" for r in d.reasons])
    lines += _md_section("What would change it", d.would_change)
    lines += _md_section("What is missing", [f"{_missing_text(m)}" for m in d.missing])
    if d.profiles:
        lines += ["", f"## Cost over the next {HORIZON} months", "", *markdown_table(d.option_rows())]
        lines += ["", *markdown_table([r for r in d.cost_rows() if r["month"] in (0, 1, 3, 6, 9, 12)])]
        lines += [f"- Break-even: {b.sentence()}." for b in d.break_even] or ["", "No break-even within the horizon."]
    lines += _md_section("Measured on", measured_on(d.measured_on))
    lines += _md_section("Limits", d.limits)
    return "\n".join(lines) + "\n"


def _md_section(title: str, items: list[str]) -> list[str]:
    return ["", f"## {title}", "", *(f"- {i}" for i in items)] if items else []


def _missing_text(m: Missing) -> str:
    what = f"run the claim `{m.claim}` (about {duration(m.seconds)} here): " if m.claim else ""
    return what + m.why + ("" if m.blocking else " (it would add to the reasons; the recommendation does not need it)")


BRIEF_CSS = (
    ".headline{font-size:1.3em;font-weight:600;padding:.6em .8em;border-left:5px solid #1f77b4;background:#f1f6fb}"
    ".src{color:#6c757d;font-size:.85em}"
    "@media print{body{margin:0;max-width:none;font-size:10pt}h2{break-after:avoid}.plotly-graph-div{break-inside:"
    "avoid}}"
)


def brief_html(decision: Decision) -> str:
    """One self-contained page (plotly inlined, no request to the network), printable to PDF from a browser."""
    esc = html.escape
    d = decision
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(TITLE)}</title>",
        f"<style>{PAGE_CSS}{BRIEF_CSS}</style></head><body>",
        f"<h1>{esc(TITLE)}</h1>",
        f"<p class='headline'>{esc(d.headline)}</p>",
        "<h2>The situation</h2><ul>" + "".join(f"<li>{esc(s)}</li>" for s in d.situation.describe()) + "</ul>",
    ]
    if d.reasons:
        parts.append(
            "<h2>Why</h2><ul>"
            + "".join(f"<li>{esc(r.text)} <span class='src'>({esc(r.source)})</span></li>" for r in d.reasons)
            + "</ul>"
        )
    if d.would_change:
        parts.append(
            "<h2>What would change it</h2><ul>" + "".join(f"<li>{esc(w)}</li>" for w in d.would_change) + "</ul>"
        )
    if d.missing:
        parts.append(
            "<h2>What is missing</h2><ul>" + "".join(f"<li>{esc(_missing_text(m))}</li>" for m in d.missing) + "</ul>"
        )
    if (figure := d.figure()) is not None:
        import plotly.io as pio

        parts.append(f"<h2>Cost over the next {HORIZON} months</h2>")
        fig = pio.from_json(json.dumps(figure))
        parts.append(fig.to_html(full_html=False, include_plotlyjs=True, config={"displayModeBar": False}))
        parts.append(html_table(d.option_rows()))
        parts += [f"<p>Break-even: {esc(b.sentence())}.</p>" for b in d.break_even]
        parts.append("<details><summary>Month by month</summary>" + html_table(d.cost_rows()) + "</details>")
    parts += [
        "<h2>Measured on</h2><ul>" + "".join(f"<li>{esc(line)}</li>" for line in measured_on(d.measured_on)) + "</ul>",
        "<h2>Limits</h2><ul>" + "".join(f"<li>{esc(line)}</li>" for line in d.limits) + "</ul>",
        "</body></html>",
    ]
    return "\n".join(parts)


FORMATS = {".json": "json", ".md": "md", ".html": "html", ".htm": "html"}


def brief_text(decision: Decision, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(decision.as_dict(), indent=1, default=str, ensure_ascii=False)
    if fmt == "md":
        return brief_markdown(decision)
    if fmt == "html":
        return brief_html(decision)
    raise ConfigError(f"brief format {fmt!r}: use html, md or json")


def write_brief(decision: Decision, path: str | Path) -> Path:
    """Write the brief in the form its suffix names (.html, .md, .json)."""
    path = Path(path)
    return write_atomic(path, brief_text(decision, FORMATS.get(path.suffix.lower(), "html")))


__all__ = [
    "DAYS_PER_MONTH",
    "HORIZON",
    "KINDS",
    "MACHINE_RATES",
    "BreakEven",
    "Decision",
    "Evidence",
    "Missing",
    "Profile",
    "Reason",
    "Situation",
    "break_evens",
    "brief_html",
    "brief_markdown",
    "brief_text",
    "changes_threshold",
    "decide",
    "gather",
    "newest_run",
    "questions_threshold",
    "recommend",
    "write_brief",
]
