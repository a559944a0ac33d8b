"""What a run shows: per-condition accuracy with bootstrap 95% intervals, cost, retrieval, and plotly figures.

"Correct" is :func:`~playground.evaluate.metrics.exact_match`: the normalised gold answer equals
the answer or appears in it. Strict exact match, token F1 and embedding similarity are reported
beside it. The "known before" split divides the questions by whether Base (no retrieval) already
answered them correctly, and shows every condition's accuracy on each part: what retrieval or a
fine-tune adds on questions the model could not answer alone.
"""

from __future__ import annotations

import html
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from playground.compare import COLORS, CONDITIONS, LABELS
from playground.evaluate.judge import Agreement, agreement
from playground.evaluate.metrics import bootstrap_ci, hit_at_k, paired_bootstrap_ci, reciprocal_rank
from playground.evaluate.records import Answer, EvalRun, QuestionResult, Retrieval
from playground.evaluate.refusal import detect_refusal
from playground.style import StyleRule

METRICS = {  # score key -> column title
    "correct": "Correct",
    "strict_em": "Strict EM",
    "f1": "Token F1",
    "similarity": "Similarity",
    "judged": "Judge",
}
OPTIONAL = ("similarity", "judged")  # shown only when the run measured them
METRIC_HELP = {
    "correct": "the normalised gold answer equals the answer or appears in it as whole words",
    "strict_em": "the normalised answer equals the normalised gold answer",
    "f1": "word-overlap F1 between the normalised answer and gold answer",
    "similarity": "cosine similarity of the answer's and the gold answer's embeddings",
    "judged": "a judging model's verdict that the answer states a gold answer (only when a judge is set)",
    "agreement": "Cohen's kappa between containment ('correct') and the judge over every answer both judged",
    "vs_base": "paired difference in 'correct' against Base, over the same questions",
    "intervals": "mean with a 95% percentile bootstrap interval over questions (low, high)",
    "refusal": "share of answerable questions the answer declines (rules, then similarity to refusal phrasings)",
    "fabrication": "share of unanswerable questions (gold '(not in the documents)') answered without declining",
    "unsupported": "share of answers naming a source (file, code, [n]) that was not among the passages given",
    "style": "share of answers in the workspace's house style",
}
BEHAVIOUR = {  # behaviour key -> row title; counted per condition beside the scores
    "refusal": "Refuses (answerable)",
    "fabrication": "Fabricates (unanswerable)",
    "unsupported": "Cites a source not given",
    "style": "House style",
}
# One plain line per measure, for a reader who has not met the terms (page, Markdown and HTML card say the same).
PLAIN = {
    "Correct": "the answer contains the expected answer (capitals and punctuation ignored).",
    "Strict EM": "exact match: the answer is the expected answer and nothing more.",
    "Token F1": "how many words the answer and the expected answer share, from 0 (none) to 1 (the same words).",
    "Similarity": "how close in meaning the answer is to the expected one, from 0 to 1, by a language model's measure.",
    "Judge": "a second model's verdict that the answer gives the expected answer.",
    "vs Base": "how much more often than Base this condition was right, on the same questions (+0.10: 10 in 100 more).",
    "hit@k": "the passage that holds the answer was among the first k the search found (share of questions).",
    "MRR": "1 when that passage came first, 1/2 when second, 1/3 when third… averaged over the questions.",
}
BEHAVIOUR_PLAIN = {  # row title -> what it counts, said only for the rows a table shows
    "Refuses (answerable)": "questions the documents answer that the answer declines.",
    "Fabricates (unanswerable)": "questions no document answers that are answered anyway.",
    "Cites a source not given": "answers naming a file, code or [n] that was not among their passages.",
    "House style": "answers in the workspace's house style.",
}
WRONG, FAILED = "rgba(128,128,128,0.3)", "rgba(0,0,0,0)"  # heatmap cells: a wrong answer, a failed one
SMALL_SAMPLE = 20  # below this many questions a 95% interval on a proportion is wider than ±0.2
COST = ("latency_s", "first_token_s", "prompt_tokens", "completion_tokens", "tokens_per_s")
HIT_KS = (1, 3, 5)


