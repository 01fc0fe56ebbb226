"""Large matrices shown in part: their corners, as NumPy prints large arrays.

A report is for a person to read. A matrix (or vector) with more than
:data:`LIMIT` rows or columns is shown by its first and last :data:`EDGE` rows
and columns, with ``⋯`` (columns left out), ``⋮`` (rows left out) and ``⋱``
(both) in place of the rest. Every human-readable format (terminal, Markdown,
LaTeX, HTML) uses this one rule, each with its own markup for the dots; the
JSON format, which is data, keeps every entry.

Drawing every entry cost far more than the report itself: a 1000×1000 report
holds a dozen 1000×1000 matrices (A, U, Σ, Vᴴ, A⁻¹, A⁺, the eigenvectors, the
bases of the subspaces, …), and its Markdown, LaTeX and HTML pages took 50 to
110 s to write, 120 to 470 MB of text and up to 2 GB of memory (formatting each
entry, then turning it into LaTeX or MathML character by character). Their
corners are written in 0.02 s, 10 to 40 kB.

Examples
--------
>>> import numpy as np
>>> kept(4), kept(12)
([0, 1, 2, 3], [0, 1, 2, None, 9, 10, 11])
>>> grid = corner_grid(np.arange(144).reshape(12, 12), str)
>>> [" ".join(row) for row in grid[2:5]]
['24 25 26 ⋯ 33 34 35', '⋮ ⋮ ⋮ ⋱ ⋮ ⋮ ⋮', '108 109 110 ⋯ 117 118 119']
>>> vector_text(np.arange(20), str)
'(0, 1, 2, …, 17, 18, 19)'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

__all__ = ["EDGE", "LIMIT", "TERMINAL_DOTS", "Dots", "corner_grid", "is_elided", "kept",
           "vector_text"]

LIMIT = 10
"""Most rows, and most columns, of a matrix shown whole; larger ones are shown in part."""

EDGE = 3
"""Rows (columns) shown at each end of a dimension longer than :data:`LIMIT`."""


class Dots(NamedTuple):
    """What stands for the entries left out, in one output's markup."""

    across: str
    """A row's columns left out (``⋯``)."""
    down: str
    """A column's rows left out (``⋮``)."""
    diagonal: str
    """Where left-out rows meet left-out columns (``⋱``)."""


TERMINAL_DOTS = Dots("⋯", "⋮", "⋱")
"""The dots as Unicode text (terminal)."""


def kept(n: int) -> list[int | None]:
    """Indices shown of a dimension of length ``n``: all, or both ends around a gap (None).

    Examples
    --------
    >>> kept(10), kept(11)
    ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [0, 1, 2, None, 8, 9, 10])
    """
    if n <= LIMIT:
        return list(range(n))
    return [*range(EDGE), None, *range(n - EDGE, n)]


def is_elided(value: Any) -> bool:
    """Whether ``value`` is a vector or matrix shown in part (longer than :data:`LIMIT`)."""
    return isinstance(value, np.ndarray) and value.ndim in (1, 2) and max(value.shape) > LIMIT


def corner_grid(
    a: Any, number: Callable[[Any], str], dots: Dots = TERMINAL_DOTS
) -> list[list[str]]:
    """Rows of printed entries of ``a``, elided to its corners when it is large.

    Parameters
    ----------
    a : array_like
        A matrix, or a vector (shown as one column).
    number : callable
        Prints one entry.
    dots : Dots
        What stands for the entries left out.

    Returns
    -------
    list of list of str
        All of ``a``'s entries when it has at most :data:`LIMIT` rows and
        columns; otherwise the first and last :data:`EDGE` rows and columns of
        each dimension longer than :data:`LIMIT`, with ``dots`` in the gaps.
        Only the entries shown are printed.
    """
    a = np.atleast_1d(np.asarray(a))
    if a.ndim == 1:
        a = a[:, None]
    rows, cols = kept(a.shape[0]), kept(a.shape[1])
    grid = []
    for i in rows:
        if i is None:
            grid.append([dots.down if j is not None else dots.diagonal for j in cols])
        else:
            grid.append([number(a[i, j]) if j is not None else dots.across for j in cols])
    return grid


def vector_text(
    v: Any,
    number: Callable[[Any], str],
    ellipsis: str = "…",
    brackets: tuple[str, str] = ("(", ")"),
) -> str:
    """A vector as ``(v₁, v₂, v₃, …, vₙ₋₂, vₙ₋₁, vₙ)``: whole, or its first and last entries.

    ``number`` prints one entry, ``ellipsis`` stands for the entries left out,
    ``brackets`` open and close the list.
    """
    v = np.ravel(np.asarray(v))
    inner = ", ".join(ellipsis if i is None else number(v[i]) for i in kept(v.size))
    return brackets[0] + inner + brackets[1]
