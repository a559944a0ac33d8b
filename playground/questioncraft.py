"""Questions a person would ask of expository text, and the gates every generated question passes.

Recipes for prose sit beside the fact patterns of :mod:`playground.facts`:

- ``definition``: "X is/are/means …" → "What is X?"
- ``list``: a heading over a bulleted list ("Advantages of RAG" / "- Fresh data …") → "What are the advantages of RAG?"
- ``purpose``: "… because …", "… so that …", "… allows …" → a why or what-does-it-allow question
- ``heading``: a heading that is itself a question ("Why does RAG matter?") → the first sentence under it

The evaluation lab (:func:`playground.evaluate.questions.generate_questions`) and the fine-tuning lab
(:func:`playground.finetune.dataset.build_dataset`) pass what they make through the same :class:`Gates`,
which count each dropped question with its reason (:data:`GATES`), so both can show what was kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llama_index.core.schema import TextNode

from playground.facts import answer_form
from playground.text import normalize

# Why a question is dropped, in the order the gates run.
GATES = {
    "markup": "has markup, a URL or a path fragment",
    "question": "does not read as a question (no question word first, or a run of capitalised keywords)",
    "answer": "its gold answer is not in its source chunk",
    "retrieval": "its own chunk is not in the top 5 retrieved for it (it would test retrieval noise)",
    "duplicate": "near-duplicate of a question already kept",
}
QUESTION_WORDS = frozenset(
    [
        "what",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "which",
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "will",
        "would",
        "has",
        "have",
        "may",
        "might",
        "must",
    ]
)
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "can",
        "could",
        "may",
        "might",
        "must",
        "should",
        "will",
        "would",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "what",
        "who",
        "when",
        "where",
        "why",
        "how",
        "which",
        "as",
        "into",
        "than",
        "not",
        "no",
        "about",
        "there",
        "their",
        "they",
        "you",
        "your",
        "we",
        "our",
        "if",
        "so",
    ]
)
_MARKUP = re.compile(
    r"<[^>]*>|https?:|www\.|\]\(|/_next|%2F|\b2F\w|\w/\w+\.\w{2,4}\b|(?:^|\s)/\w+/|[{}|`#\\=]|\*\*|\[\d*\]|&\w+;"
    r"|\w\(|::|\.\.\s"  # code: set(...), a directive (.. versionadded::)
)
# Inline markup whose text reads fine without it: :ref:`Text <target>`, ``code``, **bold**, [text](url).
_ROLE = re.compile(r":\w+:`([^`<]+?)(?:\s*<[^>]*>)?`")
_INLINE = re.compile(r"``([^`]+)``|\*\*([^*]+)\*\*|\[([^\]]+)\]\([^)]*\)")


def plain(text: str) -> str:
    """Text without the inline markup that has readable text inside (reStructuredText roles, literals, links).

    >>> plain("The :generator:`Visual Studio 17 2022` generator sets ``CMAKE_SYSTEM_NAME`` (see [docs](http://x)).")
    'The Visual Studio 17 2022 generator sets CMAKE_SYSTEM_NAME (see docs).'
    """
    text = _ROLE.sub(r"\1", text)
    return _INLINE.sub(lambda m: next(g for g in m.groups() if g is not None), text)


_WORD = re.compile(r"[A-Za-z][\w'’-]*")


def has_markup(text: str) -> bool:
    """Markup, a URL or a path fragment in ``text``.

    >>> has_markup("Tell me about RAG /_next/image url 2Fimages 2Fposts 2Fragvsfine.jpeg.")
    True
    >>> has_markup("What are the advantages of RAG?")
    False
    """
    return bool(_MARKUP.search(text))


def reads_as_question(text: str) -> bool:
    """A question word or auxiliary first, a question mark last, enough function words, no keyword run.

    >>> reads_as_question("What are the advantages of RAG?")
    True
    >>> reads_as_question("Who or what: RAG Fine-Tuning Pros Cons Requires significant computational resources?")
    False
    >>> reads_as_question('What goes in the blank: "Retrieval- ___ (RAG)"?')
    False
    >>> reads_as_question("What percentage might WAL be very slightly slower (perhaps?")
    False
    """
    words = _WORD.findall(text)
    if len(words) < 3 or not text.rstrip().endswith("?") or "___" in text or ":" in " ".join(text.split()[:3]):
        return False
    if text.count("(") != text.count(")"):
        return False  # a clause cut inside its brackets: "… slower (perhaps?"
    if words[0].lower() not in QUESTION_WORDS:
        return False
    function = sum(w.lower() in FUNCTION_WORDS for w in words)
    if function < max(1, round(0.2 * len(words))):
        return False
    run = longest = 0
    for w in words[1:]:
        run = run + 1 if w[0].isupper() else 0
        longest = max(longest, run)
    return longest <= 4  # a name such as "Nightwren Instruments Support Desk" is fine; a keyword run is not


def answer_in_chunk(answer: str, chunk: str) -> bool:
    """Every part of the gold answer (a list's items are joined by "; ") is in the chunk.

    >>> answer_in_chunk("Fresh data; Citations", "- Fresh data\\n- Citations\\n")
    True
    >>> answer_in_chunk("Resource Intensive", "RAG is cheap.")
    False
    """
    text = answer_form(plain(chunk))
    return all(answer_form(part) in text for part in answer.split("; ") if part.strip())


def _tokens(text: str) -> frozenset[str]:
    return frozenset(normalize(text, drop_articles=True).split())


def near_duplicate(a: str, b: str, threshold: float = 0.8) -> bool:
    """Two questions share most of their words (Jaccard overlap of normalised words).

    >>> near_duplicate("What is Retrieval-Augmented Generation?", "What is retrieval augmented generation (RAG)?")
    True
    >>> near_duplicate("What is RAG?", "What are the advantages of RAG?")
    False
    """
    x, y = _tokens(a), _tokens(b)
    return bool(x and y) and len(x & y) / len(x | y) >= threshold


Retriever = Callable[[str], Sequence[str]]  # a question → the node ids retrieved for it, best first


def index_retriever(index: Any, top_k: int = 5) -> Retriever:
    """The retrieval gate's view of an :class:`~playground.index.Index`: the ids of its top ``top_k`` chunks."""
    from playground.config import RetrievalSettings

    settings = RetrievalSettings(top_k=top_k)
    return lambda question: [hit.node_id for hit in index.retrieve(question, settings)]


@dataclass
class GateReport:
    """How many questions each recipe made, and how many each gate dropped (by reason)."""

    made: dict[str, int] = field(default_factory=dict)  # candidates per recipe
    kept: dict[str, int] = field(default_factory=dict)  # passed every gate, per recipe
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GATES, 0))
    checked: tuple[str, ...] = tuple(GATES)  # the gates that ran ("retrieval" needs an index)

    @property
    def total(self) -> int:
        return sum(self.made.values())

    def as_dict(self) -> dict[str, Any]:
        total = self.total or 1
        return {
            "made": self.total,
            "kept": sum(self.kept.values()),
            "pass_share": round(sum(self.kept.values()) / total, 3),
            "per_recipe": {"made": dict(self.made), "kept": dict(self.kept)},
            "dropped": {g: n for g, n in self.dropped.items() if g in self.checked},
            "dropped_share": {g: round(n / total, 3) for g, n in self.dropped.items() if g in self.checked},
            "reasons": {g: GATES[g] for g in self.checked},
        }


