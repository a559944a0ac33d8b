"""Facts in a corpus's chunks: the one extractor behind the training data and the generated questions.

A fact is a span of a known kind (:data:`FACT_PATTERNS`: a date, an amount, a duration, a code, a
name…) in one sentence, table row or note line of a chunk (:func:`units`), kept with the heading it
sits under and what an answer about it cites (:class:`Fact`). The fine-tuning lab turns facts into
training examples (:mod:`playground.finetune.dataset`) and the evaluation lab into fill-in-the-blank
questions (:func:`playground.evaluate.questions.generate_questions`), so both read the documents alike.

Which capitalised pairs are not people is data, not code: generic English words ship in
``not_names.txt``, and a corpus's own product and company names are read from the corpus itself
(:func:`corpus_words`), so a new corpus needs no code change.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

from llama_index.core.schema import TextNode

from playground.text import normalize

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip
_MONTH = f"(?:{'|'.join(MONTHS)})"
# "9 March 2011", "March 9, 2011", "March 2011", "2011-03-09"
_DATE = rf"\b\d{{1,2}} {_MONTH} \d{{4}}\b|\b{_MONTH} \d{{1,2}}, \d{{4}}\b|\b{_MONTH} \d{{4}}\b|\b\d{{4}}-\d\d-\d\d\b"
_NUM = r"\d(?:[\d,]*\d)?(?:\.\d+)?"
UNITS = (
    r"(?:working days?|business days?|business hours?|calendar days?|seconds?|minutes?|hours?|days?|weeks?|"
    r"months?|years?|km|m/s|mm/h|mm|cm|m|kg|g|°C|V|sensors?|stations?|units?|tickets?|languages?|employees|"
    r"people|digits|cells|percent|%)"
)
# Most specific first: a date is not also read as a number with a unit.
FACT_PATTERNS: list[tuple[str, str]] = [
    ("date", _DATE),
    ("money", rf"(?:\b(?:EUR|USD|GBP|CHF)|€|\$|£)\s?{_NUM}(?: (?:thousand|million|billion))?"),
    ("email", r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    ("phone", r"\+\d{1,3}(?: \d{1,4}){2,5}"),
    ("extension", r"\bext(?:\.|ension) \d{3,5}\b"),
    ("time", r"\b\d{1,2}:\d{2}(?: to \d{1,2}:\d{2})?"),
    ("version", r"\b\d+\.\d+\.\d+\b"),
    ("code", r"\b[A-Z]{2,}(?:-[A-Z0-9]+)*-[A-Z]*\d[A-Z0-9]*\b"),
    ("quantity", rf"(?:[+−-])?\b{_NUM} ?{UNITS}(?![\w/])"),
    ("name", r"\b[A-Z][a-z]+(?:-[A-Z][a-z]+)? [A-Z][a-z]+(?:-[A-Z][a-z]+)+\b|\b[A-Z][a-z]+ [A-Z][a-z]{3,}\b"),
]
KINDS = tuple(kind for kind, _ in FACT_PATTERNS)  # also the order a question generator prefers them in
_FACT_RE = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in FACT_PATTERNS))
_CODE_RE = re.compile(dict(FACT_PATTERNS)["code"])
_QUALIFIER = re.compile(
    r"(?:within|up to|about|every|at least|at most|roughly|around|only|exactly|over|under|below|above)\s+$", re.I
)
# A section heading with a code, e.g. "NW-POL-003: Customer returns": facts below it cite the code.
_CODE_HEADING = re.compile(r"^\s*(?:#+\s*)?([A-Z][A-Z0-9]*(?:-[A-Z0-9]+){1,3})\s*:\s+([^\n.]{2,80})$", re.M)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(*])")
_BULLET = re.compile(r"^\s*(?:[*•]|-(?=\s)|\d+\.(?=\s))\s*")
_DASH_LINE = re.compile(r"\S\s+[–—]\s+\S|^[^:]{2,50}:\s+\S")
_REFERS_BACK = re.compile(r"(?:It|Its|This|They|Their)\b")  # a sentence about the last code named


def _read_words(name: str) -> frozenset[str]:
    text = resources.files("playground").joinpath(name).read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() if not line.lstrip().startswith("#") for w in line.split())


# Capitalised words that are never part of a person's name, in any corpus.
NOT_NAMES: frozenset[str] = _read_words("not_names.txt") | frozenset(MONTHS)


class Span(NamedTuple):
    """One match of a fact pattern in a sentence."""

    kind: str  # a key of FACT_PATTERNS
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Fact:
    """One fact in one sentence of one chunk."""

    answer: str  # what an answer states, e.g. "within 45 days"
    span: str  # the matched text, e.g. "45 days"
    kind: str  # a key of FACT_PATTERNS
    sentence: str  # the sentence (or table row / note line) that states it
    context: str  # the heading it sits under, "" when none
    source: str  # what the answer cites: the section's code, else the file name
    chunk_id: str
    file_name: str
    start: int  # where span begins in sentence


def units(text: str) -> list[tuple[str, bool]]:
    """Sentence-like units of a chunk, with whether each is a standalone short line (a heading candidate).

    Wrapped lines (PDF, plain text) are joined; table rows, bullets and short lines stand alone. A table
    row under a header row reads "Header: cell; …", so the row states its facts on its own.

    >>> text = "# Returns\\n" + "Customers may return any product they bought from us within 45\\ndays. Keep the box."
    >>> units(text + "\\n\\n| Tier | Hours |\\n|---|---|\\n| 1 | 8 hours |\\n* New: a thing")
    ... # doctest: +NORMALIZE_WHITESPACE
    [('# Returns', True), ('Customers may return any product they bought from us within 45 days.', False),
     ('Keep the box.', False), ('Tier | Hours', True), ('Tier: 1; Hours: 8 hours.', False), ('New: a thing', True)]
    """
    out: list[tuple[str, bool]] = []
    buffer = ""
    header: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        is_row = line.count("|") >= 2 or (line.count(" | ") >= 1 and not line.endswith("."))
        if buffer and (not line or is_row or _BULLET.match(raw) or len(buffer) < 60 or buffer.endswith((".", ":"))):
            out.extend((s, False) for s in _SENTENCE_END.split(buffer))
            buffer = ""
        if not line:
            header = None
            continue
        if is_row:
            cells = [c.strip(" *") for c in line.strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                continue  # a markdown separator row
            if header is None:
                header = cells
                out.append((" | ".join(cells), True))
            else:
                pairs = zip(header, cells, strict=False) if len(header) == len(cells) else enumerate(cells)
                out.append(("; ".join(f"{h}: {c}" if isinstance(h, str) else c for h, c in pairs) + ".", False))
            continue
        header = None
        line = _BULLET.sub("", line).replace("**", "")
        if len(line) < 60 and not line.endswith((".", ":", ",", ";")) and not buffer:
            out.append((line, True))  # a heading, a spec line or a short note
            continue
        buffer = f"{buffer} {line}".strip()
    if buffer:
        out.extend((s, False) for s in _SENTENCE_END.split(buffer))
    return [(u.strip(), short) for u, short in out if u.strip()]


def facts_in(sentence: str, not_names: Collection[str] = NOT_NAMES) -> list[Span]:
    """The fact spans of one sentence, left to right; a "name" with a word of ``not_names`` is none.

    >>> [(s.kind, s.text) for s in facts_in("Ilse Vandermolen founded Nightwren Instruments on 9 March 2011.")]
    [('name', 'Ilse Vandermolen'), ('name', 'Nightwren Instruments'), ('date', '9 March 2011')]
    >>> [s.text for s in facts_in("Ilse Vandermolen founded Nightwren Instruments.", NOT_NAMES | {"Nightwren"})]
    ['Ilse Vandermolen']
    """
    found = []
    for m in _FACT_RE.finditer(sentence):
        kind = m.lastgroup or ""
        span = m.group(0).strip()
        if kind == "name" and any(w in not_names for w in re.split(r"[ -]", span)):
            continue
        if kind == "quantity" and re.fullmatch(r"[+−-]?\d{4}", span):
            continue  # a bare year is a date fragment, not an amount
        found.append(Span(kind, span, m.start(), m.end()))
    return found


def _is_title(unit: str, first_line: bool) -> bool:
    """A document's first line, a markdown or "CODE: title" heading, or a line in capitals."""
    if first_line or unit.startswith("#") or _CODE_HEADING.match(unit):
        return True
    words = re.findall(r"[A-Za-z]{2,}", re.sub(r"\([^)]*\)", "", unit))  # "SKYLOG APP (iOS and Android)"
    return len(words) >= 2 and all(w.isupper() for w in words)


