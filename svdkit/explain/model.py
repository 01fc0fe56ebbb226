"""The report's data model: what ``svdkit explain`` found, before any rendering.

A :class:`Report` is a list of :class:`Section` objects, each holding named facts
(numbers, vectors, matrices, booleans, text), optional derivation steps and
notes. Renderers (terminal, Markdown, JSON, and later LaTeX and HTML) only read
this model; the exact engine and the derivations of a later release add
``steps`` and ``notes`` to the same sections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from svdkit.exact.steps import Step

__all__ = ["SCHEMA", "SCHEMA_VERSION", "Fact", "Note", "Report", "Section", "Step"]

SCHEMA = "svdkit.explain"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Fact:
    """One named result: ``key`` is stable (JSON), ``label`` is a catalogue key."""

    key: str
    value: Any
    label: str | None = None


@dataclass(frozen=True)
class Note:
    """Where the course notes state something this matrix shows to be false.

    ``values`` are the note's placeholders (``case`` tells its variants apart), as
    the check found them, before translation.
    """

    id: str
    text: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Section:
    """A part of the report (``id`` is stable, ``title`` a catalogue key)."""

    id: str
    applies: bool = True
    reason: str | None = None
    facts: list[Fact] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    def add(self, key: str, value: Any) -> None:
        """Append the fact ``key`` (its label is looked up in the message catalogue)."""
        self.facts.append(Fact(key, value))

    def fact(self, key: str) -> Any:
        """The value of fact ``key``."""
        for f in self.facts:
            if f.key == key:
                return f.value
        raise KeyError(key)


@dataclass
class Report:
    """Everything ``svdkit explain`` says about one matrix."""

    matrix: np.ndarray
    tolerance: float
    sections: list[Section] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    lang: str = "en"
    computed: dict[str, Any] = field(default_factory=dict, repr=False)
    """Engine results kept for later steps of the build (not rendered)."""
    tol_given: bool = False
    """``tolerance`` is the caller's ``tol`` (``--tol``), not the tolerance rule's."""
    log_sigma1: float | None = None
    """``log σ₁``, finite also where σ₁ itself overflowed (entries near 1e308)."""
    eigen_tolerance: float | None = None
    """The zero threshold of the eigenvalues where it is not ``tolerance``: for Hermitian A,
    the one :func:`svdkit.definiteness` applies (its ``tol_used``), which counts as many
    non-zero eigenvalues as the rank (``tolerance`` moved by rounding where ``eigvalsh``
    and the singular values land on either side of it)."""

    def section(self, id: str) -> Section:
        """The section with this ``id``."""
        for s in self.sections:
            if s.id == id:
                return s
        raise KeyError(id)