class Gates:
    """Checks questions one by one in the order of :data:`GATES`, counting what each drops.

    >>> gates = Gates()
    >>> gates.admit("What are the advantages of RAG?", "Fresh data", "Advantages of RAG: Fresh data.", "c1", "list")
    True
    >>> gates.admit("What are the advantages of RAG ?", "Fresh data", "Fresh data.", "c1", "list")
    False
    >>> gates.admit("Tell me about RAG /_next/image", "x", "x", "c1", "heading")
    False
    >>> gates.report.dropped["duplicate"], gates.report.dropped["markup"]
    (1, 1)
    """

    def __init__(self, retriever: Retriever | None = None, only: Sequence[str] = tuple(GATES)):
        self.retriever = retriever
        checked = tuple(g for g in only if g != "retrieval" or retriever is not None)
        self.report = GateReport(checked=checked)
        self.kept: list[str] = []

    def reason(self, question: str, answer: str, chunk: str, chunk_id: str = "") -> str | None:
        """The first gate ``question`` fails, or None; records nothing."""
        on = self.report.checked
        if "markup" in on and (has_markup(question) or has_markup(answer)):
            return "markup"
        if "question" in on and not reads_as_question(question):
            return "question"
        if "answer" in on and not answer_in_chunk(answer, chunk):
            return "answer"
        if "retrieval" in on and self.retriever is not None and chunk_id not in list(self.retriever(question))[:5]:
            return "retrieval"
        if "duplicate" in on and any(near_duplicate(question, q) for q in self.kept):
            return "duplicate"
        return None

    def admit(self, question: str, answer: str, chunk: str, chunk_id: str = "", recipe: str = "fact") -> bool:
        """Whether ``question`` passes every gate; counted either way."""
        r = self.report
        r.made[recipe] = r.made.get(recipe, 0) + 1
        why = self.reason(question, answer, chunk, chunk_id)
        if why:
            r.dropped[why] += 1
            return False
        r.kept[recipe] = r.kept.get(recipe, 0) + 1
        self.kept.append(question)
        return True