def corpus_words(chunks: Iterable[TextNode]) -> frozenset[str]:
    """The capitalised words a corpus names its own things with, which are therefore no person's name.

    They are the words of its title lines (each document's first line, markdown, "CODE: title" and
    all-capitals headings) and the capitalised words right after a product code ("NW-GALE-9 Pro Wind
    Station"). Tables and body text are not read: people are listed there.

    >>> from llama_index.core.schema import TextNode
    >>> text = "# Quillon Labs\\n\\nOur QL-7 Amber Meter is sold by Ada Lovelace.\\n\\nGLIMMER APP (iOS)"
    >>> sorted(corpus_words([TextNode(text=text)]))
    ['Amber', 'App', 'Glimmer', 'Labs', 'Meter', 'Quillon']
    """
    words: set[str] = set()
    for node in chunks:
        at_doc_start = not node.metadata.get("start_char")
        for i, (unit, standalone) in enumerate(units(node.get_content())):
            if standalone and _is_title(unit, i == 0 and at_doc_start):
                title = _CODE_RE.sub(" ", unit)  # "GALE FIRMWARE (NW-GALE-7)": the code is no word
                words.update(w.capitalize() if w.isupper() else w for w in re.findall(r"\b[A-Z][A-Za-z]*\b", title))
            for code in _CODE_RE.finditer(unit):
                after = re.match(r"(?:\s+[A-Z][a-z]+)+", unit[code.end() :])
                words.update(after.group(0).split() if after else ())
    return frozenset(words)


