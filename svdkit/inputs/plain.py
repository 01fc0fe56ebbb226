"""Plain numbers read at C speed: the fast path of matrix text.

Most big matrix texts are plain numbers in lines (``np.savetxt`` output, CSV,
TSV, whitespace columns). :func:`read_plain` reads such lines with ``float``
(and ``Fraction`` for ``p/q``), which agree with the full grammar of
:mod:`svdkit.inputs.expr` number for number: both round the exact value once.

It stops at the first field it cannot vouch for — any other character, a field
that ``float`` refuses, a number of more than
:data:`~svdkit.inputs.expr.MAX_DIGITS` characters, a value that overflows, a
row of another length — and says where: the full parser then reads the text
from the field *before* that one (a field followed by ``- 2`` or ``* 2`` is not
finished yet), continuing the row, and hands back to this fast path at the next
line of plain numbers (:func:`plain_line_at`). The full parser alone writes
the error messages, so they are the same whichever way the text is read; and a
fault among a million plain numbers costs what reading them costs.

Examples
--------
>>> from svdkit.inputs.plain import read_plain
>>> text = "1 2 3\\n4 5 6\\n7 8 9 x"
>>> run = read_plain(text, None)
>>> run.rows.tolist(), run.partial, text[run.stop :]
([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [7.0], '8 9 x')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain
from math import copysign, isfinite
from operator import methodcaller

import numpy as np

from svdkit.inputs.expr import MAX_DIGITS

__all__ = ["PlainRun", "plain_line_at", "plain_values", "read_plain", "row_span"]

_PLAIN_RUN = re.compile(r"[0-9eE.+\-,/ \t\r\n]*")
_PLAIN_LINE = re.compile(r"[0-9eE.+\-,/ \t]*")
_COMMENT = re.compile(r"[%#][^\r\n]*")
_BREAK = re.compile(r"\r\n|\r|\n")
_EMPTY_FIELD = re.compile(r"^[ \t]*,|,[ \t]*(?=,|$)")  # MATLAB: an empty entry, or a last comma
# An exponent of five digits or more (the grammar refuses |e| > 10000): 1e-99999 is 0.0 for
# float, and 0.0 is all such a literal can give that is finite. Plain text is mapped to the
# shape of its characters (a digit is "d", signs are dropped), where one search finds it.
_SHAPE = str.maketrans("0123456789E", "dddddddddde", "+-")
# A field that is zero exactly, whatever its sign: "-0", "-0.0", "-.0e5" (and "-0/7" reads as
# 0.0 already). See _unsigned_zeros.
_ZERO_FIELD = re.compile(r"[ \t]*[+-]?[0.]*(?:[eE][+-]?[0-9]*)?[ \t]*")
_FIRST_CHUNK = 1 << 12  # characters split into lines at first; chunks double up to
_LAST_CHUNK = 1 << 18  # this, so a fault sends at most this much through the slower loop
_FIELD = {None: r"[ \t,]*[^ \t,]+", ",": r"[^,]*,", "\t": r"[^\t]*\t"}  # one field, by delimiter
_LEAD = {None: " \t,", ",": " \t", "\t": " "}  # what may come before a field's number
_BLANKS = {None: " \t", ",": " \t", "\t": " "}  # what a line without entries holds


@dataclass(frozen=True, slots=True)
class PlainRun:
    """What :func:`read_plain` read, and where the full parser takes over.

    Attributes
    ----------
    rows : numpy.ndarray
        The complete rows read, float64, shape (k, n), all of one length; k may be 0.
    first : int
        Where the reading started: the first row is on the first line with
        entries from there (when k > 0).
    partial : list of float
        The first entries of row k + 1, read too (often empty).
    row_start : int
        Offset of row k + 1's first entry (when ``partial`` is not empty).
    stop : int
        Offset where the full parser goes on; ``len(text)`` when all was read.
    limit : int
        Offset of the first character after ``stop`` that the fast path does
        not read; pass it back to the next call.
    """

    rows: np.ndarray
    first: int
    partial: list[float]
    row_start: int
    stop: int
    limit: int


# --------------------------------------------------------------------------- fields


def _decimal_or_ratio(token: str) -> float:
    """``float`` of ``"2.5"`` or of ``Fraction("-3/4")`` (exact, then rounded once)."""
    return float(Fraction(token)) if "/" in token else float(token)


def _converter(line: str) -> Callable[[str], float]:
    return _decimal_or_ratio if "/" in line else float


def _unsigned_zeros(values: list[float], fields: Sequence[str]) -> list[float]:
    """``values`` with ``0.0`` for each ``-0.0`` whose field writes an exact zero (``"-0"``).

    The full parser keeps every literal exact: ``-0`` is the rational ``-0 = 0``,
    which has no sign (nor has ``Fraction``, nor SymPy's ``Integer``), and
    :func:`~svdkit.inputs.expr.evaluate` rounds it to ``0.0``; ``float("-0")`` is
    ``-0.0``. An exact-arithmetic tool cannot give a zero a sign, so the fast path
    writes ``0.0`` too, and both paths read ``-0`` as what the exact engine sees.
    A tiny negative number such as ``-1e-400`` is not zero: it rounds to
    ``-0.0`` on both paths, as IEEE rounding of a negative value does.
    """
    if 0.0 not in values:  # one scan at C speed: the common case
        return values
    return [
        0.0 if v == 0.0 and copysign(1.0, v) < 0 and _ZERO_FIELD.fullmatch(f) else v
        for v, f in zip(values, fields, strict=True)
    ]


def _has_negative_zero(block: np.ndarray) -> bool:
    zeros = block == 0
    return bool(zeros.any() and np.signbit(block[zeros]).any())


def plain_values(fields: list[str], text: str) -> np.ndarray | None:
    """The float64 values of plain-number ``fields``, as the full grammar gives them.

    Parameters
    ----------
    fields : list of str
        Plain numbers (``"2.5"``, ``"-1e-3"``, ``"3/4"``); ``text`` holds them all.
    text : str
        The text the fields come from (a ``/`` in it means ratios may come).

    Returns
    -------
    numpy.ndarray or None
        1-D, finite; ``None`` when a field is not a plain number, is longer than
        :data:`~svdkit.inputs.expr.MAX_DIGITS` characters, overflows, or may write
        an exponent the grammar refuses: the full parser then reads the text.

    Examples
    --------
    >>> plain_values(["1", "-0", "3/4", "-1e-400"], "1 -0 3/4 -1e-400").tolist()
    [1.0, 0.0, 0.75, -0.0]
    >>> plain_values(["1", "x"], "1 x") is None
    True
    """
    if not fields or (len(text) > MAX_DIGITS and max(map(len, fields)) > MAX_DIGITS):
        return None
    try:
        values = list(map(_converter(text), fields))
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    a = np.array(_unsigned_zeros(values, fields), dtype=np.float64)
    if not np.isfinite(a).all() or (not a.all() and _huge_exponent(text)):
        return None
    return a


def _no_comment(line: str) -> str:
    return _COMMENT.sub("", line) if "#" in line or "%" in line else line


def _is_blank(line: str, delimiter: str | None) -> bool:
    """No entries on the line (in TSV, a lone tab is an empty entry, not a blank)."""
    return not line.strip(_BLANKS[delimiter])


def _fields(line: str, delimiter: str | None) -> list[str] | None:
    """The fields of a whole line; ``None`` when a MATLAB line has an empty entry."""
    if delimiter is not None:
        return line.split(delimiter)
    if "," in line:
        if _EMPTY_FIELD.search(line):
            return None  # ",," or a last comma (the row goes on): the full parser decides
        line = line.replace(",", " ")
    return line.split()


def _leading_fields(line: str, delimiter: str | None) -> list[str]:
    """The fields of ``line`` up to its first empty one (MATLAB), or all of them."""
    if delimiter is not None:
        return line.split(delimiter)
    m = _EMPTY_FIELD.search(line)
    return (line[: m.start()] if m else line).replace(",", " ").split()


def _field_offset(line: str, delimiter: str | None, i: int) -> int:
    """Where the number of field ``i`` of ``line`` starts."""
    m = re.match(f"(?:{_FIELD[delimiter]}){{{i}}}", line)
    assert m is not None  # the fields were counted in this very line
    rest = line[m.end() :]
    return len(line) - len(rest.lstrip(_LEAD[delimiter]))


def _plain_line(line: str, delimiter: str | None) -> list[float] | None:
    """The values of a whole line of plain numbers, ``[]`` for a blank one, else ``None``."""
    line = _no_comment(line)
    if _is_blank(line, delimiter):
        return []
    fields = _fields(line, delimiter)
    if fields is None or (len(line) > MAX_DIGITS and max(map(len, fields)) > MAX_DIGITS):
        return None
    try:
        values = list(map(_converter(line), fields))
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return None if 0.0 in values and _huge_exponent(line) else _unsigned_zeros(values, fields)


def _huge_exponent(text: str) -> bool:
    """Whether plain ``text`` may write an exponent the grammar refuses (5 digits or more)."""
    if "e" not in text and "E" not in text:
        return False
    return "eddddd" in text.translate(_SHAPE)


def _convertible(fields: Sequence[str], convert: Callable[[str], float]) -> list[float]:
    """The values of the longest leading run of ``fields`` that convert (bisection, C speed)."""
    try:
        return list(map(convert, fields))
    except (ValueError, ZeroDivisionError, OverflowError):
        pass
    good: list[float] = []
    lo, hi = 0, len(fields)  # fields[:lo] convert; one of fields[lo:hi] does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            chunk = list(map(convert, fields[lo:mid]))
        except (ValueError, ZeroDivisionError, OverflowError):
            hi = mid
        else:
            good += chunk
            lo = mid
    return good


def _first_long(fields: list[str]) -> int:
    """Index of the first field longer than ``MAX_DIGITS`` characters (``len`` if none)."""
    lengths = np.fromiter(map(len, fields), dtype=np.int64, count=len(fields))
    long = np.flatnonzero(lengths > MAX_DIGITS)
    return int(long[0]) if long.size else len(fields)


def _leading_values(line: str, delimiter: str | None) -> list[float]:
    """The values of the leading fields of ``line`` that are plain, finite and short.

    The last field is left out: it may go on past the end of ``line``.
    """
    fields = _leading_fields(line, delimiter)[:-1]
    if len(line) > MAX_DIGITS:
        fields = fields[: _first_long(fields)]
    values = _convertible(fields, _converter(line))
    values = _unsigned_zeros(values, fields[: len(values)])
    array = np.array(values, dtype=np.float64)
    good = np.isfinite(array)
    for i in np.flatnonzero(array == 0):
        good[i] = not _huge_exponent(fields[i])
    return values if good.all() else values[: int(np.argmin(good))]


# --------------------------------------------------------------------------- lines


def _line_start(text: str, pos: int) -> int:
    return max(text.rfind("\n", 0, pos), text.rfind("\r", 0, pos)) + 1


def _line_end(text: str, pos: int) -> int:
    ends = [e for e in (text.find("\n", pos), text.find("\r", pos)) if e >= 0]
    return min(ends) if ends else len(text)


def _plain_limit(text: str, pos: int) -> int:
    """Offset of the first character from ``pos`` on that the fast path does not read.

    Comments are skipped: they run to the end of their line.
    """
    while True:
        pos = _PLAIN_RUN.match(text, pos).end()  # type: ignore[union-attr]
        if pos == len(text) or text[pos] not in "%#":
            return pos
        pos = _line_end(text, pos)


def _chunk_end(text: str, pos: int, end: int, size: int) -> int:
    """An offset in ``(pos, end]`` just after a line break, about ``size`` after ``pos``."""
    hi = pos + size
    if hi >= end:
        return end
    cut = max(text.rfind("\n", pos, hi), text.rfind("\r", pos, hi)) + 1
    if cut > pos:
        return cut
    return min(_line_end(text, hi) + 1, end)


def _chunks(text: str, pos: int, end: int) -> Iterator[tuple[int, str]]:
    """``text[pos:end]`` in pieces that end after a line break, of growing size.

    Stopping after a few lines costs a few lines, not the whole text.
    """
    size = _FIRST_CHUNK
    while pos < end:
        cut = _chunk_end(text, pos, end, size)
        yield pos, text[pos:cut]
        pos, size = cut, min(2 * size, _LAST_CHUNK)


def _chunk_lines(chunk: str) -> Iterator[tuple[int, str]]:
    """``(offset, line)`` for the lines of ``chunk`` without their line breaks.

    Only ``\\r\\n``, ``\\r`` and ``\\n`` break lines, as for the tokenizer.
    """
    at = 0
    if "\r" in chunk:
        for m in _BREAK.finditer(chunk):
            yield at, chunk[at : m.start()]
            at = m.end()
    else:
        for line in chunk.split("\n")[:-1]:
            yield at, line
            at += len(line) + 1
    if at < len(chunk):
        yield at, chunk[at:]


def _lines(text: str, pos: int, end: int) -> Iterator[tuple[int, str]]:
    """``(offset, line)`` for the lines of ``text[pos:end]``, without their line breaks."""
    for base, chunk in _chunks(text, pos, end):
        for at, line in _chunk_lines(chunk):
            yield base + at, line


def _bulk_rows(chunk: str, delimiter: str | None) -> list[list[float]] | None:
    """The rows of every line of ``chunk``, at C speed; ``None`` if a line needs a closer look."""
    if "#" in chunk or "%" in chunk:
        return None
    lines = chunk.split("\n") if "\r" not in chunk else _BREAK.split(chunk)
    lines = list(filter(None, map(methodcaller("strip", _BLANKS[delimiter]), lines)))
    if delimiter is None and "," in chunk:
        if not all(map(str.strip, chain.from_iterable(map(methodcaller("split", ","), lines)))):
            return None  # an empty entry, or a last comma (the row goes on)
        lines = [line.replace(",", " ") for line in lines]
    convert = _converter(chunk)
    try:
        if max(map(len, lines), default=0) <= MAX_DIGITS:  # no field can be too long
            return [list(map(convert, line.split(delimiter))) for line in lines]
        fields = list(map(methodcaller("split", delimiter), lines))
        if max(map(len, chain.from_iterable(fields))) > MAX_DIGITS:
            return None
        return [list(map(convert, f)) for f in fields]
    except (ValueError, ZeroDivisionError, OverflowError):
        return None


def _bulk_block(chunk: str, delimiter: str | None, width: int) -> np.ndarray | None:
    """The lines of ``chunk`` as rows of ``width`` finite numbers (any width if 0), or ``None``."""
    rows = _bulk_rows(chunk, delimiter)
    if rows is None:
        return None
    if not rows:
        return np.empty((0, width))
    n = width or len(rows[0])
    if min(map(len, rows)) != n or max(map(len, rows)) != n:
        return None
    block = np.array(rows, dtype=np.float64)
    if not np.isfinite(block).all():
        return None
    if not block.all() and (_huge_exponent(chunk) or _has_negative_zero(block)):
        return None  # the lines one by one: they know which field each zero comes from
    return block


def _careful_block(
    chunk: str, base: int, delimiter: str | None, width: int
) -> tuple[np.ndarray, int | None]:
    """The lines of ``chunk`` one by one, up to the first that is not plain (its offset)."""
    rows: list[list[float]] = []
    for at, line in _chunk_lines(chunk):
        values = _plain_line(line, delimiter)
        if values is None:
            return _block(rows, width), base + at
        if values:
            width = width or len(values)
            if len(values) != width or not all(map(isfinite, values)):
                return _block(rows, width), base + at
            rows.append(values)
    return _block(rows, width), None


def _block(rows: list[list[float]], width: int) -> np.ndarray:
    return np.array(rows, dtype=np.float64) if rows else np.empty((0, width))


def _read_lines(
    text: str, start: int, end: int, delimiter: str | None
) -> tuple[list[np.ndarray], int]:
    """Blocks of plain rows of one length from ``start``; the offset of the first other line."""
    blocks: list[np.ndarray] = []
    width = 0
    for base, chunk in _chunks(text, start, end):
        block, bad = _bulk_block(chunk, delimiter, width), None
        if block is None:
            block, bad = _careful_block(chunk, base, delimiter, width)
        if len(block):
            blocks.append(block)
            width = block.shape[1]
        if bad is not None:
            return blocks, bad
    return blocks, end


def _resume(
    text: str, rows: np.ndarray, start: int, at: int, limit: int, delimiter: str | None
) -> PlainRun:
    """Read the leading fields of the line at ``at``; the full parser takes the rest."""
    line = _no_comment(text[at : min(_line_end(text, at), limit)])
    values = _leading_values(line, delimiter)
    keep = max(len(values) - 1, 0)  # the last good field may go on: "5 - 2" is one entry
    row_start = at + _field_offset(line, delimiter, 0)
    stop = at + _field_offset(line, delimiter, keep) if keep else at
    return PlainRun(rows, start, values[:keep], row_start, stop, limit)


# --------------------------------------------------------------------------- public


def read_plain(
    text: str, delimiter: str | None, start: int = 0, limit: int | None = None
) -> PlainRun:
    """Read the plain-number lines of matrix text from offset ``start`` on.

    Parameters
    ----------
    text : str
        Matrix text, not yet known to be plain.
    delimiter : {None, ",", "\\t"}
        As for :func:`~svdkit.inputs.text.text_to_array`: ``None`` splits a
        line at commas and blanks, as MATLAB does.
    start : int
        Where to start: 0 or the start of a line.
    limit : int, optional
        The ``limit`` of the previous call (it saves scanning the text again).

    Returns
    -------
    PlainRun
        The rows read, the first entries of the next row, and the offset where
        the full parser must go on (``len(text)`` when all the rest was read).
    """
    if limit is None or limit < start:
        limit = _plain_limit(text, start)
    end = len(text) if limit == len(text) else max(_line_start(text, limit), start)
    blocks, at = _read_lines(text, start, end, delimiter)
    rows = np.concatenate(blocks) if len(blocks) > 1 else blocks[0] if blocks else np.empty((0, 0))
    if at == len(text):
        return PlainRun(rows, start, [], 0, at, limit)
    return _resume(text, rows, start, at, limit, delimiter)


def plain_line_at(text: str, offset: int) -> bool:
    """Whether the line at ``offset`` has entries and only plain-number characters.

    The full parser hands the text back to :func:`read_plain` at such a line.
    """
    end = _PLAIN_LINE.match(text, offset).end()  # type: ignore[union-attr]
    if end < len(text) and text[end] not in "\r\n%#":
        return False
    return bool(text[offset:end].strip(" \t"))


def row_span(text: str, offset: int, delimiter: str | None) -> tuple[int, int]:
    """Where the entries of the first plain line with entries from ``offset`` start and end."""
    for at, line in _lines(text, offset, len(text)):
        line = _no_comment(line)
        if not _is_blank(line, delimiter):
            return at + _field_offset(line, delimiter, 0), at + len(line.rstrip(" \t"))
    return offset, offset + 1
