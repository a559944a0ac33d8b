"""Question sets for evaluation: the workspace's own, imported from JSONL or CSV, or generated from chunks.

A question row is ``{"question", "answer"}`` plus optional ``"source"`` (the file the answer
comes from), ``"chunk_id"`` (the chunk it was generated from) and ``"id"``. Generated sets come
two ways: :func:`generate_questions` needs no model (it turns the facts :mod:`playground.facts`
finds, the dates, amounts, numbers and codes the fine-tuning lab also trains on, into
fill-in-the-blank questions, keeping the chunk id), and
:func:`generate_with_model` asks a chosen model with the visible :data:`QUESTION_PROMPT`.

A set used for evaluation is registered as held out (:func:`register_for_evaluation`), so the
fine-tuning lab never trains on it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llama_index.core.schema import TextNode

from playground import heldout
from playground.config import GenerationParams, Progress, no_progress
from playground.documents import QUESTIONS_FILE, load_questions
from playground.errors import DocumentError, PlaygroundError
from playground.facts import KINDS, Fact, extract_facts, question_from_fact, question_from_sentence
from playground.models import Catalogue, ModelInfo
from playground.text import normalize

IMPORT_TYPES = (".jsonl", ".csv")
# The gold answer of a question the documents cannot answer: the right response is a refusal, and any
# confident answer is a fabrication. Written as a person reads it on a card.
UNANSWERABLE = "(not in the documents)"


@dataclass(frozen=True)
class Question:
    """One evaluation question and its gold answer."""

    question: str
    answer: str
    source: str = ""  # file name the answer is in; "" when unknown
    chunk_id: str = ""  # the chunk a generated question came from
    id: str = ""  # stable id; derived from the question's text when not given
    answers: tuple[str, ...] = ()  # every accepted answer, ``answer`` first; any of them counts

    def __post_init__(self) -> None:
        golds = tuple(dict.fromkeys(a for a in (self.answer, *self.answers) if a))
        object.__setattr__(self, "answers", golds)  # a list from JSON becomes the tuple it stands for

    @property
    def accepted(self) -> str:
        """The accepted answers as a card shows them: ``a · b · c``.

        >>> Question("Which data?", "labelled dataset", answers=("labeled dataset",)).accepted
        'labelled dataset · labeled dataset'
        """
        return " · ".join(self.answers)

    @property
    def qid(self) -> str:
        """The question's id: its own, else a hash of its normalised text.

        >>> Question("How long?", "3 days").qid == Question(" how LONG ", "x").qid
        True
        """
        if self.id:
            return self.id
        return "q" + hashlib.sha256(normalize(self.question).encode()).hexdigest()[:10]

    @property
    def answerable(self) -> bool:
        """False for a question made so that the documents hold no answer (gold :data:`UNANSWERABLE`)."""
        return self.answer != UNANSWERABLE

    def as_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {"question": self.question, "answer": self.answer}
        row.update({k: v for k, v in (("source", self.source), ("chunk_id", self.chunk_id), ("id", self.id)) if v})
        if len(self.answers) > 1:  # one answer keeps the row (and the set's hash) as it always was
            row["answers"] = list(self.answers)
        return row


@dataclass(frozen=True)
class QuestionSet:
    """A named list of questions; ``origin`` says where it came from (shown on the page and the card)."""

    name: str
    questions: tuple[Question, ...]
    origin: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # e.g. the generation prompt

    def __len__(self) -> int:
        return len(self.questions)

    def rows(self) -> list[dict[str, Any]]:
        return [q.as_row() for q in self.questions]

    @property
    def sha256(self) -> str:
        """Hash of the rows in order: two sets with the same questions and answers hash the same."""
        payload = json.dumps(self.rows(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()

    def head(self, limit: int) -> QuestionSet:
        """The first ``limit`` questions (all when ``limit`` is 0)."""
        if not limit or limit >= len(self.questions):
            return self
        return QuestionSet(self.name, self.questions[:limit], self.origin, self.extra)


def from_rows(name: str, rows: Iterable[dict[str, Any]], origin: str = "", file_name: str | None = None) -> QuestionSet:
    """A question set from plain rows; a bad row raises :class:`DocumentError` naming its line."""
    questions: list[Question] = []
    seen: dict[str, int] = {}
    where = file_name or name
    for line, row in enumerate(rows, start=1):
        questions.append(_question(row, where, line))
        qid = questions[-1].qid
        if qid in seen:
            raise DocumentError(where, f"line {line}: repeats the question of line {seen[qid]}; keep one of them")
        seen[qid] = line
    if not questions:
        raise DocumentError(where, "no questions found: each row needs a question and an answer")
    return QuestionSet(name, tuple(questions), origin)


def _question(row: Any, where: str, line: int) -> Question:
    if not isinstance(row, dict):
        raise DocumentError(where, f"line {line}: expected an object with 'question' and 'answer', got {row!r:.60}")
    values: dict[str, str] = {}
    for key in ("question", "answer", "source", "chunk_id", "id"):
        value = row.get(key)
        if value is None:
            continue
        if not isinstance(value, str | int | float):
            raise DocumentError(where, f"line {line}: '{key}' must be text, got {type(value).__name__}")
        values[key] = str(value).strip()
    answers = _answers(row.get("answers"), where, line)
    if not values.get("answer") and answers:  # a row may give only the list: its first is the one shown
        values["answer"] = answers[0]
    for key in ("question", "answer"):
        if not values.get(key):
            raise DocumentError(where, f"line {line}: '{key}' is missing or empty")
    return Question(**values, answers=answers)


def _answers(value: Any, where: str, line: int) -> tuple[str, ...]:
    """A row's ``answers``: a JSON list, or text with ``|`` between the answers (a CSV cell).

    >>> _answers("labelled dataset | labeled dataset", "q.csv", 2)
    ('labelled dataset', 'labeled dataset')
    >>> _answers(["24 months", 24], "q.jsonl", 1)
    ('24 months', '24')
    """
    if value is None or value == "":
        return ()
    items = value.split("|") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str | int | float) for v in items):
        raise DocumentError(where, f"line {line}: 'answers' must be a list of texts (or 'a | b' in a CSV cell)")
    return tuple(text for v in items if (text := str(v).strip()))


def parse_questions(file_name: str, data: bytes, name: str | None = None) -> QuestionSet:
    """Read a JSONL (one object a line) or CSV (a header row with ``question`` and ``answer``) question file.

    Either kind may give several accepted answers: ``"answers": [...]`` in JSONL, an ``answers`` column
    with ``|`` between them in CSV (with or without ``answer``, which else is the first of them).

    >>> qs = parse_questions("q.csv", b"Question,Answer,source\\nHow long?,3 days,a.md\\n")
    >>> qs.name, qs.questions[0].answer, qs.questions[0].source
    ('q', '3 days', 'a.md')
    >>> parse_questions("q.jsonl", b'{"question": "Why?"}\\n')
    Traceback (most recent call last):
    ...
    playground.errors.DocumentError: q.jsonl: line 1: 'answer' is missing or empty
    """
    suffix = Path(file_name).suffix.lower()
    name = name or Path(file_name).stem
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DocumentError(file_name, "is not UTF-8 text: save it as UTF-8 and try again") from None
    origin = f"imported from {file_name}"
    if suffix == ".jsonl":
        rows: list[Any] = []
        numbers: list[int] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise DocumentError(file_name, f"line {number}: not valid JSON ({err.msg})") from None
            numbers.append(number)
        try:
            return from_rows(name, rows, origin, file_name)
        except DocumentError as err:  # report the file's own line numbers, not the row's position
            raise _renumber(err, numbers) from None
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        header = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
        missing = [c for c in ("question", "answer") if c not in header and not (c == "answer" and "answers" in header)]
        if missing:
            raise DocumentError(file_name, f"line 1: the header needs the column(s) {', '.join(missing)}")
        rows = [{k.strip().lower(): v for k, v in r.items() if k} for r in reader]
        numbers = list(range(2, len(rows) + 2))  # the header is line 1 (quoted newlines aside)
        try:
            return from_rows(name, rows, origin, file_name)
        except DocumentError as err:
            raise _renumber(err, numbers) from None
    raise DocumentError(file_name, f"unsupported question file: use one of {', '.join(IMPORT_TYPES)}")


def _renumber(err: DocumentError, numbers: Sequence[int]) -> DocumentError:
    def line(match: re.Match[str]) -> str:
        i = int(match.group(1)) - 1
        return f"line {numbers[i] if 0 <= i < len(numbers) else i + 1}"

    return DocumentError(err.file_name, re.sub(r"line (\d+)", line, err.reason))


def load_question_file(path: str | Path) -> QuestionSet:
    """A question file from disk (JSONL or CSV); a folder means its ``questions.jsonl``."""
    path = Path(path)
    if path.is_dir():
        path = path / QUESTIONS_FILE
    if not path.is_file():
        raise DocumentError(str(path), "no such question file: give a .jsonl or .csv file")
    name = path.parent.name if path.name == QUESTIONS_FILE else path.stem
    return parse_questions(path.name, path.read_bytes(), name=name)


def workspace_questions(folder: str | Path, name: str | None = None) -> QuestionSet:
    """The question set kept beside a workspace's documents (``questions.jsonl``)."""
    folder = Path(folder)
    if not (folder / QUESTIONS_FILE).is_file():
        raise DocumentError(str(folder), f"has no {QUESTIONS_FILE}: import a question set or generate one")
    try:
        rows = load_questions(folder)
    except json.JSONDecodeError as err:
        raise DocumentError(str(folder / QUESTIONS_FILE), f"line {err.lineno}: not valid JSON ({err.msg})") from None
    label = name or folder.resolve().name
    return from_rows(label, rows, origin=f"{QUESTIONS_FILE} of {label}", file_name=QUESTIONS_FILE)


