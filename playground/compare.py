"""One question, four answers: Base, Base+RAG, Fine-tuned, Fine-tuned+RAG.

Retrieval runs once and both RAG conditions get the same passages, so the only
difference between the columns is the model and whether it saw the passages.
Each condition streams on its own and fails on its own: an error becomes that
condition's ``error`` while the others still answer.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from playground.config import GenerationParams, RetrievalSettings
from playground.errors import ConfigError, PlaygroundError
from playground.index import Hit
from playground.models import Catalogue, Message, Metrics, ModelInfo, corpus_note
from playground.text import normalize

CONDITIONS = ("base", "base+rag", "ft", "ft+rag")
LABELS = {"base": "Base", "base+rag": "Base+RAG", "ft": "Fine-tuned", "ft+rag": "Fine-tuned+RAG"}
# One colour per condition, used by every card and chart (Base grey: the reference everything is read against).
COLORS = {"base": "#6c757d", "base+rag": "#1f77b4", "ft": "#ff7f0e", "ft+rag": "#2ca02c"}
HELP = {
    "base": "The base model alone: what it already knows.",
    "base+rag": "The base model given the retrieved passages: knowledge supplied at question time.",
    "ft": "The fine-tuned model alone: knowledge and style learned into its weights.",
    "ft+rag": "The fine-tuned model given the same passages: both at once.",
}
# A Fine-tuned slot with no fine-tune chosen runs the base model: described as what it is.
HELP_AS_BASE = {
    "ft": "The base model again (no fine-tune chosen): what it already knows.",
    "ft+rag": "The base model again given the same passages (no fine-tune chosen).",
}


def describe(condition: str, model: str, base: str | None = None) -> str:
    """What a card's condition is, as its header says it; a Fine-tuned slot running ``base`` says so.

    >>> describe("ft", "embedded:b", base="embedded:b")
    'The base model again (no fine-tune chosen): what it already knows.'
    >>> describe("ft", "embedded:tuned", base="embedded:b")
    'The fine-tuned model alone: knowledge and style learned into its weights.'
    """
    if base is not None and model == base and condition in HELP_AS_BASE:
        return HELP_AS_BASE[condition]
    return HELP[condition]


DEFAULT_SYSTEM = "You are a helpful assistant. Answer briefly and precisely."
DEFAULT_RAG_TEMPLATE = (
    "Answer the question using the context below. "
    "If the context does not contain the answer, say that you don't know.\n\n"
    "Context:\n{context}\n\n"
    "Question: {question}"
)


class Retriever(Protocol):
    """What the RAG conditions read from: a :class:`~playground.index.PlaygroundIndex`, or :class:`Retrieved`."""

    def retrieve(self, question: str, settings: RetrievalSettings | None = None) -> list[Hit]: ...


@dataclass(frozen=True)
class Retrieved:
    """Passages retrieved beforehand (the evaluation retrieves deeper once, for its rank metrics).

    ``error`` is what retrieval said when it failed: the RAG conditions then report it.
    """

    hits: list[Hit]
    error: str | None = None

    def retrieve(self, question: str, settings: RetrievalSettings | None = None) -> list[Hit]:
        if self.error:
            raise PlaygroundError(self.error)
        return self.hits[: (settings or RetrievalSettings()).top_k]


@dataclass(frozen=True)
class PromptSettings:
    """What the models are told. The RAG template is shown and editable in the UI."""

    system: str = DEFAULT_SYSTEM
    rag_template: str = DEFAULT_RAG_TEMPLATE

    def __post_init__(self) -> None:
        fields = {name for _, name, _, _ in string.Formatter().parse(self.rag_template) if name is not None}
        missing = {"context", "question"} - fields
        if missing:
            names = ", ".join("{" + m + "}" for m in sorted(missing))
            raise ConfigError(f"PromptSettings.rag_template needs the placeholder(s) {names}")
        unknown = fields - {"context", "question"}
        if unknown:
            raise ConfigError(
                f"PromptSettings.rag_template has unknown placeholder(s) {sorted(unknown)}: "
                "only {context} and {question} are filled (write {{ and }} for literal braces)"
            )

    def messages(self, question: str, hits: list[Hit] | None) -> list[Message]:
        """The chat messages of a condition: RAG conditions get the template filled with the passages."""
        user = question if hits is None else self.rag_template.format(context=format_context(hits), question=question)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


def place(file_name: str, page: int | None) -> str:
    """Where a passage is, as the cards, the prompt and the exports name it.

    >>> place("a.pdf", 2), place("b.md", None)
    ('a.pdf, page 2', 'b.md')
    """
    return f"{file_name}, page {page}" if page else file_name


def format_context(hits: list[Hit]) -> str:
    """Number the passages and name their source, so an answer can cite them.

    >>> from playground.index import Hit
    >>> print(format_context([Hit("n", "a.pdf", 2, 1.0, "Text.", 1)]))
    [1] a.pdf, page 2
    Text.
    """
    blocks = []
    for i, hit in enumerate(hits, start=1):
        where = place(hit.file_name, hit.page)
        blocks.append(f"[{i}] {where}\n{hit.text.strip()}")
    return "\n\n".join(blocks)


@dataclass
class Source:
    """A passage a RAG answer was given, with the spans of it that the answer repeats."""

    file_name: str
    page: int | None
    score: float
    similarity: float | None
    rank: int
    text: str
    used_spans: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def from_hit(cls, hit: Hit) -> Source:
        return cls(hit.file_name, hit.page, hit.score, hit.similarity, hit.rank, hit.text)


@dataclass
class ConditionResult:
    condition: str
    model: str  # model id
    text: str = ""
    metrics: Metrics | None = None
    sources: list[Source] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)  # the exact prompt
    retrieval_s: float | None = None  # shared retrieval time, for RAG conditions
    error: str | None = None
    note: str | None = None
    stopped_at: int | None = None  # the token limit, when the answer ran into it (it may be cut short)
    unsupported: list[str] = field(default_factory=list)  # sources it cites that it was not given

    @property
    def label(self) -> str:
        return LABELS[self.condition]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["metrics"] = self.metrics.as_dict() if self.metrics else None
        return out


class ConditionRun:
    """One of the four answers: iterate ``stream()`` for text; ``result`` is complete afterwards."""

    def __init__(self, catalogue: Catalogue, result: ConditionResult, model: ModelInfo, params: GenerationParams):
        self._catalogue = catalogue
        self._model = model
        self._params = params
        self.result = result

    @property
    def condition(self) -> str:
        return self.result.condition

    def stream(self) -> Iterator[str]:
        result = self.result
        if result.error:  # e.g. no index: nothing to ask
            return
        try:
            generation = self._catalogue.chat(self._model, result.messages, self._params)
            yield from generation
            result.text, result.metrics = generation.text, generation.metrics
        except PlaygroundError as err:
            result.error = str(err)
        except Exception as err:  # an unexpected failure still stays in its own card
            result.error = f"{type(err).__name__}: {err}"
        if result.sources and result.text:
            for source in result.sources:
                source.used_spans = answer_spans(result.text, source.text)
        if result.metrics and result.metrics.completion_tokens >= self._params.max_tokens:
            result.stopped_at = self._params.max_tokens
        result.unsupported = unsupported_citations(result.text, result.sources)

    def run(self) -> ConditionResult:
        for _ in self.stream():
            pass
        return self.result


@dataclass
class CompareRun:
    question: str
    hits: list[Hit]
    retrieval_s: float | None
    conditions: list[ConditionRun]
    retrieval_error: str | None = None

    def run_all(self) -> list[ConditionResult]:
        return [c.run() for c in self.conditions]

    def results(self) -> list[ConditionResult]:
        return [c.result for c in self.conditions]


def compare(
    question: str,
    *,
    catalogue: Catalogue,
    base: ModelInfo,
    finetuned: ModelInfo | None = None,
    index: Retriever | None = None,
    retrieval: RetrievalSettings | None = None,
    generation: GenerationParams | None = None,
    prompts: PromptSettings | None = None,
    documents: Mapping[str, str] | None = None,
    edits: int = 0,
) -> CompareRun:
    """Retrieve once and set up the four conditions; nothing is generated until they are iterated.

    ``documents`` (file name -> sha256 as uploaded, see :func:`playground.edits.as_uploaded`) lets the
    Fine-tuned cards say when their model was trained on other documents, and ``edits`` (the fact edits in
    force) when it was trained on these before they were edited.
    """
    question = question.strip()
    if not question:
        raise ConfigError("the question is empty: type a question first")
    retrieval = retrieval or RetrievalSettings()
    generation = generation or GenerationParams()
    prompts = prompts or PromptSettings()
    hits: list[Hit] = []
    retrieval_s: float | None = None
    retrieval_error: str | None = None
    if index is None:
        retrieval_error = "No index yet: add documents and build the index to see the RAG answers."
    else:
        started = time.perf_counter()
        try:
            hits = index.retrieve(question, retrieval)
        except PlaygroundError as err:
            retrieval_error = str(err)
        retrieval_s = time.perf_counter() - started
    ft_note = None
    if finetuned is None:
        finetuned = base
        ft_note = "No fine-tuned model chosen yet: this slot runs the base model."
    elif documents is not None:
        ft_note = corpus_note(finetuned, documents, edits)
    runs = []
    for condition in CONDITIONS:
        model = finetuned if condition.startswith("ft") else base
        rag = condition.endswith("+rag")
        result = ConditionResult(
            condition=condition, model=model.id, note=ft_note if condition.startswith("ft") else None
        )
        if rag:
            result.retrieval_s = retrieval_s
            result.error = retrieval_error
            result.sources = [Source.from_hit(h) for h in hits]
        if not result.error:
            result.messages = prompts.messages(question, hits if rag else None)
        runs.append(ConditionRun(catalogue, result, model, generation))
    return CompareRun(question, hits, retrieval_s, runs, retrieval_error)


def example_questions(rows: list[dict[str, str]], limit: int = 5) -> list[str]:
    """A question set's first question from each document, so the first screen spans the whole workspace.

    >>> example_questions([{"question": "a?", "source": "x"}, {"question": "b?", "source": "x"},
    ...                    {"question": "c?", "source": "y"}])
    ['a?', 'c?']
    """
    first: dict[str, str] = {}
    for row in rows:
        first.setdefault(row.get("source", ""), row["question"])
    return list(first.values())[:limit]


_CITED = re.compile(r"\bSources?\s*:\s*([^)\n]+)|\[(\d{1,2})\]", re.IGNORECASE)
_FILE = re.compile(r"\b[\w-]+\.(?:pdf|docx|md|txt|html?)\b", re.IGNORECASE)


def citations(text: str) -> list[str]:
    """What an answer names as its source: "(Source: X, Y)", passage numbers "[2]", file names.

    >>> citations("Answer: 45 days (Source: NW-POL-003). See [2] and faq.md.")
    ['NW-POL-003', '[2]', 'faq.md']
    """
    found: list[str] = []
    for match in _CITED.finditer(text):
        if match.group(1):
            found += [p.strip(" .'\"") for p in re.split(r",|;| and ", match.group(1)) if p.strip(" .'\"")]
        else:
            found.append(f"[{match.group(2)}]")
    found += _FILE.findall(text)
    return list(dict.fromkeys(found))


def unsupported_citations(text: str, sources: list[Source]) -> list[str]:
    """The sources ``text`` cites that were not among ``sources``: a passage number it never saw, a file not
    given, a code or name no given passage contains. An answer without passages cites only what it was not given.

    >>> given = [Source("a.pdf", 1, 1.0, None, 1, "Policy NW-POL-003: returns within 45 days.")]
    >>> unsupported_citations("45 days (Source: NW-POL-003) [1]", given)
    []
    >>> unsupported_citations("45 days (Source: b.md) [2]", given)
    ['b.md', '[2]']
    """
    given = f" {' '.join(normalize(s.text) for s in sources)} "
    names = {s.file_name.lower() for s in sources}
    out = []
    for cited in citations(text):
        if cited.startswith("["):
            ok = 1 <= int(cited[1:-1]) <= len(sources)
        else:
            key = normalize(cited)
            ok = cited.lower() in names or bool(key and f" {key} " in given)
        if not ok:
            out.append(cited)
    return out


_WORD = re.compile(r"\w+(?:[.,/-]\w+)*")


def answer_spans(answer: str, passage: str, min_run: int = 3) -> list[tuple[int, int]]:
    """Character spans of ``passage`` that ``answer`` repeats: runs of ``min_run``+ words, or any word with a digit.

    Words are compared case-insensitively; neighbouring matches merge into one span.

    >>> p = "Returns are accepted within 45 days under policy NW-POL-014."
    >>> [p[a:b] for a, b in answer_spans("You can return it within 45 days (NW-POL-014).", p)]
    ['within 45 days', 'NW-POL-014']
    >>> [p[a:b] for a, b in answer_spans("returns are accepted within 45 days", p)]
    ['Returns are accepted within 45 days']
    >>> answer_spans("nothing shared here", p)
    []
    """
    answer_words = [w.lower() for w in _WORD.findall(answer)]
    grams = {tuple(answer_words[i : i + min_run]) for i in range(len(answer_words) - min_run + 1)}
    numbers = {w for w in answer_words if any(c.isdigit() for c in w)}
    words = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(passage)]
    marked = [False] * len(words)
    for i in range(len(words)):
        if tuple(w for _, _, w in words[i : i + min_run]) in grams:
            marked[i : i + min_run] = [True] * min_run
        if words[i][2] in numbers:
            marked[i] = True
    spans: list[tuple[int, int]] = []
    for i, (start, end, _) in enumerate(words):
        if not marked[i]:
            continue
        if spans and i > 0 and marked[i - 1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


__all__ = [
    "CONDITIONS",
    "DEFAULT_RAG_TEMPLATE",
    "DEFAULT_SYSTEM",
    "HELP",
    "LABELS",
    "CompareRun",
    "ConditionResult",
    "ConditionRun",
    "PromptSettings",
    "Retrieved",
    "Retriever",
    "Source",
    "answer_spans",
    "citations",
    "compare",
    "describe",
    "example_questions",
    "place",
    "unsupported_citations",
]


def cost_figure(results: list[ConditionResult]) -> Any:
    """A plotly figure: latency and prompt tokens of each answered condition, side by side, in its colour."""
    from plotly.subplots import make_subplots

    answered = [r for r in results if r.metrics]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Latency (s)", "Prompt tokens"))
    for r in answered:
        assert r.metrics is not None
        hover = f"{r.model}<br>first token {r.metrics.first_token_s or 0:.2f} s"
        for col, value in ((1, r.metrics.latency_s), (2, r.metrics.prompt_tokens)):
            fig.add_bar(
                x=[r.label], y=[value], name=r.label, marker_color=COLORS[r.condition],
                showlegend=False, hovertext=hover, row=1, col=col,
            )  # fmt: skip
    fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig
