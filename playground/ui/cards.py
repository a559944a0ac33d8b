"""The answer card: one condition's answer, its cost and its sources. Compare and Evaluate both draw it.

Everything a person or a document wrote (answers, passages, file and model names) goes through
``st.text``/``st.code``/escaped HTML; only the project's own constants are formatted as HTML.
"""

from __future__ import annotations

import html
import re

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from playground.compare import COLORS, LABELS, ConditionResult, describe, place
from playground.ui.widgets import highlight

METRIC_HELP = (
    "Latency: from sending the question to the last word. First token: to the first word, mostly the time "
    "to read the prompt (RAG prompts are longer). tok/s: tokens (word pieces) written per second after "
    "the first. Prompt tokens: what the model read; answer tokens: what it wrote."
)
CONTEXT_HELP = "How much of the model's context window (all it can read and write at once) this answer used."
SCORE_HELP = (
    "Rank score: where retrieval put this passage, 1.00 = first in both rankings (embeddings and BM25) "
    "fused. It orders passages; it is not a probability that the passage is right."
)


def verdict_line(correct: bool | None, gold: str | None) -> str | None:
    """A card's right/wrong line against the expected answer (escaped), or None without one."""
    if correct is None or gold is None:
        return None
    if correct:
        return f":material/check_circle: **Right**: contains the expected “{plain(gold)}”"
    return f":material/cancel: **Wrong**: does not contain the expected “{plain(gold)}”"


# Below this width two cards side by side are too narrow to read: the 2×2 becomes one column.
NARROW = (
    "<style>@media (max-width: 960px) {"
    "div[data-testid='stHorizontalBlock']:has(> div[data-testid='stColumn'] .playground-card)"
    "{flex-direction: column !important; flex-wrap: nowrap !important; gap: 1rem}"
    "div[data-testid='stHorizontalBlock']:has(> div[data-testid='stColumn'] .playground-card)"
    " > div[data-testid='stColumn'] {width: 100% !important; flex: 1 1 100% !important; min-width: 100%}}</style>"
)


def grid() -> list[DeltaGenerator]:
    """Four bordered cells laid out as the 2×2: Base | Base+RAG over Fine-tuned | Fine-tuned+RAG.

    On a narrow screen (a projector at 800 px, a phone) the cells stack in the same order.
    """
    st.html(NARROW)
    top, bottom = st.columns(2), st.columns(2)
    return [cell.container(border=True) for cell in [*top, *bottom]]


def bar(fraction: float, color: str, label: str, tip: str = "") -> None:
    """A thin bar in ``color`` (a condition's own, not an alarm red) under ``label``; ``tip`` shows on hover.

    Label and tip are escaped: a file name in them stays text.
    """
    width = round(min(max(fraction, 0.0), 1.0) * 100, 1)
    st.html(
        f"<div title='{html.escape(tip)}' style='font-size:0.8em;opacity:0.8'>"
        f"{html.escape(label)}</div><div style='background:rgba(128,128,128,0.22);border-radius:3px;height:6px'>"
        f"<div style='width:{width}%;background:{color};height:6px;border-radius:3px'></div></div>"
    )


def header(condition: str, model: str, base: str | None = None) -> None:
    """A card's title in its colour and what the condition is (``base``: the base model's id, so a Fine-tuned
    slot that runs it says so)."""
    # Our own constants; the class lets the narrow-screen style find the cards' row.
    st.html(f"<h4 class='playground-card' style='color:{COLORS[condition]};margin:0'>{LABELS[condition]}</h4>")
    st.caption(f"{plain(model)} — {describe(condition, model, base)}")


def footer(result: ConditionResult, *, key: str, verdict: str | None = None) -> None:
    """Everything after the answer's text: error, note, verdict, cost, context gauge, sources, the prompt."""
    color = COLORS[result.condition]
    if result.error:
        st.error(plain(result.error))
    if result.note:
        st.caption(plain(result.note))
    if result.stopped_at:
        st.caption(
            f":material/content_cut: Stopped at the {result.stopped_at}-token limit: the answer may be cut short."
        )
    if result.unsupported:
        cited = ", ".join(plain(c) for c in result.unsupported)
        st.warning(f"Cites {cited}, which it was not given.", icon=":material/report:")
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
            used = f"context window: {m.context_used} of {m.context_window} tokens"
            bar(m.context_used / m.context_window, color, used, tip=CONTEXT_HELP)
    if result.sources:
        with st.expander(f"Sources ({len(result.sources)})", expanded=result.condition == "base+rag"):
            st.caption("Passages this answer was given, best first; marked: the words it repeats.", help=SCORE_HELP)
            for s in result.sources:
                where = place(s.file_name, s.page)
                bar(s.score, color, f"[{s.rank}] {where} — rank score {s.score:.2f}", tip=SCORE_HELP)
                st.html(
                    "<div style='white-space:pre-wrap;font-size:0.85em;margin-bottom:0.8em'>"
                    f"{highlight(s.text, s.used_spans)}</div>"
                )  # highlight() escapes the document text: it is shown, never interpreted
    if result.messages and st.toggle("Show the exact prompt", key=f"prompt-{key}"):
        st.code("\n\n".join(f"[{m['role']}]\n{m['content']}" for m in result.messages), language=None)


def card(result: ConditionResult, *, key: str, verdict: str | None = None, base: str | None = None) -> None:
    """A finished answer, drawn whole (on every rerun: nothing a person has seen vanishes)."""
    header(result.condition, result.model, base)
    if result.text:
        st.markdown(lines(result.text))
    elif not result.error and result.metrics is None:
        st.caption("Interrupted before it finished (the page was used meanwhile): ask again to see it.")
    footer(result, key=key, verdict=verdict)


MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|~<>$:=")  # CommonMark, plus Streamlit's $math$ and :directives:
# `ollama serve` in a message is a command to type: shown as code when it holds only such harmless characters
CODE_SPAN = re.compile(r"`([\w .=/-]+)`")


def plain(text: str) -> str:
    r"""Text shown as written: every Markdown character escaped, so an answer or a passage never renders
    as a link, a heading, math or HTML. Escaping is per character (streamed pieces can be escaped alone),
    except that a short `command` of letters, digits, spaces and ``.=/-_`` is shown as code, not as backticks.

    >>> plain("**x** <b> $1 [a](javascript:x)")
    '\\*\\*x\\*\\* \\<b\\> \\$1 \\[a\\]\\(javascript\\:x\\)'
    >>> plain("start it with `ollama serve` (or `<b>`)")
    'start it with `ollama serve` \\(or \\`\\<b\\>\\`\\)'
    """
    out, at = [], 0
    for match in CODE_SPAN.finditer(text):
        out.append(_escape(text[at : match.start()]) + match.group(0))  # a code span is shown literally
        at = match.end()
    return "".join(out) + _escape(text[at:])


def _escape(text: str) -> str:
    return "".join("\\" + ch if ch in MARKDOWN_SPECIAL else ch for ch in text)


def lines(text: str) -> str:
    r"""An answer as written, its line breaks kept: :func:`plain`, with each newline a hard break (Markdown
    would join single lines, so a list the model wrote ran together). A blank line stays a paragraph break.

    >>> lines("Steps:\n- one\n- two")
    'Steps\\:  \n\\- one  \n\\- two'
    """
    return plain(text).replace("\n", "  \n")


__all__ = ["METRIC_HELP", "bar", "card", "footer", "grid", "header", "lines", "plain", "verdict_line"]
