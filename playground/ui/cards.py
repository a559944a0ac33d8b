"""The answer card: one condition's answer, its cost and its sources. Compare and Evaluate both draw it.

Everything a person or a document wrote (answers, passages, file and model names) goes through
``st.text``/``st.code``/escaped HTML; only the project's own constants are formatted as HTML.
"""

from __future__ import annotations

import html

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from playground.compare import COLORS, HELP, LABELS, ConditionResult
from playground.ui.widgets import highlight

METRIC_HELP = (
    "Latency: question sent → last word. First token: → first word (the prompt's reading time). "
    "tok/s: words (tokens) written per second after the first. Prompt tokens: what the model read."
)


def grid() -> list[DeltaGenerator]:
    """Four bordered cells laid out as the 2×2: Base | Base+RAG over Fine-tuned | Fine-tuned+RAG."""
    top, bottom = st.columns(2), st.columns(2)
    return [cell.container(border=True) for cell in [*top, *bottom]]


def bar(fraction: float, color: str, label: str) -> None:
    """A thin bar in ``color`` (a condition's own, not an alarm red) with a caption; ``label`` is ours, escaped."""
    width = round(min(max(fraction, 0.0), 1.0) * 100, 1)
    st.html(
        "<div style='font-size:0.8em;opacity:0.8'>"
        f"{html.escape(label)}</div><div style='background:rgba(128,128,128,0.22);border-radius:3px;height:6px'>"
        f"<div style='width:{width}%;background:{color};height:6px;border-radius:3px'></div></div>"
    )


def header(condition: str, model: str) -> None:
    st.html(f"<h4 style='color:{COLORS[condition]};margin:0'>{LABELS[condition]}</h4>")  # our own constants
    st.caption(f"`{model}` — {HELP[condition]}")


def footer(result: ConditionResult, *, key: str, verdict: str | None = None) -> None:
    """Everything after the answer's text: error, note, verdict, cost, context gauge, sources, the prompt."""
    color = COLORS[result.condition]
    if result.error:
        st.error(result.error)
    if result.note:
        st.caption(result.note)
    if verdict:
        st.markdown(verdict)
    m = result.metrics
    if m:
        st.caption(
            f"{m.latency_s:.2f} s · first token {m.first_token_s or 0:.2f} s · {m.tokens_per_s:.0f} tok/s · "
            f"{m.prompt_tokens} prompt + {m.completion_tokens} answer tokens",
            help=METRIC_HELP,
        )
        if m.context_window:
            bar(m.context_used / m.context_window, color, f"context window: {m.context_used} of {m.context_window}")
    if result.sources:
        with st.expander(f"Sources ({len(result.sources)})", expanded=result.condition == "base+rag"):
            for s in result.sources:
                where = f"{s.file_name}, page {s.page}" if s.page else s.file_name
                bar(s.score, color, f"[{s.rank}] {where} — rank score {s.score:.2f}")
                st.html(
                    "<div style='white-space:pre-wrap;font-size:0.85em;margin-bottom:0.8em'>"
                    f"{highlight(s.text, s.used_spans)}</div>"
                )  # highlight() escapes the document text: it is shown, never interpreted
    if result.messages and st.toggle("Show the exact prompt", key=f"prompt-{key}"):
        st.code("\n\n".join(f"[{m['role']}]\n{m['content']}" for m in result.messages), language=None)


def card(result: ConditionResult, *, key: str, verdict: str | None = None) -> None:
    """A finished answer, drawn whole (on every rerun: nothing a person has seen vanishes)."""
    header(result.condition, result.model)
    if result.text:
        st.markdown(plain(result.text))
    footer(result, key=key, verdict=verdict)


MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|~<>$:=")  # CommonMark, plus Streamlit's $math$ and :directives:


def plain(text: str) -> str:
    r"""Text shown as written: every Markdown character escaped, so an answer or a passage never renders
    as a link, a heading, math or HTML. Escaping is per character, so streamed pieces can be escaped alone.

    >>> plain("**x** <b> $1 [a](javascript:x)")
    '\\*\\*x\\*\\* \\<b\\> \\$1 \\[a\\]\\(javascript\\:x\\)'
    """
    return "".join("\\" + ch if ch in MARKDOWN_SPECIAL else ch for ch in text)


__all__ = ["METRIC_HELP", "bar", "card", "footer", "grid", "header", "plain"]
