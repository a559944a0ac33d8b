"""The claims report for a stakeholder: every verdict with its numbers, plots, and what it was measured on.

Three forms of the same content: JSON (``{"claims": [...], "config": {...}}``; the CLI prints it),
Markdown, and one self-contained offline HTML page (plotly embedded once, no network). ``config`` holds
the lab's settings, models with file hashes, the index and its documents' hashes, and the house style,
so running the claims again with it (temperature 0, fixed seeds) gives the same numbers.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from playground.claims.lab import Lab
from playground.claims.registry import CLAIMS, ClaimResult, duration
from playground.evaluate.card import PAGE_CSS, html_table
from playground.evaluate.report import markdown_table
from playground.storage import write_atomic

CAVEAT = (
    "These verdicts hold for the models and documents named below, at this size; a larger model or another "
    "corpus can turn any of them. Every number was measured in the run this report describes."
)


def report_json(lab: Lab | dict[str, Any], results: Sequence[ClaimResult]) -> dict[str, Any]:
    """``{"claims": [{"id", "claim", "source", "verdict", "summary", "numbers", ...}], "config": {...}}``."""
    config = lab.describe() if isinstance(lab, Lab) else lab
    claims = []
    for r in results:
        claim = CLAIMS.get(r.id)
        claims.append(
            {
                "id": r.id,
                "claim": claim.claim if claim else "",
                "source": claim.source if claim else "",
                "experiment": claim.experiment if claim else "",
                "verdict": r.verdict,
                "summary": r.summary,
                "numbers": r.numbers,
                "rows": r.rows,
                "notes": r.notes,
                "seconds": r.seconds,
                "finished": r.finished,
            }
        )
    return {"claims": claims, "config": config, "caveat": CAVEAT}


def measured_on(config: dict[str, Any], within: str = "") -> list[str]:
    """The setup a report's numbers came from, one readable line per setting (the .json report keeps it whole).

    The house style is named by its description: its regular expression is in the .json report.

    >>> measured_on({"workspace": "sample", "style": {"pattern": "^A.*$", "description": "Answer: <fact>"},
    ...              "models": {"base": {"name": "smollm2", "size": 3}, "finetuned": None}})
    ['workspace: sample', 'style: Answer: <fact>', 'models › base › name: smollm2', 'models › base › size: 3', \
'models › finetuned: none']
    """
    lines = []
    for key, value in config.items():
        label = f"{within} › {key}" if within else str(key)
        if isinstance(value, dict) and set(value) >= {"pattern", "description"}:
            lines.append(f"{label}: {value['description']}")
        elif isinstance(value, dict) and value:
            lines += measured_on(value, label)
        elif isinstance(value, list | tuple):
            lines.append(f"{label}: {', '.join(str(v) for v in value) or 'none'}")
        else:
            lines.append(f"{label}: {'none' if value is None or value == {} else value}")
    return lines


def to_markdown(lab: Lab | dict[str, Any], results: Sequence[ClaimResult]) -> str:
    data = report_json(lab, results)
    config = data["config"]
    lines = ["# RAG vs fine-tuning: the claims, measured", "", f"_{CAVEAT}_", ""]
    lines += markdown_table(
        [{"claim": c["id"], "verdict": c["verdict"], "in numbers": c["summary"]} for c in data["claims"]]
    ) or ["No claims were run."]
    for c in data["claims"]:
        lines += ["", f"## {c['id']}: {c['verdict']}", "", f"> {c['claim']}", "", f"Source: {c['source']}", ""]
        lines += [f"Experiment: {c['experiment']}", "", c["summary"], ""]
        if c["rows"]:
            lines += [*markdown_table(c["rows"]), ""]
        lines += [f"- {n}" for n in c["notes"]]
        lines += [f"- Ran in {duration(c['seconds'])}, finished {c['finished']}."]
    lines += ["", "## Measured on", "", *(f"- {line}" for line in measured_on(config)), ""]
    return "\n".join(lines)


def to_html(lab: Lab | dict[str, Any], results: Sequence[ClaimResult]) -> str:
    """One self-contained page: a verdict table, then each claim with its numbers, table and plot."""
    import plotly.io as pio

    esc = html.escape
    data = report_json(lab, results)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>RAG vs fine-tuning: the claims, measured</title>",
        f"<style>{PAGE_CSS}.verdict{{font-weight:600}}</style></head><body>",
        "<h1>RAG vs fine-tuning: the claims, measured</h1>",
        f"<p><em>{esc(CAVEAT)}</em></p>",
        html_table([{"claim": c["id"], "verdict": c["verdict"], "in numbers": c["summary"]} for c in data["claims"]]),
    ]
    first_plot = True
    by_id = {r.id: r for r in results}
    for c in data["claims"]:
        parts += [
            f"<h2>{esc(c['id'])}: <span class='verdict'>{esc(c['verdict'])}</span></h2>",
            f"<blockquote>{esc(c['claim'])}</blockquote>",
            f"<p>Source: {esc(c['source'])}</p><p>Experiment: {esc(c['experiment'])}</p>",
            f"<p>{esc(c['summary'])}</p>",
            html_table(c["rows"]),
        ]
        parts += [f"<p><small>{esc(n)}</small></p>" for n in c["notes"]]
        figure = by_id[c["id"]].figure
        if figure:
            fig = pio.from_json(json.dumps(figure))
            parts.append(fig.to_html(full_html=False, include_plotlyjs=first_plot))  # the library once, inline
            first_plot = False
    parts += [
        "<h2>Measured on</h2>",
        "<ul>" + "".join(f"<li>{esc(line)}</li>" for line in measured_on(data["config"])) + "</ul>",
        "</body></html>",
    ]
    return "\n".join(parts)


FORMATS = {".json": "json", ".md": "md", ".html": "html", ".htm": "html"}


def write_report(lab: Lab | dict[str, Any], results: Sequence[ClaimResult], path: str | Path) -> Path:
    """Write the report in the form its suffix names (.html, .md, .json)."""
    path = Path(path)
    form = FORMATS.get(path.suffix.lower(), "html")
    if form == "json":
        text = json.dumps(report_json(lab, results), indent=1, default=str, ensure_ascii=False)
    elif form == "md":
        text = to_markdown(lab, results)
    else:
        text = to_html(lab, results)
    return write_atomic(path, text)


__all__ = [
    "CAVEAT",
    "FORMATS",
    "measured_on",
    "report_json",
    "to_html",
    "to_markdown",
    "write_report",
]
