"""Helpers shared by the input-reader tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class CountingPattern:
    """A compiled pattern whose ``finditer`` counts the matches it yields (the
    tokenizer's ``_TOKEN_RE``, monkeypatched: how far the text was tokenised)."""

    def __init__(self, pattern: Any) -> None:
        self.pattern, self.matches = pattern, 0

    def finditer(self, *args: Any) -> Iterator[Any]:
        for m in self.pattern.finditer(*args):
            self.matches += 1
            yield m

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pattern, name)
