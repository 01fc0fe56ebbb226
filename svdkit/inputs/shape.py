"""The shape checks both front doors share: nested rows, and arrays made 2-D.

:func:`svdkit.as_matrix` (floating point) and :func:`svdkit.exact.as_exact`
(SymPy) refuse the same malformed input with the same words: no rows, rows of
different kinds or lengths, entries nested a third level deep, more than two
dimensions, no entries at all.

Examples
--------
>>> check_rows([[1, 2], [3, 4]], "A"), check_rows([1, 2], "A")
(True, False)
>>> check_rows([[1, 2], [3]], "A")
Traceback (most recent call last):
...
svdkit.errors.RaggedError: A: row 2 has 1 entry but row 1 has 2 entries
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from svdkit._words import counted
from svdkit.errors import EmptyInputError, NonFiniteError, ParseError, RaggedError, ShapeError
from svdkit.inputs.expr import clip

__all__ = [
    "as_2d",
    "check_rows",
    "count_entries",
    "first_masked",
    "is_sequence",
    "nested_entry_error",
    "unmasked",
]


def is_sequence(x: object) -> bool:
    """Whether ``x`` is a row (a list, tuple or array of one or more dimensions), not a number.

    Parameters
    ----------
    x : object
        A row of nested input, or an entry of one.

    Returns
    -------
    bool
        True for a list, a tuple or an ndarray with ``ndim > 0``.
    """
    return isinstance(x, list | tuple) or (isinstance(x, np.ndarray) and x.ndim > 0)


def count_entries(n: int) -> str:
    """``"1 entry"`` or ``"n entries"``, for the messages about ragged rows.

    Parameters
    ----------
    n : int
        How many entries.

    Returns
    -------
    str
        The count in words.
    """
    return counted(n, "entry", "entries")


def first_masked(a: np.ma.MaskedArray) -> tuple[int, ...] | None:
    """The index of the first masked entry of ``a`` (row-major), or None.

    >>> first_masked(np.ma.masked_array([[1, 2], [3, 4]], mask=[[0, 0], [1, 0]]))
    (1, 0)
    """
    masked = np.ma.getmaskarray(a)
    if not masked.any():
        return None
    return tuple(int(i) for i in np.argwhere(masked)[0])


def unmasked(
    a: np.ma.MaskedArray, name: str, position: Callable[[tuple[int, ...]], str]
) -> np.ndarray:
    """The data of a masked array that masks nothing; a masked entry is an error.

    Reading ``a.data`` would take the value hidden under the mask, and
    ``np.asarray(a)`` does the same: a missing entry has no value svdkit may use.

    Parameters
    ----------
    a : numpy.ma.MaskedArray
        The input.
    name : str
        Its name, for the message.
    position : callable
        ``position(index)`` says where an entry is ("row 1, column 2"), in the
        caller's words.

    Returns
    -------
    ndarray
        ``a.data``.

    Raises
    ------
    NonFiniteError
        An entry is masked (the message names the first).
    """
    idx = first_masked(a)
    if idx is not None:
        raise NonFiniteError(
            f"{name} is a masked array with a masked (missing) entry at {position(idx)}; "
            f"svdkit would read the value hidden under the mask: fill the masked entries "
            f"({name}.filled(value)) or remove them first"
        )
    return np.asarray(a.data)


def check_rows(rows: list, name: str) -> bool:
    """Check that the rows of nested input are all lists of one length, or all numbers.

    Parameters
    ----------
    rows : list
        The top level of the nested input.
    name : str
        What to call the matrix in error messages.

    Returns
    -------
    bool
        True when the rows are lists (a matrix), False when they are numbers
        (a vector, which the front doors read as a column).

    Raises
    ------
    EmptyInputError
        No rows at all.
    RaggedError
        A row that is a list among numbers (or the reverse), or a row whose
        length differs from the first row's.
    ParseError
        A row that is ``None`` or text among lists (a missing row, not a short one).
    """
    if not rows:
        raise EmptyInputError(f"{name} is empty: a matrix needs at least one entry")
    kinds = [is_sequence(r) for r in rows]
    for i, k in enumerate(kinds):
        if k == kinds[0]:
            continue
        if kinds[0] and (rows[i] is None or isinstance(rows[i], str | bytes)):
            raise ParseError(
                f"{name}: row {i + 1} is {_describe_row(rows[i])}, not a list of numbers "
                "(row 1 is a list)"
            )
        raise RaggedError(
            f"{name}: row {i + 1} is {_describe_row(rows[i])} but row 1 is {_describe_row(rows[0])}"
        )
    if not kinds[0]:
        return False
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise RaggedError(
                f"{name}: row {i + 1} has {count_entries(len(row))} but row 1 has "
                f"{count_entries(width)}"
            )
    return True


def _describe_row(row: object) -> str:
    """A row as a message about the nesting calls it: ``a list``, ``a single number``,
    ``None``, ``the text 'ab'``, or another entry by its (clipped) ``repr``."""
    if is_sequence(row):
        return "a list"
    if row is None:
        return "None"
    if isinstance(row, str | bytes):
        return f"the text {clip(repr(row), 60)}"
    if isinstance(row, numbers.Number | np.number | np.bool_):
        return "a single number"
    return f"a single entry ({clip(repr(row), 60)})"


def nested_entry_error(name: str, i: int, j: int) -> ShapeError:
    """The error for an entry that is itself a list (input nested three levels deep).

    Parameters
    ----------
    name : str
        What to call the matrix in the message ("": none, the caller adds it).
    i, j : int
        The entry's row and column, 0-based (the message counts from 1).

    Returns
    -------
    ShapeError
        The error to raise.
    """
    prefix = f"{name}: " if name else ""
    return ShapeError(
        f"{prefix}the entry at row {i + 1}, column {j + 1} is itself a list; "
        "nested three levels deep is a 3-D array, but a matrix is 2-D"
    )


def as_2d(a: np.ndarray, name: str) -> np.ndarray:
    """An array of at most two dimensions as a matrix: a vector is a column, a scalar 1×1.

    Parameters
    ----------
    a : numpy.ndarray
        Any array; a 2-D one is returned as is (no copy).
    name : str
        What to call the matrix in error messages.

    Returns
    -------
    numpy.ndarray
        ``a`` itself or a reshaped view of it, 2-D.

    Raises
    ------
    ShapeError
        More than two dimensions.
    EmptyInputError
        No entries.

    Examples
    --------
    >>> as_2d(np.array([1, 2, 3]), "A").shape, as_2d(np.array(5), "A").shape
    ((3, 1), (1, 1))
    """
    if a.ndim > 2:
        raise ShapeError(
            f"{name} must be a matrix (2-D); got a {a.ndim}-D array of shape {a.shape}"
        )
    if a.size == 0:
        raise EmptyInputError(
            f"{name} is empty (shape {a.shape}): a matrix needs at least one entry"
        )
    if a.ndim == 2:
        return a
    return a.reshape(1, 1) if a.ndim == 0 else a.reshape(-1, 1)  # a vector is a column
