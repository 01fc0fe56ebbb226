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
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from svdkit.errors import EmptyInputError, NonFiniteError, ParseError, RaggedError, ShapeError
from svdkit.inputs.expr import (
    MAX_TOKENS,
    Expr,
    ExprSyntaxError,
    Token,
    evaluate,
    parse_tokens,
    tokenize,
)
from svdkit.inputs.shape import count_entries

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
    return err


def _check_length(text: str, cell: list[Token], row: int, col: int) -> None:
    """Refuse an entry of more than ``MAX_TOKENS`` symbols now, before reading the rest."""
    if len(cell) > MAX_TOKENS:
        t = cell[MAX_TOKENS]
        message = f"entry too long (more than {MAX_TOKENS} symbols)"
        raise _error(ParseError, text, message, t.pos, t.end, row, col)


def _show(t: Token) -> str:
    if t.kind in ("cmd", "esc"):
        return f"'\\{t.value}'"
    return "'\\\\'" if t.kind == "rowsep" else repr(t.value) if t.kind == "bad" else f"'{t.value}'"


def _is_op(t: Token | None, values: str) -> bool:
    return t is not None and t.kind == "op" and t.value in values


def _next_sig(toks: list[Token], k: int) -> int:
    while k < len(toks) and toks[k].kind in _BLANK:
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


class _Splitter:
    """Rows by ``;``/line breaks, entries by ``,``/whitespace, up to a closing ``]``."""

    def __init__(self, text: str, toks: list[Token], opener: Token | None, in_row: bool):
        self.text, self.toks, self.opener, self.in_row = text, toks, opener, in_row
        self.rows: Rows = []
        self.row: list[_Cell] = []
        self.cell: list[Token] = []
        self.matlab = False  # a ';' or a whitespace split: MATLAB's matrix syntax, not a list

    def fail(self, cls: type[Exception], message: str, t: Token) -> Exception:
        return _error(cls, self.text, message, t.pos, t.end)

    def check_length(self) -> None:
        if len(self.cell) > MAX_TOKENS:
            _check_length(self.text, self.cell, len(self.rows) + 1, len(self.row) + 1)

    def end_cell(self) -> None:
        if self.cell:
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
        while k < len(toks):
            t = toks[k]
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
            elif _is_op(t, ","):
                if not self.cell:
                    r, c = len(self.rows) + 1, len(self.row) + 1
                    raise _error(ParseError, self.text, "empty entry", t.pos, t.end, r, c)
                self.end_cell()
                after_comma, pending_ws = True, False
            elif _is_op(t, ";"):
                if self.in_row:
                    raise self.fail(ParseError, "';' inside a row of a nested list", t)
                self.end_row()
                self.matlab, after_comma = True, False
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
                nxt = toks[k + 1] if k + 1 < len(toks) else None
                if pending_ws and self.cell and _new_element(self.cell[-1], t, nxt):
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


def _split_nested(text: str, toks: list[Token], k: int) -> tuple[Rows, int]:
    """``[[…], […]]``: each inner list is one row. ``toks[k]`` is the outer ``[``."""
    opener, rows = toks[k], []
    separated = True
    k += 1
    while True:
        k = _next_sig(toks, k)
        if k == len(toks):
            raise _error(ParseError, text, "unbalanced brackets: '[' is never closed", opener.pos)
        t = toks[k]
        if _is_op(t, "]"):
            return rows, k + 1
        if _is_op(t, "["):
            splitter = _Splitter(text, toks, t, in_row=True)
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


def _strip_array_call(toks: list[Token]) -> tuple[list[Token], bool]:
    """``array([...])``, ``np.array([...], dtype=float)`` → the tokens of the list."""
    sig = [t for t in toks if t.kind not in _BLANK]
    k = 0
    if len(sig) > 2 and sig[0].value in ("np", "numpy") and _is_op(sig[1], "."):
        k = 2
    if (
        len(sig) > k + 3
        and sig[k].kind == "name"
        and sig[k].value in ("array", "asarray", "matrix")
        and _is_op(sig[k + 1], "(")
        and _is_op(sig[k + 2], "[")
        and _is_op(sig[-1], ")")
    ):
        lo, hi = sig[k + 2].pos, sig[-1].pos
        return [t for t in toks if lo <= t.pos < hi], True
    return toks, False