@dataclass(frozen=True)
class Interval:
    """A mean with its 95% bootstrap interval."""

    mean: float
    low: float
    high: float

    def __str__(self) -> str:
        """``0.52 [0.41–0.63]``; an empty sample shows as ``–``.

        >>> str(Interval(0.5, 0.25, 0.75)), str(Interval(math.nan, math.nan, math.nan))
        ('0.50 [0.25–0.75]', '–')
        """
        if math.isnan(self.mean):
            return "–"
        return f"{self.mean:.2f} [{self.low:.2f}–{self.high:.2f}]"

    def overlaps(self, other: Interval) -> bool:
        """Whether two intervals share any value.

        >>> Interval(0.1, 0.0, 0.2).overlaps(Interval(0.5, 0.3, 0.7))
        False
        """
        return self.low <= other.high and other.low <= self.high

    def as_dict(self) -> dict[str, float | None]:
        return {k: None if math.isnan(v) else round(v, 4) for k, v in asdict(self).items()}


@dataclass
class ConditionSummary:
    condition: str
    model: str
    n: int  # questions answered without an error
    errors: int
    scores: dict[str, Interval]  # metric -> mean with interval
    cost: dict[str, float | None]  # means of latency, tokens, tok/s
    vs_base: Interval | None = None  # paired difference in "correct" against Base
    same_as: str | None = None  # "base" when the ft slot repeated the base model

    @property
    def label(self) -> str:
        return LABELS[self.condition]

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "model": self.model,
            "n": self.n,
            "errors": self.errors,
            "same_as": self.same_as,
            **{k: v.as_dict() for k, v in self.scores.items()},
            "vs_base": self.vs_base.as_dict() if self.vs_base else None,
            **{k: None if v is None else round(v, 4) for k, v in self.cost.items()},
        }


@dataclass
class Summary:
    run_id: str
    questions: str  # the question set's name
    n: int  # questions scored
    total: int  # questions selected
    conditions: dict[str, ConditionSummary]
    retrieval: dict[str, Any] | None = None
    known_before: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    behaviour: dict[str, dict[str, Interval]] = field(default_factory=dict)  # key -> condition -> rate
    style: str = ""  # the house style rule, in words
    agreement: Agreement | None = None  # containment vs the judge, when a judge ran
    judge: str = ""  # the judging model's id

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "questions": self.questions,
            "n": self.n,
            "total": self.total,
            "metrics": METRIC_HELP,
            "conditions": {c: s.as_dict() for c, s in self.conditions.items()},
            "retrieval": self.retrieval,
            "known_before": self.known_before,
            "behaviour": {k: {c: v.as_dict() for c, v in by.items()} for k, by in self.behaviour.items()},
            "style": self.style,
            "judge": self.judge or None,
            "agreement": None
            if self.agreement is None
            else {
                "kappa": self.agreement.kappa,
                "n": self.agreement.n,
                "disagreements": self.agreement.disagreements,
            },
            "notes": self.notes,
        }

    def behaviour_rows(self) -> list[dict[str, Any]]:
        """Refusal, fabrication, unseen citations and house style as rows, conditions as columns (the 2×2's order)."""
        rows = []
        for key, title in BEHAVIOUR.items():
            by = self.behaviour.get(key)
            if by:
                rows.append({"behaviour": title, **{LABELS[c]: str(by[c]) for c in self.conditions if c in by}})
        return rows

    def glossary(self) -> list[str]:
        """One plain line for each measure the results show (``Strict EM: exact match: …``)."""
        shown = {title for row in self.rows() for title in row}
        if self.retrieval:
            shown |= {"hit@k", "MRR"}
        return [f"{title}: {line}" for title, line in PLAIN.items() if title in shown]

    def behaviour_notes(self) -> list[str]:
        """What each row of :meth:`behaviour_rows` counts: only the rows there are."""
        return [f"{row['behaviour']}: {BEHAVIOUR_PLAIN[row['behaviour']]}" for row in self.behaviour_rows()]

    def known_before_rows(self) -> list[dict[str, Any]]:
        """The known-before split as table rows: each part's size and every condition's accuracy on it."""
        if not self.known_before:
            return []
        kb = self.known_before
        return [
            {
                "questions": title,
                "n": kb[part]["n"],
                **{LABELS[c]: _fmt(v, 2) for c, v in kb[part]["accuracy"].items()},
            }
            for part, title in (("known", "Base already right"), ("unknown", "Base wrong"))
        ]

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per condition, for a table widget."""
        rows = []
        for s in self.conditions.values():
            row: dict[str, Any] = {
                "condition": s.label,
                "model": s.model + (" (= base)" if s.same_as else ""),
                "n": s.n,
            }
            row.update({title: str(s.scores[key]) for key, title in METRICS.items() if key in s.scores})
            row["vs Base"] = _signed(s.vs_base) if s.vs_base else ""
            row.update(
                {
                    "latency s": _fmt(s.cost["latency_s"], 2),
                    "first token s": _fmt(s.cost["first_token_s"], 2),
                    "prompt tokens": _fmt(s.cost["prompt_tokens"], 0),
                    "tok/s": _fmt(s.cost["tokens_per_s"], 1),
                }
            )
            rows.append(row)
        return rows

    def measure_rows(self) -> list[dict[str, Any]]:
        """:meth:`rows` turned a quarter: a row per measure and a column per condition, as in
        :meth:`behaviour_rows`; five columns fit a narrow page where twelve did not. The models are
        :meth:`models_line`'s (a model's id does not wrap in a narrow column)."""
        rows = self.rows()
        keys = [k for k in dict.fromkeys(k for row in rows for k in row) if k not in ("condition", "model")]
        return [{"measure": k, **{row["condition"]: row.get(k, "") for row in rows}} for k in keys]

    def models_line(self) -> str:
        """Which model answered each condition, conditions with the same model together.

        >>> s = ConditionSummary("base", "embedded:a", 1, 0, {}, {})
        >>> from dataclasses import replace
        >>> Summary("r", "q", 1, 1, {"base": s, "ft": replace(s, condition="ft")}).models_line()
        'Base, Fine-tuned: embedded:a'
        """
        by: dict[str, list[str]] = {}
        for s in self.conditions.values():
            by.setdefault(s.model + (" (= base)" if s.same_as else ""), []).append(s.label)
        return " · ".join(f"{', '.join(labels)}: {model}" for model, labels in by.items())

    def table(self) -> str:
        """The per-condition table, the retrieval line and the known-before split, as Markdown."""
        rows = self.rows()
        if not rows:
            return "No answers scored yet."
        out = [f"{self.n} questions from '{self.questions}'" + (f" (of {self.total})" if self.n < self.total else "")]
        out += ["", *markdown_table(rows)]
        if self.retrieval:
            r = self.retrieval
            hits = " · ".join(f"hit@{k} {r[f'hit@{k}']:.2f}" for k in HIT_KS)
            out += ["", f"Retrieval ({r['n']} questions, top {r['depth']}): {hits} · MRR {r['mrr']:.2f}"]
        if self.agreement is not None:
            out += ["", f"Judge {self.judge} against containment: {self.agreement}"]
        if b_rows := self.behaviour_rows():
            out += ["", f"Behaviour (house style: {self.style}):", "", *markdown_table(b_rows)]
        if kb_rows := self.known_before_rows():
            out += ["", "Known before (accuracy on each part):", "", *markdown_table(kb_rows)]
        if self.notes:
            out += ["", *[f"- {n}" for n in self.notes]]
        return "\n".join(out)


def markdown_table(rows: list[dict[str, Any]]) -> list[str]:
    """Rows with the same keys as a Markdown table's lines.

    >>> markdown_table([{"a": 1, "b": "x"}])
    ['| a | b |', '|---|---|', '| 1 | x |']
    """
    heads = list(rows[0])
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join("---" for _ in heads) + "|"]
    return lines + ["| " + " | ".join(str(r[h]) for h in heads) + " |" for r in rows]


def _fmt(value: float | None, digits: int) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _signed(interval: Interval) -> str:
    """``+0.45 [+0.32, +0.58]``.

    >>> _signed(Interval(0.45, 0.3, 0.6))
    '+0.45 [+0.30, +0.60]'
    """
    return f"{interval.mean:+.2f} [{interval.low:+.2f}, {interval.high:+.2f}]"


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(run: EvalRun, style: StyleRule | None = None) -> Summary:
    """Per-condition scores with bootstrap intervals, cost means, retrieval metrics, behaviour and the known-before
    split. ``style`` is the house style answers are checked against (default: the fine-tuning lab's form)."""
    style = style or StyleRule()
    config = run.config
    boot = {"n": config.bootstrap, "seed": config.seed}
    results = run.results
    conditions: dict[str, ConditionSummary] = {}
    for condition in config.wanted:
        answers = [r.answers[condition] for r in results if condition in r.answers]
        scored = [a for a in answers if a.scores]
        scores = {}
        for key in METRICS:
            values = [v for a in scored if (v := getattr(a.scores, key)) is not None]
            if values or key not in OPTIONAL or (key == "judged" and config.judge.enabled):  # every row, same columns
                scores[key] = Interval(*bootstrap_ci(values, **boot))
        cost: dict[str, float | None] = {}
        for key in COST:
            cost[key] = _mean([v for a in scored if a.metrics and (v := getattr(a.metrics, key)) is not None])
        conditions[condition] = ConditionSummary(
            condition=condition,
            model=answers[0].model if answers else (config.finetuned or config.base),
            n=len(scored),
            errors=len(answers) - len(scored),
            scores=scores,
            cost=cost,
            same_as=next((a.same_as for a in answers if a.same_as), None),
        )
    if "base" in conditions:
        for condition, summary in conditions.items():
            pairs = [
                (r.correct(condition), r.correct("base")) for r in results if r.scored(condition) and r.scored("base")
            ]
            if condition != "base" and pairs:
                summary.vs_base = Interval(*paired_bootstrap_ci([a for a, _ in pairs], [b for _, b in pairs], **boot))
    notes = []
    if len(results) < SMALL_SAMPLE:
        notes.append(
            f"Only {len(results)} question(s) scored: the 95% intervals are wide (or empty) at this size; "
            f"read the differences as anecdotes, not evidence, below {SMALL_SAMPLE} questions."
        )
    if not config.finetuned and any(c.startswith("ft") for c in conditions):
        notes.append("No fine-tuned model was chosen: the Fine-tuned conditions repeat the base model's answers.")
    failed = {LABELS[c]: s.errors for c, s in conditions.items() if s.errors}
    if failed:
        notes.append(
            "Answers that failed are left out of the scores: " + ", ".join(f"{k} {v}" for k, v in failed.items())
        )
    judged = agreement_of(results, conditions)
    undecided = sum(
        1
        for r in results
        for a in r.answers.values()
        if a.scores and not a.same_as and a.scores.judgement and a.scores.judged is None
    )
    if undecided:
        notes.append(f"The judge gave no verdict on {undecided} answer(s) (its reasons are stored beside them).")
    if judged is not None and judged.kappa is None:
        notes.append("Cohen's kappa is undefined: containment and the judge each gave every answer the same class.")
    return Summary(
        agreement=judged,
        judge=config.judge.model if config.judge.enabled else "",
        run_id=run.run_id,
        questions=run.questions.name,
        n=len(results),
        total=len(run.questions),
        conditions=conditions,
        retrieval=retrieval_summary(results),
        known_before=known_before(results, list(conditions)),
        notes=notes,
        behaviour=behaviour(run, style, boot),
        style=style.description,
    )


def agreement_of(results: list[QuestionResult], conditions: dict[str, ConditionSummary]) -> Agreement | None:
    """Containment against the judge over every answer both judged (a copied answer counts once); None: no judge."""
    pairs = []
    for r in results:
        for c in conditions:
            answer = r.answers.get(c)
            if answer and answer.scores and not answer.same_as and answer.scores.judged is not None:
                pairs.append((answer.scores.correct, answer.scores.judged))
    if not pairs:
        return None
    return agreement([a for a, _ in pairs], [b for _, b in pairs])


def behaviour(run: EvalRun, style: StyleRule, boot: dict[str, int]) -> dict[str, dict[str, Interval]]:
    """Each condition's refusal, fabrication, unseen-citation and house-style rates with 95% intervals.

    Refusal counts over answerable questions, fabrication over unanswerable ones (either is left out when the
    run has none of that kind); answers that failed are left out of every rate.
    """
    out: dict[str, dict[str, Interval]] = {key: {} for key in BEHAVIOUR}
    for condition in run.config.wanted:
        values: dict[str, list[float]] = {key: [] for key in BEHAVIOUR}
        for r in run.results:
            answer = r.answers.get(condition)
            if answer is None or answer.scores is None:
                continue
            declined = answer.scores.refused
            if declined is None:  # a run stored before refusals were judged: the rules alone
                declined = float(detect_refusal(answer.text).refused)
            values["refusal" if r.question.answerable else "fabrication"].append(
                declined if r.question.answerable else 1.0 - declined
            )
            shown = r.condition_result(condition)
            values["unsupported"].append(float(bool(shown and shown.unsupported)))
            values["style"].append(float(style.follows(answer.text)))
        for key, vals in values.items():
            if vals:
                out[key][condition] = Interval(*bootstrap_ci(vals, **boot))
    return {k: v for k, v in out.items() if v}


def _judged(results: list[QuestionResult]) -> list[Retrieval]:
    """The retrievals that had something to be relevant to."""
    return [r.retrieval for r in results if r.retrieval and r.retrieval.relevance != "none"]


def retrieval_summary(results: list[QuestionResult]) -> dict[str, Any] | None:
    """hit@1/3/5 and MRR over the questions that have something to be relevant to."""
    judged = _judged(results)
    if not judged:
        return None
    n = len(judged)
    out: dict[str, Any] = {"n": n, "depth": max(len(r.ids) for r in judged)}
    for k in HIT_KS:
        out[f"hit@{k}"] = round(sum(hit_at_k(r.rank, k) for r in judged) / n, 4)
    out["mrr"] = round(sum(reciprocal_rank(r.rank) for r in judged) / n, 4)
    out["by_answer"] = sum(1 for r in judged if r.relevance == "answer")  # the rest fell back to the file
    return out


def known_before(results: list[QuestionResult], conditions: list[str]) -> dict[str, Any] | None:
    """Questions Base already got right ("known") vs the rest, with each condition's accuracy on each part."""
    if "base" not in conditions:
        return None
    parts: dict[str, list[QuestionResult]] = {"known": [], "unknown": []}
    for r in results:
        if r.scored("base"):
            parts["known" if r.correct("base") else "unknown"].append(r)
    out: dict[str, Any] = {}
    for part, rows in parts.items():
        accuracy = {}
        for c in conditions:
            values = [r.correct(c) for r in rows if r.scored(c)]
            accuracy[c] = None if not values else round(sum(values) / len(values), 4)
        out[part] = {"n": len(rows), "accuracy": accuracy}
    return out


# -- figures ---------------------------------------------------------------------------------
def figures(run: EvalRun, summary: Summary | None = None) -> dict[str, Any]:
    """The plotly figures of a run, by name: accuracy (2×2), cost, heatmap, ranks (when retrieval ran)."""
    summary = summary or summarize(run)
    out = {"accuracy": accuracy_figure(summary), "cost": cost_figure(summary), "heatmap": heatmap_figure(run)}
    if summary.retrieval:
        out["ranks"] = rank_figure(run.results)
    return out


def accuracy_figure(summary: Summary) -> Any:
    """Each condition's scores with 95% intervals, one panel per condition laid out like the Compare grid."""
    from plotly.subplots import make_subplots

    titles = [f"{LABELS[c]}" + (f" ({summary.conditions[c].n})" if c in summary.conditions else "") for c in CONDITIONS]
    fig = make_subplots(rows=2, cols=2, subplot_titles=titles, shared_yaxes=True, vertical_spacing=0.16)
    for i, condition in enumerate(CONDITIONS):
        s = summary.conditions.get(condition)
        if s is None:
            continue
        keys = [k for k in METRICS if k in s.scores and not math.isnan(s.scores[k].mean)]
        means = [s.scores[k].mean for k in keys]
        fig.add_bar(
            x=[METRICS[k] for k in keys],
            y=means,
            name=LABELS[condition],
            marker_color=COLORS[condition],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [s.scores[k].high - s.scores[k].mean for k in keys],
                "arrayminus": [s.scores[k].mean - s.scores[k].low for k in keys],
            },
            customdata=[[s.scores[k].low, s.scores[k].high] for k in keys],
            hovertemplate="%{x}: %{y:.3f} [%{customdata[0]:.3f}–%{customdata[1]:.3f}]<extra>"
            + LABELS[condition]
            + "</extra>",
            row=i // 2 + 1,
            col=i % 2 + 1,
        )
    fig.update_yaxes(range=[0, 1.15], tickformat=".0%")
    fig.update_layout(
        title="Accuracy per condition (95% bootstrap intervals)",
        showlegend=False,
        height=560,
        margin={"l": 10, "r": 10, "t": 80, "b": 10},
    )
    return fig


