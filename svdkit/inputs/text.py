"""Matrix notations → a grid of entry expressions → a NumPy array.

The notation is recognised from the text itself:

* **LaTeX** when it has ``\\begin``, ``&``, ``\\\\`` or ``\\left``: one ``matrix``,
  ``pmatrix``, ``bmatrix``, ``Bmatrix``, ``vmatrix``, ``Vmatrix``, ``smallmatrix``
  or ``array`` environment (``\\left[ … \\right]``, ``$…$`` and ``\\[…\\]`` around
  it are fine); rows end at ``\\\\``, entries at ``&``; whitespace never matters.
* **Nested lists** (Python, JSON, NumPy's printout, ``array(…)``) when it starts with
  ``[[``; entries are separated by commas or by whitespace.
* **MATLAB / plain text** otherwise: rows end at ``;`` or a line break, entries at
  ``,``, tabs or whitespace. A Python-style list (``[1, 2, 3]``: one bracket, commas
  only) is a vector, i.e. a column; ``[1 2 3]`` is MATLAB's row.

Whitespace splits entries as in MATLAB: ``1 -2`` is two entries, ``1 - 2`` and
``1-2`` are one; a ``+``/``-`` starts a new entry when whitespace comes before it
and not after it. Inside parentheses or braces whitespace never splits.

Examples
--------
>>> from svdkit.inputs.text import parse_matrix_text, text_to_array
>>> text_to_array("[1 -2; 3, 4]")
array([[ 1., -2.],
       [ 3.,  4.]])
>>> rows = parse_matrix_text(r"\\begin{bmatrix}1 & \\sqrt 2\\end{bmatrix}")
>>> [[str(e) for e in row] for row in rows]
[['1', 'sqrt(2)']]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import chain, pairwise
from typing import TypeVar

import numpy as np

from svdkit.errors import (
    EmptyInputError,
    NonFiniteError,
    ParseError,
    RaggedError,
    ShapeError,
    SvdkitError,
)
from svdkit.inputs.expr import (
    MAX_TOKENS,
    Expr,
    ExprSyntaxError,
    Token,
    clip,
    evaluate,
    iter_tokens,
    parse_tokens,
)
from svdkit.inputs.markup import read_brackets, read_latex, read_rows
from svdkit.inputs.plain import PlainRun, plain_line_at, read_plain, row_span
from svdkit.inputs.shape import count_entries
from svdkit.inputs.stream import TokenStream, find_commands, has_latex_marker

__all__ = ["LATEX_ENVIRONMENTS", "parse_matrix_text", "text_to_array"]

LATEX_ENVIRONMENTS = (
    "matrix",
    "pmatrix",
    "bmatrix",
    "Bmatrix",
    "vmatrix",
    "Vmatrix",
    "smallmatrix",
    "array",
)
_BLANK = frozenset({"ws", "tab", "nl"})
_DELIMITER_CMDS = frozenset(
    {"lbrack", "rbrack", "lbrace", "rbrace", "langle", "rangle", "vert", "Vert"}
    | {"lvert", "rvert", "lVert", "rVert"}
)
_RULE_CMDS = frozenset({"hline", "hdashline", "toprule", "midrule", "bottomrule"})
_OPERAND_CMDS = frozenset({"sqrt", "frac", "dfrac", "tfrac", "cfrac"})


@dataclass(frozen=True, slots=True)
class _Cell:
    """The tokens of one entry and where it sits in the text."""

    tokens: tuple[Token, ...]

    @property
    def start(self) -> int:
        return self.tokens[0].pos

    @property
    def end(self) -> int:
        return self.tokens[-1].end


Rows = list[list[_Cell]]
_T = TypeVar("_T")


# --------------------------------------------------------------------------- messages


def _where(text: str, pos: int) -> str:
    if "\n" not in text:
        return f"offset {pos}"
    line = text.count("\n", 0, pos) + 1
    char = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"offset {pos} (line {line}, character {char})"


def _snippet(text: str, pos: int, end: int) -> str:
    lo = text.rfind("\n", 0, pos) + 1
    hi = text.find("\n", pos)
    hi = len(text) if hi < 0 else hi
    line = text[lo:hi].rstrip("\r").replace("\t", " ")
    col = pos - lo
    a, b = max(0, col - 40), min(len(line), col + 40)
    shown = ("…" if a else "") + line[a:b] + ("…" if b < len(line) else "")
    caret = col - a + (1 if a else 0)
    width = max(1, min(end, lo + len(line)) - pos)
    return f"    {shown}\n    {' ' * caret}{'^' * min(width, 40)}"


def _error(
    cls: type[Exception],
    text: str,
    message: str,
    pos: int,
    end: int | None = None,
    row: int | None = None,
    col: int | None = None,
) -> Exception:
    """An error whose message names the entry (1-based), the offset, and shows the spot."""
    pos = min(pos, len(text))
    end = pos + 1 if end is None else end
    prefix = f"row {row}, column {col}: " if row is not None else ""
    err = cls(f"{prefix}{message} at {_where(text, pos)}\n{_snippet(text, pos, end)}")
    err.row, err.column, err.offset = row, col, pos
    err.detail, err.end = message, end  # to quote another text at the same spot (_or_pasted)
    return err


def _check_length(text: str, cell: list[Token], row: int, col: int) -> None:
    """Refuse an entry of more than ``MAX_TOKENS`` symbols now, before reading the rest."""
    if len(cell) > MAX_TOKENS:
        t = cell[MAX_TOKENS]
        message = f"entry too long (more than {MAX_TOKENS} symbols)"
        raise _error(ParseError, text, message, t.pos, t.end, row, col)


def _show(t: Token) -> str:
    if t.kind in ("cmd", "esc"):
        return f"'\\{clip(t.value)}'"
    if t.kind == "rowsep":
        return "'\\\\'"
    return repr(t.value) if t.kind == "bad" else f"'{clip(t.value)}'"


def _is_op(t: Token | None, values: str) -> bool:
    return t is not None and t.kind == "op" and t.value in values


def _next_sig(toks: TokenStream, k: int) -> int:
    """The index of the first token at or after ``k`` that is not blank (maybe past the end)."""
    while (t := toks.get(k)) is not None and t.kind in _BLANK:
        k += 1
    return k


# --------------------------------------------------------------------------- MATLAB / lists


def _new_element(prev: Token, t: Token, nxt: Token | None) -> bool:
    """MATLAB's rule: does whitespace between ``prev`` and ``t`` start a new entry?"""
    if _is_op(prev, "+-*/^√") or (prev.kind == "cmd" and prev.value in _OPERAND_CMDS):
        return False  # the entry is still waiting for an operand
    if _is_op(t, "*/^"):
        return False
    if _is_op(t, "+-"):
        return nxt is not None and nxt.kind not in _BLANK  # "1 -2" splits, "1 - 2" does not
    return True


def _numpy_literal(t: Token | None) -> bool:
    """A number as NumPy prints a float: with a point or an exponent (``1.``, ``1.e+00``)."""
    return t is not None and t.kind == "num" and any(c in t.value for c in ".eE")


def _padded_complex(cell: list[Token], t: Token, toks: TokenStream, k: int) -> bool:
    """Whether ``cell`` and the tokens from ``toks[k] = t`` on are one complex number as
    NumPy prints it, the real part padded to a common width: ``1.  +1.j``, ``-2. -0.5j``
    (a real literal, whitespace, a sign glued to an imaginary literal that ends the entry;
    both literals with a point or an exponent, as NumPy writes them: ``1 -2j`` is typed
    text, two entries by MATLAB's rule).
    """
    real = cell[1:] if len(cell) == 2 and _is_op(cell[0], "+-") else cell
    if len(real) != 1 or not _numpy_literal(real[0]) or not _is_op(t, "+-"):
        return False
    num, unit, after = toks.get(k + 1), toks.get(k + 2), toks.get(k + 3)
    return (
        _numpy_literal(num)
        and num is not None
        and unit is not None
        and unit.kind == "name"
        and unit.value == "j"
        and unit.pos == num.end
        and (after is None or after.kind in _BLANK or _is_op(after, ",]"))
    )


def _glued_complex(cell: list[Token]) -> bool:
    """Whether ``cell`` is a complex number as NumPy prints it, with no blank inside:
    ``0.25+1.j``, ``-1.e+00-2.e+00j`` (the reference width of a padded printout)."""
    toks = cell[1:] if len(cell) == 5 and _is_op(cell[0], "+-") else cell
    if len(toks) != 4 or any(b.pos != a.end for a, b in pairwise(cell)):
        return False
    real, sign, imag, unit = toks
    return (
        _numpy_literal(real)
        and _is_op(sign, "+-")
        and _numpy_literal(imag)
        and unit.kind == "name"
        and unit.value == "j"
    )


