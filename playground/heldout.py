"""Held-out questions: the evaluation sets the fine-tuning lab must never train on.

A question set used for evaluation is registered here, under its workspace; the
dataset builder asks :func:`leaks` before it writes a single training example, so
a fine-tune can never be scored on questions it saw. The sample workspace's
``questions.jsonl`` is always held out.

Storage: ``$PLAYGROUND_HOME/workspaces/<ws>/heldout/<name>.jsonl``, one question a line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from playground.storage import write_atomic
from playground.text import normalize  # held-out questions match word for word, articles included
from playground.workspace import slug, workspace_dir

# Two texts "leak" when they share this many consecutive normalised words. Eight words is long
# enough that house phrases ("Nightwren Instruments") never match, short enough that a
# paraphrase which keeps the question's wording still does.
NGRAM = 8


@dataclass(frozen=True)
class Leak:
    """One training text that overlaps a held-out question."""

    example: int  # position of the training text
    question: str  # the held-out question it overlaps
    overlap: str  # the shared words, normalised


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def leaks(texts: Iterable[str], questions: Iterable[str], n: int = NGRAM) -> list[Leak]:
    """Training texts that contain a held-out question, whole or as ``n`` consecutive words.

    A question shorter than ``n`` words leaks only when it appears whole.

    >>> leaks(["Q: When did the GALE-9 go on sale? A: 2 Oct"], ["When did the GALE-9 go on sale?"])[0].example
    0
    >>> leaks(["The GALE-9 went on sale in October."], ["When did the GALE-9 go on sale?"])
    []
    """
    grams: dict[tuple[str, ...], str] = {}
    for question in questions:
        for gram in _ngrams(normalize(question).split(), n):
            grams.setdefault(gram, question)
    found = []
    for i, text in enumerate(texts):
        words = normalize(text).split()
        for size in sorted({len(g) for g in grams}, reverse=True):
            hit = next((g for g in _ngrams(words, size) if g in grams and len(g) == size), None)
            if hit:
                found.append(Leak(i, grams[hit], " ".join(hit)))
                break
    return found


def _folder(workspace: str) -> Path:
    return workspace_dir(workspace) / "heldout"


def register(workspace: str, name: str, questions: Iterable[dict[str, str] | str]) -> Path:
    """Mark a question set as held out for ``workspace``; registering again replaces it."""
    rows = [q if isinstance(q, dict) else {"question": q} for q in questions]
    path = _folder(workspace) / f"{slug(name)}.jsonl"
    return write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def held_out(workspace: str, extra: Iterable[str | Path] = ()) -> list[str]:
    """Every held-out question of ``workspace``, plus those in ``extra`` question files or folders.

    A folder means its ``questions.jsonl`` (so passing the documents folder holds its question set out).
    """
    files = sorted(_folder(workspace).glob("*.jsonl")) if _folder(workspace).is_dir() else []
    for item in extra:
        path = Path(item)
        path = path / "questions.jsonl" if path.is_dir() else path
        if path.is_file():
            files.append(path)
    out: list[str] = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["question"])
    return list(dict.fromkeys(out))