# -- a larger model as the generator, where the text is prose ------------------------------------------
PROSE_SHARE = 0.6  # above this share of fact-free sentences, the fact recipes find little to ask about


def prose_share(nodes: Sequence[TextNode]) -> float:
    """The share of a corpus's sentences that state no date, amount, code or name (0 for no sentences)."""
    from playground.facts import facts_in, units

    sentences = [u for node in nodes for u, short in units(node.get_content()) if not short and len(u.split()) >= 6]
    if not sentences:
        return 0.0
    return sum(not facts_in(u) for u in sentences) / len(sentences)


def suggest_generator(nodes: Sequence[TextNode], models: Sequence[Any]) -> Any | None:
    """A model worth offering as the question generator: the corpus is mostly prose and a model served by
    Ollama or an OpenAI-compatible server is listed (the embedded one is too small to write questions); else None.
    Of several, the one with the largest stated parameter size, else the first."""
    served = [m for m in models if m.backend in ("ollama", "openai") and not m.finetuned_from]
    if not served or prose_share(nodes) < PROSE_SHARE:
        return None

    def size(m: Any) -> float:
        found = re.match(r"([\d.]+)\s*([BM])", str(m.parameter_size or ""), re.I)
        return float(found.group(1)) * (1000 if found.group(2).upper() == "B" else 1) if found else 0.0

    return max(served, key=size)


# -- facts asked as a person asks them ----------------------------------------------------------------
# The question word of each fact kind (playground.facts.KINDS).
WH = {
    "date": "On what date",
    "money": "How much",
    "email": "What e-mail address",
    "phone": "What phone number",
    "extension": "What extension",
    "time": "At what time",
    "version": "Which version",
    "code": "Which code",
    "quantity": "How much or how many",
    "name": "Who or what",
}
_DURATION = re.compile(r"(?:second|minute|hour|day|week|month|year)s?\b")
# The word a fronted question starts with, by fact kind; a kind not here is not fronted.
_FRONT = {"date": "When", "money": "How much", "time": "At what time", "version": "Which version"}
_TRAILING_PREP = re.compile(r"\s+(?:on|in|at|for|within|by|from|of|to|after|before|until|since|about|up to|every)\s*$")


def wh_phrase(kind: str, span: str) -> str:
    """The question word for a fact of ``kind`` whose text is ``span``.

    >>> wh_phrase("quantity", "45 days"), wh_phrase("quantity", "200 sensors"), wh_phrase("date", "9 March 2011")
    ('How long', 'How many sensors', 'On what date')
    """
    if kind == "quantity":
        if _DURATION.search(span):
            return "How long"
        if re.search(r"%|percent", span):
            return "What percentage"
        unit = re.sub(r"^[+−-]?[\d,.]+\s?", "", span)
        return f"How many {unit}" if unit.endswith("s") and len(unit) > 2 else "What value"
    return WH[kind]