class _Splitter:
    """Rows by ``;``/line breaks, entries by ``,``/whitespace, up to a closing ``]``.

    With ``numpy`` set (the rows of nested lists, the list in ``array(…)``), a complex
    number as NumPy prints it, ``1.  +1.j``, stays one entry (:func:`_padded_complex`).

    ``before`` rows, and ``filled`` entries of the row being read, were read
    already (by the fast path): they count in the positions that messages give.
    At the start of a line where ``ready(offset)`` is true, with no row or
    group open, the splitter stops and sets ``handoff`` to that offset.
    """

    def __init__(
        self,
        text: str,
        toks: TokenStream,
        opener: Token | None,
        in_row: bool,
        before: int = 0,
        filled: int = 0,
        ready: Callable[[int], bool] | None = None,
        numpy: bool = False,
    ) -> None:
        self.text, self.toks, self.opener, self.in_row = text, toks, opener, in_row
        self.numpy = numpy
        self.before, self.filled, self.ready = before, filled, ready
        self.handoff: int | None = None
        self.rows: Rows = []
        self.row: list[_Cell] = []
        self.cell: list[Token] = []
        self.matlab = False  # a ';' or a whitespace split: MATLAB's matrix syntax, not a list
        self.semicolon = False
        self.comma = False
        #: Whether an entry is a complex number as NumPy prints it (:func:`_glued_complex`).
        self.glued = False
        #: Where a padded NumPy complex (``1.  +1.j``) was split by MATLAB's rule: the
        #: first token of the entry and the end of the imaginary literal.
        self.padded: tuple[int, int] | None = None

    def fail(self, cls: type[Exception], message: str, t: Token) -> Exception:
        return _error(cls, self.text, message, t.pos, t.end)

    def position(self) -> tuple[int, int]:
        """Row and column (1-based) of the entry being read."""
        col = len(self.row) + 1 + (self.filled if not self.rows else 0)
        return self.before + len(self.rows) + 1, col

    def check_length(self) -> None:
        if len(self.cell) > MAX_TOKENS:
            _check_length(self.text, self.cell, *self.position())

    def hands_off(self, offset: int, after_comma: bool) -> bool:
        """At a line start: stop here if no row is open and ``ready`` takes the line."""
        if self.ready is None or after_comma or self.in_row or self.row or self.cell:
            return False
        if not self.ready(offset):
            return False
        self.handoff = offset
        return True

    def end_cell(self) -> None:
        if self.cell:
            self.glued = self.glued or _glued_complex(self.cell)
            self.row.append(_Cell(tuple(self.cell)))
            self.cell = []

    def end_row(self) -> None:
        self.end_cell()
        if self.row:
            self.rows.append(self.row)
            self.row = []

    def run(self, k: int) -> int:
        toks, groups = self.toks, []
        pending_ws = after_comma = False
        while (t := toks.get(k)) is not None:
            if groups:  # inside ( ) or { }: nothing splits
                if _is_op(t, "({"):
                    groups.append(t)
                elif _is_op(t, ")}"):
                    _close_group(self.text, groups, t)
                if t.kind not in _BLANK:
                    self.cell.append(t)
                    self.check_length()
            elif t.kind in ("ws", "tab"):
                pending_ws = True
            elif t.kind == "nl":
                if self.in_row or after_comma or not (self.cell or self.row):
                    pending_ws = True  # a continuation line, or a blank one
                else:
                    self.end_row()
                if self.hands_off(t.end, after_comma):
                    return k + 1
            elif _is_op(t, ","):
                if not self.cell:
                    r, c = self.position()
                    raise _error(ParseError, self.text, "empty entry", t.pos, t.end, r, c)
                self.end_cell()
                self.comma, after_comma, pending_ws = True, True, False
            elif _is_op(t, ";"):
                if self.in_row:
                    raise self.fail(ParseError, "';' inside a row of a nested list", t)
                self.end_row()
                self.matlab, self.semicolon, after_comma = True, True, False
            elif _is_op(t, "]"):
                if self.opener is None:
                    raise self.fail(ParseError, "unbalanced brackets: ']' has no matching '['", t)
                self.end_row()
                return k + 1
            elif _is_op(t, "["):
                if self.in_row:
                    raise self.fail(
                        ShapeError, "a third level of nested brackets: a matrix has two", t
                    )
                raise self.fail(ParseError, "unexpected '[' inside the matrix", t)
            elif _is_op(t, ")}"):
                raise self.fail(ParseError, f"unbalanced brackets: {_show(t)} has no opener", t)
            else:
                if pending_ws and self.cell and _new_element(self.cell[-1], t, toks.get(k + 1)):
                    padded = _padded_complex(self.cell, t, toks, k)
                    if not (self.numpy and padded):
                        if padded and self.padded is None:
                            self.padded = (self.cell[0].pos, toks.get(k + 2).end)
                        self.end_cell()
                        self.matlab = True
                self.cell.append(t)
                self.check_length()
                if _is_op(t, "({"):
                    groups.append(t)
                pending_ws = after_comma = False
            k += 1
        if groups:
            raise self.fail(
                ParseError, f"unbalanced brackets: {_show(groups[-1])} is never closed", groups[-1]
            )
        if self.opener is not None:
            raise self.fail(ParseError, "unbalanced brackets: '[' is never closed", self.opener)
        self.end_row()
        return k


def _close_group(text: str, groups: list[Token], t: Token) -> None:
    opener = groups.pop()
    if (opener.value, t.value) not in (("(", ")"), ("{", "}")):
        raise _error(
            ParseError,
            text,
            f"unbalanced brackets: {_show(t)} closes {_show(opener)} at offset {opener.pos}",
            t.pos,
            t.end,
        )


def _split_nested(text: str, toks: TokenStream, k: int) -> tuple[Rows, int]:
    """``[[…], […]]``: each inner list is one row. ``toks[k]`` is the outer ``[``."""
    opener, rows = toks.get(k), []
    assert opener is not None
    separated = True
    k += 1
    while True:
        k = _next_sig(toks, k)
        t = toks.get(k)
        if t is None:
            raise _error(ParseError, text, "unbalanced brackets: '[' is never closed", opener.pos)
        if _is_op(t, "]"):
            return rows, k + 1
        if _is_op(t, "["):
            splitter = _Splitter(text, toks, t, in_row=True, numpy=True)
            k = splitter.run(k + 1)
            rows.append(splitter.rows[0] if splitter.rows else [])
            separated = False
        elif _is_op(t, ",;") and not separated:
            separated = True
            k += 1
        elif _is_op(t, ",;"):
            raise _error(ParseError, text, f"unexpected {_show(t)}", t.pos, t.end)
        else:
            r = len(rows) + 1
            raise _error(
                RaggedError,
                text,
                f"row {r} is a single entry ({_show(t)}), but row 1 is a list of "
                f"{count_entries(len(rows[0]))}; every row must be a list",
                t.pos,
                t.end,
            )


def _first_sig(toks: TokenStream, n: int) -> list[Token]:
    """The first ``n`` tokens that are not blank (fewer if the text has fewer)."""
    out: list[Token] = []
    k = _next_sig(toks, 0)
    while len(out) < n and (t := toks.get(k)) is not None:
        out.append(t)
        k = _next_sig(toks, k + 1)
    return out


def _last_sig(toks: TokenStream) -> tuple[Token | None, int]:
    """The last token that is not blank, and how many such tokens there are (reads them all)."""
    toks.last()
    sig = [t for t in toks.items if t.kind not in _BLANK]
    return (sig[-1] if sig else None), len(sig)


def _strip_array_call(text: str, toks: TokenStream) -> tuple[TokenStream, bool]:
    """``array([...])``, ``np.array([...], dtype=float)`` → the tokens of the list."""
    sig = _first_sig(toks, 5)
    k = 0
    if len(sig) > 2 and sig[0].value in ("np", "numpy") and _is_op(sig[1], "."):
        k = 2
    if not (
        len(sig) > k + 2
        and sig[k].kind == "name"
        and sig[k].value in ("array", "asarray", "matrix")
        and _is_op(sig[k + 1], "(")
        and _is_op(sig[k + 2], "[")
    ):
        return toks, False
    last, count = _last_sig(toks)
    if count > k + 3 and _is_op(last, ")"):
        assert last is not None
        return TokenStream(text, sig[k + 2].pos, last.pos), True
    return toks, False