def _split_brackets_or_plain(text: str, toks: list[Token]) -> tuple[Rows, bool]:
    toks, in_call = _strip_array_call(toks)
    k = _next_sig(toks, 0)
    if not _is_op(toks[k], "["):
        splitter = _Splitter(text, toks, None, in_row=False)
        splitter.run(0)
        return splitter.rows, False
    j = _next_sig(toks, k + 1)
    if j < len(toks) and _is_op(toks[j], "["):
        rows, end = _split_nested(text, toks, k)
        vector = False
    else:
        splitter = _Splitter(text, toks, toks[k], in_row=False)
        end = splitter.run(k + 1)
        rows, vector = splitter.rows, not splitter.matlab and len(splitter.rows) == 1
    rest = [t for t in toks[end:] if t.kind not in _BLANK]
    dtype_arg = len(rest) > 1 and _is_op(rest[0], ",") and rest[1].value == "dtype"
    if rest and not (in_call and dtype_arg):
        t = rest[0]
        msg = f"unexpected {_show(t)} after the closing ']'"
        if _is_op(t, "]"):
            msg = "unbalanced brackets: ']' has no matching '['"
        raise _error(ParseError, text, msg, t.pos, t.end)
    return rows, vector


# --------------------------------------------------------------------------- LaTeX


def _is_latex(toks: list[Token]) -> bool:
    for t in toks:
        if t.kind == "rowsep" or _is_op(t, "&") or (t.kind == "esc" and t.value == "["):
            return True
        if t.kind == "cmd" and t.value in ("begin", "left", "right"):
            return True
    return False


def _group_end(text: str, toks: list[Token], k: int, open_: str, close: str) -> int:
    """``toks[k]`` opens a balanced group; return the index after its closer."""
    depth, start = 0, toks[k]
    for j in range(k, len(toks)):
        if _is_op(toks[j], open_):
            depth += 1
        elif _is_op(toks[j], close):
            depth -= 1
            if depth == 0:
                return j + 1
    raise _error(ParseError, text, f"unbalanced brackets: '{open_}' is never closed", start.pos)


def _env_name(text: str, toks: list[Token], k: int) -> tuple[str, int]:
    """``toks[k]`` is ``\\begin`` or ``\\end``: read ``{name}``; return it and the index after."""
    j = _next_sig(toks, k + 1)
    parts, j0 = [], j
    if j < len(toks) and _is_op(toks[j], "{"):
        j += 1
        while j < len(toks) and not _is_op(toks[j], "}"):
            if toks[j].kind not in _BLANK:
                parts.append(toks[j].value)
            j += 1
    if j >= len(toks) or not parts:
        at = toks[min(j0, len(toks) - 1)]
        raise _error(ParseError, text, f"\\{toks[k].value} needs an environment name", at.pos)
    return "".join(parts), j + 1


def _skip_optional(text: str, toks: list[Token], k: int) -> int:
    j = _next_sig(toks, k)
    return _group_end(text, toks, j, "[", "]") if j < len(toks) and _is_op(toks[j], "[") else k


def _matrix_begins(text: str, toks: list[Token]) -> list[int]:
    return [
        k
        for k, t in enumerate(toks)
        if t.kind == "cmd"
        and t.value == "begin"
        and _env_name(text, toks, k)[0].rstrip("*") in LATEX_ENVIRONMENTS
    ]