def wh_question(sentence: str, span: str, start: int, kind: str) -> str | None:
    """The sentence asked for its fact with the question word fronted, where an auxiliary can be; else None.

    >>> wh_question("Nightwren was founded on 9 March 2011 by two technicians.", "9 March 2011", 25, "date")
    'When was Nightwren founded by two technicians?'
    >>> wh_question("Customers may return any product within 45 days of delivery.", "45 days", 40, "quantity")
    'How long may customers return any product?'
    """
    wh = _FRONT.get(kind) or (wh_phrase(kind, span) if kind == "quantity" else "")
    if not wh or wh == "What value":
        return None
    before, after = sentence[:start], sentence[start + len(span) :]
    aux = _AUX.match(before.strip() + " ")
    if not aux or not _subject(aux.group("subj")) or len(aux.group("subj").split()) > 6:
        return None
    middle = _TRAILING_PREP.sub("", _QUALIFIER_END.sub("", aux.group("rest").strip()))
    if len(middle.split()) > 6 or re.search(r"[\d,;:]|\b(?:and|or|but|is|are|was|were)\b", middle):
        return None  # a second clause before the fact: the fronted question would not parse
    tail = re.split(r"[,;:(]", after.strip().rstrip("."), maxsplit=1)[0].strip()
    if tail.split()[:1] in (["of"], ["and"], ["or"], ["but"], ["which"], ["that"], ["so"]) or len(tail.split()) > 8:
        tail = ""
    words = [wh, aux.group("aux"), _lower_first(aux.group("subj")), middle, tail]
    question = " ".join(w for w in words if w).strip() + "?"
    return None if answer_form(span) in answer_form(question) else question


_QUALIFIER_END = re.compile(r"\s*\b(?:within|up to|about|every|at least|at most|roughly|around|only|exactly)\s*$")


def fact_question(fact: Any) -> tuple[str, str] | None:
    """A :class:`playground.facts.Fact` asked as a question: "What is X?" where the sentence says so, else
    with the question word fronted (:func:`wh_question`), else the fill-in-the-blank the gates drop."""
    from playground.facts import question_from_fact

    made = question_from_fact(fact)
    if made and "___" not in made[0]:
        return plain(made[0]), plain(made[1])
    fronted = wh_question(fact.sentence, fact.span, fact.start, fact.kind)
    if fronted:
        return plain(fronted), plain(fact.span)
    return made


# -- the prose recipes ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    """A question one recipe made from one chunk, before the gates."""

    question: str
    answer: str
    recipe: str  # "definition", "list", "purpose", "heading" (or "fact" for playground.facts)
    chunk_id: str
    file_name: str
    sentence: str  # what it was made from