def _split_brackets_or_plain(text: str, toks: TokenStream) -> tuple[Rows, bool]:
    toks, in_call = _strip_array_call(text, toks)
    k = _next_sig(toks, 0)
    if not _is_op(toks.get(k), "["):
        splitter = _Splitter(text, toks, None, in_row=False)
        splitter.run(0)
        return splitter.rows, False
    j = _next_sig(toks, k + 1)
    if _is_op(toks.get(j), "["):
        rows, end = _split_nested(text, toks, k)
        vector = False
    else:
        splitter = _Splitter(text, toks, toks.get(k), in_row=False, numpy=in_call)
        end = splitter.run(k + 1)
        if (
            splitter.padded is not None
            and (splitter.glued or splitter.comma)  # else no NumPy printout, no Python list
            and not splitter.semicolon
            and len(splitter.rows) == 1  # a line break makes rows, as a ';' does
            and not _STATEMENT.get()
        ):
            _refuse_padded(text, *splitter.padded, splitter.comma)
        one_row = not splitter.matlab and not _MATLAB_TEXT.get()
        rows, vector = splitter.rows, one_row and len(splitter.rows) == 1
    _check_after_list(text, toks, end, in_call)
    return rows, vector


def _refuse_padded(text: str, pos: int, end: int, comma: bool) -> None:
    """``[1.  +1.j 0.25+1.j]``: NumPy's printout of a complex vector (each entry one
    number, its real part padded) or MATLAB's whitespace rule (two entries)? Refused;
    likewise ``[1. +2.j, 3]`` (``comma``: a Python list, 1+2j, or MATLAB's 1, 2j).

    Only where the bracket holds no ``;``, one line, and a complex number as NumPy
    prints it (``0.25+1.j``, the width the others are padded to) or commas: typed
    MATLAB such as ``[1.5 -2.5j]`` is never printed by NumPy, and reads by MATLAB's rule.
    """
    typed = clip(text[pos:end])
    if comma:
        message = (
            f"{typed!r} is one complex number in a Python list, or two entries by MATLAB's "
            "rule (whitespace before a sign splits): write the complex number without "
            f"blanks ({''.join(typed.split())}), or separate the two entries with a comma"
        )
    else:
        message = (
            f"{typed!r} is one complex entry as NumPy prints a vector, or two entries by "
            "MATLAB's rule (whitespace before a sign splits): separate the entries with "
            "commas, write the complex number without blanks, or paste NumPy's printout "
            "of the matrix as [[…]] or array(…)"
        )
    raise _error(ParseError, text, message, pos, end)


_NUMPY_REAL = r"[-+]?(?:[0-9]+\.?[0-9]*(?:e[-+]?[0-9]+)?|nan|inf)"
#: One entry of NumPy's printout: a number, or a complex one (``0.25+1.j``, ``1.  +1.j``).
_NUMPY_ENTRY = re.compile(rf"{_NUMPY_REAL}(?: *[-+](?:[0-9]+\.?[0-9]*(?:e[-+]?[0-9]+)?|nan|inf)j)?")
_NUMPY_LINEWIDTH = 75  # np.get_printoptions()["linewidth"]


def _grid_fields(body: str, width: int) -> int | None:
    """How many fields of ``width`` characters, one blank apart, ``body`` holds, each a
    number as NumPy prints it; ``None`` if it is not so laid out."""
    if (len(body) + 1) % (width + 1):
        return None
    k = (len(body) + 1) // (width + 1)
    for i in range(k):
        a = i * (width + 1)
        if i and body[a - 1] != " ":
            return None
        if _NUMPY_ENTRY.fullmatch(body[a : a + width].strip()) is None:
            return None
    return k


