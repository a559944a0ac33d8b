"""Training data from a workspace's chunks: the same documents the RAG side retrieves from.

Three recipes, mixed by :class:`~playground.finetune.settings.DatasetSettings`:

- ``qa``: a question and a short answer in the corpus's house style,
  ``Answer: <fact> (Source: <policy code or file>)``. The deterministic extractor of
  :mod:`playground.facts` finds facts (dates, amounts, durations, codes, names…) sentence by
  sentence, so it works with no model at all; a chosen model can add its own Q&A through a
  visible prompt.
- ``paraphrase``: each fact-bearing sentence restated (templates, or the model).
- ``raft``: question + the answering chunk + distractor chunks, in the exact prompt the
  RAG conditions use, answered by quoting the evidence. The answering chunk is present
  with probability ``p_oracle``; without it the answer must come from memory.

Before anything is returned, every example is checked against the workspace's held-out
questions (:func:`playground.heldout.leaks`). Leaking examples are dropped, and the
report says how many, or the build is refused outright; either way the check is part of
the result, so the UI and the CLI show it.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from llama_index.core.schema import TextNode

from playground.compare import PromptSettings
from playground.config import GenerationParams, Progress, no_progress
from playground.errors import DataLeakError, DocumentError, PlaygroundError
from playground.facts import NOT_NAMES, Fact, corpus_words, extract_facts, facts_in
from playground.finetune.settings import DatasetSettings
from playground.heldout import Leak, held_out, leaks
from playground.index import Hit
from playground.models import Catalogue, Message
from playground.questioncraft import fact_question, wh_phrase
from playground.storage import write_atomic
from playground.text import normalize

# -- questions and paraphrases (deterministic) from the facts playground.facts finds ---------------
_STOP_TEXT = (
    "a an the and or but of to in on at for from by with without is are was were be been being it its "
    "this that these those as into than then so such not no yes do does did has have had can could may "
    "might must shall should will would our your their we you they he she his her them us which who whom "
    "whose what when where why how all any each every some more most other also only just one two three "
    "per up down out over under about after before during since until if there here own same very"
)
_STOP = set(_STOP_TEXT.split())


def house_answer(fact: str, source: str) -> str:
    """The corpus's answer format.

    >>> house_answer("within 45 days", "NW-POL-003")
    'Answer: within 45 days (Source: NW-POL-003)'
    """
    return f"Answer: {fact} (Source: {source})"


def _wh(fact: Fact) -> str:
    return wh_phrase(fact.kind, fact.span)


def _keywords(text: str, drop: str = "", limit: int = 9) -> list[str]:
    """Content words of ``text`` in order, without ``drop`` and stop words.

    >>> _keywords("Customers may return any product within 45 days of delivery.", drop="45 days")
    ['Customers', 'return', 'product', 'within', 'delivery']
    """
    if drop:
        text = text.replace(drop, " ")
    words = re.findall(r"[\w@.+/-]*\w", text)
    out = [w for w in words if w.lower() not in _STOP and not (len(w) < 3 and w.isalpha())]
    return list(dict.fromkeys(out))[:limit]


def _gapped(fact: Fact) -> str:
    """The fact's sentence with the fact blanked, under its heading."""
    end = fact.start + len(fact.span)  # the span found, not an earlier copy of its text ("5 days" in "45 days")
    where = f"{fact.context}: " if fact.context and fact.context not in fact.sentence else ""
    return f"{where}{fact.sentence[: fact.start]}___{fact.sentence[end:]}"


def gap_question(fact: Fact) -> str:
    """A fill-in-the-gap question: the sentence with the fact blanked, under its heading."""
    return f"{_wh(fact)}? {_gapped(fact)}"


def keyword_question(fact: Fact) -> str:
    """A short question made of the sentence's content words."""
    words = _keywords(fact.sentence, drop=fact.span)
    topic = _keywords(fact.context, limit=4) if fact.context else []
    return f"{_wh(fact)}: {' '.join(dict.fromkeys([*topic, *words]))}?"


