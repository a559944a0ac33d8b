"""What a finished comparison says: each answer against the gold answer when one is known, a short reading
of the 2×2 computed from the answers and their passages, and the comparison as a file to take away.

Everything here is computed from the four results; nothing asks a model. The reading names only what it
can point at (a figure, date or code in the answers and the passage it came from), so a presenter can say
it aloud and a skeptic can check it.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from playground.compare import CONDITIONS, LABELS, ConditionResult, Source, place
from playground.edits import FactEdit
from playground.evaluate.metrics import exact_match
from playground.facts import facts_in
from playground.models import Metrics
from playground.storage import write_atomic
from playground.text import normalize
from playground.workspace import workspace_dir


@dataclass
class Comparison:
    """One question, its four answers and everything they were made with: what the page keeps and exports."""

    question: str
    results: list[ConditionResult]
    gold: str | None = None  # the expected answer, when the question comes from the workspace's question set
    workspace: str = ""
    settings: dict[str, Any] = field(default_factory=dict)  # top-k, longest answer, seed, template, index
    asked: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))

    def verdict(self, result: ConditionResult) -> bool | None:
        """Whether ``result`` contains the gold answer (as the evaluation lab scores it); None without one."""
        if self.gold is None or result.error or (result.metrics is None and not result.text):
            return None  # no answer to judge: it failed, or it was interrupted before it finished
        return bool(exact_match(result.text, self.gold))

    def reading(self) -> str:
        """One or two sentences on what this 2×2 shows, computed from the answers and their passages."""
        return reading(self.results, self.gold)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comparison:
        """A comparison from :meth:`as_dict` (a saved one, or an exported JSON file)."""
        results = []
        for r in data["results"]:
            metrics = Metrics(**r["metrics"]) if r.get("metrics") else None
            sources = [Source(**{**s, "used_spans": [tuple(x) for x in s.get("used_spans", [])]}) for s in r["sources"]]
            fields = {k: v for k, v in r.items() if k in ConditionResult.__dataclass_fields__}
            results.append(ConditionResult(**{**fields, "metrics": metrics, "sources": sources}))
        keep = ("gold", "workspace", "settings", "asked")
        return cls(data["question"], results, **{k: data[k] for k in keep if k in data})

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "gold": self.gold,
            "workspace": self.workspace,
            "asked": self.asked,
            "settings": self.settings,
            "reading": self.reading(),
            "results": [
                {
                    **{k: v for k, v in asdict(r).items() if k not in ("metrics",)},
                    "label": r.label,
                    "correct": self.verdict(r),
                    "metrics": r.metrics.as_dict() if r.metrics else None,
                }
                for r in self.results
            ],
        }


def comparison_id(question: str) -> str:
    """A stored comparison's id: its question's, so asking it again replaces it; short enough for a link.

    >>> comparison_id("How long?") == comparison_id("  how LONG? ") and len(comparison_id("x" * 5000))
    16
    """
    return hashlib.sha256(normalize(question).encode()).hexdigest()[:16]


def _saved(workspace: str, question: str = "", key: str | None = None) -> Path:
    return workspace_dir(workspace) / "comparisons" / f"{key or comparison_id(question)}.json"


def save_comparison(c: Comparison) -> Path:
    """Keep a comparison with its workspace, so a link to its question (or a reload) shows it again."""
    return write_atomic(_saved(c.workspace, c.question), to_json(c))


def load_comparison(workspace: str, question: str = "", *, key: str | None = None) -> Comparison | None:
    """The last comparison of ``question`` (or with id ``key``, see :func:`comparison_id`) in ``workspace``;
    None when it was never asked (or is unreadable)."""
    if key is not None and not (len(key) == 16 and all(c in "0123456789abcdef" for c in key)):
        return None  # a link's id is never a path
    try:
        return Comparison.from_dict(json.loads(_saved(workspace, question, key).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def gold_answer(question: str, rows: Sequence[Mapping[str, str]]) -> str | None:
    """The expected answer when ``question`` is one of the question set's (compared as normalised text).

    >>> gold_answer(" how long is the WARRANTY? ", [{"question": "How long is the warranty?", "answer": "24 months"}])
    '24 months'
    >>> gold_answer("Something else?", [{"question": "How long?", "answer": "2"}]) is None
    True
    """
    wanted = normalize(question)
    return next((row["answer"] for row in rows if normalize(row["question"]) == wanted), None)


_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|"
    "million|billion|dozen"
)
_NOT_A_UNIT = frozenset(re.split(r"\s+", "a an and are as at by for from in is it of on or per than that the to was"))
# A number in digits or words, with the word after it when there is one ("17 islands", "seventeen islands").
_FIGURE = re.compile(
    rf"(?<![\w.,\[])(?:\d+(?:[.,]\d+)*|(?:{_NUMBER_WORDS})(?:[- ](?:{_NUMBER_WORDS}))*)(?![\w\]])"
    r"(?:\s+([a-z]+))?",
    re.IGNORECASE,
)


def figures(text: str) -> list[str]:
    """The figures, dates and codes ``text`` states: the fact patterns, then any other number with its unit
    (a number in words counts only with one, so "one of them" states nothing).

    >>> figures("There are exactly 17 islands, founded 9 March 2011 [1].")
    ['9 March 2011', '17 islands']
    >>> figures("Seventeen islands; one of them is ours, 12 of 40.")
    ['Seventeen islands', '12', '40']
    """
    found = facts_in(text)
    out = [span.text for span in found]
    for match in _FIGURE.finditer(text):
        if any(span.start < match.end() and match.start() < span.end for span in found):
            continue  # already read as a date, an amount, a code…
        unit = match.group(1)
        if unit and unit.lower() in _NOT_A_UNIT:
            unit = None
        if unit is None and not match.group()[0].isdigit():
            continue
        number_end = match.start(1) if match.group(1) else match.end()
        out.append(text[match.start() : match.end(1)] if unit else text[match.start() : number_end].rstrip())
    return out


def _where(source: Source) -> str:
    return place(source.file_name, source.page)


def _names(conditions: Sequence[str]) -> str:
    """``Base+RAG and Fine-tuned+RAG``; ``Base, Base+RAG and Fine-tuned``."""
    labels = [LABELS[c] for c in conditions]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def reading(results: Sequence[ConditionResult], gold: str | None = None) -> str:
    """What the four answers show, in a sentence a presenter can read out.

    With a gold answer: which conditions contain it, and the passage that holds it. Without one: the
    figures, dates and codes that only some answers state, and where the passages say them.
    """
    answered = [r for r in results if not r.error and r.text.strip()]
    if not answered:
        return "No answer to read yet."
    sources = next((r.sources for r in results if r.sources), [])
    if gold is not None:
        right = [r.condition for r in answered if exact_match(r.text, gold)]
        holder = next((s for s in sources if exact_match(s.text, gold)), None)
        found = f" The passages had it: [{holder.rank}] {_where(holder)}." if holder else ""
        if not right:
            missing = "" if holder else " It was not in the passages retrieved either."
            return f"No answer contains the expected “{gold}”.{missing or found}"
        if len(right) == len(answered):
            return f"All answers contain the expected “{gold}”."
        return f"Only {_names(right)} contain{'s' if len(right) == 1 else ''} the expected “{gold}”.{found}"
    stated: dict[str, set[str]] = {}  # a figure/date/code -> the conditions whose answer states it
    shown: dict[str, str] = {}
    for r in answered:
        for span in figures(r.text):
            key = normalize(span)
            if key:
                stated.setdefault(key, set()).add(r.condition)
                shown.setdefault(key, span)
    rag = {r.condition for r in answered if r.condition.endswith("+rag")}
    for key, conditions in stated.items():
        holder = next((s for s in sources if f" {key} " in f" {normalize(s.text)} "), None)
        if holder and conditions == rag and rag != {r.condition for r in answered}:
            ordered = [c for c in CONDITIONS if c in conditions]
            return f"Only the RAG answers ({_names(ordered)}) state “{shown[key]}”, from {_where(holder)}."
    if len(stated) == 0:
        return "No answer states a figure, date or code: read them side by side."
    common = [shown[k] for k, c in stated.items() if len(c) == len(answered)]
    if common:
        return f"All answers state “{common[0]}”."
    return "The answers state different figures, dates or codes: compare them with the passages."


SETTING_NAMES = {"top_k": "top-k", "max_tokens": "longest answer", "seed": "seed"}


def settings_note(c: Comparison, now: Mapping[str, Any], models: Mapping[str, str]) -> str | None:
    """What a comparison was made with that differs from the settings now (the sidebar was changed after
    asking); None when nothing does. ``models``: the base and fine-tuned model ids now.

    >>> c = Comparison("q", [ConditionResult(x, "m:b") for x in CONDITIONS], settings={"top_k": 3, "seed": 1})
    >>> settings_note(c, {"top_k": 3, "seed": 1}, {"base": "m:b", "finetuned": "m:b"}) is None
    True
    >>> print(settings_note(c, {"top_k": 5, "seed": 1}, {"base": "m:b", "finetuned": "m:t"}))
    Made with top-k 3 (now 5) and fine-tuned model m:b (now m:t): ask again to see answers with these settings.
    """
    parts = [
        f"{name} {c.settings[key]} (now {now[key]})"
        for key, name in SETTING_NAMES.items()
        if key in c.settings and key in now and c.settings[key] != now[key]
    ]
    if "rag_template" in c.settings and "rag_template" in now and c.settings["rag_template"] != now["rag_template"]:
        parts.append("another RAG prompt template")
    made = {r.condition: r.model for r in c.results}
    for role, condition in (("base", "base"), ("fine-tuned", "ft")):
        wanted = models.get("finetuned" if condition == "ft" else "base")
        if wanted and made.get(condition) and made[condition] != wanted:
            parts.append(f"{role} model {made[condition]} (now {wanted})")
    if not parts:
        return None
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Made with {listed}: ask again to see answers with these settings."


def change_lesson(after: Comparison, edits: Sequence[FactEdit]) -> list[str]:
    """What a fact edit shows in the answers asked after it, sentence by sentence: which answers state the new
    value, which kept the old one (a fine-tune keeps what it was trained on), and a retrieved passage of
    another document that still states the old value (the change was made in one document only)."""
    out: list[str] = []
    answered = [r for r in after.results if not r.error and r.text.strip()]
    for edit in edits:
        new = [r.condition for r in answered if exact_match(r.text, edit.new)]
        old = [r.condition for r in answered if exact_match(r.text, edit.old) and r.condition not in new]
        if new:
            out.append(f"{_names(new)} state{'s' if len(new) == 1 else ''} the new “{edit.new}”.")
        if kept := [c for c in old if c.startswith("ft")]:
            out.append(
                f"{_names(kept)} kept the old “{edit.old}”: a fine-tune learned the document as it was, and an "
                "edit does not change its weights (only training again does)."
            )
        if any(r.condition == "ft" for r in answered) and "ft" not in new and "ft" not in old:
            out.append(
                f"Fine-tuned does not state the new “{edit.new}”: an edit does not change a fine-tune's weights, "
                "only what the passages give it."
            )
        if rest := [c for c in old if not c.startswith("ft")]:
            out.append(f"{_names(rest)} still state{'s' if len(rest) == 1 else ''} the old “{edit.old}”.")
        sources = next((r.sources for r in after.results if r.sources), [])
        if sources and not any(edit.new in s.text for s in sources):
            out.append(
                f"No passage retrieved holds the changed text of {edit.file_name}: the RAG answers never saw the "
                "change. Retrieve more passages (top-k) or ask in the document's own words."
            )
        stale = [s for s in sources if s.file_name != edit.file_name and edit.old in s.text]
        for s in stale[:2]:
            out.append(
                f"Passage [{s.rank}] {_where(s)} still states the old “{edit.old}”: the change was made in "
                f"{edit.file_name} only, so the answers were given both values."
            )
    return out


def to_markdown(c: Comparison) -> str:
    lines = [f"# {c.question}", "", f"Asked {c.asked} in workspace '{c.workspace}'."]
    if c.gold is not None:
        lines.append(f"Expected answer: {c.gold}")
    lines += ["", f"**Reading:** {c.reading()}", ""]
    for r in c.results:
        verdict = c.verdict(r)
        mark = "" if verdict is None else (" ✓" if verdict else " ✗")
        lines += [f"## {r.label}{mark}", "", f"Model: `{r.model}`", ""]
        lines += [f"> {line}" for line in (r.error or r.text or "(no answer)").splitlines()] + [""]
        for note in flags(r):
            lines.append(f"- {note}")
        if r.metrics:
            m = r.metrics
            lines.append(
                f"- {m.latency_s:.2f} s, first token {m.first_token_s or 0:.2f} s, {m.tokens_per_s:.0f} tok/s, "
                f"{m.prompt_tokens} prompt + {m.completion_tokens} answer tokens"
            )
        for s in r.sources:
            lines.append(f"- Source [{s.rank}] {_where(s)} (rank score {s.score:.2f}): {' '.join(s.text.split())}")
        lines.append("")
    lines += ["## Settings", "", "```json", json.dumps(c.settings, indent=2, ensure_ascii=False), "```", ""]
    return "\n".join(lines)


def to_html(c: Comparison) -> str:
    """One self-contained page (no scripts): the question, the four answers in their colours, sources, settings."""
    from playground.compare import COLORS

    esc = html.escape
    cards = []
    for r in c.results:
        verdict = c.verdict(r)
        mark = "" if verdict is None else (" ✓" if verdict else " ✗")
        metrics = ""
        if r.metrics:
            m = r.metrics
            metrics = (
                f"<p class=m>{m.latency_s:.2f} s · first token {m.first_token_s or 0:.2f} s · "
                f"{m.prompt_tokens} prompt + {m.completion_tokens} answer tokens</p>"
            )
        sources = "".join(
            f"<li><b>[{s.rank}] {esc(_where(s))}</b> <span class=m>rank score {s.score:.2f}</span>"
            f"<div class=p>{esc(s.text)}</div></li>"
            for s in r.sources
        )
        notes = "".join(f"<p class=m>{esc(n)}</p>" for n in flags(r))
        cards.append(
            f"<section style='border-top:4px solid {COLORS[r.condition]}'><h2>{esc(r.label)}{mark}</h2>"
            f"<p class=m>{esc(r.model)}</p><p class=a>{esc(r.error or r.text or '(no answer)')}</p>"
            f"{notes}{metrics}{f'<ol>{sources}</ol>' if sources else ''}</section>"
        )
    gold = f"<p>Expected answer: <b>{esc(c.gold)}</b></p>" if c.gold is not None else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>" + esc(c.question) + "</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
        "main{display:grid;grid-template-columns:1fr 1fr;gap:1em}"
        "@media(max-width:800px){main{grid-template-columns:1fr}}"
        "section{padding:0.5em 1em;background:rgba(128,128,128,0.08)}.m{opacity:0.7;font-size:0.85em}"
        ".a{white-space:pre-wrap}.p{white-space:pre-wrap;font-size:0.85em}pre{white-space:pre-wrap}"
        "@media(prefers-color-scheme:dark){body{background:#0e1117;color:#fafafa}}</style></head><body>"
        f"<h1>{esc(c.question)}</h1><p class=m>Asked {esc(c.asked)} in workspace '{esc(c.workspace)}'.</p>{gold}"
        f"<p><b>Reading:</b> {esc(c.reading())}</p><main>{''.join(cards)}</main>"
        f"<h2>Settings</h2><pre>{esc(json.dumps(c.settings, indent=2, ensure_ascii=False))}</pre></body></html>"
    )


def to_json(c: Comparison) -> str:
    return json.dumps(c.as_dict(), indent=2, ensure_ascii=False)


def flags(r: ConditionResult) -> list[str]:
    """What a card says about its answer besides the answer, as sentences (the page, exports and CLI)."""
    out = [r.note] if r.note else []
    if r.stopped_at:
        out.append(f"Stopped at the {r.stopped_at}-token limit: the answer may be cut short.")
    if r.unsupported:
        out.append(f"Cites {', '.join(r.unsupported)}, which it was not given.")
    return out


EXPORTS = {"md": (to_markdown, "text/markdown"), "html": (to_html, "text/html"), "json": (to_json, "application/json")}

__all__ = [
    "EXPORTS",
    "Comparison",
    "change_lesson",
    "comparison_id",
    "figures",
    "flags",
    "gold_answer",
    "load_comparison",
    "reading",
    "save_comparison",
    "settings_note",
    "to_html",
    "to_json",
    "to_markdown",
]