_DETERMINERS = frozenset(
    ["The", "A", "An", "Each", "Every", "Our", "Your", "This", "Any", "Some", "All", "Most", "Many"]
)
_PRONOUNS = frozenset(
    [
        "it",
        "this",
        "that",
        "these",
        "those",
        "they",
        "he",
        "she",
        "we",
        "you",
        "there",
        "here",
        "its",
        "their",
        "such",
        "which",
        "what",
        "who",
        "how",
        "another",
        "one",
        "other",
    ]
)
_CLAUSE_WORDS = frozenset(
    [
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "following",
        "these",
        "this",
        "each",
        "see",
        "can",
        "will",
        "may",
        "must",
        "should",
        "include",
        "includes",
        "example",
        "examples",
    ]
)
# Subjects that say nothing without the sentence before: "The difference is …", "The reason is …".
_VAGUE = frozenset(
    [
        "difference",
        "reason",
        "result",
        "answer",
        "problem",
        "solution",
        "purpose",
        "idea",
        "goal",
        "case",
        "point",
        "key",
        "thing",
        "way",
        "one",
        "other",
        "rest",
        "remainder",
        "default",
        "same",
        "former",
        "latter",
        "first",
        "second",
        "last",
        "next",
        "following",
    ]
)
# Sentence-initial words that open a clause, not a subject: "Because the archive is …".
_OPENERS = frozenset(
    [
        "because",
        "if",
        "when",
        "although",
        "while",
        "since",
        "after",
        "before",
        "as",
        "for",
        "unless",
        "until",
        "once",
        "then",
        "thus",
        "so",
        "also",
        "however",
        "but",
        "and",
        "or",
        "yet",
    ]
)
# A subject holding a verb, a modal or a negation is a clause cut in the wrong place: "CUDA targets may now",
# "Windows does not", "The CPack module no longer".
_NOT_IN_SUBJECT = frozenset(
    [
        "that",
        "which",
        "who",
        "whom",
        "is",
        "are",
        "be",
        "been",
        "must",
        "can",
        "should",
        "to",
        "when",
        "if",
        "may",
        "might",
        "could",
        "would",
        "will",
        "does",
        "do",
        "did",
        "not",
        "no",
        "now",
        "longer",
        "never",
    ]
)
_DEFINITION = re.compile(
    r"^(?P<subj>[A-Z][\w'’()/ -]{1,60}?) (?P<verb>is|are|means|refers to) (?P<pred>(?:a|an|the|one|any|when|"
    r"how|what|to)\b.{8,200}?)\.?$"
)
_MEANS = re.compile(r"^(?P<subj>[A-Z][\w'’()/ -]{1,60}?) (?P<verb>means|refers to) (?P<pred>.{8,200}?)\.?$")
_CAUSE = re.compile(r"^(?P<clause>[A-Z][^,;:]{8,150}?),? (?P<link>because|so that|since) (?P<why>[^;:]{6,200}?)\.?$")
_ALLOWS = re.compile(
    r"^(?P<subj>[A-Z][\w'’()/ -]{1,60}?) (?P<verb>allows|allow|enables|enable|lets|let) (?P<what>.{6,200}?)\.?$"
)
_AUX = re.compile(r"^(?P<subj>.+?) (?P<aux>is|are|was|were|can|could|should|will|would|must|may|might|does|do) "
                  r"(?P<rest>.+)$")  # fmt: skip
_VERB_S = re.compile(r"^(?P<subj>[A-Z][\w'’()/ -]{1,50}?) (?P<verb>[a-z]+(?:es|s)) (?P<rest>.+)$")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(?P<item>.+)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def _subject(subj: str) -> str | None:
    """The subject as it reads inside a question; None for a pronoun or a subject too long to ask about."""
    words = subj.split()
    if not words or words[0].lower() in _PRONOUNS | _OPENERS or len(words) > 7 or _NOT_IN_SUBJECT & set(words[1:]):
        return None
    if words[-1].lower() in _VAGUE:
        return None
    if words[0] in ("The", "A", "An", "Our", "Each", "Every"):
        words[0] = words[0].lower()
    return " ".join(words)


def _lower_first(text: str) -> str:
    """The first word in lower case unless it names something (RAG, CMake, Nightwren).

    >>> _lower_first("The hub"), _lower_first("Customers may"), _lower_first("Nightwren was"), _lower_first("RAG is")
    ('the hub', 'customers may', 'Nightwren was', 'RAG is')
    """
    from playground.facts import NOT_NAMES

    first, _, rest = text.partition(" ")
    keep = (first.isupper() and len(first) > 1) or any(c.isupper() for c in first[1:])  # RAG, LoRA, CMake
    keep = keep or (first not in NOT_NAMES and first not in _DETERMINERS and "-" not in first)
    return text if keep else f"{first.lower()} {rest}".strip()