def natural_question(fact: Fact) -> str:
    """A question a person would ask: "What is the hotel limit for Zurich?", else the sentence with the fact
    blanked under its heading (the evaluation lab's generator asks the same way)."""
    made = fact_question(fact)
    return made[0] if made else f'What goes in the blank: "{_gapped(fact)}"?'


def ask_question(fact: Fact, style: str) -> str:
    """The first question a fact is trained with, in ``DatasetSettings.question_style``."""
    return keyword_question(fact) if style == "keywords" else natural_question(fact)


def topic_request(fact: Fact, style: str, topic: str) -> str | None:
    """What a paraphrase example asks for; None leaves the keyword templates to choose (the keywords style)."""
    if style == "keywords":
        return None
    return f"What do the documents say about {fact.context}?" if fact.context else f"What does {fact.file_name} say?"


_PARAPHRASE_ASK = [
    "What do the documents say about {topic}?",
    "Tell me about {topic}.",
    "Summarise what is known about {topic}.",
]
_PARAPHRASE_SAY = [
    "{sentence} (Source: {source})",
    "In short: {fact}. {sentence} (Source: {source})",
    "According to {file}: {sentence} (Source: {source})",
]


# -- examples ------------------------------------------------------------------------------------
@dataclass
class Example:
    """One training conversation; the last message is the assistant's answer the model learns."""

    recipe: str
    messages: list[Message]
    source: str = ""  # the file the example comes from
    chunk_id: str = ""
    origin: str = "extractor"  # "extractor", "template" or the generating model's id

    @property
    def question(self) -> str:
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), "")

    @property
    def answer(self) -> str:
        return self.messages[-1]["content"] if self.messages else ""

    def text(self) -> str:
        return "\n".join(m["content"] for m in self.messages)

    def as_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "recipe": self.recipe,
            "source": self.source,
            "chunk": self.chunk_id,
            "origin": self.origin,
        }


@dataclass
class LeakageReport:
    """The held-out check, as shown to a person: how much was checked, what leaked, what was dropped."""

    held_out: int  # held-out questions checked against
    checked: int  # examples checked
    leaks: list[Leak] = field(default_factory=list)  # leaks found (indexes into the checked examples)
    dropped: int = 0  # leaking examples removed

    @property
    def clean(self) -> bool:
        """No leaking example is left in the dataset."""
        return len(self.leaks) == self.dropped

    def summary(self) -> str:
        if not self.leaks:
            return f"Leakage check: {self.checked} examples against {self.held_out} held-out questions, none leaks."
        verb = "dropped" if self.dropped else "kept (training will refuse)"
        return (
            f"Leakage check: {len(self.leaks)} of {self.checked} examples contain a held-out question and were "
            f"{verb}; e.g. {self.leaks[0].question!r}."
        )


