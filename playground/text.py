"""The one text normaliser: how the leakage check, the answer metrics and the fact extractor compare text."""

from __future__ import annotations

import re
import unicodedata

_ARTICLES = frozenset({"a", "an", "the"})


def normalize(text: str, *, drop_articles: bool = False) -> str:
    """Lower-case ASCII words and numbers, single-spaced: accents and punctuation are gone.

    ``drop_articles`` also drops a, an and the (SQuAD's answer normalisation), so "the 24 months"
    scores like "24 months"; the leakage check keeps them, because held-out questions are matched
    word for word.

    >>> normalize("  What's the GALE-9's  Price? ")
    'what s the gale 9 s price'
    >>> normalize("The  **NW-POL-019** policy.", drop_articles=True)
    'nw pol 019 policy'
    >>> normalize("Zürich, 2 October 2023…")
    'zurich 2 october 2023'
    """
    # NFKD splits "ü" into "u" and its accent, which the ASCII encoding then drops.
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", text.lower())
    if drop_articles:
        words = [w for w in words if w not in _ARTICLES]
    return " ".join(words)


__all__ = ["normalize"]