def register_for_evaluation(workspace: str, questions: QuestionSet) -> Path:
    """Hold this set out of every fine-tune of ``workspace`` (the shared check the fine-tuning lab asks)."""
    return heldout.register(workspace, questions.name, questions.rows())


# -- the deterministic generator ---------------------------------------------------------------
def generate_questions(
    nodes: Sequence[TextNode], limit: int = 20, name: str = "generated", index: Any = None
) -> QuestionSet:
    """Questions made from the chunks without any model, each keeping its chunk's id and file.

    Two kinds of recipe: the prose recipes of :mod:`playground.questioncraft` (definitions, lists under
    a heading, why and what-for sentences, question headings) and the facts
    :func:`playground.facts.extract_facts` finds, the same the fine-tuning lab trains on. Every candidate
    passes :class:`playground.questioncraft.Gates`; with ``index`` also the retrieval gate (its own chunk
    in the top 5). ``extra["gates"]`` counts what each recipe made and each gate dropped. Chunks are taken
    evenly across the corpus (in order, so the same chunks give the same set), one question per chunk.
    """
    from playground.questioncraft import Gates, fact_question, index_retriever, prose_candidates

    gates = Gates(index_retriever(index) if index is not None else None)
    by_id = {node.node_id: node for node in nodes}
    candidates: dict[str, list[tuple[str, str, str]]] = {}
    for c in prose_candidates(nodes):
        candidates.setdefault(c.chunk_id, []).append((c.question, c.answer, c.recipe))
    by_chunk: dict[str, list[Fact]] = {}
    for fact in extract_facts(nodes):
        # Not headings, fragments or rows run together, nor the tail of a sentence cut by the chunk before.
        if 6 <= len(fact.sentence.split()) <= 40 and not fact.sentence[0].islower():
            by_chunk.setdefault(fact.chunk_id, []).append(fact)
    for chunk_id, facts in by_chunk.items():
        order = {sentence: i for i, sentence in enumerate(dict.fromkeys(f.sentence for f in facts))}
        for fact in sorted(facts, key=lambda f: (order[f.sentence], KINDS.index(f.kind))):
            made = fact_question(fact)
            if made:
                candidates.setdefault(chunk_id, []).append((*made, "fact"))
    usable: list[tuple[TextNode, str, str]] = []
    for node in nodes:
        for question, answer, recipe in candidates.get(node.node_id, []):
            if gates.admit(question, answer, by_id[node.node_id].get_content(), node.node_id, recipe):
                usable.append((node, question, answer))
                break  # one question per chunk
    if not usable:
        raise PlaygroundError(
            "no sentence in these documents defines a term, lists points under a heading, gives a reason or "
            "states a date, number, amount or code to ask about: import a question set instead"
        )
    count = min(limit or len(usable), len(usable))
    picked: list[Question] = []
    for i in range(count):
        node, question, answer = usable[i * len(usable) // count]
        picked.append(Question(question, answer, str(node.metadata.get("file_name", "")), node.node_id))
    origin = f"generated from {len(nodes)} chunks (no model)"
    return QuestionSet(name, tuple(picked), origin=origin, extra={"gates": gates.report.as_dict()})


# -- the model-based generator ------------------------------------------------------------------
QUESTION_PROMPT = (
    "Read the passage and write one question that it answers, with a short answer copied from the passage.\n"
    "Reply in exactly two lines:\n"
    "Question: <the question>\n"
    "Answer: <the short answer>\n\n"
    "Passage:\n{passage}"
)


def parse_generated(text: str) -> tuple[str, str] | None:
    """The question and answer of a model's reply in the prompt's two-line format; None if it is not.

    >>> parse_generated("Question: How long is the warranty?\\nAnswer: 24 months.")
    ('How long is the warranty?', '24 months')
    >>> parse_generated("I cannot help with that.") is None
    True
    """
    question = re.search(r"question\s*:\s*(.+)", text, re.IGNORECASE)
    answer = re.search(r"answer\s*:\s*(.+)", text, re.IGNORECASE)
    if not question or not answer:
        return None
    q, a = question.group(1).strip(), answer.group(1).strip().rstrip(".").strip()
    return (q, a) if q and a else None


def generate_with_model(
    nodes: Sequence[TextNode],
    *,
    catalogue: Catalogue,
    model: ModelInfo,
    limit: int = 20,
    prompt: str = QUESTION_PROMPT,
    params: GenerationParams | None = None,
    grounded: bool = True,
    name: str = "generated",
    progress: Progress = no_progress,
) -> QuestionSet:
    """Ask ``model`` for one question per chunk (chunks spread evenly), with ``prompt`` (``{passage}`` filled).

    With ``grounded`` a reply is kept only when its answer appears in the chunk, so its gold answer
    can be checked; replies not in the two-line format are dropped.
    """
    if "{passage}" not in prompt:
        raise PlaygroundError("the question prompt needs a {passage} placeholder for the chunk's text")
    params = params or GenerationParams(max_tokens=96)
    count = min(limit or len(nodes), len(nodes))
    chosen = [nodes[i * len(nodes) // count] for i in range(count)] if count else []
    made: list[Question] = []
    from playground.questioncraft import GATES, Gates

    gates = Gates(only=[g for g in GATES if grounded or g != "answer"])
    unparsed = 0
    for i, node in enumerate(chosen):
        progress(i / max(len(chosen), 1), f"Asking {model.name} for a question ({i + 1}/{len(chosen)})")
        passage = node.get_content()
        messages = [{"role": "user", "content": prompt.replace("{passage}", passage)}]
        reply = parse_generated(catalogue.chat(model, messages, params).collect())
        if reply is None:
            unparsed += 1
            continue
        if not gates.admit(reply[0], reply[1], passage, node.node_id, "model"):
            continue
        made.append(Question(reply[0], reply[1], str(node.metadata.get("file_name", "")), node.node_id))
    progress(1.0, f"{len(made)} of {len(chosen)} replies made usable questions")
    if not made:
        raise PlaygroundError(
            f"{model.id} wrote no usable question for {len(chosen)} passages: "
            "try a larger model, or the generator that needs no model"
        )
    report = gates.report.as_dict() | {"unparsed": unparsed}
    return QuestionSet(name, tuple(made), origin=f"generated by {model.id}", extra={"prompt": prompt, "gates": report})


__all__ = [
    "IMPORT_TYPES",
    "QUESTION_PROMPT",
    "UNANSWERABLE",
    "Question",
    "QuestionSet",
    "from_rows",
    "generate_questions",
    "generate_with_model",
    "load_question_file",
    "parse_generated",
    "parse_questions",
    "question_from_fact",
    "question_from_sentence",
    "register_for_evaluation",
    "workspace_questions",
]