@dataclass
class Dataset:
    examples: list[Example]
    settings: DatasetSettings
    leakage: LeakageReport
    facts: int = 0  # facts the extractor found
    gates: dict[str, Any] = field(default_factory=dict)  # what the question gates kept and dropped

    def report(self, sample: int = 10, seed: int = 0) -> dict[str, Any]:
        """What a person checks before training: examples per recipe, the share each gate dropped, and
        ``sample`` examples drawn at random."""
        rng = random.Random(seed)
        shown = rng.sample(self.examples, min(sample, len(self.examples)))
        per_question_recipe: dict[str, int] = {}
        for e in self.examples:
            prose = e.recipe == "qa" and e.origin in ("definition", "list", "purpose", "heading")
            kind = e.origin if prose else e.recipe
            per_question_recipe[kind] = per_question_recipe.get(kind, 0) + 1
        return {
            "examples": len(self.examples),
            "per_recipe": self.counts(),
            "per_question_recipe": per_question_recipe,
            "gates": self.gates or "not applied (the keywords style rebuilds the shipped adapter's data as it was)",
            "sample": [{"recipe": e.recipe, "question": e.question, "answer": e.answer} for e in shown],
        }

    @property
    def hash(self) -> str:
        """Content hash of the examples (what the registry records)."""
        blob = json.dumps([e.as_dict() for e in self.examples], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.examples:
            out[e.recipe] = out.get(e.recipe, 0) + 1
        return out

    def rows(self) -> list[dict[str, str]]:
        """One row per example for a preview table."""
        return [
            {"recipe": e.recipe, "question": e.question, "answer": e.answer, "source": e.source} for e in self.examples
        ]

    def to_jsonl(self) -> str:
        return "".join(json.dumps(e.as_dict(), ensure_ascii=False) + "\n" for e in self.examples)

    def save(self, path: str | Path) -> Path:
        return write_atomic(path, self.to_jsonl())


def parse_jsonl(text: str, name: str = "dataset.jsonl") -> list[Example]:
    """Examples from JSONL (one ``{"messages": [...]}`` a line); a bad line is named with its number."""
    examples = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            messages = row["messages"]
            ok = (
                isinstance(messages, list)
                and messages
                and all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages)
                and all(m.get("role") in ("system", "user", "assistant") for m in messages)
            )
        except (ValueError, KeyError, TypeError) as err:
            raise DocumentError(name, f"line {number} is not a JSON object with messages ({err})") from None
        if not ok or messages[-1]["role"] != "assistant":
            raise DocumentError(
                name, f"line {number}: messages must be role/content pairs ending with the assistant's answer"
            )
        examples.append(
            Example(
                recipe=str(row.get("recipe", "imported")),
                messages=[{"role": m["role"], "content": m["content"]} for m in messages],
                source=str(row.get("source", "")),
                chunk_id=str(row.get("chunk", "")),
                origin=str(row.get("origin", "imported")),
            )
        )
    if not examples:
        raise DocumentError(name, "has no examples")
    return examples


# -- the leakage check ---------------------------------------------------------------------------
def check_leakage(
    examples: list[Example], questions: list[str], on_leak: str = "drop"
) -> tuple[list[Example], LeakageReport]:
    """Drop (``on_leak="drop"``) or refuse (``"refuse"``: raise) examples that contain a held-out question."""
    found = leaks([e.text() for e in examples], questions)
    report = LeakageReport(held_out=len(questions), checked=len(examples), leaks=found)
    if found and on_leak == "refuse":
        first = examples[found[0].example]
        raise DataLeakError(
            f"{len(found)} of {len(examples)} training examples contain held-out evaluation questions "
            f"(e.g. {found[0].question!r} in a {first.recipe} example from {first.source or 'the import'}): "
            "remove that text from the documents, or build the dataset with leaking examples dropped"
        )
    if found and on_leak == "drop":
        bad = {leak.example for leak in found}
        examples = [e for i, e in enumerate(examples) if i not in bad]
        report.dropped = len(bad)
    return examples, report


def held_out_questions(workspace: str, extra: Iterable[str | Path] = ()) -> list[str]:
    """The questions no training example may contain: the workspace's registered sets plus ``extra``."""
    return held_out(workspace, extra=extra)


# -- the builder ---------------------------------------------------------------------------------
QA_PROMPT = (
    "Read the passage. Write up to {n} questions that it answers, each followed by its short, exact answer "
    "copied from the passage. Use exactly this format:\n"
    "Q: <question>\nA: <answer>\n\n"
    "Passage ({file}):\n{passage}"
)
PARAPHRASE_PROMPT = (
    "Rewrite the passage below in your own words, in two or three sentences. Keep every number, date, "
    "name and code exactly as written.\n\nPassage ({file}):\n{passage}"
)


def _system() -> str:
    return PromptSettings().system  # the prompt the Fine-tuned condition answers under


