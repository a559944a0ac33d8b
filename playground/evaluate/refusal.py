"""Does an answer decline to answer? Rules first, then similarity to refusal phrasings; every decision says why.

A refusal is an answer that says the model does not know, or that the given text does not hold the
answer. It is what an honest model does with a question its documents cannot answer; anything else
there (a date, a price, a name) is a *fabrication*. Detection is meant to be explainable, so each
:class:`RefusalCheck` carries its reason: the rule that matched, or the refusal phrasing it resembles
and how closely.

1. **Rules** (:data:`RULES`): "I don't know", "not sure", "cannot find/answer/determine", "no information
   about", "the context/text/document does not mention/say/contain", "not mentioned/provided/specified
   in", "unable to", "I'm sorry", an empty answer.
2. **Similarity**: when no rule matches and an embedding model is given, the answer's first sentence is
   compared with :data:`PHRASINGS`; a cosine of at least :data:`THRESHOLD` counts as a refusal.

Limits, measured on the labelled examples in ``tests/test_refusal.py``: an answer that states a value
and then hedges ("It was 2019, but the context does not say") counts as a refusal; a refusal in words
no rule knows and unlike every phrasing ("That detail escapes me") is missed; a real answer that is
itself about absence ("There is no charge for returns") is *not* a refusal, because the rules require
a word about knowledge or the text ("information", "context", "mentioned" …) beside the negation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_KNOWLEDGE = r"(?:information|info|details?|data|record|mention|reference|answer|indication)"
_TEXT = r"(?:context|text|passages?|documents?|documentation|sources?|excerpts?|materials?|information)"
_NEGATED = r"(?:does\s*n[o']t|do\s*n[o']t|did\s*n[o']t|does not|do not|did not|doesn't|don't|didn't)"

RULES: tuple[tuple[str, str], ...] = (
    ("don't know", r"\b(?:i|we)\s+(?:do\s*n[o']t|don't|dont|really\s+don't)\s+know\b"),
    ("not sure", r"\b(?:i'?m|i am|we are)\s+not\s+(?:sure|certain|aware)\b"),
    (
        "cannot",
        r"\b(?:i|we)\s+(?:cannot|can't|can not|could not|couldn't|am unable to|was unable to)\s+"
        r"(?:find|answer|determine|tell|say|provide|identify|locate|confirm|see)\b",
    ),
    ("unable", r"\bunable to (?:find|answer|determine|provide|locate|identify)\b"),
    ("no information", rf"\b(?:no|not any|lack of|insufficient)\s+(?:specific\s+|relevant\s+|such\s+)?{_KNOWLEDGE}\b"),
    (
        "text does not say",
        rf"\b{_TEXT}\s+(?:provided\s+|given\s+|above\s+)?{_NEGATED}\s+"
        r"(?:contain|mention|say|specify|provide|include|state|give|list|cover|refer|have)",
    ),
    (
        "not in the text",
        r"\b(?:is|are|was|were|isn't|aren't|wasn't|weren't)\s+(?:not\s+)?"
        r"(?:mentioned|provided|specified|stated|included|given|listed|found|covered|available|described)\s+"
        rf"(?:in|within|by)\s+(?:the\s+|this\s+|these\s+|any\s+)?(?:provided\s+|given\s+)?{_TEXT}\b",
    ),
    ("not mentioned", r"\bnot\s+(?:explicitly\s+)?(?:mentioned|specified|stated)\b"),
    ("apology", r"^\W*(?:i'?m sorry|i am sorry|sorry|i apologi[sz]e|unfortunately,? i)\b"),
    ("unknown", r"^\W*(?:answer:\s*)?(?:unknown|not known|no answer|n/a)\W*(?:\(|$)"),
)
_COMPILED = tuple((name, re.compile(pattern, re.I)) for name, pattern in RULES)

PHRASINGS: tuple[str, ...] = (
    "I don't know.",
    "I don't have that information.",
    "The context does not contain the answer.",
    "The documents don't say.",
    "I cannot answer that from the given text.",
    "There is no information about this.",
    "That is not mentioned anywhere.",
    "I'm not able to tell.",
)
THRESHOLD = 0.45  # cosine with all-MiniLM-L6-v2: on the labelled examples real answers reach 0.36 at most,
# refusals no rule catches ("That's not something the text tells us") 0.49


@dataclass(frozen=True)
class RefusalCheck:
    """Whether an answer declines, and why it was judged so."""

    refused: bool
    reason: str


def detect_refusal(text: str, embed_model: Any = None) -> RefusalCheck:
    """Judge one answer; ``embed_model`` (LlamaIndex embedding) adds the similarity check after the rules.

    >>> detect_refusal("I don't know the answer to that.")
    RefusalCheck(refused=True, reason="rule 'don't know'")
    >>> detect_refusal("The context does not mention a KESTO-4 station.").reason
    "rule 'text does not say'"
    >>> detect_refusal("Answer: 2 October 2023 (Source: product_catalog.pdf)").refused
    False
    >>> detect_refusal("There is no charge for returns within 30 days.").refused
    False
    """
    stripped = text.strip()
    if not stripped:
        return RefusalCheck(True, "empty answer")
    for name, pattern in _COMPILED:
        if pattern.search(stripped):
            return RefusalCheck(True, f"rule '{name}'")
    if embed_model is None:
        return RefusalCheck(False, "no refusal rule matched")
    first = re.split(r"(?<=[.!?])\s", stripped, maxsplit=1)[0][:300]
    score, nearest = _nearest(first, embed_model)
    if score >= THRESHOLD:
        return RefusalCheck(True, f"similar ({score:.2f}) to '{nearest}'")
    return RefusalCheck(False, f"no refusal rule matched; nearest phrasing '{nearest}' at {score:.2f}")


def _nearest(sentence: str, embed_model: Any) -> tuple[float, str]:
    import numpy as np

    phrasings = _phrasing_vectors(embed_model)
    vector = np.asarray(embed_model.get_text_embedding(sentence), dtype=np.float32)
    vector /= np.linalg.norm(vector) or 1.0
    scores = phrasings @ vector
    best = int(np.argmax(scores))
    return float(scores[best]), PHRASINGS[best]


_VECTORS: dict[str, Any] = {}  # embedding model name -> the phrasings' unit vectors, embedded once


def _phrasing_vectors(embed_model: Any) -> Any:
    import numpy as np

    name = str(getattr(embed_model, "model_name", id(embed_model)))
    if name not in _VECTORS:
        vectors = np.asarray(embed_model.get_text_embedding_batch(list(PHRASINGS)), dtype=np.float32)
        _VECTORS[name] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return _VECTORS[name]


__all__ = ["PHRASINGS", "RULES", "THRESHOLD", "RefusalCheck", "detect_refusal"]
