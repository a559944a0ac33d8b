"""Small pieces every experiment uses: intervals, counts in words, altered values, one bar chart."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from playground.compare import COLORS, LABELS
from playground.evaluate.metrics import bootstrap_ci, paired_bootstrap_ci
from playground.evaluate.records import EvalRun
from playground.evaluate.report import SMALL_SAMPLE, Interval


def interval(values: Sequence[float], seed: int = 0, n: int = 2000) -> Interval:
    return Interval(*bootstrap_ci(list(values), n=n, seed=seed))


def paired(a: Sequence[float], b: Sequence[float], seed: int = 0, n: int = 2000) -> Interval:
    """The mean of a − b over the same items, with its 95% interval."""
    return Interval(*paired_bootstrap_ci(list(a), list(b), n=n, seed=seed))


def above(a: Interval, b: Interval) -> bool:
    """a is higher than b beyond doubt at 95%: the intervals do not overlap.

    >>> above(Interval(0.5, 0.4, 0.6), Interval(0.1, 0.0, 0.2)), above(Interval(0.5, 0.1, 0.6), Interval(0.1, 0, 0.2))
    (True, False)
    """
    return a.low > b.high


def of(count: int, total: int) -> str:
    """``3 of 5``."""
    return f"{count} of {total}"


def small_sample(n: int, what: str = "questions") -> list[str]:
    if n >= SMALL_SAMPLE:
        return []
    return [f"Only {n} {what}: below {SMALL_SAMPLE} the 95% intervals are wide; read this as an indication."]


def column(run: EvalRun, condition: str, value: Any) -> list[float]:
    """One number per scored answer of ``condition`` (``value(result, answer)``), in question order."""
    out = []
    for r in run.results:
        answer = r.answers.get(condition)
        if answer is not None and answer.scores is not None:
            out.append(float(value(r, answer)))
    return out


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def altered(value: str) -> str | None:
    """A plausible different value of the same form: the last number changes, the rest stays; None without one.

    Days stay valid days (a date's day moves by three within 1..28), years and amounts move up.

    >>> altered("9 March 2011"), altered("EUR 12.50"), altered("within 45 days"), altered("Ghent")
    ('9 March 2016', 'EUR 15.50', 'within 52 days', None)
    >>> altered("2 October 2023 at 14 sites")
    '2 October 2023 at 17 sites'
    """
    numbers = list(_NUMBER.finditer(value))
    if not numbers:
        return None
    last = numbers[-1]
    text = last.group(0)
    whole, _, fraction = text.replace(",", ".").partition(".")
    n = int(whole)
    if 1900 <= n <= 2100:
        new = n + 5
    elif n <= 28:
        new = n + 3 if n <= 25 else n - 3
    else:
        new = n + max(7, n // 7)
    rendered = str(new) + (text[len(whole) :] if fraction else "")
    return value[: last.start()] + rendered + value[last.end() :]


def bars(groups: dict[str, dict[str, Interval]], title: str, yaxis: str, percent: bool = False) -> dict[str, Any]:
    """Grouped bars with 95% interval whiskers: ``{group: {condition: interval}}``, as plotly JSON."""
    import plotly.graph_objects as go

    fig = go.Figure()
    conditions = [c for c in LABELS if any(c in by for by in groups.values())]
    for condition in conditions:
        xs, ys, up, down = [], [], [], []
        for group, by in groups.items():
            if condition in by and not _nan(by[condition].mean):
                i = by[condition]
                xs.append(group)
                ys.append(i.mean)
                up.append(max(i.high - i.mean, 0))
                down.append(max(i.mean - i.low, 0))
        fig.add_bar(
            x=xs,
            y=ys,
            name=LABELS[condition],
            marker_color=COLORS[condition],
            error_y={"type": "data", "symmetric": False, "array": up, "arrayminus": down},
        )
    return finish(fig, title, yaxis, barmode="group", yaxis_tickformat=".0%" if percent else None)


def finish(fig: Any, title: str, yaxis: str, **layout: Any) -> dict[str, Any]:
    """Every claim plot's layout (title, axis, size, legend under it), as plotly JSON for storing."""
    fig.update_layout(
        title=title,
        yaxis_title=yaxis,
        height=340,
        margin={"l": 40, "r": 10, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.2},
        **layout,
    )
    return figure_json(fig)


def figure_json(fig: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fig.to_json())
    return data


def _nan(x: float) -> bool:
    return x != x


__all__ = ["above", "altered", "bars", "column", "figure_json", "interval", "of", "paired", "small_sample"]