def _chat(user: str, assistant: str) -> list[Message]:
    return [
        {"role": "system", "content": _system()},
        {"role": "user", "content": user},
        {"role": "assistant", "content": assistant},
    ]


def _hit(node: TextNode, rank: int) -> Hit:
    meta = node.metadata
    return Hit(node.node_id, str(meta.get("file_name", "")), meta.get("page"), 1.0, node.get_content(), rank)


def _raft_example(
    fact: Fact, chunks: Sequence[TextNode], by_id: dict[str, TextNode], s: DatasetSettings, rng: random.Random
) -> Example:
    oracle = by_id[fact.chunk_id]
    others = [
        c for c in chunks if c.node_id != oracle.node_id and normalize(fact.span) not in normalize(c.get_content())
    ]
    passages = rng.sample(others, min(s.distractors, len(others)))
    with_oracle = rng.random() < s.p_oracle
    if with_oracle:
        passages.insert(rng.randrange(len(passages) + 1), oracle)
    hits = [_hit(node, i) for i, node in enumerate(passages, start=1)]
    question = ask_question(fact, s.question_style)
    messages = PromptSettings().messages(question, hits)
    answer = house_answer(fact.answer, fact.source)
    if with_oracle:
        k = passages.index(oracle) + 1
        answer = f'Passage [{k}] ({fact.file_name}) says: "{fact.sentence}"\n{answer}'
    messages.append({"role": "assistant", "content": answer})
    return Example(
        "raft", messages, fact.file_name, fact.chunk_id, "extractor" if with_oracle else "extractor, no oracle"
    )


def _generated(
    chunks: Sequence[TextNode], s: DatasetSettings, catalogue: Catalogue, progress: Progress, counts: dict[str, int]
) -> list[Example]:
    """Q&A and paraphrases written by ``s.generator``; answers not found in the passage are discarded."""
    model = catalogue.resolve(s.generator)
    not_names = NOT_NAMES | corpus_words(chunks)
    params = GenerationParams(temperature=0.0, seed=s.seed, max_tokens=256)
    out: list[Example] = []
    for i, node in enumerate(chunks):
        progress(0.2 + 0.6 * i / max(len(chunks), 1), f"{model.name} writes Q&A for chunk {i + 1}/{len(chunks)}")
        file_name = str(node.metadata.get("file_name", ""))
        passage = node.get_content()
        norm_passage = normalize(passage)
        facts = [span.text for span in facts_in(passage, not_names)]
        if "qa" in s.recipes:
            prompt = QA_PROMPT.format(n=3, file=file_name, passage=passage)
            text = catalogue.chat(model, [{"role": "user", "content": prompt}], params).collect()
            pairs = re.findall(r"Q:\s*(.+?)\s*\n\s*A:\s*(.+)", text)
            counts["replies"] = counts.get("replies", 0) + 1
            counts["unparsed"] = counts.get("unparsed", 0) + (not pairs)  # not in the Q:/A: format at all
            for q, a in pairs:
                # The natural style's gates check (and count) an answer not in its passage.
                if normalize(a) and (s.question_style == "natural" or normalize(a) in norm_passage):
                    out.append(
                        Example(
                            "qa",
                            _chat(q.strip(), house_answer(a.strip(), file_name)),
                            file_name,
                            node.node_id,
                            model.id,
                        )
                    )
        if "paraphrase" in s.recipes and facts:
            prompt = PARAPHRASE_PROMPT.format(file=file_name, passage=passage)
            text = catalogue.chat(model, [{"role": "user", "content": prompt}], params).collect().strip()
            kept = sum(normalize(f) in normalize(text) for f in facts)
            if text and kept * 2 >= len(facts):  # a rewrite that loses most facts teaches the wrong thing
                topic = " ".join(_keywords(passage, limit=5))
                ask = _PARAPHRASE_ASK[0].format(topic=topic)
                out.append(
                    Example(
                        "paraphrase", _chat(ask, f"{text} (Source: {file_name})"), file_name, node.node_id, model.id
                    )
                )
    return out


