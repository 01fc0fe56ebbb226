"""Bracketed and LaTeX matrices of plain numbers, read at C speed.

Big matrices are often pasted as nested lists (``[[1, 2], [3, 4]]``, NumPy's
``array([[…]])`` or its ``[[1. 2.] [3. 4.]]`` printout), as MATLAB brackets
(``[1 2; 3 4]``) or as LaTeX (``\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}``).
When every entry is a plain number (``2.5``, ``-1e-3``, ``3/4``), the readers
here split the text with ``str`` methods and convert the entries with
:func:`~svdkit.inputs.plain.plain_values`, as :mod:`svdkit.inputs.plain` does
for lines of numbers.

They accept a strict form of each notation only, and return ``None`` for
anything else — an expression (``sqrt(2)``, ``1 - 2``, ``2i``), a comment, an
empty entry, ragged rows, a trailing comma, ``\\hline``, any character they do
not expect. The full parser of :mod:`svdkit.inputs.text` then reads the text:
it alone writes error messages, and what these readers return is what it
would return, value for value.

Examples
--------
>>> from svdkit.inputs.markup import read_brackets, read_latex
>>> read_brackets("[[1, 2], [3, -4e-1]]")
array([[ 1. ,  2. ],
       [ 3. , -0.4]])
>>> read_brackets("[1, 2, 3]").shape  # a Python list is a vector: a column
(3, 1)
>>> read_latex(r" 1 & 2 \\\\ 3/4 & 5 \\\\ ", trailer=False)
array([[1.  , 2.  ],
       [0.75, 5.  ]])
>>> read_brackets("[1 sqrt(2)]") is None  # the full parser reads it
True
"""

from __future__ import annotations

import re

import numpy as np

from svdkit.inputs.plain import plain_values

__all__ = ["read_brackets", "read_latex", "read_rows"]

_BLANKS = " \t\r\n"  # the only blanks accepted (the tokenizer knows more: those go the slow way)
_MINUS = "\N{MINUS SIGN}"  # the tokenizer reads it as "-", in an exponent too
# array([...]), np.array([...]), numpy.matrix([...]): the call, up to its "["
_CALL = re.compile(
    r"[ \t\r\n]*(?:(?:np|numpy)[ \t\r\n]*\.[ \t\r\n]*)?(?:array|asarray|matrix)[ \t\r\n]*\("
    r"[ \t\r\n]*(?=\[)"
)
_ROW_CHARS = re.compile(r"[0-9eE.+\-/,; \t\r\n]*")
_NESTED_CHARS = re.compile(r"[0-9eE.+\-/,;\[\] \t\r\n]*")
_LATEX_CHARS = re.compile(r"[0-9eE.+\-/&\\ \t\r\n]*")
_ROW_BREAK = re.compile(r";|\r\n|\r|\n")
# Empty entries: ",," or a first comma, and a comma that ends a row (the full parser continues
# MATLAB's row on the next line, or accepts a Python list's last comma; either way, not plain).
# Each pattern starts with one character, which ``re`` looks for at C speed.
_ROW_COMMA = re.compile(r",[ \t]*[,;\r\n]")  # MATLAB rows
_COMMA_ROW = re.compile(r"[;\r\n][ \t]*,")
_LIST_COMMA = re.compile(r",[ \t\r\n]*[,\]]")  # the rows of a nested list
_COMMA_LIST = re.compile(r"\[[ \t\r\n]*,")
_EMPTY_CELL = re.compile(r"&[ \t\r\n]*&")  # LaTeX
_GAP = re.compile(r"[ \t\r\n]*[,;]?[ \t\r\n]*")  # between two rows of a nested list
_ROWSEP = "\\\\"


def _grid(rows: list[list[str]], text: str) -> np.ndarray | None:
    """Rows of fields, all of one length, as a float64 matrix; ``None`` if not plain."""
    n = len(rows[0]) if rows else 0
    if n == 0 or any(len(row) != n for row in rows):
        return None  # no entries, or ragged: the full parser says which row
    values = plain_values([f for row in rows for f in row], text)
    return None if values is None else values.reshape(len(rows), n)


def _has_empty_entry(text: str) -> bool:
    """Whether MATLAB rows have an empty entry or a comma at the end of a row."""
    if "," not in text:
        return False
    blank = " \t"
    if text.lstrip(blank).startswith(",") or text.rstrip(blank).endswith(","):
        return True
    return bool(_ROW_COMMA.search(text) or _COMMA_ROW.search(text))


def read_rows(text: str) -> tuple[np.ndarray, bool] | None:
    """MATLAB rows of plain numbers: rows end at ``;`` or a line break, entries at ``,`` or blanks.

    Parameters
    ----------
    text : str
        The text, or what is inside MATLAB's brackets.

    Returns
    -------
    tuple of (numpy.ndarray, bool) or None
        The matrix, and whether the text is a Python list (one row, entries split
        by commas only, no ``;``: a vector when it is bracketed); ``None`` when the
        full parser must read the text.

    Examples
    --------
    >>> read_rows("1 2; 3 4")[0].tolist(), read_rows("1, 2")[1], read_rows("1 2")[1]
    ([[1.0, 2.0], [3.0, 4.0]], True, False)
    """
    if _MINUS in text:
        text = text.replace(_MINUS, "-")
    if not _ROW_CHARS.fullmatch(text) or _has_empty_entry(text):
        return None
    lines = [line for line in _ROW_BREAK.split(text) if line.strip(_BLANKS)]
    rows = [line.replace(",", " ").split() for line in lines]
    a = _grid(rows, text)
    if a is None:
        return None
    # a blank between two entries (not a comma) makes MATLAB's matrix, as ";" does
    is_list = len(lines) == 1 and ";" not in text
    is_list = is_list and all(len(part.split()) == 1 for part in lines[0].split(","))
    return a, is_list


