"""One matrix entry: its grammar, its syntax tree and its numeric value.

An entry such as ``-3/4``, ``1+2i``, ``\\frac{1}{\\sqrt{2}}`` or ``3π`` is read by a
small recursive-descent parser into a tree of frozen dataclasses; nothing is ever
handed to ``eval``. The tree keeps integers and decimals exact (``0.1`` is the
:class:`~fractions.Fraction` ``1/10``), so an exact engine can walk the same tree
(``Number`` → ``sympy.Rational``, ``ImaginaryUnit`` → ``sympy.I``, ``Pi`` →
``sympy.pi``, ``Sqrt`` → ``sympy.sqrt``, ``Neg`` → unary minus, ``BinOp`` → the
operator), while the numeric engine calls :meth:`Expr.to_complex`.

Grammar (lowest precedence first; ``^`` is right-associative)::

    expr    := term (("+" | "-") term)*
    term    := unary (("*" | "/" | "\\cdot" | "\\times") unary | implicit)*
    implicit:= power          -- a factor that starts with anything but a number:
                              -- 2\\sqrt{2}, 3π, 2(1+i), i\\pi
    unary   := ("+" | "-") unary | power
    power   := atom (("^" | "**") unary)?
    atom    := number | number "i" | "i" | "j" | "pi" | "π" | "\\pi"
             | "(" expr ")" | "{" expr "}" | "sqrt" "(" expr ")" | "√" atom
             | "\\sqrt" arg | ("\\frac" | "\\dfrac" | "\\tfrac") arg arg
    arg     := "{" expr "}" | one digit (TeX: \\frac12 is 1/2) | atom

A number written directly before ``i`` or ``j`` (``2i``, ``3.5e2j``) is one
imaginary literal, as in Python and MATLAB: ``1/2i`` is ``1/(2i)``.

Examples
--------
>>> from svdkit.inputs.expr import parse_expr
>>> e = parse_expr(r"\\frac{1}{\\sqrt{2}}")
>>> e
BinOp(op='/', left=Number(value=Fraction(1, 1)), right=Sqrt(arg=Number(value=Fraction(2, 1))))
>>> e.to_complex()
(0.7071067811865475+0j)
>>> parse_expr("0.1 + 1/5").rational()
Fraction(3, 10)
"""

from __future__ import annotations

import cmath
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from svdkit.errors import NonFiniteError, ParseError

__all__ = [
    "BinOp",
    "Expr",
    "ExprSyntaxError",
    "ImaginaryUnit",
    "Neg",
    "Number",
    "Pi",
    "Sqrt",
    "Token",
    "evaluate",
    "iter_tokens",
    "parse_expr",
    "parse_tokens",
    "tokenize",
]

MAX_TOKENS = 1000  # per entry: keeps recursion (parsing, evaluation, tree walks) shallow
MAX_NESTING = 100  # parentheses / braces / \sqrt / \frac inside one entry
MAX_EXPONENT = 10_000  # |e| in a literal such as 1e-300; beyond, Fraction arithmetic is silly
MAX_DIGITS = 4000  # digits in one literal: Python's int() refuses more than 4300 (CVE-2020-10735)


# --------------------------------------------------------------------------- tokens


class Token(NamedTuple):
    """A lexical token: ``kind``, normalised ``value`` and its span in the text.

    Kinds: ``num`` (a decimal literal), ``name`` (``i``, ``pi``, ``sqrt``, or an
    unknown word), ``cmd`` (a LaTeX command without its backslash), ``op`` (one of
    ``+ - * / ^ ( ) [ ] { } , ; & | $ . √``; ``**``, ``\\cdot``, ``×`` are ``*``
    or ``^`` already), ``esc`` (``\\{``, ``\\}``, ``\\|``, ``\\[``, ``\\]``),
    ``rowsep`` (``\\\\``), ``ws``, ``tab``, ``nl`` and ``bad`` (any other character).
    """

    kind: str
    value: str
    pos: int
    end: int


