"""Collecting derivation steps only when the caller asked for them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from svdkit.exact.steps import Step

__all__ = ["Recorder"]


class Recorder:
    """Appends :class:`Step` objects when ``on``; a no-op otherwise.

    Examples
    --------
    >>> r = Recorder(True)
    >>> r.add("trace.sum", {"value": 8})
    >>> r.steps()[0].key
    'trace.sum'
    >>> Recorder(False).add("trace.sum") is None
    True
    """

    __slots__ = ("_items", "on")

    def __init__(self, on: bool) -> None:
        self.on = bool(on)
        self._items: list[Step] = []

    def add(
        self,
        key: str,
        values: Mapping[str, Any] | None = None,
        formula: Any = None,
        matrices: Mapping[str, Any] | None = None,
    ) -> None:
        if self.on:
            self._items.append(Step(key, dict(values or {}), formula, dict(matrices or {})))

    def extend(self, steps) -> None:
        if self.on:
            self._items.extend(steps)

    def steps(self) -> tuple[Step, ...]:
        return tuple(self._items)