def _nested_rows(interior: str) -> list[str] | None:
    """The rows of ``[[…], […]]``: what is inside each inner pair of brackets.

    ``interior`` is the text between the outer brackets; rows are separated by a
    ``,``, a ``;`` or nothing (NumPy's printout), and the last may be followed by
    a separator (Python's ``[[1], [2],]``).
    """
    pieces = interior.split("]")
    if not _GAP.fullmatch(pieces[-1]):
        return None
    rows = []
    for i, piece in enumerate(pieces[:-1]):
        gap, bracket, row = piece.partition("[")
        if not bracket or "[" in row or ";" in row:
            return None  # a third level, a bracket out of place, ";" inside a row
        if gap.strip(_BLANKS) if i == 0 else not _GAP.fullmatch(gap):
            return None
        rows.append(row)
    return rows


def _read_nested(interior: str) -> np.ndarray | None:
    if not _NESTED_CHARS.fullmatch(interior):
        return None
    if _LIST_COMMA.search(interior) or _COMMA_LIST.search(interior):
        return None  # an empty entry in a row (the last gap may hold a comma: not seen here)
    rows = _nested_rows(interior)
    if rows is None:
        return None
    return _grid([row.replace(",", " ").split() for row in rows], interior)


def read_brackets(text: str) -> np.ndarray | None:
    """Nested lists, ``array(…)`` or MATLAB brackets of plain numbers, or ``None``.

    Parameters
    ----------
    text : str
        Matrix text without LaTeX markers (``&``, ``\\\\``, ``\\begin``, …).

    Returns
    -------
    numpy.ndarray or None
        2-D float64, as :func:`~svdkit.inputs.text.text_to_array` would return
        it (a Python list is a column); ``None`` when the full parser must read
        the text.

    Examples
    --------
    >>> read_brackets("array([[1., 2.],\\n       [3., 4.]])").tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    >>> read_brackets("[1 2; 3 4]").tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    call = _CALL.match(text)
    if call is not None:  # the full parser reads what is between "(" and the last ")"
        end = len(text.rstrip(_BLANKS)) - 1
        if end < call.end() or text[end] != ")":
            return None
        text = text[call.end() : end]
    text = text.strip(_BLANKS)
    if len(text) < 2 or text[0] != "[" or text[-1] != "]":
        return None
    if _MINUS in text:
        text = text.replace(_MINUS, "-")
    interior = text[1:-1]
    if interior.lstrip(_BLANKS).startswith("["):
        return _read_nested(interior)
    rows = read_rows(interior)
    if rows is None:
        return None
    a, is_list = rows
    return a.reshape(-1, 1) if is_list else a


def _strip_trailer(body: str) -> str:
    """``body`` without the blanks, ``$``, ``\\]`` and ``\\)`` that end it."""
    while True:
        body = body.rstrip(_BLANKS + "$")
        if not body.endswith(("\\]", "\\)")):
            return body
        head = body[:-1]
        if (len(head) - len(head.rstrip("\\"))) % 2 == 0:
            return body  # "\\\\]": a row break, then "]"
        body = body[:-2]


def read_latex(body: str, trailer: bool) -> np.ndarray | None:
    """The rows of a LaTeX matrix body of plain numbers, or ``None``.

    Parameters
    ----------
    body : str
        What is between ``\\begin{…}`` (and its options) and ``\\end{…}``, or
        between the prefix (``$``, ``\\left[``) and ``\\right`` of a matrix
        without an environment; rows end at ``\\\\``, entries at ``&``.
    trailer : bool
        Whether blanks, ``$``, ``\\]`` and ``\\)`` at the end of ``body`` close
        the matrix (a matrix without an environment or ``\\right``).

    Returns
    -------
    numpy.ndarray or None
        2-D float64; ``None`` when the full parser must read the body.

    Examples
    --------
    >>> read_latex(r"1 & -2 \\\\ 3 & 4 $", trailer=True).tolist()
    [[1.0, -2.0], [3.0, 4.0]]
    """
    if trailer:
        body = _strip_trailer(body)
    if _MINUS in body:
        body = body.replace(_MINUS, "-")
    if not _LATEX_CHARS.fullmatch(body):
        return None
    lines = body.split(_ROWSEP)
    if body.count("\\") != 2 * (len(lines) - 1):
        return None  # a lone backslash: a command, a space, an escaped brace
    while lines and not lines[-1].strip(_BLANKS):
        lines.pop()  # a row break after the last row
    if _EMPTY_CELL.search(body):
        return None  # an empty entry
    rows = []
    for line in lines:
        ends = line.strip(_BLANKS)
        if not ends or ends[0] == "&" or ends[-1] == "&":
            return None  # an empty row before others, an empty first or last entry
        fields = line.replace("&", " ").split()
        if len(fields) != line.count("&") + 1:
            return None  # blanks inside an entry ("- 2", "1 2"): the full parser decides
        rows.append(fields)
    return _grid(rows, body)