def _why(clause: str) -> str | None:
    """ "RAG is cheaper to update" → "Why is RAG cheaper to update?"; None where no auxiliary can be fronted."""
    aux = _AUX.match(clause)
    if aux and _subject(aux.group("subj")) and len(aux.group("subj").split()) <= 5:
        return f"Why {aux.group('aux')} {_lower_first(aux.group('subj'))} {aux.group('rest')}?"
    verb = _VERB_S.match(clause)
    # Without a parser a plural noun looks like a verb: trust "<determiner> noun verbs" and "RAG verbs" only.
    first = verb.group("subj").split()[0] if verb else ""
    sure = first in ("The", "A", "An", "Each", "Every", "Our", "This") or any(c.isupper() for c in first[1:])
    if (
        verb
        and sure
        and _subject(verb.group("subj"))
        and len(verb.group("subj").split()) <= 4
        and not verb.group("verb").endswith("ss")
    ):
        v = verb.group("verb")
        base = v[:-2] if v.endswith(("shes", "ches", "xes", "sses")) else v[:-1]
        return f"Why does {_lower_first(verb.group('subj'))} {base} {verb.group('rest')}?"
    return None


def sentence_questions(sentence: str) -> list[tuple[str, str, str]]:
    """(question, answer, recipe) for one prose sentence: a definition, a cause or purpose, what something allows.

    >>> sentence_questions("Retrieval-augmented generation (RAG) is a technique that gives a model documents.")
    [('What is retrieval-augmented generation (RAG)?', 'a technique that gives a model documents', 'definition')]
    >>> sentence_questions("Fine-tuning is costly because it needs labelled data and GPUs.")
    [('Why is fine-tuning costly?', 'it needs labelled data and GPUs', 'purpose')]
    >>> sentence_questions("RAG allows a model to cite its sources.")
    [('What does RAG allow?', 'a model to cite its sources', 'purpose')]
    """
    sentence = " ".join(sentence.split())
    out: list[tuple[str, str, str]] = []
    if len(sentence.split()) < 5 or len(sentence) > 300:
        return out
    cause = _CAUSE.match(sentence)
    if cause:
        question = _why(cause.group("clause"))
        if question:
            answer = cause.group("why") if cause.group("link") != "so that" else f"so that {cause.group('why')}"
            out.append((question, answer, "purpose"))
        return out
    allows = _ALLOWS.match(sentence)
    if allows and _subject(allows.group("subj")) and not allows.group("subj")[0].islower():
        out.append((f"What does {_lower_first(allows.group('subj'))} allow?", allows.group("what"), "purpose"))
        return out
    definition = _DEFINITION.match(sentence) or _MEANS.match(sentence)
    if definition and _subject(definition.group("subj")):
        subj, verb = _subject(definition.group("subj")), definition.group("verb")
        pred = definition.group("pred")
        if verb in ("means", "refers to"):
            out.append((f"What does {_lower_first(subj or '')} mean?", pred, "definition"))
        else:
            out.append((f"What {verb} {_lower_first(subj or '')}?", pred, "definition"))
    return out


def _list_question(heading: str) -> str | None:
    """ "Advantages of RAG" → "What are the advantages of RAG?"; None for a one-word or question heading."""
    heading = heading.strip().rstrip(":").strip()
    words = heading.split()
    if not words or not words[0][0].isupper() or "," in heading or _CLAUSE_WORDS & {w.lower() for w in words}:
        return None  # "CMake expects one of these environments:" introduces a list; it names none
    if any(w.endswith("ed") and w.islower() for w in words[1:]):
        return None
    if heading.endswith("?") or not 2 <= len(re.findall(r"[A-Za-z]{2,}", heading)) <= 8 or re.search(r"\d", heading):
        return None
    return f"What are the {_sentence_case(heading)}?"


def _sentence_case(title: str) -> str:
    """A Title Case heading as it reads inside a sentence; names and acronyms keep their capitals.

    >>> _sentence_case("Advantages of Using RAG"), _sentence_case("Leadership team of Nightwren")
    ('advantages of using RAG', 'leadership team of Nightwren')
    """
    from playground.facts import NOT_NAMES

    def case(word: str) -> str:
        common = word in NOT_NAMES or word.lower() in FUNCTION_WORDS or bool(_COMMON_SUFFIX.search(word))
        return word.lower() if common and word[1:].islower() else word

    return " ".join(case(w) for w in title.split())