def _wrapped_vector(text: str) -> tuple[int, int, int] | None:
    """Whether ``text`` is ``str(x)`` of a 1-D NumPy array wrapped over several lines:
    where the first line ends, the number of lines, and the entries on a full line.

    NumPy pads every entry to one width, puts one blank between entries and fills
    each line but the last to its line width (75): one bracket, no ``;``, continuation
    lines starting with one blank, every field a number as NumPy prints it, and no
    room for one more entry on a full line. Typed MATLAB rows are not laid out so.
    """
    if "\n" not in text or ";" in text:
        return None
    start = len(text) - len(text.lstrip())
    if text[start : start + 1] != "[" or text[start + 1 : start + 2] in ("[", ""):
        return None
    if text.find("\n", start) - start > _NUMPY_LINEWIDTH + 1:
        return None  # (a long first line: no need to split the text)
    lines = [line.rstrip("\r") for line in text[start:].rstrip().split("\n")]
    first, last = lines[0], lines[-1]
    if not (last.endswith("]") and last.startswith(" ") and len(first) <= _NUMPY_LINEWIDTH):
        return None
    body = first[1:]
    for k in range(len(body) // 2 + 1, 0, -1):  # k entries of one width on the first line
        width = (len(body) + 1) // k - 1
        if (len(body) + 1) % k or width < 1 or len(first) + width + 1 <= _NUMPY_LINEWIDTH - 1:
            continue
        if _grid_fields(body, width) != k:
            continue
        full = all(
            len(line) == len(first) and line[0] == " " and _grid_fields(line[1:], width) == k
            for line in lines[1:-1]
        )
        tail = _grid_fields(last[1:-1], width)
        if full and tail is not None and tail <= k:
            return start + len(first), len(lines), k
    return None


def _refuse_wrapped_vector(text: str) -> None:
    """Refuse ``str(x)`` of a long 1-D array (:func:`_wrapped_vector`): its line breaks
    would make MATLAB rows, a matrix of other shape (a 12-vector read as 4 × 3)."""
    if _STATEMENT.get() or (found := _wrapped_vector(text)) is None:
        return
    pos, lines, k = found
    raise _error(
        ParseError,
        text,
        f"this looks like NumPy's printout of a 1-D array wrapped over {lines} lines of "
        f"{k} entries; its line breaks would make {lines} MATLAB rows, another matrix: print "
        "it with commas (repr(x), or np.array2string(x, separator=', ')), as a column "
        "(x.reshape(-1, 1)) or row (x.reshape(1, -1)), or, for a matrix, end the rows with ';'",
        pos,
    )


def _check_after_list(text: str, toks: TokenStream, end: int, in_call: bool) -> None:
    """Nothing may follow the closing ``]``, but ``, dtype=…`` inside ``array(…)``."""
    j = _next_sig(toks, end)
    t = toks.get(j)
    if t is None:
        return
    after = toks.get(_next_sig(toks, j + 1))
    if in_call and _is_op(t, ",") and after is not None and after.value == "dtype":
        return
    msg = f"unexpected {_show(t)} after the closing ']'"
    if _is_op(t, "]"):
        msg = "unbalanced brackets: ']' has no matching '['"
    raise _error(ParseError, text, msg, t.pos, t.end)


# --------------------------------------------------------------------------- LaTeX

_MAX_ENV_NAME = 100  # symbols in an environment's name; a longer name is nobody's matrix


def _group_end(text: str, toks: TokenStream, k: int, open_: str, close: str) -> int:
    """``toks[k]`` opens a balanced group; return the index after its closer."""
    depth, start = 0, toks.get(k)
    assert start is not None
    j = k
    while (t := toks.get(j)) is not None:
        if _is_op(t, open_):
            depth += 1
        elif _is_op(t, close):
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise _error(ParseError, text, f"unbalanced brackets: '{open_}' is never closed", start.pos)


def _env_name(text: str, toks: TokenStream, k: int) -> tuple[str, int]:
    """``toks[k]`` is ``\\begin`` or ``\\end``: read ``{name}``; return it and the index after."""
    j = _next_sig(toks, k + 1)
    parts, j0 = [], j
    if _is_op(toks.get(j), "{"):
        j += 1
        while (t := toks.get(j)) is not None and not _is_op(t, "}"):
            if t.kind not in _BLANK:
                parts.append(t.value)
                if len(parts) > _MAX_ENV_NAME:
                    return clip("".join(parts)), j  # not a matrix environment: refused next
            j += 1
    if toks.get(j) is None or not parts:
        at = toks.get(j0) or toks.last()
        command = toks.get(k)
        assert at is not None and command is not None
        raise _error(ParseError, text, f"\\{command.value} needs an environment name", at.pos)
    return "".join(parts), j + 1


def _skip_optional(text: str, toks: TokenStream, k: int) -> int:
    j = _next_sig(toks, k)
    return _group_end(text, toks, j, "[", "]") if _is_op(toks.get(j), "[") else k


def _matrix_begins(text: str) -> list[Token]:
    """The ``\\begin`` of every matrix environment in the text."""
    return [
        begin
        for begin in find_commands(text, {"begin"})
        if _env_name(text, TokenStream(text, begin.pos), 0)[0].rstrip("*") in LATEX_ENVIRONMENTS
    ]


@dataclass(frozen=True, slots=True)
class _Body:
    """Where the rows of a LaTeX matrix are: ``toks[start:]`` up to the offset ``stop``.

    ``trailer``: blanks, ``$``, ``\\]`` and ``\\)`` that run to the end of the
    text are not part of it either (a matrix without an environment).
    """

    toks: TokenStream
    start: int
    stop: int
    trailer: bool


def _latex_body(text: str, toks: TokenStream, document: bool) -> _Body:
    """The matrix body, after checking what surrounds it."""
    if document:
        begins = _matrix_begins(text)
        if len(begins) != 1:
            what = "no matrix environment" if not begins else f"{len(begins)} matrix environments"
            raise ParseError(
                f"found {what} ({', '.join(LATEX_ENVIRONMENTS)}); a file must hold exactly one"
            )
        begin: Token | None = begins[0]
    else:
        begin = next(find_commands(text, {"begin"}), None)
    if begin is None:
        return _bare_body(text, toks)
    return _environment(text, begin, document)


def _environment(text: str, begin: Token, document: bool) -> _Body:
    """``\\begin{env} … \\end{env}``; the tokens outside are checked unless in a document."""
    toks = TokenStream(text, begin.pos)
    env, k = _env_name(text, toks, 0)
    if env.rstrip("*") not in LATEX_ENVIRONMENTS:
        raise _error(
            ParseError,
            text,
            f"unsupported environment '{clip(env)}' (use one of {', '.join(LATEX_ENVIRONMENTS)})",
            begin.pos,
        )
    if env.endswith("*") or env == "array":
        k = _skip_optional(text, toks, k)
    if env == "array":
        j = _next_sig(toks, k)
        if not _is_op(toks.get(j), "{"):
            raise _error(ParseError, text, "\\begin{array} needs column specs like {cc}", begin.pos)
        k = _group_end(text, toks, j, "{", "}")
    first = toks.get(k)
    end, after = _environment_end(text, env, begin, len(text) if first is None else first.pos)
    if not document:
        _skip_prefix(text, TokenStream(text, 0, begin.pos), 0, strict=True)
        _check_suffix(text, end, after)
    stop = end.get(0)
    assert stop is not None
    return _Body(toks, k, stop.pos, False)


def _environment_end(text: str, env: str, begin: Token, start: int) -> tuple[TokenStream, int]:
    """The ``\\end{env}`` after offset ``start``: the tokens from it, and the index after it."""
    hit = next(find_commands(text, {"begin", "end"}, start), None)
    if hit is None:
        raise _error(ParseError, text, f"\\begin{{{env}}} has no \\end{{{env}}}", begin.pos)
    if hit.value == "begin":
        raise _error(ParseError, text, "nested environments are not supported", hit.pos, hit.end)
    toks = TokenStream(text, hit.pos)
    name, after = _env_name(text, toks, 0)
    if name != env:
        raise _error(ParseError, text, f"\\begin{{{env}}} ends with \\end{{{clip(name)}}}", hit.pos)
    return toks, after


def _is_delimiter(t: Token) -> bool:
    return (
        _is_op(t, "[]()|.") or t.kind == "esc" or (t.kind == "cmd" and t.value in _DELIMITER_CMDS)
    )


def _skip_delimiter(text: str, toks: TokenStream, k: int) -> int:
    """``toks[k - 1]`` is ``\\left``/``\\right``: skip the delimiter that follows."""
    j = _next_sig(toks, k)
    t = toks.get(j)
    if t is not None and _is_delimiter(t):
        return j + 1
    t = toks.get(k - 1)
    assert t is not None
    raise _error(ParseError, text, f"{_show(t)} must be followed by a delimiter", t.pos, t.end)


def _skip_prefix(text: str, toks: TokenStream, k: int, strict: bool) -> int:
    """Skip ``$``, ``\\[`` and ``\\left[`` before the matrix; return where it starts."""
    while (t := toks.get(k)) is not None:
        if t.kind in _BLANK or _is_op(t, "$") or (t.kind == "esc" and t.value in "[("):
            k += 1
        elif t.kind == "cmd" and t.value == "left":
            k = _skip_delimiter(text, toks, k + 1)
        elif strict:
            raise _error(ParseError, text, f"unexpected {_show(t)} before the matrix", t.pos, t.end)
        else:
            return k
    return k


def _check_suffix(text: str, toks: TokenStream, k: int) -> None:
    """After the matrix only ``\\right]``, ``$``, ``\\]`` and a final ``.`` or ``,`` may come."""
    while (t := toks.get(k)) is not None:
        if t.kind in _BLANK or _is_op(t, "$.,") or (t.kind == "esc" and t.value in "])"):
            k += 1
        elif t.kind == "cmd" and t.value == "right":
            k = _skip_delimiter(text, toks, k + 1)
        else:
            raise _error(ParseError, text, f"unexpected {_show(t)} after the matrix", t.pos, t.end)


def _bare_body(text: str, toks: TokenStream) -> _Body:
    """``1 & 2 \\\\ 3 & 4`` without an environment, maybe inside ``\\left[ … \\right]``."""
    lo = _skip_prefix(text, toks, 0, strict=False)
    first = toks.get(lo)
    right = None if first is None else next(find_commands(text, {"right"}, first.pos), None)
    if right is None:
        return _Body(toks, lo, len(text), True)
    _check_suffix(text, TokenStream(text, right.pos), 0)
    return _Body(toks, lo, right.pos, False)


def _is_trailer(t: Token) -> bool:
    return t.kind in _BLANK or _is_op(t, "$") or (t.kind == "esc" and t.value in "])")


def _trailer_end(toks: TokenStream, k: int) -> int:
    """The index after the run of blanks, ``$``, ``\\]`` and ``\\)`` that starts at ``k``."""
    while (t := toks.get(k)) is not None and _is_trailer(t):
        k += 1
    return k


def _split_latex(text: str, toks: TokenStream, document: bool) -> Rows:
    body = _latex_body(text, toks, document)
    toks, k, stop = body.toks, body.start, body.stop
    rows: list[list[_Cell]] = []
    row: list[_Cell] = []
    cell: list[Token] = []
    breaks: list[Token] = []
    checked = k  # from here on, a trailer run may end the body

    def end_cell(t: Token) -> None:
        nonlocal cell
        if not cell:
            r, c = len(rows) + 1, len(row) + 1
            raise _error(ParseError, text, "empty entry", t.pos, t.end, r, c)
        row.append(_Cell(tuple(cell)))
        cell = []

    def starts(j: int, op: str) -> bool:
        u = toks.get(j)
        return u is not None and u.pos < stop and _is_op(u, op)

    while (t := toks.get(k)) is not None and t.pos < stop:
        if body.trailer and k >= checked and _is_trailer(t):
            checked = _trailer_end(toks, k)
            if toks.get(checked) is None:
                break  # what is left closes the matrix
        k += 1
        if t.kind == "rowsep":
            if cell or row:
                end_cell(t)
            rows.append(row)
            breaks.append(t)
            row = []
            j = _next_sig(toks, k)
            if starts(j, "["):  # \\[2pt]
                k = _group_end(text, toks, j, "[", "]")
        elif _is_op(t, "&"):
            end_cell(t)
        elif t.kind == "cmd" and t.value in _RULE_CMDS:
            pass
        elif t.kind == "cmd" and t.value == "cline":
            j = _next_sig(toks, k)
            k = _group_end(text, toks, j, "{", "}") if starts(j, "{") else k
        elif t.kind == "cmd" and t.value in ("begin", "end"):
            raise _error(ParseError, text, f"unexpected {_show(t)} inside the matrix", t.pos, t.end)
        elif t.kind not in _BLANK:
            cell.append(t)
            _check_length(text, cell, len(rows) + 1, len(row) + 1)
    if cell or row:
        last = toks.get(k - 1) if k else toks.last()
        assert last is not None
        end_cell(last)
        rows.append(row)
    for r, (row_, t) in enumerate(zip(rows, breaks, strict=False), 1):
        if not row_ and any(rows[r:]):
            raise _error(ParseError, text, f"row {r} is empty", t.pos, t.end)
    return [row_ for row_ in rows if row_]


# --------------------------------------------------------------------------- delimited (CSV/TSV)


def _split_delimited(
    text: str,
    toks: TokenStream,
    delimiter: str,
    before: int = 0,
    filled: int = 0,
    ready: Callable[[int], bool] | None = None,
) -> tuple[Rows, int | None]:
    """Rows are lines, entries end at ``delimiter``.

    ``before``, ``filled`` and ``ready`` are as for ``_Splitter``; the offset
    where the splitting stopped for ``ready`` comes back with the rows.
    """
    rows: Rows = []
    row: list[_Cell] = []
    cell: list[Token] = []
    groups: list[Token] = []

    def position() -> tuple[int, int]:
        return before + len(rows) + 1, len(row) + 1 + (filled if not rows else 0)

    for t in chain(toks, (Token("nl", "\n", len(text), len(text)),)):
        is_delim = _is_op(t, ",") if delimiter == "," else t.kind == "tab"
        if groups and t.kind != "nl":
            if _is_op(t, "({"):
                groups.append(t)
            elif _is_op(t, ")}"):
                _close_group(text, groups, t)
            if t.kind not in _BLANK:
                cell.append(t)
                _check_length(text, cell, *position())
        elif groups:
            raise _error(ParseError, text, f"{_show(groups[-1])} is never closed", groups[-1].pos)
        elif is_delim or (t.kind == "nl" and row):
            if not cell:
                message = "empty entry"
                if position() == (1, 1):
                    message += " (a pandas index or header? write with index=False, header=False)"
                raise _error(ParseError, text, message, t.pos, t.end, *position())
            row.append(_Cell(tuple(cell)))
            cell = []
            if t.kind == "nl":
                rows.append(row)
                row = []
        elif t.kind == "nl":
            if cell:
                rows.append([_Cell(tuple(cell))])
                cell = []
        elif _is_op(t, ")}"):
            raise _error(ParseError, text, f"unbalanced brackets: {_show(t)} has no opener", t.pos)
        elif t.kind not in _BLANK:
            cell.append(t)
            _check_length(text, cell, *position())
            if _is_op(t, "({"):
                groups.append(t)
        if t.kind == "nl" and not (groups or row or cell) and ready is not None and ready(t.end):
            return rows, t.end
    return rows, None


_TRAILING_COMMENT = re.compile(
    r"(?:^|(?<=\r))[^\S\r\n]*[^%#\s\ufeff\u200b][^%#\r\n]*([%#])", re.MULTILINE
)
_DATE = (
    r"(?:[0-9]{4}(?P<s>[-/])[0-9]{1,2}(?P=s)[0-9]{1,2}"
    r"|[0-9]{1,2}(?P<t>[-/])[0-9]{1,2}(?P=t)[0-9]{4})"
    r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
)
_DATE_CELL = {  # a whole entry, blanks around it allowed
    d: re.compile(rf"(?:^|(?<=[{d}\r])){b}({_DATE}){b}(?=[{d}\r\n]|$)", re.MULTILINE)
    for d, b in ((",", "[ \t]*"), ("\t", "[ ]*"))
}
_MAYBE_DATE = re.compile(r"[-/][0-9]{1,2}[-/]")
_DATE_ADVICE = (
    "looks like a date: svdkit reads numbers and expressions; drop or convert that column"
)
_COMMENT_ADVICE = (
    "after an entry: in a .csv or .tsv file a comment ('%' or '#') must start its line"
)
_PERCENT_ADVICE = "; a percentage is not a number here (write 0.5, not 50%)"


_FIRST_COMMENT = re.compile(r"(?:^|(?<=\r))[^%#\r\n]*([%#])", re.MULTILINE)
_GLUED_ADVICE = (
    "right after an entry: a comment ('%' or '#') must be set off from the entries by a "
    "blank (else the rest of its line would be dropped)"
)


def _glued_comment(text: str) -> re.Match | None:
    """The first ``%`` or ``#`` that starts a line's comment glued to the end of an entry.

    An entry ends in a letter or digit (``50``, ``pi``, ``1i``, ``1/2``), a ``.`` or the
    ``)`` of a call (``sqrt(2)``); not the ``)`` of a wrapper around brackets
    (``np.array([[1, 2]])``), nor ``]``, ``;`` or ``,``. Only the first ``%`` or ``#``
    of a line counts (the others are in its comment).
    """
    for m in _FIRST_COMMENT.finditer(text):
        i = m.start(1)
        before = text[i - 1] if i else ""
        if before.isalnum() or before in (".", "_"):
            return m
        if before == ")":
            depth, j = 0, i - 1
            while j >= m.start() and (depth := depth + (text[j] == ")") - (text[j] == "(")):
                j -= 1
            if j >= m.start() and "[" not in text[j:i]:
                return m
    return None


def _check_glued_comment(text: str, read: Callable[[str], object] | None = None) -> None:
    """Refuse a ``%`` or ``#`` glued to the end of an entry (:func:`_glued_comment`).

    In plain text and brackets a ``%`` or ``#`` starts a comment that runs to the end
    of its line: ``1 2 50% 3`` would read as ``1 2 50`` (a spreadsheet's percentage, the
    ``3`` silently dropped), and ``[[50%, 1], [1, 1]]`` as unbalanced brackets. A
    comment set off by a blank (``1 2 % note``), at the start of a line or after ``]``
    stays one. Not for LaTeX, where ``%`` is LaTeX's own comment.

    ``read``, where given, reads a text: that of the input without the ``%`` or ``#``
    glued (``50% *)`` read as ``50 *)``). A :class:`~svdkit.errors.ParseError` it raises
    before that character comes first, as a fault that does not come from the comment
    (``{{1, 2}, {3, 4}} (* 50% *)``, Mathematica's notation, is no matrix text with or
    without the ``%``: svdkit reads no Mathematica, so no ``(* … *)`` comment either).

    Examples
    --------
    >>> _check_glued_comment("1 2 % a note\\n3 4")
    >>> try:
    ...     _check_glued_comment("1 2 50% 3")
    ... except ParseError as err:
    ...     print(err.offset, str(err).split(":")[0])
    6 '%' right after an entry
    """
    if "%" not in text and "#" not in text:
        return
    if (m := _glued_comment(text)) is None:
        return
    if read is not None:
        try:
            read(text[: m.start(1)] + text[m.end(1):])
        except SvdkitError as err:  # (a ragged row, as "4 5%6" reads "4 56": the comment's)
            offset = getattr(err, "offset", None)
            if isinstance(err, ParseError) and offset is not None and offset < m.start(1):
                raise
    advice = _GLUED_ADVICE + (_PERCENT_ADVICE if m.group(1) == "%" else "")
    raise _error(ParseError, text, f"'{m.group(1)}' {advice}", m.start(1), m.end(1))


def _check_delimited_cells(text: str, delimiter: str, dates: bool = True) -> None:
    """Refuse what a delimited file must not hold, though an expression could read it.

    A ``%`` or ``#`` after an entry on its line (a spreadsheet's ``50%`` would
    start a comment and drop the rest of the row), and a date (``2020-01-05``
    would be ``2014``). Each is a :class:`~svdkit.ParseError` naming the entry.
    ``dates=False`` looks for comments only: a text of plain numbers, read at C
    speed, holds no date, and a regular expression over all of it costs a quarter
    of the reading (a 1500 × 1500 CSV).

    Examples
    --------
    >>> _check_delimited_cells("% a note\\n1,2\\n", ",")
    >>> try:
    ...     _check_delimited_cells("1,50%\\n", ",")
    ... except ParseError as err:
    ...     print(err.row, err.column, str(err)[:35])
    1 2 row 1, column 2: '%' after an entry
    """
    faults = []
    if "%" in text or "#" in text:
        if (m := _TRAILING_COMMENT.search(text)) is not None:
            advice = _COMMENT_ADVICE + (_PERCENT_ADVICE if m.group(1) == "%" else "")
            faults.append((m.start(1), m.end(1), f"'{m.group(1)}' {advice}"))
    if dates and _MAYBE_DATE.search(text) is not None:
        if (m := _DATE_CELL[delimiter].search(text)) is not None:
            faults.append((m.start(1), m.end(1), f"'{m.group(1)}' {_DATE_ADVICE}"))
    if not faults:
        return
    pos, end, message = min(faults)
    lo = max(text.rfind("\n", 0, pos), text.rfind("\r", 0, pos)) + 1
    row = 1 + sum(
        1
        for line in _LINE_BREAK.split(text[:lo])
        if line.strip(" \t\f\v\ufeff\u200b") and line.lstrip()[:1] not in ("%", "#", "")
    )
    col = text.count(delimiter, lo, pos) + 1
    raise _error(ParseError, text, message, pos, end, row, col)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# --------------------------------------------------------------------------- the grid


_MATRIX_MARKET = re.compile(r"[ \t\r\n\f\v\ufeff]*(%%matrixmarket)", re.IGNORECASE)
#: A line with an entry that does not end in a comma (nor is a comment).
_UNENDED_LINE = re.compile(r"(?m)^(?![ \t]*[%#])[^\n]*[^,\s][ \t\r]*$")


def _refuse_other_formats(text: str) -> None:
    """Refuse text that is no matrix notation although it would parse as one.

    * A Matrix Market file (its first line ``%%MatrixMarket …``, read from standard
      input, a pipe or a ``.txt`` file): to the text parser that header is a
      comment, and the size line and the coordinates would become rows.
    * Two or more lines that all end with a comma (a CSV export with a trailing
      comma): the rule that a line ending in a comma continues the row would join
      them into one row. One line (``1, 2, 3,``) is one row either way.
    """
    if (m := _MATRIX_MARKET.match(text)) is not None:
        pos = m.start(1)
        raise _error(
            ParseError,
            text,
            "this text is a Matrix Market file (it starts with '%%MatrixMarket'), which svdkit "
            "reads from a file whose name ends in .mtx: save it (or rename its file) so, and pass "
            "that name (svdkit.load('A.mtx'), svdkit explain A.mtx)",
            pos,
            m.end(1),
        )
    tail = text[-256:].rstrip() or text.rstrip()  # (the whole text only when it ends blank)
    if not tail.endswith(",") or _UNENDED_LINE.search(text) is not None:
        return
    lines = [m for m in re.finditer(r"(?m)^[ \t]*[^%#\s][^\n]*$", text)]
    if len(lines) < 2:
        return
    pos = lines[0].group().rstrip().rfind(",") + lines[0].start()
    raise _error(
        ParseError,
        text,
        "every line ends with a comma: a line that ends with a comma continues the row, "
        f"so these {len(lines)} lines would be one row; remove the trailing commas to make "
        "each line a row (or join the lines to make one row)",
        pos,
    )


#: ``A = `` or ``**A** = `` before the matrix (a MATLAB or Python statement, svdkit's
#: Markdown report), when a bracket, ``$``, LaTeX or ``array(`` follows; ``%``/``#``
#: comment lines may come before it. Group 1 is the statement's start.
_ASSIGNMENT = re.compile(
    r"\A(?:[ \t\r\ufeff]*(?:[%#][^\n]*)?\n)*[ \t\r\ufeff]*"
    r"((?:\*\*)?[A-Za-z_]\w*(?:\*\*)?[ \t]*=(?!=)[ \t]*)"
    r"(?=\[|\$|\\|(?:np\.|numpy\.)?(?:array|asarray|matrix)\()"
)
#: The ``;`` that ends a MATLAB statement, after the closing ``]`` (comments may follow).
_STATEMENT_END = re.compile(r"\][ \t]*(;)[ \t\r]*(?:[%#][^\n]*)?(?:\n[ \t\r]*(?:[%#][^\n]*)?)*\Z")
#: MATLAB's ``...`` at the end of a line (a ``%`` comment may follow): the row goes on.
_ELLIPSIS = re.compile(r"(?m)\.\.\.[ \t\r]*(%[^\n]*)?$")
_TABLE_RULE = re.compile(r"\|?(?:[ \t]*:?-{3,}:?[ \t]*\|)+[ \t]*:?(?:-{3,}:?)?[ \t]*")
#: Set while the text read is MATLAB for certain (it used ``...``): one bracket of
#: commas is then MATLAB's row, not a Python vector.
_MATLAB_TEXT: ContextVar[bool] = ContextVar("_MATLAB_TEXT", default=False)
#: Set while the text read was a pasted statement (``A = […];``), or MATLAB for certain:
#: evidence against the NumPy readings that ``_refuse_padded`` and
#: ``_refuse_wrapped_vector`` fear.
_STATEMENT: ContextVar[bool] = ContextVar("_STATEMENT", default=False)


def _blank(text: str, start: int, end: int, fill: str = " ") -> str:
    return text[:start] + fill * (end - start) + text[end:]


def _normalise_paste(text: str) -> tuple[str, bool, bool]:
    """Forms people paste, rewritten in place (offsets kept) to the notations read here;
    whether the text is MATLAB for certain (it used ``...``); and whether it was a
    statement (``A = …`` or a ``;`` after the closing ``]``) or MATLAB for certain.

    * ``A = [1 2; 3 4];``: the name, the ``=`` and the ``;`` that ends a statement
      become blanks (also ``**A** = $$…$$`` from svdkit's own Markdown report);
      comment lines before it and a comment after it stay comments;
    * MATLAB's ``...`` at the end of a line continues the row: it becomes a ``,``
      (blanks where the line already ends with ``,``, ``;`` or ``[``), a line ending
      in a comma continuing the row. NumPy's summarised printout ends a line with
      ``...`` too (entries left out), so it is read only where the text is MATLAB for
      certain: an ``A =`` statement, a ``;``, a ``%`` comment after a ``...``, or a
      line ending in ``, ...`` (NumPy writes ``...,``); elsewhere it is a
      ``ParseError`` naming both readings. A ``...`` inside a ``%``/``#`` comment is
      the comment's;
    * a Markdown pipe table (every line starts and ends with ``|``): the outer bars
      become blanks, the inner ones commas; the ``|---|`` rule line and the header
      row above it become blank lines, a header of numbers, or an empty cell, being
      refused.

    Errors quote ``text`` as given.
    """
    given, statement = text, False
    if (m := _ASSIGNMENT.match(text)) is not None:
        text = _blank(text, text.rfind("\n", 0, m.start(1)) + 1, m.end())
        statement = True
    k = len(text)
    for _ in range(8):  # the last ']' may sit in a comment after the statement
        k = text.rfind("]", 0, k)
        if k < 0:
            break
        if (m := _STATEMENT_END.match(text, k)) is not None:
            text = _blank(text, m.start(1), m.end(1))
            statement = True
            break
    matlab = False
    if "..." in text:
        marks = [m for m in _ELLIPSIS.finditer(text) if _continues(m)]
        if marks:
            matlab = (
                statement
                or ";" in text
                or any(m.group(1) or _line_before(m).endswith(",") for m in marks)
            )
            if not matlab:
                _refuse_ellipsis(given, marks[0])
            text = _ELLIPSIS.sub(_continue_row, text)
    if _TABLE_START.match(text):
        text = _markdown_table(text, given)
    return text, matlab, statement or matlab


def _line_before(m: re.Match[str]) -> str:
    return m.string[m.string.rfind("\n", 0, m.start()) + 1 : m.start()].rstrip(" \t")


def _continues(m: re.Match[str]) -> bool:
    """Whether this end-of-line ``...`` follows something: ``....`` and a line of ``...``
    alone (NumPy's rows left out) are left to be refused; one inside a ``%``/``#``
    comment (``# measured ...``) is the comment's."""
    line = _line_before(m)
    return bool(line) and line[-1] not in ".(" and _COMMENT_START.search(line) is None


#: A ``%`` or ``#`` that starts a comment: at the start of a line or after a blank.
_COMMENT_START = re.compile(r"(?:^|[ \t])[%#]")


def _refuse_ellipsis(text: str, m: re.Match[str]) -> None:
    raise _error(
        ParseError,
        text,
        "'...' at the end of a line is MATLAB's continuation (the row goes on) or NumPy's "
        "summarised printout (entries left out): print the array in full "
        "(np.set_printoptions(threshold=sys.maxsize)), or for MATLAB paste the whole "
        "statement (A = [...];) or join the lines",
        m.start(),
        m.start() + 3,
    )


def _continue_row(m: re.Match[str]) -> str:
    """A MATLAB ``...`` (and what follows it on its line) → a comma and blanks, or blanks
    only after a comma, a ``;`` or a ``[``: the same length, so that offsets stay."""
    if not _continues(m):
        return m.group()
    comma = "" if _line_before(m)[-1] in ",;[" else ","
    return comma + " " * (len(m.group()) - len(comma))


def _markdown_table(text: str, given: str) -> str:
    """A Markdown pipe table → comma-separated rows, offsets kept (see ``_normalise_paste``;
    errors quote ``given``)."""
    lines = text.split("\n")
    body = [i for i, line in enumerate(lines) if line.strip()]
    if not all(lines[i].strip()[0] == "|" and lines[i].strip()[-1] == "|" for i in body):
        return text
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    if len(body) > 1 and _TABLE_RULE.fullmatch(lines[body[1]].strip()):
        header = lines[body[0]]
        cells = [c for c in header.strip().strip("|").split("|")]
        try:
            text_to_array(",".join(cells))
        except SvdkitError:
            pass
        else:
            pos = starts[body[0]]
            raise _error(
                ParseError,
                given,
                "the Markdown table's header row holds numbers; a header names the columns: "
                "remove the header and the |---| line under it to read every row",
                pos,
                pos + len(header),
            )
        for i in body[:2]:
            lines[i] = " " * len(lines[i])
        body = body[2:]
    for r, i in enumerate(body, 1):
        line = lines[i]
        lo, hi = line.index("|"), line.rindex("|")
        cells = line[lo + 1 : hi].split("|")
        if not all(cell.strip() for cell in cells):  # (C speed; the loop finds which)
            a = lo
            for c, cell in enumerate(cells, 1):
                if not cell.strip():
                    pos = starts[i] + a
                    raise _error(ParseError, given, "empty entry", pos, pos + len(cell) + 2, r, c)
                a += len(cell) + 1
        inner = line[lo + 1 : hi].replace("|", ",")
        lines[i] = line[:lo] + " " + inner + " " + line[hi + 1 :]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class _Entry:
    expr: Expr
    cell: _Cell
    row: int
    col: int


def _split(text: str, delimiter: str | None, document: bool, glued: bool = True) -> Rows:
    toks = TokenStream(text)
    if toks.get(_next_sig(toks, 0)) is None:
        raise EmptyInputError("the text has no entries" if text else "the text is empty")
    if delimiter is None and not document:
        _refuse_other_formats(text)
    if delimiter is not None:
        _check_delimited_cells(text, delimiter)
        rows, vector = _split_delimited(text, toks, delimiter)[0], False
    elif document or has_latex_marker(text):
        rows, vector = _split_latex(text, toks, document), False
    else:
        _refuse_wrapped_vector(text)
        if glued:
            _check_glued_comment(text, lambda t: _parse_grid(t, glued=False))
        rows, vector = _split_brackets_or_plain(text, toks)
    if not any(rows):
        raise EmptyInputError(f"the text {_short(text)} has no entries")
    try:
        _check_widths(text, rows, len(rows[0]))
    except RaggedError as err:
        _parse_rows(text, rows[: err.ragged_row - 1])  # a fault in an earlier row comes first
        raise
    return [[cell] for cell in rows[0]] if vector else rows


def _check_widths(
    text: str, rows: Rows, width: int, before: int = 0, filled: int = 0, row_start: int = 0
) -> None:
    """Refuse the first row that does not have ``width`` entries.

    The first of ``rows`` is row ``before + 1``; it has ``filled`` entries more,
    from offset ``row_start`` on, which the fast path read.
    """
    for r, row in enumerate(rows, before + 1):
        extra = filled if r == before + 1 else 0
        if len(row) + extra != width:
            where = row_start if extra else row[0].start if row else 0
            err = _error(
                RaggedError,
                text,
                f"row {r} has {count_entries(len(row) + extra)} but row 1 has "
                f"{count_entries(width)}",
                where,
                row[-1].end if row else None,
            )
            err.ragged_row = r
            raise err


def _short(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= 30 else text[:29] + "…")


def _parse_grid(
    text: str, delimiter: str | None = None, document: bool = False, glued: bool = True
) -> list[list[_Entry]]:
    """The grid of entries; ``glued=False`` drops a comment glued to an entry instead of
    refusing it (:func:`_check_glued_comment`, to find an earlier fault)."""
    return _parse_rows(text, _split(text, delimiter, document, glued))


def _parse_rows(text: str, rows: Rows, before: int = 0, filled: int = 0) -> list[list[_Entry]]:
    """Each cell's tokens → a syntax tree; rows and columns numbered as ``_check_widths`` does."""
    grid = []
    for r, row in enumerate(rows, before + 1):
        out = []
        for c, cell in enumerate(row, 1 + (filled if r == before + 1 else 0)):
            try:
                out.append(_Entry(parse_tokens(list(cell.tokens), cell.end), cell, r, c))
            except ExprSyntaxError as err:
                raise _error(ParseError, text, err.message, err.pos, err.end, r, c) from None
        grid.append(out)
    return grid


def parse_matrix_text(text: str) -> list[list[Expr]]:
    """Parse matrix text into rows of entry expressions (a vector gives one entry per row).

    Parameters
    ----------
    text : str
        Any notation listed in the module docstring.

    Returns
    -------
    list of list of Expr
        ``rows[i][j]`` is the syntax tree of the entry at row ``i + 1``, column
        ``j + 1``; all rows have the same length.

    Raises
    ------
    ParseError, RaggedError, EmptyInputError, ShapeError
        With the row, column and character offset of the fault.

    Examples
    --------
    >>> rows = parse_matrix_text("[[1/2, -3/4], [0.1, 2i]]")
    >>> rows[0][1].rational(), rows[1][0].rational(), rows[1][1].to_complex()
    (Fraction(-3, 4), Fraction(1, 10), 2j)
    """
    grid = _or_pasted(_parse_grid, text)
    return [[e.expr for e in row] for row in grid]


def _evaluate_grid(text: str, grid: list[list[_Entry]]) -> np.ndarray:
    values, is_complex = _evaluate_rows(text, grid)
    return np.array(values, dtype=np.complex128 if is_complex else np.float64)


def _evaluate_rows(text: str, grid: list[list[_Entry]]) -> tuple[list[list[float | complex]], bool]:
    """The value of every entry, and whether any is complex."""
    values: list[list[float | complex]] = []
    is_complex = False
    for row in grid:
        out = []
        for e in row:
            v = _evaluate_entry(text, e)
            is_complex = is_complex or isinstance(v, complex)
            out.append(v)
        values.append(out)
    return values, is_complex


def _evaluate_entry(text: str, e: _Entry) -> float | complex:
    """The value of one entry; a division by zero or an overflow names the entry."""
    try:
        return evaluate(e.expr)
    except ParseError:
        cls, message = ParseError, "division by zero in '{}'"
    except NonFiniteError:
        cls, message = NonFiniteError, "'{}' is too large for a floating-point number"
    src = clip(text[e.cell.start : e.cell.end], 60)
    raise _error(cls, text, message.format(src), e.cell.start, e.cell.end, e.row, e.col)


# --------------------------------------------------------------------------- plain text, fast


_CALLS = frozenset({"np", "numpy", "array", "asarray", "matrix"})


def _shares_lines(text: str, delimiter: str | None) -> bool:
    """Whether the fast path may read some of the lines.

    The text must have entries, and be CSV/TSV or lines of entries (not LaTeX,
    not brackets, not ``array(…)``, whose rows the full parser alone can tell).
    """
    t = next((t for t in iter_tokens(text) if t.kind not in _BLANK), None)
    if t is None:
        return False  # the full parser says the text is empty
    if delimiter is not None:
        return True
    if _is_op(t, "[") or (t.kind == "name" and t.value in _CALLS):
        return False
    return not has_latex_marker(text)


@dataclass(frozen=True, slots=True)
class _Stretch:
    """Rows read by the fast path, then the rows the full parser read after them.

    The first of ``cells`` continues the fast path's partial row, if any.
    """

    plain: PlainRun
    cells: Rows


def _stretches(text: str, delimiter: str | None) -> list[_Stretch]:
    """Split the whole text, plain lines by the fast path and other lines by the full parser."""
    out: list[_Stretch] = []
    start, limit, before = 0, None, 0
    while True:
        plain = read_plain(text, delimiter, start, limit)
        before += len(plain.rows)
        if plain.stop == len(text):
            out.append(_Stretch(plain, []))
            return out
        cells, handoff = _split_stretch(text, delimiter, plain, before)
        assert cells or not plain.partial  # the full parser starts at a number
        out.append(_Stretch(plain, cells))
        before += len(cells)
        if handoff is None:
            return out
        start, limit = handoff, plain.limit


def _split_stretch(
    text: str, delimiter: str | None, plain: PlainRun, before: int
) -> tuple[Rows, int | None]:
    """The full parser's rows from ``plain.stop`` to the next line the fast path can take."""
    toks = TokenStream(text, plain.stop)
    filled = len(plain.partial)

    def ready(offset: int) -> bool:
        return plain_line_at(text, offset)

    if delimiter is not None:
        return _split_delimited(text, toks, delimiter, before, filled, ready)
    splitter = _Splitter(text, toks, None, False, before, filled, ready)
    splitter.run(0)
    return splitter.rows, splitter.handoff


def _check_stretch_widths(text: str, delimiter: str | None, stretches: list[_Stretch]) -> None:
    """Every row has as many entries as row 1, as ``_split`` checks for the full parser."""
    width, before = None, 0
    for s in stretches:
        if len(s.plain.rows):
            n = s.plain.rows.shape[1]
            width = n if width is None else width
            if n != width:
                pos, end = row_span(text, s.plain.first, delimiter)
                message = f"row {before + 1} has {count_entries(n)} but row 1 has "
                err = _error(RaggedError, text, message + count_entries(width), pos, end)
                err.ragged_row = before + 1
                raise err
            before += len(s.plain.rows)
        if s.cells:
            filled = len(s.plain.partial)
            width = filled + len(s.cells[0]) if width is None else width
            _check_widths(text, s.cells, width, before, filled, s.plain.row_start)
            before += len(s.cells)


def _read_stretches(text: str, delimiter: str | None, stretches: list[_Stretch]) -> np.ndarray:
    """All rows, checked and evaluated in the full parser's order."""
    try:
        _check_stretch_widths(text, delimiter, stretches)
    except RaggedError as err:  # a fault in an earlier row comes first
        before = 0
        for s in stretches:
            before += len(s.plain.rows)
            earlier = s.cells[: max(0, err.ragged_row - 1 - before)]
            _parse_rows(text, earlier, before, len(s.plain.partial))
            before += len(s.cells)
        raise
    grids, before = [], 0
    for s in stretches:  # every entry is parsed before any is evaluated
        before += len(s.plain.rows)
        grids.append(_parse_rows(text, s.cells, before, len(s.plain.partial)))
        before += len(s.cells)
    blocks: list[np.ndarray] = []
    for s, grid in zip(stretches, grids, strict=True):
        values, is_complex = _evaluate_rows(text, grid)
        if len(s.plain.rows):
            blocks.append(s.plain.rows)
        if values:
            values[0] = [*s.plain.partial, *values[0]]
            blocks.append(np.array(values, dtype=np.complex128 if is_complex else np.float64))
    return np.concatenate(blocks) if len(blocks) > 1 else blocks[0]  # complex if any is


# ------------------------------------------------------------------ brackets and LaTeX, fast


def _fast_latex(text: str, document: bool) -> np.ndarray | None:
    """A LaTeX matrix of plain numbers, read at C speed; ``None`` for the full parser.

    The full parser's own checks find the body (they read the tokens around it
    only); a fault there is left to the full parser, which finds it first too.
    """
    try:
        body = _latex_body(text, TokenStream(text), document)
    except SvdkitError:
        return None
    first = body.toks.get(body.start)
    if first is None or first.pos >= body.stop:
        return None
    return read_latex(text[first.pos : body.stop], body.trailer)


def _fast_marked(text: str, document: bool) -> np.ndarray | None:
    """Bracketed or LaTeX text of plain numbers (:mod:`svdkit.inputs.markup`), or ``None``.

    The notation is told as ``_split`` tells it; what comes back is what the
    full parser would return.
    """
    if document or has_latex_marker(text):
        return _fast_latex(text, document)
    return read_brackets(text)


def text_to_array(text: str, *, delimiter: str | None = None, document: bool = False) -> np.ndarray:
    """Read matrix text into a 2-D float64 (or complex128) array.

    Lines of plain numbers are read at C speed (:mod:`svdkit.inputs.plain`)
    and the full parser reads the other lines; it alone writes the error
    messages, in the order it would find the faults reading the whole text.
    Brackets, ``;`` rows and LaTeX whose entries are all plain numbers are read
    at C speed too (:mod:`svdkit.inputs.markup`); anything else in them sends
    the whole text to the full parser.

    Parameters
    ----------
    text : str
        The matrix, in any notation listed in the module docstring.
    delimiter : {None, ",", "\\t"}
        ``","`` (CSV) or ``"\\t"`` (TSV): rows are lines, entries are split by this
        character only. ``None`` recognises the notation.
    document : bool
        Read the one matrix environment of a LaTeX document, ignoring the rest.

    Examples
    --------
    >>> text_to_array("1,2\\n3,4")
    array([[1., 2.],
           [3., 4.]])
    >>> text_to_array("[1, 2, 3]").shape  # a vector is a column
    (3, 1)
    """
    if delimiter is not None or document:
        return _text_to_array(text, delimiter, document)
    return _or_pasted(lambda t: _text_to_array(t, None, False), text)


def _or_pasted(read: Callable[[str], _T], text: str) -> _T:
    """``read(text)``; where that fails, ``read`` of the text as :func:`_normalise_paste`
    rewrites it, if it rewrites anything (each form it rewrites is refused as it is, so
    text that reads is never rewritten). A Markdown table (text that starts with ``|``)
    never reads as it is: it is rewritten first, with no failed read of the raw table.
    Where the rewritten text fails too at the same offset, the first error stands;
    elsewhere the second error is told quoting the text as given (the offsets agree;
    an empty text quotes it too)."""
    first: SvdkitError | None = None
    if not _TABLE_START.match(text):  # (a table never reads as it is: rewritten first)
        try:
            return read(text)
        except SvdkitError as err:
            first = err
    fixed, matlab, statement = _normalise_paste(text)  # (its own refusals: ambiguous pastes)
    if fixed == text:
        if first is None:
            return read(text)
        raise first
    token, stated = _MATLAB_TEXT.set(matlab), _STATEMENT.set(statement)
    try:
        return read(fixed)
    except EmptyInputError:
        raise EmptyInputError(f"the text {_short(text)} has no entries") from None
    except SvdkitError as err:
        if first is not None and getattr(err, "offset", None) == getattr(first, "offset", None):
            raise first from None
        raise _requote(err, text) from None
    finally:
        _MATLAB_TEXT.reset(token)
        _STATEMENT.reset(stated)


_TABLE_START = re.compile(r"\s*\|")


def _requote(err: SvdkitError, text: str) -> SvdkitError:
    """``err``, raised on the rewritten text, with its snippet taken from ``text``."""
    if getattr(err, "detail", None) is None or getattr(err, "offset", None) is None:
        return err
    new = _error(type(err), text, err.detail, err.offset, err.end, err.row, err.column)
    for name, value in vars(err).items():
        if not hasattr(new, name):
            setattr(new, name, value)
    return new


def _text_to_array(text: str, delimiter: str | None, document: bool) -> np.ndarray:
    if delimiter is None and not document:
        _refuse_other_formats(text)
        _refuse_wrapped_vector(text)
    if delimiter is not None:  # (dates: only where an entry is not a plain number)
        _check_delimited_cells(text, delimiter, dates=False)
    elif not document and not has_latex_marker(text):
        _check_glued_comment(text, lambda t: _evaluate_grid(t, _parse_grid(t, glued=False)))
    if not document and _shares_lines(text, delimiter):
        if delimiter is None and ";" in text and (rows := read_rows(text)) is not None:
            return rows[0]  # "1 2; 3 4": MATLAB rows of plain numbers
        stretches = _stretches(text, delimiter)
        if len(stretches) == 1 and not stretches[0].cells and len(stretches[0].plain.rows):
            return stretches[0].plain.rows  # all plain numbers: the common case
        if delimiter is not None:
            _check_delimited_cells(text, delimiter)
        if any(len(s.plain.rows) or s.cells for s in stretches):
            return _read_stretches(text, delimiter, stretches)
    elif (
        delimiter is None
        and not _MATLAB_TEXT.get()  # (the fast path reads one bracket of commas as a column)
        and (fast := _fast_marked(text, document)) is not None
    ):
        return fast
    return _evaluate_grid(text, _parse_grid(text, delimiter, document))