def extract_facts(chunks: Sequence[TextNode], not_names: Collection[str] | None = None) -> list[Fact]:
    """Facts in chunk order, each (sentence, fact) pair once even where chunks overlap.

    Each fact keeps the heading it sits under (and, for notes under a "4.3.0 – 10 September 2024"
    line, that line too), because a sentence such as "Its list price is EUR 349." means nothing alone.
    ``not_names`` defaults to :data:`NOT_NAMES` and the chunks' own :func:`corpus_words`.
    """
    if not_names is None:
        not_names = NOT_NAMES | corpus_words(chunks)
    seen: set[tuple[str, str]] = set()
    facts: list[Fact] = []
    # Carried from one chunk of a document into the next: the code heading, the heading, the key line.
    code_by_doc: dict[str, str] = {}
    heading_by_doc: dict[str, str] = {}
    keyline_by_doc: dict[str, str] = {}
    subject_by_doc: dict[str, str] = {}
    for node in chunks:
        file_name = str(node.metadata.get("file_name", ""))
        doc = node.ref_doc_id or file_name
        text = node.get_content()
        at_doc_start = not node.metadata.get("start_char")
        for i, (unit, standalone) in enumerate(units(text)):
            unit = unit.lstrip("# ").strip("*_ ")
            matches = facts_in(unit, not_names)
            heading = _CODE_HEADING.match(unit)
            if heading:
                code_by_doc[doc] = heading.group(1)
                heading_by_doc[doc], keyline_by_doc[doc] = unit, ""
                continue
            if i == 0 and not at_doc_start:
                standalone = False  # a chunk's first line may be the tail of a cut sentence
                if len(unit.split()) < 6:
                    continue
            is_key_line = standalone and bool(_DASH_LINE.search(unit))
            only_codes = all(m.kind == "code" for m in matches)
            is_heading = not matches or (only_codes and not is_key_line)
            if standalone and "|" not in unit and is_heading and re.search(r"[A-Za-z]{3}", unit):
                heading_by_doc[doc], keyline_by_doc[doc] = unit, ""
                continue
            if not matches or (standalone and not is_key_line) or len(unit.split()) < 3:
                continue
            source = code_by_doc.get(doc, file_name)
            context = heading_by_doc.get(doc, "")
            if keyline_by_doc.get(doc) and not is_key_line:
                context = f"{context}, {keyline_by_doc[doc]}" if context else keyline_by_doc[doc]
            if _REFERS_BACK.match(unit) and subject_by_doc.get(doc):
                context = f"{context} ({subject_by_doc[doc]})" if context else subject_by_doc[doc]
            for kind, span, start, _end in matches:
                if source == span:
                    continue
                key = (normalize(unit), normalize(span))
                if key in seen:
                    continue
                seen.add(key)
                qualifier = _QUALIFIER.search(unit[:start])
                answer = f"{qualifier.group(0).strip()} {span}" if qualifier else span
                facts.append(Fact(answer, span, kind, unit, context, source, node.node_id, file_name, start))
            if is_key_line:
                keyline_by_doc[doc] = unit
            codes = [m.text for m in matches if m.kind == "code"]
            if codes and not _REFERS_BACK.match(unit):
                subject_by_doc[doc] = codes[0]
    return facts