def _latex_body(text: str, toks: list[Token], document: bool) -> tuple[int, int]:
    """The token range of the matrix body, checking what surrounds it."""
    begins = [k for k, t in enumerate(toks) if t.kind == "cmd" and t.value == "begin"]
    if document:
        begins = _matrix_begins(text, toks)
        if len(begins) != 1:
            what = "no matrix environment" if not begins else f"{len(begins)} matrix environments"
            raise ParseError(
                f"found {what} ({', '.join(LATEX_ENVIRONMENTS)}); a file must hold exactly one"
            )
    if not begins:
        return _bare_body(text, toks)
    b = begins[0]
    env, k = _env_name(text, toks, b)
    if env.rstrip("*") not in LATEX_ENVIRONMENTS:
        raise _error(
            ParseError,
            text,
            f"unsupported environment '{env}' (use one of {', '.join(LATEX_ENVIRONMENTS)})",
            toks[b].pos,
        )
    if env.endswith("*") or env == "array":
        k = _skip_optional(text, toks, k)
    if env == "array":
        j = _next_sig(toks, k)
        if j == len(toks) or not _is_op(toks[j], "{"):
            raise _error(
                ParseError, text, "\\begin{array} needs column specs like {cc}", toks[b].pos
            )
        k = _group_end(text, toks, j, "{", "}")
    for e in range(k, len(toks)):
        t = toks[e]
        if t.kind == "cmd" and t.value == "begin":
            raise _error(ParseError, text, "nested environments are not supported", t.pos, t.end)
        if t.kind == "cmd" and t.value == "end":
            name, after = _env_name(text, toks, e)
            if name != env:
                raise _error(ParseError, text, f"\\begin{{{env}}} ends with \\end{{{name}}}", t.pos)
            if not document:
                _skip_prefix(text, toks, 0, b, strict=True)
                _check_suffix(text, toks, after)
            return k, e
    raise _error(ParseError, text, f"\\begin{{{env}}} has no \\end{{{env}}}", toks[b].pos)


def _is_delimiter(t: Token) -> bool:
    return (
        _is_op(t, "[]()|.") or t.kind == "esc" or (t.kind == "cmd" and t.value in _DELIMITER_CMDS)
    )


def _skip_delimiter(text: str, toks: list[Token], k: int, hi: int) -> int:
    """``toks[k - 1]`` is ``\\left``/``\\right``: skip the delimiter that follows."""
    j = _next_sig(toks, k)
    if j < hi and _is_delimiter(toks[j]):
        return j + 1
    t = toks[k - 1]
    raise _error(ParseError, text, f"{_show(t)} must be followed by a delimiter", t.pos, t.end)


def _skip_prefix(text: str, toks: list[Token], lo: int, hi: int, strict: bool) -> int:
    """Skip ``$``, ``\\[`` and ``\\left[`` before the matrix; return where it starts."""
    k = lo
    while k < hi:
        t = toks[k]
        if t.kind in _BLANK or _is_op(t, "$") or (t.kind == "esc" and t.value in "[("):
            k += 1
        elif t.kind == "cmd" and t.value == "left":
            k = _skip_delimiter(text, toks, k + 1, hi)
        elif strict:
            raise _error(ParseError, text, f"unexpected {_show(t)} before the matrix", t.pos, t.end)
        else:
            return k
    return k


def _check_suffix(text: str, toks: list[Token], lo: int) -> None:
    """After the matrix only ``\\right]``, ``$``, ``\\]`` and a final ``.`` or ``,`` may come."""
    k = lo
    while k < len(toks):
        t = toks[k]
        if t.kind in _BLANK or _is_op(t, "$.,") or (t.kind == "esc" and t.value in "])"):
            k += 1
        elif t.kind == "cmd" and t.value == "right":
            k = _skip_delimiter(text, toks, k + 1, len(toks))
        else:
            raise _error(ParseError, text, f"unexpected {_show(t)} after the matrix", t.pos, t.end)


