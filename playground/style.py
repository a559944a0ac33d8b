"""A workspace's house style: one rule an answer follows or not, so "consistent, specialised output" is counted.

The default is the form the fine-tuning lab trains (``Answer: <fact> (Source: <file or code>)``), so a
fine-tune made here is measured against what it was taught; a workspace can set its own rule (a regular
expression and a sentence saying what it means), kept in its ``settings.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from playground.config import _Config, _help, _require

DEFAULT_PATTERN = r"^\s*Answer:\s*\S.*\(Source:\s*[^)]+\)\s*\.?\s*$"


@dataclass(frozen=True)
class StyleRule(_Config):
    """The house style an answer is checked against (a regular expression over the whole, trimmed answer)."""

    pattern: str = _help(
        "Regular expression the whole answer must match (searched with DOTALL; anchor it with ^ and $).",
        DEFAULT_PATTERN,
    )
    description: str = _help("The style in words, for cards and reports.", "Answer: <fact> (Source: <file or code>)")

    def __post_init__(self) -> None:
        try:
            re.compile(self.pattern)
        except re.error as err:
            _require(False, "StyleRule", "pattern", self.pattern, f"is not a regular expression ({err})")
        _require(bool(self.description.strip()), "StyleRule", "description", self.description, "say it in words")

    @cached_property
    def _compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.S)

    def follows(self, answer: str) -> bool:
        """Whether ``answer`` is in the house style.

        >>> rule = StyleRule()
        >>> rule.follows("Answer: within 45 days (Source: NW-POL-003)"), rule.follows("Within 45 days.")
        (True, False)
        """
        return bool(self._compiled.search(answer.strip()))


__all__ = ["DEFAULT_PATTERN", "StyleRule"]