_TOKEN_RE = re.compile(
    r"""
     (?P<nl>\r\n|\r|\n)
    |(?P<tab>\t)
    |(?P<ws>[ \f\v\u00a0\u2009\u202f\u200b\ufeff]+)
    |(?P<comment>[%\#][^\r\n]*)
    |(?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+\-−]?[0-9]+)?)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<rowsep>\\\\)
    |(?P<cmd>\\[A-Za-z]+)
    |(?P<space>\\[,;:!\ ])
    |(?P<esc>\\[{}|\[\]()])
    |(?P<pow>\*\*)
    |(?P<op>[-+*/^()\[\]{},;&|$.√])
    |(?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)

# characters and commands that are spelled differently but mean one operator
_UNICODE_OPS = {"−": "-", "×": "*", "·": "*", "⋅": "*", "÷": "/"}
_CMD_OPS = {"cdot": "*", "times": "*", "ast": "*", "div": "/"}
_CMD_SPACES = {"quad", "qquad", "displaystyle", "textstyle", "scriptstyle"}
_PLAIN_KINDS = frozenset({"nl", "tab", "ws", "name", "rowsep", "op"})  # kept as matched


def iter_tokens(text: str, start: int = 0, end: int | None = None) -> Iterator[Token]:
    """The tokens of ``text[start:end]``, one at a time; positions are offsets into ``text``.

    Comments (``%`` or ``#`` to the end of the line) are dropped; nothing else is.
    ``start`` must be where a token starts (0, or the start of a token found before).

    Examples
    --------
    >>> next(iter_tokens("12 + x", 3))
    Token(kind='op', value='+', pos=3, end=4)
    """
    make = tuple.__new__  # Token(...) is slow: one call per character
    end = len(text) if end is None else end
    for m in _TOKEN_RE.finditer(text, start, end):
        kind, value = m.lastgroup or "bad", m.group()
        if kind in _PLAIN_KINDS:
            yield make(Token, (kind, value, *m.span()))
        elif kind != "comment":
            kind, value = _normalise(kind, value)
            yield make(Token, (kind, value, *m.span()))


def _normalise(kind: str, value: str) -> tuple[str, str]:
    """One spelling per operator, command and space (``−`` is ``-``, ``\\cdot`` is ``*``)."""
    if kind == "num":
        return kind, value.replace("−", "-")  # 1e−3: the unicode minus in an exponent
    if kind == "bad":
        if value == "π":
            return "name", "pi"
        if value in _UNICODE_OPS:
            return "op", _UNICODE_OPS[value]
        return ("ws" if value.isspace() else kind), value
    if kind == "pow":
        return "op", "^"
    if kind == "space":
        return "ws", value
    if kind in ("cmd", "esc"):
        value = value[1:]
        if value in _CMD_OPS:
            return "op", _CMD_OPS[value]
        if value in _CMD_SPACES:
            return "ws", value
    return kind, value


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Split ``text[start:end]`` into tokens; positions are offsets into ``text``.

    Comments (``%`` or ``#`` to the end of the line) are dropped; nothing else is.
    :func:`iter_tokens` gives the same tokens one at a time.

    Examples
    --------
    >>> [t.value for t in tokenize("2\\\\sqrt{2} − 1")]
    ['2', 'sqrt', '{', '2', '}', ' ', '-', ' ', '1']
    """
    return list(iter_tokens(text, start, end))


def clip(value: str, width: int = 40) -> str:
    """``value``, shortened with ``…`` to at most ``width`` characters, for messages.

    Examples
    --------
    >>> clip("x" * 50, 10)
    'xxxxxxxxx…'
    """
    return value if len(value) <= width else value[: width - 1] + "…"


# --------------------------------------------------------------------------- the tree


class _Exact(NamedTuple):
    """An exact Gaussian rational ``re + im·i`` (internal to evaluation)."""

    re: Fraction
    im: Fraction


_Value = _Exact | complex


class Expr:
    """Base class of the syntax-tree nodes of one entry.

    Subclasses are frozen dataclasses: :class:`Number`, :class:`ImaginaryUnit`,
    :class:`Pi`, :class:`Sqrt`, :class:`Neg` and :class:`BinOp`.
    """

    __slots__ = ()

    def to_complex(self) -> complex:
        """The value as a Python complex, rounded once at the end.

        Raises
        ------
        ParseError
            Division by zero.
        NonFiniteError
            The value overflows a float.

        Examples
        --------
        >>> parse_expr("1/3").to_complex() == complex(1 / 3)
        True
        """
        return _to_complex(_checked(self))

    def rational(self) -> Fraction | None:
        """The exact value if it is a real rational number, else ``None``.

        Examples
        --------
        >>> parse_expr("-3/4").rational(), parse_expr("sqrt(2)").rational()
        (Fraction(-3, 4), None)
        """
        v = _checked(self)
        return v.re if isinstance(v, _Exact) and v.im == 0 else None

    def has_imaginary_unit(self) -> bool:
        """Whether ``i`` (or ``j``) is written in the entry: such entries make a complex matrix."""
        return any(isinstance(n, ImaginaryUnit) for n in _walk(self))


@dataclass(frozen=True, slots=True)
class Number(Expr):
    """A non-negative integer or decimal literal, kept exact: ``0.1`` is ``Fraction(1, 10)``."""

    value: Fraction

    def __str__(self) -> str:
        text = _fraction_text(self.value)
        return text if self.value.denominator == 1 else f"({text})"


def _fraction_text(value: Fraction) -> str:
    """``str(value)``, or ``≈m·10^e`` written ``≈1.5e9000`` when Python would refuse it.

    Python's ``str`` of an integer of more than 4300 digits raises ``ValueError``;
    ``1e9000`` is a literal the grammar allows, and its messages must not fail.
    """
    try:
        return str(value)
    except ValueError:
        size = math.log10(abs(value.numerator)) - math.log10(value.denominator)
        exponent = math.floor(size)
        sign = "-" if value < 0 else ""
        return f"≈{sign}{10 ** (size - exponent):.6g}e{exponent}"


@dataclass(frozen=True, slots=True)
class ImaginaryUnit(Expr):
    """The imaginary unit, written ``i`` or ``j``."""

    def __str__(self) -> str:
        return "i"


@dataclass(frozen=True, slots=True)
class Pi(Expr):
    """The number π, written ``pi``, ``π`` or ``\\pi``."""

    def __str__(self) -> str:
        return "pi"


@dataclass(frozen=True, slots=True)
class Sqrt(Expr):
    """The principal square root, written ``sqrt(x)``, ``√x``, ``\\sqrt{x}``."""

    arg: Expr

    def __str__(self) -> str:
        return f"sqrt({self.arg})"


@dataclass(frozen=True, slots=True)
class Neg(Expr):
    """Unary minus."""

    arg: Expr

    def __str__(self) -> str:
        return f"(-{self.arg})"


@dataclass(frozen=True, slots=True)
class BinOp(Expr):
    """A binary operation; ``op`` is one of ``+ - * / ^`` (``^`` is the power)."""

    op: str
    left: Expr
    right: Expr

    def __str__(self) -> str:
        return f"({self.left} {self.op} {self.right})"


def _walk(node: Expr):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, Sqrt | Neg):
            stack.append(n.arg)
        elif isinstance(n, BinOp):
            stack += (n.left, n.right)


# --------------------------------------------------------------------------- the parser


class ExprSyntaxError(Exception):
    """Raised by :func:`parse_tokens`; ``pos``/``end`` locate the fault in the text.

    The matrix parser turns it into a :class:`~svdkit.ParseError` that names the
    row and column of the entry.
    """

    def __init__(self, message: str, pos: int, end: int | None = None) -> None:
        super().__init__(message)
        self.message, self.pos, self.end = message, pos, pos + 1 if end is None else end


_NOT_FINITE = {"nan", "inf", "infinity", "infty"}
_PREFIX_CMDS = {"sqrt", "frac", "dfrac", "tfrac", "cfrac"}


class _Parser:
    def __init__(self, tokens: list[Token], end: int) -> None:
        self.toks = [t for t in tokens if t.kind not in ("ws", "tab", "nl")]
        self.i = 0
        self.depth = 0
        self.split_at: set[int] = set()  # where a TeX argument split a number (\\frac12)
        self.end = end  # offset just after the entry, for "missing …" messages
        if len(self.toks) > MAX_TOKENS:
            t = self.toks[MAX_TOKENS]
            raise ExprSyntaxError(f"entry too long (more than {MAX_TOKENS} symbols)", t.pos)

    # helpers
    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def is_op(self, *values: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "op" and t.value in values

    def take(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect_close(self, opener: Token, closer: str) -> None:
        t = self.peek()
        if t is None or t.kind != "op" or t.value != closer:
            what = f"missing '{closer}' to close the '{opener.value}' at offset {opener.pos}"
            if t is None:
                raise ExprSyntaxError(f"{what}, the entry ends", self.end, self.end)
            if opener.value == "(" and t.kind == "op" and t.value == ",":
                # "((1, 2), (3, 4))": parentheses group an expression; rows are brackets
                what = f"rows are written in brackets, [[1, 2], [3, 4]], not parentheses: {what}"
            raise ExprSyntaxError(f"{what}, found {_show(t)}", t.pos, t.end)
        self.take()

    def nested(self, at: Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExprSyntaxError(f"nested more than {MAX_NESTING} levels deep", at.pos)

    # grammar
    def parse(self) -> Expr:
        if not self.toks:
            raise ExprSyntaxError("empty entry", self.end, self.end)
        e = self.expr()
        t = self.peek()
        if t is not None:
            hint = ""
            if t.pos in self.split_at:
                hint = " (TeX reads one character as an argument without braces: write {…})"
            elif t.kind == "op" and t.value == ",":
                hint = " (write decimals with a point: 1.5, not 1,5)"
            raise ExprSyntaxError(f"unexpected {_show(t)}{hint}", t.pos, t.end)
        return e

    def expr(self) -> Expr:
        left = self.term()
        while self.is_op("+", "-"):
            op = self.take().value
            left = BinOp(op, left, self.term())
        return left

    def term(self) -> Expr:
        left = self.unary()
        while True:
            t = self.peek()
            if self.is_op("*", "/"):
                self.take()
                left = BinOp(t.value, left, self.unary())
            elif t is not None and _starts_implicit_factor(t):
                left = BinOp("*", left, self.power())
            else:
                return left

    def unary(self) -> Expr:
        if self.is_op("+", "-"):
            t = self.take()
            self.nested(t)
            arg = self.unary()
            self.depth -= 1
            return Neg(arg) if t.value == "-" else arg
        return self.power()

    def power(self) -> Expr:
        base = self.atom()
        if self.is_op("^"):
            t = self.take()
            self.nested(t)
            exponent = self.unary()
            self.depth -= 1
            return BinOp("^", base, exponent)
        return base

    def atom(self) -> Expr:
        t = self.peek()
        if t is None:
            prev = self.toks[self.i - 1] if self.i else None
            after = f" after {_show(prev)}" if prev else ""
            raise ExprSyntaxError(f"missing a number{after}", self.end, self.end)
        self.take()
        if t.kind == "num":
            n = Number(_literal(t))
            nxt = self.peek()
            if nxt and nxt.kind == "name" and nxt.value in ("i", "j") and nxt.pos == t.end:
                self.take()
                return BinOp("*", n, ImaginaryUnit())
            return n
        if t.kind == "name":
            return self.name(t)
        if t.kind == "op" and t.value in ("(", "{"):
            self.nested(t)
            e = self.expr()
            self.expect_close(t, ")" if t.value == "(" else "}")
            self.depth -= 1
            return e
        if t.kind == "op" and t.value == "√":
            self.nested(t)
            e = Sqrt(self.atom())
            self.depth -= 1
            return e
        if t.kind == "cmd":
            return self.command(t)
        if t.kind == "op" and t.value in ("+", "-", "*", "/", "^"):
            raise ExprSyntaxError(f"missing a number before {_show(t)}", t.pos, t.end)
        raise ExprSyntaxError(f"unexpected {_show(t)}", t.pos, t.end)

    def name(self, t: Token) -> Expr:
        if t.value in ("i", "j"):
            return ImaginaryUnit()
        if t.value == "pi":
            return Pi()
        if t.value == "sqrt":
            if not self.is_op("("):
                raise ExprSyntaxError("'sqrt' must be followed by '('", t.pos, t.end)
            opener = self.take()
            self.nested(opener)
            e = self.expr()
            self.expect_close(opener, ")")
            self.depth -= 1
            return Sqrt(e)
        if t.value.lower() in _NOT_FINITE:
            raise ExprSyntaxError(
                f"{_show(t)} is not a finite number (svdkit needs finite entries)", t.pos, t.end
            )
        raise ExprSyntaxError(f"unknown name {_show(t)}", t.pos, t.end)

    def command(self, t: Token) -> Expr:
        if t.value == "pi":
            return Pi()
        if t.value == "sqrt":
            if self.is_op("["):
                raise ExprSyntaxError("\\sqrt[n]{…} (an n-th root) is not supported", t.pos, t.end)
            self.nested(t)
            e = Sqrt(self.arg(t))
            self.depth -= 1
            return e
        if t.value in ("frac", "dfrac", "tfrac", "cfrac"):
            self.nested(t)
            num = self.arg(t)
            den = self.arg(t)
            self.depth -= 1
            return BinOp("/", num, den)
        raise ExprSyntaxError(f"unsupported LaTeX command {_show(t)}", t.pos, t.end)

    def arg(self, cmd: Token) -> Expr:
        """A TeX argument: a braced group, a single digit, or one atom."""
        t = self.peek()
        if t is None:
            raise ExprSyntaxError(f"missing an argument after {_show(cmd)}", self.end, self.end)
        if t.kind == "num" and t.end - t.pos > 1:
            # TeX reads one character: \frac12 is \frac{1}{2}
            if not t.value[0].isdigit():
                raise ExprSyntaxError(f"write braces around the argument of {_show(cmd)}", t.pos)
            first = Token("num", t.value[0], t.pos, t.pos + 1)
            rest = Token("num", t.value[1:], t.pos + 1, t.end)
            self.toks[self.i : self.i + 1] = [first, rest]
            self.split_at.add(rest.pos)
        if t.kind == "op" and t.value not in ("{", "(", "√"):
            raise ExprSyntaxError(f"missing an argument after {_show(cmd)}", t.pos, t.end)
        return self.atom()


def _starts_implicit_factor(t: Token) -> bool:
    """Implicit multiplication: a factor that does not start with a number or an operator."""
    if t.kind in ("name", "cmd"):
        return True
    return t.kind == "op" and t.value in ("(", "{", "√")


def _show(t: Token) -> str:
    """A token as a message quotes it; a long name or number is clipped."""
    if t.kind in ("cmd", "esc"):
        return f"'\\{clip(t.value)}'"
    if t.kind == "rowsep":
        return "'\\\\'"
    return repr(t.value) if t.kind == "bad" else f"'{clip(t.value)}'"


_LITERAL_RE = re.compile(r"([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")


def _literal(t: Token) -> Fraction:
    """The exact value of a decimal literal."""
    m = _LITERAL_RE.fullmatch(t.value)
    if m is None:  # pragma: no cover - the tokenizer only yields matching text
        raise ExprSyntaxError(f"malformed number '{t.value}'", t.pos, t.end)
    whole, frac, exp = m.group(1), m.group(2) or "", m.group(3)
    if not whole and not frac:
        raise ExprSyntaxError(f"'{t.value}' is not a number: it has no digits", t.pos, t.end)
    if len(whole) + len(frac) > MAX_DIGITS:
        digits = len(whole) + len(frac)
        raise ExprSyntaxError(
            f"number too long ({digits} digits; at most {MAX_DIGITS})", t.pos, t.end
        )
    if exp is not None and len(exp.lstrip("+-0")) > len(str(MAX_EXPONENT)):
        raise ExprSyntaxError(f"exponent out of range in '{clip(t.value)}'", t.pos, t.end)
    e = int(exp) if exp else 0
    if abs(e) > MAX_EXPONENT:
        raise ExprSyntaxError(f"exponent out of range in '{clip(t.value)}'", t.pos, t.end)
    e -= len(frac)
    digits = int(whole + frac)
    return Fraction(digits * 10**e) if e >= 0 else Fraction(digits, 10**-e)


def parse_tokens(tokens: list[Token], end: int = 0) -> Expr:
    """Parse the tokens of one entry into a tree.

    Whitespace tokens are ignored. ``end`` is the offset just after the entry,
    used to place "missing …" messages.

    Raises
    ------
    ExprSyntaxError
        With the offending position; see :func:`parse_expr` for a friendlier API.
    """
    return _Parser(tokens, end).parse()


def parse_expr(text: str) -> Expr:
    """Parse one entry, e.g. ``"-3/4"``, ``"1+2i"``, ``"\\\\frac{1}{\\\\sqrt 2}"``.

    Raises
    ------
    ParseError
        Naming the offending token and its character offset.

    Examples
    --------
    >>> str(parse_expr("2\\\\sqrt{2}"))
    '(2 * sqrt(2))'
    >>> parse_expr("x")
    Traceback (most recent call last):
    ...
    svdkit.errors.ParseError: unknown name 'x' at offset 0
    """
    try:
        return parse_tokens(tokenize(text), len(text))
    except ExprSyntaxError as err:
        raise ParseError(f"{err.message} at offset {err.pos}") from None


# --------------------------------------------------------------------------- evaluation

_ZERO = Fraction(0)
_EXACT_POW_BITS = 100_000  # beyond this size an exact power is computed in floating point


def _value(node: Expr) -> _Value:
    """Exact where possible (Gaussian rationals), else a Python complex."""
    if isinstance(node, Number):
        return _Exact(node.value, _ZERO)
    if isinstance(node, ImaginaryUnit):
        return _Exact(_ZERO, Fraction(1))
    if isinstance(node, Pi):
        return complex(math.pi)
    if isinstance(node, Neg):
        v = _value(node.arg)
        return _Exact(-v.re, -v.im) if isinstance(v, _Exact) else -v
    if isinstance(node, Sqrt):
        return _sqrt(_value(node.arg))
    if isinstance(node, BinOp):
        a, b = _value(node.left), _value(node.right)
        if node.op == "^":
            return _pow(a, b)
        if isinstance(a, _Exact) and isinstance(b, _Exact):
            return _exact_op(node.op, a, b)
        a, b = _to_complex(a), _to_complex(b)
        if node.op == "+":
            return a + b
        if node.op == "-":
            return a - b
        if node.op == "*":
            return a * b
        return a / b  # ZeroDivisionError is reported by the caller
    raise TypeError(f"not an expression node: {node!r}")


def _exact_op(op: str, a: _Exact, b: _Exact) -> _Exact:
    if op == "+":
        return _Exact(a.re + b.re, a.im + b.im)
    if op == "-":
        return _Exact(a.re - b.re, a.im - b.im)
    if op == "*":
        return _Exact(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re)
    d = b.re * b.re + b.im * b.im
    if d == 0:
        raise ZeroDivisionError("division by zero")
    return _Exact((a.re * b.re + a.im * b.im) / d, (a.im * b.re - a.re * b.im) / d)


def _pow(a: _Value, b: _Value) -> _Value:
    if isinstance(a, _Exact) and isinstance(b, _Exact) and b.im == 0 and b.re.denominator == 1:
        n = b.re.numerator
        size = max(a.re.numerator.bit_length(), a.re.denominator.bit_length(), 1)
        size = max(size, a.im.numerator.bit_length(), a.im.denominator.bit_length())
        if size * abs(n) <= _EXACT_POW_BITS:
            if a.re == 0 and a.im == 0 and n < 0:
                raise ZeroDivisionError("zero to a negative power")
            result, base, k = _Exact(Fraction(1), _ZERO), a, abs(n)
            while k:
                if k & 1:
                    result = _exact_op("*", result, base)
                base = _exact_op("*", base, base)
                k >>= 1
            return _exact_op("/", _Exact(Fraction(1), _ZERO), result) if n < 0 else result
    x, y = _to_complex(a), _to_complex(b)
    if x == 0 and (y.real < 0 or y.imag != 0):
        raise ZeroDivisionError("zero to a negative or complex power")
    if x.imag == 0 and y.imag == 0 and (x.real > 0 or float(y.real).is_integer()):
        return complex(math.pow(x.real, y.real))  # real result for real data
    return x**y


def _sqrt(v: _Value) -> _Value:
    if isinstance(v, _Exact) and v.im == 0:
        r = v.re
        root_n, root_d = math.isqrt(abs(r.numerator)), math.isqrt(r.denominator)
        if root_n * root_n == abs(r.numerator) and root_d * root_d == r.denominator:
            root = Fraction(root_n, root_d)
            return _Exact(root, _ZERO) if r >= 0 else _Exact(_ZERO, root)
    c = _to_complex(v)
    if c.imag == 0 and c.real >= 0:
        return complex(math.sqrt(c.real))
    return cmath.sqrt(c)


def _to_complex(v: _Value) -> complex:
    if isinstance(v, _Exact):
        return complex(float(v.re), float(v.im))  # each part correctly rounded
    return v


def _checked(node: Expr) -> _Value:
    """``_value`` with Python's arithmetic exceptions turned into svdkit errors."""
    try:
        v = _value(node)
        c = _to_complex(v)
    except ZeroDivisionError:
        raise ParseError(f"division by zero in {node}") from None
    except OverflowError:
        raise NonFiniteError(f"{node} is too large for a floating-point number") from None
    if not (math.isfinite(c.real) and math.isfinite(c.imag)):
        raise NonFiniteError(f"{node} is too large for a floating-point number")
    return v


def evaluate(node: Expr) -> float | complex:
    """The numeric value of an entry: a ``float``, or a ``complex`` when the entry
    writes the imaginary unit or its value is not real (``sqrt(-2)``).

    Raises
    ------
    ParseError
        Division by zero.
    NonFiniteError
        The value overflows a float (``10^400``).

    Examples
    --------
    >>> evaluate(parse_expr("1/4")), evaluate(parse_expr("1+2i")), evaluate(parse_expr("i^2"))
    (0.25, (1+2j), (-1+0j))
    """
    c = _to_complex(_checked(node))
    if c.imag != 0 or node.has_imaginary_unit():
        return c
    return c.real