def _bare_body(text: str, toks: list[Token]) -> tuple[int, int]:
    """``1 & 2 \\\\ 3 & 4`` without an environment, maybe inside ``\\left[ … \\right]``."""
    lo = _skip_prefix(text, toks, 0, len(toks), strict=False)
    right = [k for k in range(lo, len(toks)) if toks[k].kind == "cmd" and toks[k].value == "right"]
    if right:
        _check_suffix(text, toks, right[0])
        return lo, right[0]
    hi = len(toks)
    while hi > lo and (
        toks[hi - 1].kind in _BLANK
        or _is_op(toks[hi - 1], "$")
        or (toks[hi - 1].kind == "esc" and toks[hi - 1].value in "])")
    ):
        hi -= 1
    return lo, hi


def _split_latex(text: str, toks: list[Token], document: bool) -> Rows:
    lo, hi = _latex_body(text, toks, document)
    rows: list[list[_Cell]] = []
    row: list[_Cell] = []
    cell: list[Token] = []
    breaks: list[Token] = []

    def end_cell(t: Token) -> None:
        nonlocal cell
        if not cell:
            r, c = len(rows) + 1, len(row) + 1
            raise _error(ParseError, text, "empty entry", t.pos, t.end, r, c)
        row.append(_Cell(tuple(cell)))
        cell = []

    k = lo
    while k < hi:
        t = toks[k]
        k += 1
        if t.kind == "rowsep":
            if cell or row:
                end_cell(t)
            rows.append(row)
            breaks.append(t)
            row = []
            j = _next_sig(toks, k)
            if j < hi and _is_op(toks[j], "["):  # \\[2pt]
                k = _group_end(text, toks, j, "[", "]")
        elif _is_op(t, "&"):
            end_cell(t)
        elif t.kind == "cmd" and t.value in _RULE_CMDS:
            pass
        elif t.kind == "cmd" and t.value == "cline":
            j = _next_sig(toks, k)
            k = _group_end(text, toks, j, "{", "}") if j < hi and _is_op(toks[j], "{") else k
        elif t.kind == "cmd" and t.value in ("begin", "end"):
            raise _error(ParseError, text, f"unexpected {_show(t)} inside the matrix", t.pos, t.end)
        elif t.kind not in _BLANK:
            cell.append(t)
            _check_length(text, cell, len(rows) + 1, len(row) + 1)
    if cell or row:
        end_cell(toks[hi - 1] if hi else toks[-1])
        rows.append(row)
    for r, (row_, t) in enumerate(zip(rows, breaks, strict=False), 1):
        if not row_ and any(rows[r:]):
            raise _error(ParseError, text, f"row {r} is empty", t.pos, t.end)
    return [row_ for row_ in rows if row_]


# --------------------------------------------------------------------------- delimited (CSV/TSV)


def _split_delimited(text: str, toks: list[Token], delimiter: str) -> Rows:
    rows: Rows = []
    row: list[_Cell] = []
    cell: list[Token] = []
    groups: list[Token] = []
    for t in [*toks, Token("nl", "\n", len(text), len(text))]:
        is_delim = _is_op(t, ",") if delimiter == "," else t.kind == "tab"
        if groups and t.kind != "nl":
            if _is_op(t, "({"):
                groups.append(t)
            elif _is_op(t, ")}"):
                _close_group(text, groups, t)
            if t.kind not in _BLANK:
                cell.append(t)
                _check_length(text, cell, len(rows) + 1, len(row) + 1)
        elif groups:
            raise _error(ParseError, text, f"{_show(groups[-1])} is never closed", groups[-1].pos)
        elif is_delim or (t.kind == "nl" and row):
            if not cell:
                r, c = len(rows) + 1, len(row) + 1
                raise _error(ParseError, text, "empty entry", t.pos, t.end, r, c)
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
            _check_length(text, cell, len(rows) + 1, len(row) + 1)
            if _is_op(t, "({"):
                groups.append(t)
    return rows


# --------------------------------------------------------------------------- the grid


@dataclass(frozen=True, slots=True)
class _Entry:
    expr: Expr
    cell: _Cell
    row: int
    col: int