def build_dataset(
    chunks: Sequence[TextNode],
    settings: DatasetSettings | None = None,
    *,
    workspace: str,
    heldout_extra: Iterable[str | Path] = (),
    catalogue: Catalogue | None = None,
    on_leak: str = "drop",
    progress: Progress = no_progress,
) -> Dataset:
    """Examples from ``chunks`` by the recipes in ``settings``, checked against the held-out questions.

    ``heldout_extra`` adds question files or folders (a documents folder means its ``questions.jsonl``).
    ``on_leak`` is ``"drop"`` (remove leaking examples; the report counts them) or ``"refuse"`` (raise
    :class:`~playground.errors.DataLeakError`). A ``settings.generator`` needs ``catalogue``.
    """
    s = settings or DatasetSettings()
    if on_leak not in ("drop", "refuse"):
        raise ValueError(f"on_leak must be 'drop' or 'refuse', not {on_leak!r}")
    if not chunks:
        raise PlaygroundError("there are no chunks to learn from: add documents to the workspace first")
    rng = random.Random(s.seed)
    progress(0.0, f"Extracting facts from {len(chunks)} chunks")
    facts = extract_facts(chunks)
    if s.facts_per_chunk:
        per: dict[str, int] = {}
        kept = []
        for f in facts:
            per[f.chunk_id] = per.get(f.chunk_id, 0) + 1
            if per[f.chunk_id] <= s.facts_per_chunk:
                kept.append(f)
        facts = kept
    by_id = {c.node_id: c for c in chunks}
    examples: list[Example] = []
    if "qa" in s.recipes:
        for f in facts:
            answer = house_answer(f.answer, f.source)
            questions = [ask_question(f, s.question_style), gap_question(f)][: s.questions_per_fact]
            examples.extend(Example("qa", _chat(q, answer), f.file_name, f.chunk_id) for q in questions)
    if "paraphrase" in s.recipes and s.paraphrases_per_fact:
        by_sentence: dict[str, Fact] = {}
        for f in facts:
            by_sentence.setdefault(f.sentence, f)
        for sentence, f in by_sentence.items():
            topic = " ".join(_keywords(f"{f.context} {sentence}" if f.context else sentence, limit=6))
            for k in rng.sample(range(len(_PARAPHRASE_SAY)), s.paraphrases_per_fact):
                ask = rng.choice(_PARAPHRASE_ASK).format(topic=topic)  # drawn either way: the seed's sequence stays
                ask = topic_request(f, s.question_style, topic) or ask
                say = _PARAPHRASE_SAY[k].format(sentence=sentence, fact=f.answer, source=f.source, file=f.file_name)
                examples.append(Example("paraphrase", _chat(ask, say), f.file_name, f.chunk_id, "template"))
    if "raft" in s.recipes and s.raft_share > 0:
        for f in facts:
            if rng.random() < s.raft_share:
                examples.append(_raft_example(f, chunks, by_id, s, rng))
    model_counts: dict[str, int] = {}  # the generator's replies, and those with no Q&A in them
    if s.generator:
        if catalogue is None:
            raise PlaygroundError(f"DatasetSettings.generator={s.generator!r} needs a model catalogue to run it")
        examples.extend(_generated(chunks, s, catalogue, progress, model_counts))
    gates: dict[str, Any] = {}
    if s.question_style == "natural":  # the keywords style rebuilds the shipped adapter's data as it was
        examples, gates = _gated(examples, chunks, by_id, prose="qa" in s.recipes)
        if s.generator:
            gates["generator"] = {"model": s.generator, **model_counts}
    progress(0.9, f"Checking {len(examples)} examples against the held-out questions")
    examples, report = check_leakage(examples, held_out_questions(workspace, heldout_extra), on_leak)
    rng.shuffle(examples)
    progress(1.0, f"{len(examples)} examples from {len(facts)} facts")
    dataset = Dataset(examples, s, report, facts=len(facts))
    dataset.gates = gates
    return dataset


