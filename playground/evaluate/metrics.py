"""Answer and retrieval metrics, and bootstrap confidence intervals. Pure functions, no models.

Answer correctness is judged three ways against the gold answer:

- :func:`exact_match`: the normalised gold answer equals the normalised answer *or appears in it*
  as a whole run of words. Small models answer in sentences ("The warranty lasts 24 months."),
  so strict equality would call nearly every right answer wrong; this is the headline metric.
- :func:`strict_exact_match`: normalised equality only (SQuAD's exact match).
- :func:`token_f1`: overlap of the normalised words (SQuAD's F1), partial credit for near misses.
- :func:`embedding_similarity`: cosine of the two answers' embeddings, for paraphrases.

Retrieval: :func:`hit_at_k` and :func:`reciprocal_rank` of one question, from the rank of its
first relevant passage.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from playground.index import cosine  # one definition, shared with retrieval
from playground.text import normalize


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation: :func:`playground.text.normalize` without the articles a, an and the.

    >>> normalize_answer("The  **NW-POL-019** policy.")
    'nw pol 019 policy'
    >>> normalize_answer("Zürich, 2 October 2023")
    'zurich 2 october 2023'
    """
    return normalize(text, drop_articles=True)


def _golds(gold: str | Sequence[str]) -> list[str]:
    return [gold] if isinstance(gold, str) else list(gold)


def strict_exact_match(prediction: str, gold: str | Sequence[str]) -> float:
    """1.0 when the normalised answer equals a normalised gold answer, else 0.0.

    >>> strict_exact_match("24 months.", "24 Months")
    1.0
    >>> strict_exact_match("The warranty lasts 24 months.", "24 months")
    0.0
    """
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in _golds(gold)))


def exact_match(prediction: str, gold: str | Sequence[str]) -> float:
    """1.0 when a normalised gold answer equals the normalised answer or is contained in it, else 0.0.

    Containment counts whole words only: "15" is not found in "150". An empty gold answer never matches.

    >>> exact_match("The warranty lasts 24 months.", "24 months")
    1.0
    >>> exact_match("It lasts 240 months", "24 months")
    0.0
    >>> exact_match("Founded on 9 March 2011.", ["March 9, 2011", "9 March 2011"])
    1.0
    """
    pred = f" {normalize_answer(prediction)} "
    for g in _golds(gold):
        norm = normalize_answer(g)
        if norm and f" {norm} " in pred:
            return 1.0
    return 0.0


def token_f1(prediction: str, gold: str | Sequence[str]) -> float:
    """Harmonic mean of word precision and recall after normalisation (best over several gold answers).

    >>> token_f1("24 months", "24 months")
    1.0
    >>> round(token_f1("The warranty lasts 24 months", "24 months"), 3)
    0.667
    >>> token_f1("", "24 months")
    0.0
    """
    best = 0.0
    pred = normalize_answer(prediction).split()
    for g in _golds(gold):
        ref = normalize_answer(g).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if not common:
            continue
        precision, recall = common / len(pred), common / len(ref)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def embedding_similarity(prediction: str, gold: str | Sequence[str], embed_model: Any) -> float:
    """Cosine similarity of the answer's and the gold answer's embeddings (best gold); 0.0 for an empty answer.

    ``embed_model`` is any LlamaIndex ``BaseEmbedding`` (the index's own, normally).
    """
    golds = [g for g in _golds(gold) if g.strip()]
    if not prediction.strip() or not golds:
        return 0.0
    vectors = embed_model.get_text_embedding_batch([prediction, *golds])
    return max(cosine(vectors[0], v) for v in vectors[1:])


def hit_at_k(rank: int | None, k: int) -> float:
    """1.0 when the first relevant passage is ranked ``k`` or better (ranks start at 1; None = not retrieved).

    >>> hit_at_k(2, 1), hit_at_k(2, 3), hit_at_k(None, 5)
    (0.0, 1.0, 0.0)
    """
    return float(rank is not None and rank <= k)


def reciprocal_rank(rank: int | None) -> float:
    """1 / rank of the first relevant passage; 0.0 when none was retrieved.

    >>> reciprocal_rank(1), reciprocal_rank(4), reciprocal_rank(None)
    (1.0, 0.25, 0.0)
    """
    return 1.0 / rank if rank else 0.0


def first_relevant_rank(retrieved_ids: Sequence[str], relevant_ids: Sequence[str] | set[str]) -> int | None:
    """Rank (from 1) of the first retrieved id that is relevant, or None.

    >>> first_relevant_rank(["a", "b", "c"], {"c", "x"})
    3
    >>> first_relevant_rank(["a"], set()) is None
    True
    """
    relevant = set(relevant_ids)
    return next((i for i, node_id in enumerate(retrieved_ids, start=1) if node_id in relevant), None)


def bootstrap_ci(
    values: Sequence[float], n: int = 2000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Mean of ``values`` and its percentile bootstrap interval: ``(mean, low, high)``.

    ``n`` resamples of the values (with replacement) are drawn from a generator seeded with
    ``seed``, so the same values and seed give the same interval. An empty input gives NaNs.

    >>> bootstrap_ci([1.0, 1.0, 1.0])
    (1.0, 1.0, 1.0)
    >>> mean, low, high = bootstrap_ci([0, 1] * 20, seed=1)
    >>> mean, low < 0.5 < high, round(high - low, 1)
    (0.5, True, 0.3)
    """
    import numpy as np

    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (math.nan, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(n, data.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return (float(data.mean()), float(low), float(high))


def paired_bootstrap_ci(
    a: Sequence[float], b: Sequence[float], n: int = 2000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Mean difference ``a - b`` over the same questions, with a bootstrap interval that resamples questions.

    Pairing removes the spread that comes from some questions being harder than others.

    >>> paired_bootstrap_ci([1, 1, 0, 1], [0, 1, 0, 0])
    (0.5, 0.0, 1.0)
    """
    if len(a) != len(b):
        raise ValueError(f"paired values differ in length: {len(a)} and {len(b)}")
    return bootstrap_ci([x - y for x, y in zip(a, b, strict=True)], n=n, seed=seed, confidence=confidence)


__all__ = [
    "bootstrap_ci",
    "cosine",
    "embedding_similarity",
    "exact_match",
    "first_relevant_rank",
    "hit_at_k",
    "normalize_answer",
    "paired_bootstrap_ci",
    "reciprocal_rank",
    "strict_exact_match",
    "token_f1",
]