def _split(text: str, delimiter: str | None, document: bool) -> Rows:
    toks = tokenize(text)
    if not any(t.kind not in _BLANK for t in toks):
        raise EmptyInputError("the text has no entries" if text else "the text is empty")
    if delimiter is not None:
        rows, vector = _split_delimited(text, toks, delimiter), False
    elif document or _is_latex(toks):
        rows, vector = _split_latex(text, toks, document), False
    else:
        rows, vector = _split_brackets_or_plain(text, toks)
    if not any(rows):
        raise EmptyInputError(f"the text {_short(text)} has no entries")
    width = len(rows[0])
    for r, row in enumerate(rows, 1):
        if len(row) != width:
            where = row[0].start if row else 0
            raise _error(
                RaggedError,
                text,
                f"row {r} has {count_entries(len(row))} but row 1 has {count_entries(width)}",
                where,
                row[-1].end if row else None,
            )
    return [[cell] for cell in rows[0]] if vector else rows


def _short(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= 30 else text[:29] + "…")


def _parse_grid(
    text: str, delimiter: str | None = None, document: bool = False
) -> list[list[_Entry]]:
    grid = []
    for r, row in enumerate(_split(text, delimiter, document), 1):
        out = []
        for c, cell in enumerate(row, 1):
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
    return [[e.expr for e in row] for row in _parse_grid(text)]


def _evaluate_grid(text: str, grid: list[list[_Entry]]) -> np.ndarray:
    values, is_complex = [], False
    for row in grid:
        out = []
        for e in row:
            try:
                v = evaluate(e.expr)
            except ParseError:
                src = text[e.cell.start : e.cell.end]
                raise _error(
                    ParseError,
                    text,
                    f"division by zero in '{src}'",
                    e.cell.start,
                    e.cell.end,
                    e.row,
                    e.col,
                ) from None
            except NonFiniteError:
                src = text[e.cell.start : e.cell.end]
                raise _error(
                    NonFiniteError,
                    text,
                    f"'{src}' is too large for a floating-point number",
                    e.cell.start,
                    e.cell.end,
                    e.row,
                    e.col,
                ) from None
            is_complex = is_complex or isinstance(v, complex)
            out.append(v)
        values.append(out)
    return np.array(values, dtype=np.complex128 if is_complex else np.float64)


_FAST_CHARS = re.compile(r"[0-9eE.+\-,/ \t\r\n]*")
_COMMENT = re.compile(r"[%#][^\r\n]*")


def _decimal_or_ratio(token: str) -> float:
    """``float`` of ``"2.5"`` or of ``Fraction("-3/4")`` (exact, then rounded once)."""
    return float(Fraction(token)) if "/" in token else float(token)


def _fast_numeric(text: str, delimiter: str | None) -> np.ndarray | None:
    """Plain numbers in a rectangle, read with ``float``; ``None`` if anything else.

    Only text made of digits, ``.``, ``e``, signs, ``/``, delimiters, spaces and
    line breaks gets here, where ``float`` (and ``Fraction`` for ``p/q``) agree with
    the full grammar number for number: both round the exact value once. Anything
    unusual falls back to the full parser, which also writes the error messages.
    """
    if "#" in text or "%" in text:
        text = _COMMENT.sub("", text)
    if not _FAST_CHARS.fullmatch(text):
        return None
    if delimiter is None and "," in text:
        delimiter = ","
    if delimiter != "," and "," in text:
        return None
    convert = _decimal_or_ratio if "/" in text else float
    try:
        rows = [list(map(convert, ln.split(delimiter))) for ln in text.splitlines() if ln.strip()]
    except (ValueError, ZeroDivisionError):
        return None
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        return None
    a = np.array(rows, dtype=np.float64)
    return a if a.size and np.isfinite(a).all() else None


def text_to_array(text: str, *, delimiter: str | None = None, document: bool = False) -> np.ndarray:
    """Read matrix text into a 2-D float64 (or complex128) array.

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
    if not document:
        fast = _fast_numeric(text, delimiter)
        if fast is not None:
            return fast
    return _evaluate_grid(text, _parse_grid(text, delimiter, document))