# Filled marks for the base model, rings for the fine-tune; circles without retrieval, diamonds with it.
# A ring is drawn around a dot, so two conditions on the same spot (a fine-tune that learned nothing
# the questions ask, or the ft slot repeating the base model) both stay visible.
COST_MARKERS = {
    "base": {"symbol": "circle", "size": 12},
    "base+rag": {"symbol": "diamond", "size": 12},
    "ft": {"symbol": "circle-open", "size": 24, "line": {"width": 3}},
    "ft+rag": {"symbol": "diamond-open", "size": 24, "line": {"width": 3}},
}


def _same_spot(points: dict[str, tuple[float, float]], x_span: float) -> dict[str, list[str]]:
    """For each condition, the others drawn on (nearly) the same spot: within 3% of the x span and 3 points.

    >>> _same_spot({"base": (1.0, 0.5), "ft": (1.01, 0.5), "base+rag": (3.0, 0.9)}, 4.0)
    {'base': ['ft'], 'ft': ['base'], 'base+rag': []}
    """
    return {
        c: [o for o, (ox, oy) in points.items() if o != c and abs(ox - x) <= 0.03 * x_span and abs(oy - y) <= 0.03]
        for c, (x, y) in points.items()
    }


def cost_figure(summary: Summary) -> Any:
    """Accuracy against mean latency: up and to the left is better.

    Conditions are named by a legend in their colours and marks, and on hover; not by text beside
    the marks, which collides whenever two conditions score and cost about the same.
    """
    import plotly.graph_objects as go

    points = {}
    for condition, s in summary.conditions.items():
        latency, correct = s.cost["latency_s"], s.scores["correct"]
        if latency is not None and not math.isnan(correct.mean):
            points[condition] = (latency, correct.mean)
    x_max = 1.25 * max((x for x, _ in points.values()), default=1.0) + 0.1
    neighbours = _same_spot(points, x_max)
    fig = go.Figure()
    for condition, (latency, accuracy) in points.items():
        s = summary.conditions[condition]
        correct = s.scores["correct"]
        also = ", ".join(LABELS[o] for o in neighbours[condition])
        fig.add_scatter(
            x=[latency],
            y=[accuracy],
            mode="markers",
            name=s.label,
            marker={"color": COLORS[condition], **COST_MARKERS[condition]},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [correct.high - accuracy],
                "arrayminus": [accuracy - correct.low],
                "color": COLORS[condition],
            },
            customdata=[[_fmt(s.cost["prompt_tokens"], 0), _fmt(s.cost["tokens_per_s"], 1)]],
            hovertemplate=f"<b>{s.label}</b><br>%{{y:.0%}} correct at %{{x:.2f}} s<br>"
            "%{customdata[0]} prompt tokens, %{customdata[1]} tok/s"
            + (f"<br>same spot as {also}" if also else "")
            + "<extra></extra>",
        )
    fig.update_layout(
        title="Accuracy vs latency",
        showlegend=True,
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "itemsizing": "constant"},
        xaxis={"title": "mean latency per answer (s)", "range": [0, x_max]},
        yaxis={"title": "correct", "range": [-0.08, 1.08], "tickformat": ".0%"},
        height=440,
        margin={"l": 10, "r": 10, "t": 90, "b": 10},
    )
    return fig