# Endings of English common nouns and verb forms: a Title Case word with one of them is no name.
_COMMON_SUFFIX = re.compile(r"(?:ing|ages?|ions?|ments?|ity|ities|ances?|ences?|ness|ers?|ics|ies|ships?)$")


def _item(text: str) -> str:
    """A list item's name: the text before its colon or dash ("Fresh data: answers follow edits" → "Fresh data")."""
    text = text.replace("**", "").strip()
    head = re.split(r":\s|\s[–—-]\s", text, maxsplit=1)[0].strip().rstrip(".")
    return head if len(head.split()) <= 8 else " ".join(head.split()[:8])


def _is_heading(lines: list[str], i: int) -> bool:
    """A markdown or bold heading, a line ending in ":" or "?", or a short line standing alone."""
    line = lines[i].strip()
    if not line or _BULLET.match(lines[i]) or len(line) > 80 or line.endswith((".", ",", ";")):
        return False
    if line.startswith(("#", "**")) or line.endswith((":", "?")):
        return True
    alone_before = i == 0 or not lines[i - 1].strip()
    alone_after = i + 1 >= len(lines) or not lines[i + 1].strip() or bool(_BULLET.match(lines[i + 1]))
    return alone_before and alone_after and len(line.split()) <= 8


def prose_candidates(nodes: Sequence[TextNode]) -> list[Candidate]:
    """Every prose recipe's candidates, chunk by chunk, in order (the gates come after)."""
    out: list[Candidate] = []
    for node in nodes:
        file_name = str(node.metadata.get("file_name", ""))
        lines = node.get_content().splitlines()
        paragraphs: list[str] = []  # prose lines joined: wrapped text reads as whole sentences
        buffer: list[str] = []
        i = 0
        while i < len(lines):
            bullet = _BULLET.match(lines[i])
            if _is_heading(lines, i) and (i > 0 or node.metadata.get("start_char", 0) == 0):
                paragraphs.append(" ".join(buffer))
                buffer = []
                heading = plain(lines[i].strip().strip("*# ").rstrip(":").strip())
                items = []
                j = i + 1
                while j < len(lines) and (not lines[j].strip() or _BULLET.match(lines[j])):
                    if lines[j].strip():
                        items.append(_item(plain(_BULLET.match(lines[j]).group("item"))))  # type: ignore[union-attr]
                    j += 1
                asked = _list_question(heading)
                if len(items) >= 2 and asked:
                    out.append(Candidate(asked, "; ".join(items), "list", node.node_id, file_name, heading))
                elif heading.endswith("?") and len(heading.split()) >= 3 and not items:
                    body = " ".join(x.strip() for x in lines[j : j + 6]).strip()
                    first = _SENTENCE_END.split(body)[0].strip() if body else ""
                    if first and not first.endswith("?"):
                        out.append(Candidate(heading, first.rstrip("."), "heading", node.node_id, file_name, heading))
                i += 1
                continue
            if bullet or not lines[i].strip():
                paragraphs.append(" ".join(buffer))
                buffer = []
                if bullet:
                    paragraphs.append(bullet.group("item"))
            else:
                buffer.append(lines[i].strip())
            i += 1
        paragraphs.append(" ".join(buffer))
        for text in paragraphs:
            for sentence in _SENTENCE_END.split(plain(text)):
                for question, answer, recipe in sentence_questions(sentence):
                    out.append(Candidate(question, answer, recipe, node.node_id, file_name, sentence))
    return out


__all__ = [
    "GATES",
    "WH",
    "Candidate",
    "GateReport",
    "Gates",
    "Retriever",
    "answer_in_chunk",
    "fact_question",
    "has_markup",
    "index_retriever",
    "near_duplicate",
    "plain",
    "prose_candidates",
    "prose_share",
    "reads_as_question",
    "sentence_questions",
    "suggest_generator",
    "wh_phrase",
    "wh_question",
]
