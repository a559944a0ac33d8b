"""The arena's results for keeping: JSON, and one offline HTML page (plotly inline), like the claims report."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from playground.arena.ratings import Ratings, rate
from playground.arena.store import ArenaStore, Round
from playground.evaluate.card import PAGE_CSS, html_table
from playground.storage import write_atomic


def labels(rounds: Sequence[Round]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in rounds:
        for side in ("a", "b"):
            ans = r.answer(side)
            out[ans.get("pipeline", getattr(r, side))] = ans.get("label") or ans.get("pipeline", getattr(r, side))
    return out


def ratings(store: ArenaStore, *, voters: str | None = None, resamples: int = 400) -> Ratings:
    """The fit over a workspace's stored votes (``voters``: 'people', 'judge' or None for all)."""
    return rate(store.outcomes(voters=voters), labels=labels(store.rounds()), resamples=resamples)


def win_figure(r: Ratings) -> Any:
    """The win-rate matrix as a plotly heatmap: row's share of the votes against column, votes in the cell."""
    import plotly.graph_objects as go

    names = [r.label(i) for i in r.items]
    rates = r.win_rate()
    text = [
        [f"{rates[i][j]:.0%} of {r.votes[i][j]}" if rates[i][j] is not None else "" for j in range(len(names))]
        for i in range(len(names))
    ]
    fig = go.Figure(
        go.Heatmap(
            z=rates,
            x=names,
            y=names,
            text=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=1,
            colorscale="RdBu",
            colorbar={"title": "wins"},
        )
    )
    fig.update_layout(
        title="Row preferred to column",
        xaxis_title="against",
        yaxis_title="",
        height=380,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return fig


def results_json(store: ArenaStore, rounds: Sequence[Round] | None = None, *, resamples: int = 400) -> dict[str, Any]:
    """Every round (question, both answers, which was which, votes) and the ratings over their votes."""
    rounds = list(store.rounds() if rounds is None else rounds)
    ids = {r.id for r in rounds}
    outcomes = [(r.a, r.b, v.choice) for r in rounds for v in store.votes(r.id)]
    fit = rate(outcomes, labels=labels(rounds), resamples=resamples)
    return {
        "rounds": [
            {
                **r.as_dict(),
                "votes": [{"voter": v.voter, "choice": v.choice, "at": v.at} for v in store.votes(r.id)],
                "tally": store.tally(r.id),
            }
            for r in rounds
            if r.id in ids
        ],
        "ratings": fit.as_dict(),
    }


def to_html(data: dict[str, Any], fig: Any | None = None) -> str:
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Arena results</title>",
        f"<style>{PAGE_CSS}</style></head><body>",
        "<h1>Arena: which answers people preferred</h1>",
        f"<p>{esc(data['ratings']['sentence'])}</p>",
        "<h2>Leaderboard (Bradley–Terry, 95 % bootstrap intervals, Elo scale)</h2>",
        html_table(
            [
                {k: row[k] for k in ("rank", "label", "elo", "elo_low", "elo_high", "votes")}
                for row in data["ratings"]["leaderboard"]
            ]
        ),
    ]
    if fig is not None:
        parts.append(fig.to_html(full_html=False, include_plotlyjs=True))  # the library inline: works offline
    parts.append("<h2>Rounds</h2>")
    for r in data["rounds"]:
        a, b = r["answers"]["a"], r["answers"]["b"]
        parts.append(f"<h3>{esc(r['question'])}</h3>")
        parts.append(
            html_table(
                [
                    {
                        "shown as": side,
                        "pipeline": ans.get("label", ""),
                        "answer": ans.get("text", ""),
                        "right": "" if ans.get("correct") is None else ("yes" if ans["correct"] else "no"),
                    }
                    for side, ans in (("A", a), ("B", b))
                ]
            )
        )
        parts.append(f"<p>Votes: {esc(', '.join(f'{k} {v}' for k, v in r['tally'].items()))}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def export(store: ArenaStore, out: str | Path, rounds: Sequence[Round] | None = None) -> dict[str, Path]:
    """``arena.json`` and ``arena.html`` in folder ``out``."""
    data = results_json(store, rounds)
    fit = rate(
        [(r["a"], r["b"], v["choice"]) for r in data["rounds"] for v in r["votes"]],
        labels=labels(list(store.rounds() if rounds is None else rounds)),
        resamples=50,
    )
    out = Path(out)
    return {
        "json": write_atomic(out / "arena.json", json.dumps(data, indent=2, ensure_ascii=False)),
        "html": write_atomic(out / "arena.html", to_html(data, win_figure(fit) if fit.items else None)),
    }


__all__ = ["export", "labels", "ratings", "results_json", "to_html", "win_figure"]