def question_label(i: int, question: str) -> str:
    """The heatmap's row label: number and the start of the question (the page maps it back).

    >>> question_label(0, "How long is the returns window for products bought online?")
    'Q1 How long is the returns window for produ…'
    """
    text = question if len(question) <= 40 else question[:40].rstrip() + "…"
    return f"Q{i + 1} {text}"


def heatmap_figure(run: EvalRun) -> Any:
    """Question × condition: a square per answer, in its condition's colour when correct, grey when not.

    Drawn as square markers rather than a heatmap trace: markers can be clicked to select them
    (a heatmap cell cannot), and the page opens the clicked question.
    """
    import plotly.graph_objects as go

    conditions = run.config.wanted
    rows = [question_label(i, r.question.question) for i, r in enumerate(run.results)]
    fig = go.Figure()
    for c in conditions:
        colors, hover = [], []
        for r in run.results:
            answer = r.answers.get(c) or Answer(model="")
            scores = answer.scores
            # Neutral greys with transparency read on a light and a dark page alike.
            colors.append(COLORS[c] if scores and scores.correct else WRONG if scores else FAILED)
            shown = html.escape(answer.error or (answer.text or "")[:120])
            verdict = f"{'correct' if scores.correct else 'wrong'}, F1 {scores.f1:.2f}" if scores else "failed"
            if scores and scores.judgement:  # the judge's word beside containment, never instead of it
                said = "no verdict" if scores.judged is None else "correct" if scores.judged else "wrong"
                verdict += f"<br>judge: {said} ({html.escape(scores.judgement)})"
            hover.append(f"{verdict}<br>{shown}")
        fig.add_scatter(
            x=[LABELS[c]] * len(rows),
            y=rows,
            mode="markers",
            name=LABELS[c],
            marker={
                "symbol": "square",
                "size": 15,
                "color": colors,
                "line": {"color": "rgba(128,128,128,0.5)", "width": 1},
            },
            customdata=hover,
            hovertemplate="%{y}<br>%{x}: %{customdata}<extra></extra>",
        )
    fig.update_layout(
        title="Correct answers, question by question (click a square to open it)",
        height=max(300, 110 + 20 * len(rows)),
        showlegend=False,
        yaxis={"range": [len(rows) - 0.5, -0.5], "tickfont": {"size": 10}, "showgrid": False},  # Q1 on top
        xaxis={"side": "top", "showgrid": False},
        plot_bgcolor="rgba(0,0,0,0)",
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
    )
    return fig


def rank_figure(results: list[QuestionResult]) -> Any:
    """How far down the first relevant passage was: ranks 1..depth, and 'not retrieved'."""
    import plotly.graph_objects as go

    judged = _judged(results)
    depth = max((len(r.ids) for r in judged), default=0)
    labels = [str(k) for k in range(1, depth + 1)] + ["not found"]
    counts = [sum(1 for r in judged if r.rank == k) for k in range(1, depth + 1)]
    counts.append(sum(1 for r in judged if r.rank is None))
    fig = go.Figure(go.Bar(x=labels, y=counts, marker_color=COLORS["base+rag"], text=counts, textposition="outside"))
    fig.update_layout(
        title=f"Rank of the first relevant passage (top {depth})",
        xaxis={"title": "rank", "type": "category"},
        yaxis_title="questions",
        height=360,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
    )
    return fig


__all__ = [
    "COLORS",
    "METRICS",
    "ConditionSummary",
    "Interval",
    "Summary",
    "accuracy_figure",
    "cost_figure",
    "figures",
    "heatmap_figure",
    "known_before",
    "question_label",
    "rank_figure",
    "retrieval_summary",
    "summarize",
]
