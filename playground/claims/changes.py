"""Changing the documents under the models: a changed fact (freshness) and an added contradicting document.

Both pick facts from the held-out evaluation (its gold answers, found verbatim in a document's text),
give each a different value of the same form (:func:`~playground.claims.common.altered`), build an index
of the changed documents in the lab's scratch workspace (incremental: only the changed file is embedded
again) and ask again. The workspace's own documents and index are never touched.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from playground.claims.common import altered
from playground.claims.lab import Lab
from playground.documents import LoadedFile, load_bytes
from playground.edits import FactEdit, apply_edits, passages_with
from playground.evaluate.metrics import exact_match
from playground.evaluate.questions import Question, QuestionSet
from playground.evaluate.records import EvalRun, QuestionResult
from playground.index import PlaygroundIndex

CONTRADICTING_FILE = "zz-contradicting-notes.txt"  # sorts last; named so a source list shows what it is


@dataclass(frozen=True)
class Change:
    """One fact given another value: the question that asks for it, the old and new value, the file it is in."""

    question: Question
    old: str
    new: str
    file_name: str


def pick_changes(lab: Lab, run: EvalRun, count: int, prefer: tuple[str, ...]) -> list[Change]:
    """Up to ``count`` facts that can be changed, preferring questions the ``prefer`` conditions got right.

    A fact qualifies when its gold answer has a number to alter and appears verbatim in exactly one file.
    """

    def rank(r: QuestionResult) -> tuple[int, ...]:
        return tuple(-int(r.scored(c) and r.correct(c) == 1.0) for c in prefer)

    picked: list[Change] = []
    seen: set[str] = set()
    for r in sorted(run.results, key=rank):
        gold = r.question.answer
        new = altered(gold)
        where = passages_with(lab.files, gold)
        if new is None or len(where) != 1 or gold in seen:
            continue
        seen.add(gold)
        picked.append(Change(r.question, gold, new, where[0]))
        if len(picked) == count:
            break
    return picked


def timed_build(lab: Lab, files: list[LoadedFile]) -> tuple[PlaygroundIndex, float]:
    started = time.perf_counter()
    index = lab.build(files)
    return index, time.perf_counter() - started


def changed_index(lab: Lab, changes: list[Change]) -> tuple[PlaygroundIndex, float]:
    """The scratch index of the documents with the facts changed, and the seconds re-indexing took.

    The unchanged documents are indexed first (once; later runs load them), so the timed build is the
    incremental one a person would wait for after editing a document.
    """
    lab.build(lab.files)
    edits = [FactEdit(c.file_name, c.old, c.new) for c in changes]
    return timed_build(lab, apply_edits(lab.files, edits))


def contradicting_index(lab: Lab, changes: list[Change]) -> tuple[PlaygroundIndex, float]:
    """The scratch index of the documents plus one note that states each fact with another value."""
    lines = ["Notes", ""]
    for c in changes:
        lines.append(_sentence_with(lab, c) + "\n")
    note = load_bytes(CONTRADICTING_FILE, "\n".join(lines).encode())
    lab.build(lab.files)
    return timed_build(lab, [*lab.files, note])


def _sentence_with(lab: Lab, change: Change) -> str:
    """The sentence that states the fact, with the new value in place of the old."""
    for f in lab.files:
        if f.file_name != change.file_name:
            continue
        for doc in f.documents:
            at = doc.text.find(change.old)
            if at >= 0:
                start = max(doc.text.rfind(".", 0, at), doc.text.rfind("\n", 0, at)) + 1
                ends = [e for e in (doc.text.find(".", at + len(change.old)), doc.text.find("\n", at)) if e >= 0]
                end = min(ends) if ends else len(doc.text)
                sentence = re.sub(r"\s+", " ", doc.text[start : end + 1]).strip()
                return sentence.replace(change.old, change.new)
    return f"{change.question.question} {change.new}."


def ask(
    lab: Lab, changes: list[Change], index: PlaygroundIndex, name: str, conditions: tuple[str, ...]
) -> EvalRun | None:
    """The changed facts' questions, answered over ``index`` (gold: the new value)."""
    questions = QuestionSet(
        name,
        tuple(Question(c.question.question, c.new, c.file_name, id=c.question.qid) for c in changes),
        origin="questions about facts the experiment changed",
    )
    return lab.evaluation(questions, limit=0, conditions=conditions, index=index)


def gave(text: str, value: str) -> bool:
    return exact_match(text, value) == 1.0


__all__ = ["CONTRADICTING_FILE", "Change", "ask", "changed_index", "contradicting_index", "gave", "pick_changes"]