# -- facts as questions: the same phrasing for evaluation sets and training data -----------------------
# "X is <fact>." is asked as "What is X?"; any other sentence becomes a fill-in-the-blank.
_COPULA = re.compile(r"^(?P<subj>[A-Z][\w'’ -]{2,80}?) (?P<verb>is|are|was|were) (?P<obj>[^,;:]{1,60}?)\.?$")
_DETERMINERS = ("The", "A", "An", "Our", "Its", "Their", "This", "Each")
_AROUND = 14  # words kept either side of a blank: a long sentence keeps the words around it


def answer_form(text: str) -> str:
    """How the metrics compare answers: normalised, without articles."""
    return normalize(text, drop_articles=True)


def _ask(sentence: str, answer: str, start: int, context: str = "") -> tuple[str, str] | None:
    """The question whose answer is ``answer`` (at ``start`` in ``sentence``); None where it gives the answer away.

    ``context`` (the heading) is named in brackets, unless the sentence already says it or it states the answer.
    """
    if len(sentence.split()) < 5:
        return None
    named = context and context not in sentence and answer_form(answer) not in answer_form(context)
    where = f" ({context})" if named else ""
    copula = _COPULA.match(" ".join(sentence.split()))
    if copula and answer_form(copula.group("obj")) == answer_form(answer):
        subject = copula.group("subj")
        first, _, rest = subject.partition(" ")
        if first in _DETERMINERS:
            subject = f"{first.lower()} {rest}"
        question = f"What {copula.group('verb')} {subject}{where}?"
    else:
        before, after = sentence[:start].split(), sentence[start + len(answer) :].split()
        cloze = " ".join([*before[-_AROUND:], "___", *after[:_AROUND]])
        cloze = f"{'… ' if len(before) > _AROUND else ''}{cloze}{' …' if len(after) > _AROUND else ''}"
        cloze = re.sub(r"___ (?=[.,;:!?)])", "___", cloze)  # "within ___." rather than "within ___ ."
        question = f'What goes in the blank{where}: "{cloze}"?'
    if answer_form(answer) in answer_form(question.replace("___", " ")):
        return None  # the sentence states the answer twice
    return question, answer


def question_from_fact(fact: Fact) -> tuple[str, str] | None:
    """A question and its answer (the fact's span) from a fact :func:`~playground.facts.extract_facts` found.

    >>> from playground.facts import facts_in
    >>> s = "Its list price is EUR 349."
    >>> span = facts_in(s)[0]
    >>> question_from_fact(Fact(span.text, span.text, span.kind, s, "NW-GALE-7", "a.pdf", "c1", "a.pdf", span.start))
    ('What is its list price (NW-GALE-7)?', 'EUR 349')
    """
    return _ask(fact.sentence, fact.span, fact.start, fact.context)


def question_from_sentence(sentence: str) -> tuple[str, str] | None:
    """A question and its answer from one sentence that states a fact (a date, amount, number, code…); else None.

    The answer is the sentence's most specific fact (:data:`playground.facts.KINDS`). "X is Y" becomes
    "What is X?"; any other sentence becomes a fill-in-the-blank.

    >>> question_from_sentence("The hotel limit for Zurich is EUR 210.")
    ('What is the hotel limit for Zurich?', 'EUR 210')
    >>> question_from_sentence("Nightwren was founded on 9 March 2011 by two technicians.")
    ('What goes in the blank: "Nightwren was founded on ___ by two technicians."?', '9 March 2011')
    >>> question_from_sentence("Nothing here has a figure in it at all.") is None
    True
    """
    sentence = " ".join(sentence.split())
    for span in sorted(facts_in(sentence), key=lambda s: KINDS.index(s.kind)):
        made = _ask(sentence, span.text, span.start)
        if made:
            return made
    return None


__all__ = [
    "FACT_PATTERNS",
    "KINDS",
    "MONTHS",
    "NOT_NAMES",
    "UNITS",
    "Fact",
    "Span",
    "answer_form",
    "corpus_words",
    "extract_facts",
    "facts_in",
    "question_from_fact",
    "question_from_sentence",
    "units",
]