def _gated(
    examples: list[Example], chunks: Sequence[TextNode], by_id: dict[str, TextNode], prose: bool = True
) -> tuple[list[Example], dict[str, Any]]:
    """The examples whose questions pass :class:`playground.questioncraft.Gates`, with the prose recipes' own
    Q&A added (``prose``: when Q&A is a chosen recipe), and the gates' report. Paraphrase and RAFT questions
    repeat a heading or a Q&A question on purpose, so they skip the near-duplicate gate; a RAFT prompt's gold
    answer is quoted, not checked again, and its passages are not the question: the question it asks is gated."""
    from playground.questioncraft import Gates, prose_candidates

    qa = Gates()
    other = Gates(only=("markup", "question"))
    kept: list[Example] = []
    for e in examples:
        chunk = by_id[e.chunk_id].get_content() if e.chunk_id in by_id else ""
        if e.recipe == "qa":
            span = re.sub(r"^Answer: | \(Source: [^)]*\)$", "", e.answer)
            if qa.admit(e.question, span, chunk, e.chunk_id, "fact" if e.origin == "extractor" else "model"):
                kept.append(e)
        elif e.recipe == "raft":  # its prompt quotes passages; the question it asks is what is gated
            if other.admit(e.question.rsplit("\nQuestion: ", 1)[-1], "", chunk, e.chunk_id, e.recipe):
                kept.append(e)
        elif other.admit(e.question, "", chunk, e.chunk_id, e.recipe):
            kept.append(e)
    for c in prose_candidates(chunks) if prose else ():
        if qa.admit(c.question, c.answer, by_id[c.chunk_id].get_content(), c.chunk_id, c.recipe):
            source = c.file_name
            kept.append(Example("qa", _chat(c.question, house_answer(c.answer, source)), source, c.chunk_id, c.recipe))
    report = qa.report.as_dict()
    report["other_recipes"] = other.report.as_dict()
    return kept, report


def edit_dataset(
    dataset: Dataset,
    edits: dict[int, tuple[str, str]],
    *,
    workspace: str,
    heldout_extra: Iterable[str | Path] = (),
) -> Dataset:
    """The dataset after a person's edits in the preview table, checked for leaks again.

    ``edits`` maps each example kept (by its position) to its new question and answer; examples
    not named are deleted. An edited example's origin says so.
    """
    examples = []
    for i, (question, answer) in edits.items():
        example = dataset.examples[i]
        messages = [dict(m) for m in example.messages]
        user = max(j for j, m in enumerate(messages) if m["role"] == "user")
        changed = (messages[user]["content"], messages[-1]["content"]) != (question, answer)
        messages[user]["content"], messages[-1]["content"] = question, answer
        examples.append(replace(example, messages=messages, origin="edited") if changed else example)
    kept, report = check_leakage(examples, held_out_questions(workspace, heldout_extra))
    return Dataset(kept, dataset.settings, report, dataset.facts)


def import_dataset(
    text: str,
    *,
    workspace: str,
    heldout_extra: Iterable[str | Path] = (),
    name: str = "dataset.jsonl",
    on_leak: str = "drop",
) -> Dataset:
    """A dataset from JSONL (exported, edited, or written by hand), checked like a built one."""
    examples, report = check_leakage(parse_jsonl(text, name), held_out_questions(workspace, heldout_extra), on_leak)
    return Dataset(examples, DatasetSettings(), report)


__all__ = [
    "PARAPHRASE_PROMPT",
    "QA_PROMPT",
    "Dataset",
    "Example",
    "Fact",
    "LeakageReport",
    "build_dataset",
    "check_leakage",
    "edit_dataset",
    "extract_facts",
    "gap_question",
    "held_out_questions",
    "house_answer",
    "import_dataset",
    "keyword_question",
    "natural_question",
    "parse_jsonl",
]
