"""A derivation step: what the exact engine did, in a form every renderer and language can use.

A step holds no sentence: ``key`` names a message in the catalogues
(``svdkit/explain/locales/*.json``) whose ``{placeholders}`` are filled from
``values``. The formula and matrices are exact objects (SymPy), printed by each
output format with its own printer (Unicode text, LaTeX, MathML).

This module imports nothing heavy, so the report model can use it without SymPy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["ROW_EQUIVALENT", "Step", "matrix_relation", "row_equivalent"]

ROW_EQUIVALENT = "∼"
"""The relation "is row-equivalent to": a matrix met while row-reducing is not equal to
the one it came from, and is named ``"A ∼"`` (:func:`row_equivalent`), drawn ``A ∼ […]``."""


@dataclass(frozen=True)
class Step:
    """One step of a derivation.

    Attributes
    ----------
    key : str
        Message catalogue key of the sentence, e.g. ``"svd.char_poly"``.
    values : mapping
        Values of the sentence's placeholders: ``int``, ``str`` or exact SymPy
        numbers and expressions (renderers format them per output format).
    formula : object, optional
        A SymPy expression or relation (``Eq``) shown with the sentence.
    matrices : mapping
        Named intermediate matrices (SymPy ``Matrix``, or NumPy arrays), each drawn
        ``name = matrix``; a name ending in `` ∼`` (:func:`row_equivalent`) is a matrix
        row-equivalent to the one named, drawn ``A ∼ matrix`` (:func:`matrix_relation`).

    Examples
    --------
    >>> Step("det.leibniz_term", {"sign": "+", "n": 2}).key
    'det.leibniz_term'
    """

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)
    formula: Any = None
    matrices: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        """The dataclass ``repr``, also of integers beyond Python's 4300 digits."""
        from svdkit.exact.format import long_integers  # SymPy: only when printed

        with long_integers(self):
            return dataclass_repr(self)


def dataclass_repr(obj: Any) -> str:
    """What ``@dataclass`` writes as ``repr(obj)``: ``Name(field=value, …)``.

    Examples
    --------
    >>> dataclass_repr(Step("det.leibniz_term"))
    "Step(key='det.leibniz_term', values={}, formula=None, matrices={})"
    """
    shown = ", ".join(f"{f.name}={getattr(obj, f.name)!r}" for f in fields(obj) if f.repr)
    return f"{type(obj).__qualname__}({shown})"


def row_equivalent(name: str) -> str:
    """The key of a step's matrix that is row-equivalent to ``name``, not equal to it.

    Examples
    --------
    >>> row_equivalent("[A | I]")
    '[A | I] ∼'
    """
    return f"{name} {ROW_EQUIVALENT}"


def matrix_relation(name: Any) -> tuple[str, str]:
    """A step's matrix key split into the name drawn and its relation to the matrix.

    Examples
    --------
    >>> matrix_relation("A ∼")
    ('A', '∼')
    >>> matrix_relation("A⁻¹")
    ('A⁻¹', '=')
    """
    text = str(name)
    suffix = " " + ROW_EQUIVALENT
    if text.endswith(suffix):
        return text[: -len(suffix)], ROW_EQUIVALENT
    return text, "="
