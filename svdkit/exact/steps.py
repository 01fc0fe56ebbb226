"""A derivation step: what the exact engine did, in a form every renderer and language can use.

A step holds no sentence: ``key`` names a message in the catalogues
(``svdkit/explain/locales/*.json``) whose ``{placeholders}`` are filled from
``values``. The formula and matrices are exact objects (SymPy), printed by each
output format with its own printer (Unicode text, LaTeX, MathML).

This module imports nothing heavy, so the report model can use it without SymPy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Step"]


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
        Named intermediate matrices (SymPy ``Matrix``, or NumPy arrays).

    Examples
    --------
    >>> Step("det.leibniz_term", {"sign": "+", "n": 2}).key
    'det.leibniz_term'
    """

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)
    formula: Any = None
    matrices: Mapping[str, Any] = field(default_factory=dict)
