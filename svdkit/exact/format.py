"""Exact numbers as people write them: Unicode text, LaTeX and MathML.

:func:`to_text` writes ``√2/2``, ``3/7``, ``−1``, ``2 + i``, ``λ² − 5λ + 6`` and
matrices as nested rows ``[[1, 0], [0, −1]]``; :func:`to_latex` is SymPy's LaTeX
and :func:`to_mathml` SymPy's presentation MathML. A number the exact engine
could only approximate (a root without a closed form) is a SymPy ``Float`` and
is always printed with ``≈`` in front, so that it is never mistaken for an
exact value.

Examples
--------
>>> import sympy as sp
>>> from svdkit.exact.format import to_text, to_latex
>>> to_text(sp.sqrt(2) / 2), to_text(sp.Rational(-3, 7)), to_text(2 + sp.I)
('√2/2', '−3/7', '2 + i')
>>> to_text(sp.Matrix([[1, 0], [0, -1]]))
'[[1, 0], [0, −1]]'
>>> to_latex(sp.sqrt(2) / 2)
'\\\\frac{\\\\sqrt{2}}{2}'
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from svdkit.exact.steps import Step

__all__ = [
    "APPROXIMATE_DIGITS",
    "LAMBDA",
    "grouped_values",
    "long_integers",
    "rounded",
    "step_text",
    "to_latex",
    "to_mathml",
    "to_text",
    "variables",
]

#: The variable of characteristic polynomials (printed λ).
LAMBDA = sp.Symbol("lamda")

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_GREEK = {"lamda": "λ", "lambda": "λ", "mu": "μ", "sigma": "σ"}


def variables(n: int, name: str = "x", real: bool = True) -> tuple[sp.Symbol, ...]:
    """``x₁, …, xₙ`` (SymPy symbols ``x_1`` …; real, or complex for Hermitian forms)."""
    return tuple(sp.Symbol(f"{name}_{i}", real=real or None) for i in range(1, n + 1))


#: Significant digits of an approximate value (a SymPy ``Float``) in every format.
APPROXIMATE_DIGITS = 15


def _float_digits(expr: sp.Float) -> str:
    """A Float's decimal digits, at most :data:`APPROXIMATE_DIGITS` significant ones."""
    import mpmath

    digits = min(APPROXIMATE_DIGITS, mpmath.libmp.prec_to_dps(expr._prec))
    return mpmath.nstr(expr._to_mpmath(expr._prec), digits, strip_zeros=True)


def _short_float(expr: sp.Float) -> sp.Float:
    """``expr`` rounded to the digits :func:`_float_digits` prints."""
    import mpmath

    digits = min(APPROXIMATE_DIGITS, mpmath.libmp.prec_to_dps(expr._prec))
    return sp.Float(_float_digits(expr), digits)


def rounded(x: Any) -> Any:
    """``x`` (a SymPy value or matrix) with every Float rounded as the printers print it.

    Examples
    --------
    >>> rounded(sp.Float("0.12345678901234567890123", 30) * sp.I)
    0.123456789012346*I
    """
    if not isinstance(x, sp.Basic | sp.MatrixBase) or not x.has(sp.Float):
        return x
    return x.xreplace({f: _short_float(f) for f in x.atoms(sp.Float)})


def _compact(n: int) -> tuple[int, int] | None:
    """``(d, k)`` with ``n = d·10ᵏ`` for a long integer ending in many zeros, else ``None``.

    An integer of more than 15 digits with at least 6 trailing zeros prints
    compactly (``10²⁰``, ``2·10⁶⁰⁰``), still exactly: a matrix with entries
    ``1e300`` has ``det A = 10⁶⁰⁰``, which is 601 digits written out. ``d·10ᵏ`` is a
    product, grouped as one in the text: ``√2/(2·10³²³)``, ``(2·10³⁰⁰)√2``.
    """
    zeros = _trailing_zeros(n)
    if zeros < 6:
        return None
    significant = abs(n) // 10**zeros
    if len(_decimal(significant)) + zeros <= 15:
        return None
    return (significant if n > 0 else -significant), zeros


_SAFE_BITS = 12_000
"""Integers below 2^12000 (3613 digits) convert with ``str``: under Python's 4300-digit limit."""


def _decimal(n: int) -> str:
    """The decimal digits of the integer ``n``, however long.

    ``str`` refuses integers of more than 4300 digits (Python's guard against slow
    conversions); an accepted input can reach that (``1e-2200`` twice on a diagonal
    has ``det A = 10⁻⁴⁴⁰⁰``), so longer integers are split in halves by a power of ten.

    Examples
    --------
    >>> _decimal(-120), len(_decimal(7**6000))
    ('-120', 5071)
    """
    if n < 0:
        return "-" + _decimal(-n)
    if n.bit_length() <= _SAFE_BITS:
        return str(n)
    half = int(n.bit_length() * 0.30103) // 2  # about half the digits
    high, low = divmod(n, 10**half)
    return _decimal(high) + _decimal(low).rjust(half, "0")


_LIMIT_LOCK = threading.Lock()
_printing = 0  # how many threads are inside long_integers with the limit lifted
_saved_limit = 0  # Python's digit limit before the first of them came in
_LIFTED = 0  # the limit while lifted: 0 is no limit


def _max_bits(x: Any) -> int:
    """The most bits of an integer (numerator, denominator, Float mantissa) held by ``x``.

    ``x`` is a SymPy object, a Python or NumPy number, an array, a mapping, a sequence
    or a dataclass (a :class:`~svdkit.exact.steps.Step`, a result) of them; anything
    else holds none.
    """
    if isinstance(x, bool | str | bytes | None):
        return 0
    if isinstance(x, int):
        return x.bit_length()
    if isinstance(x, Fraction):
        return max(x.numerator.bit_length(), x.denominator.bit_length())
    if isinstance(x, sp.Basic | sp.MatrixBase):
        most = 0
        for a in x.atoms(sp.Number):
            if isinstance(a, sp.Rational):
                most = max(most, int(a.p).bit_length(), int(a.q).bit_length())
            elif isinstance(a, sp.Float):
                most = max(most, int(a._mpf_[1]).bit_length())
        return most
    if isinstance(x, np.ndarray):
        return max((_max_bits(v) for v in x.flat), default=0) if x.dtype == object else 0
    if isinstance(x, Mapping):
        return max((max(_max_bits(k), _max_bits(v)) for k, v in x.items()), default=0)
    if isinstance(x, list | tuple | set | frozenset):
        return max((_max_bits(v) for v in x), default=0)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return max((_max_bits(getattr(x, f.name)) for f in dataclasses.fields(x)), default=0)
    return 0


def _refused(bits: int, limit: int) -> bool:
    """Whether Python's digit ``limit`` (0: none) refuses ``str`` of an integer of ``bits``."""
    # n of b bits has at most ⌊b·log₁₀2⌋ + 1 digits; 3.32 < 1/log₁₀2 errs on lifting
    return limit != _LIFTED and bits > (limit - 1) * 3.32


@contextlib.contextmanager
def long_integers(*values: Any) -> Iterator[None]:
    """Lift Python's 4300-digit limit on ``str(int)`` while ``values`` are printed.

    SymPy's printers (and its term ordering, which sorts by ``str``) convert every
    integer with ``str``; an accepted input can hold longer ones (``1e-5000``, a
    determinant of ``10⁻⁴⁴⁰⁰``), and an exact result is printed whole, never
    refused. The inputs' own caps (4000 digits, exponents up to 10000) bound the
    lengths, so the conversions stay short.

    Python's limit (``sys.set_int_max_str_digits``) is one for the whole process: while
    it is lifted, every thread converts integers of any length. So it is lifted only
    when one of ``values`` holds an integer longer than the current limit allows (with
    no ``values``, always); printing ordinary values leaves it alone. It is restored
    when the last thread printing such values is done, unless it was changed meanwhile
    (by the application: that limit stays). :func:`to_text`, :func:`to_latex`,
    :func:`to_mathml`, :func:`step_text` and the ``repr`` of the exact engine's
    results and steps print within it; a renderer that prints exact values otherwise
    (``sympy.sstr``) wraps its work in it too.

    Parameters
    ----------
    *values : object
        What will be printed (SymPy objects, numbers, arrays, mappings, sequences,
        steps and results of them).

    Examples
    --------
    >>> with long_integers(10**5000):
    ...     len(str(10**5000))
    5001
    """
    global _printing, _saved_limit
    bits = max(_max_bits(v) for v in values) if values else None
    with _LIMIT_LOCK:
        current = sys.get_int_max_str_digits()
        # while lifted (0), the limit that holds once the other printers are done
        limit = _saved_limit if current == _LIFTED and _printing else current
        if bits is not None and not _refused(bits, limit):
            lift = False
        else:
            lift = True
            if _printing == 0:
                _saved_limit = current
            elif current != _LIFTED:  # the application set a limit meanwhile
                _saved_limit = current
            sys.set_int_max_str_digits(_LIFTED)
            _printing += 1
    if not lift:
        yield
        return
    try:
        yield
    finally:
        with _LIMIT_LOCK:
            _printing -= 1
            if _printing == 0 and sys.get_int_max_str_digits() == _LIFTED:
                sys.set_int_max_str_digits(_saved_limit)


def _printing_long_integers(function: Callable[..., str]) -> Callable[..., str]:
    """Run ``function`` within :func:`long_integers` of its first argument."""

    @functools.wraps(function)
    def wrapper(x: Any, *args: Any, **kwargs: Any) -> str:
        with long_integers(x):
            return function(x, *args, **kwargs)

    return wrapper


def _trailing_zeros(n: int) -> int:
    """How many zeros end the decimal digits of ``n`` (0 for ``n = 0``), without ``str``."""
    if n == 0:
        return 0
    n = abs(n)
    powers = [10]  # 10, 10², 10⁴, … while each divides n
    while n % (powers[-1] * powers[-1]) == 0:
        powers.append(powers[-1] * powers[-1])
    zeros = 0
    for j in range(len(powers) - 1, -1, -1):  # binary descent on the exponent
        if n % powers[j] == 0:
            n //= powers[j]
            zeros += 1 << j
    return zeros


def _is_approximate(expr: Any) -> bool:
    """Whether ``expr`` is a number that holds a Float (an approximation)."""
    return isinstance(expr, sp.Expr) and bool(expr.is_number) and expr.has(sp.Float)


class _Approximate:
    """A printer mixin: a number holding Floats is printed with one ``≈`` in front of it.

    ``≈−0.707106781186548 + 0.707106781186548i``, not one mark per Float inside
    it (``≈−0.707… + ≈0.707…i``, ``−≈1.0i``); :meth:`_approximately` writes the mark.
    """

    _inside_approximation = False

    def _print(self, expr, **kwargs):
        if self._inside_approximation or not _is_approximate(expr):
            return super()._print(expr, **kwargs)
        self._inside_approximation = True
        try:
            return self._approximately(super()._print(expr, **kwargs))
        finally:
            self._inside_approximation = False

    def _approximately(self, printed):
        raise NotImplementedError


class _CompactIntegers:
    """A printer mixin: a long integer ending in many zeros as ``d·10ᵏ``
    (:func:`_compact`), in the printer's own notation (:meth:`_power_of_ten`,
    ``_times``)."""

    _times: str

    def _power_of_ten(self, k: int) -> str:
        raise NotImplementedError

    def _print_int(self, expr) -> str:
        parts = _compact(int(expr))
        if parts is None:
            return _decimal(int(expr))
        d, k = parts
        power = self._power_of_ten(k)
        return power if d == 1 else ("-" if d == -1 else f"{d}{self._times}") + power

    def _print_Integer(self, expr) -> str:
        return self._print_int(expr.p)

    def _group(self, printed: str) -> str:
        """``printed`` in the printer's parentheses."""
        return f"({printed})"

    def parenthesize(self, item, level, strict=False) -> str:
        """SymPy's rule, but an integer printed as a product ``d·10ᵏ`` is a product: as a
        factor of a product or the base of a power it is grouped, so ``√2/(2·10³²³)``
        does not read as ``(√2/2)·10³²³`` (SymPy prints a single integer denominator
        bare; a product with a negative coefficient has a sum's level)."""
        if (
            isinstance(item, sp.Integer)
            and level >= PRECEDENCE["Add"]
            and (parts := _compact(int(item))) is not None
            and abs(parts[0]) != 1
        ):
            return self._group(self._print(item))
        return super().parenthesize(item, level, strict)


class _TextPrinter(_CompactIntegers, _Approximate, StrPrinter):
    """SymPy's str printer, with roots, i, π, superscripts and a rational term first."""

    def _approximately(self, printed: str) -> str:
        return "≈" + printed

    def _print_ImaginaryUnit(self, expr):
        return "i"

    def _print_Pi(self, expr):
        return "π"

    def _print_Exp1(self, expr):
        return "e"

    def _print_Infinity(self, expr):
        return "∞"  # as to_latex and to_mathml print it (SymPy's str is "oo")

    def _print_NegativeInfinity(self, expr):
        return "-∞"

    def _print_ComplexInfinity(self, expr):
        return "∞̃"

    def _print_Float(self, expr):
        return _float_digits(expr)

    _times = "·"

    def _power_of_ten(self, k: int) -> str:
        return "10" + str(k).translate(_SUPERSCRIPTS)

    def _print_Rational(self, expr) -> str:
        if expr.q == 1:
            return self._print_int(expr.p)
        q = self._print_int(expr.q)
        return f"{self._print_int(expr.p)}/{f'({q})' if '·' in q else q}"

    def _print_Symbol(self, expr):
        name = expr.name
        base, _, sub = name.partition("_")
        base = _GREEK.get(base, base)
        return (
            base + sub.translate(_SUBSCRIPTS)
            if sub.isdigit()
            else base + (f"_{sub}" if sub else "")
        )

    def _print_Dummy(self, expr):
        return self._print_Symbol(expr)

    def _root_arg(self, base) -> str:
        s = self._print(base)
        atom = base.is_Atom and not (base.is_Rational and base.q != 1)
        return s if atom and s.isalnum() else f"({s})"  # √(10²¹ + 1), not √10²¹ + 1

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        if exp is sp.S.Half:
            return "√" + self._root_arg(base)
        if exp == -sp.S.Half:
            return "1/√" + self._root_arg(base)
        if exp == sp.Rational(1, 3):
            return "∛" + self._root_arg(base)
        if exp.is_Integer and exp > 1:
            b = self._print(base)
            if not (
                isinstance(base, sp.Abs)
                or (
                    base.is_Atom
                    and (base.is_Symbol or base.is_NumberSymbol or (base.is_Integer and base >= 0))
                )
            ) or (base.is_Integer and _compact(int(base))):
                b = f"({b})"
            return b + str(exp).translate(_SUPERSCRIPTS)
        return super()._print_Pow(expr, rational)

    def _print_Add(self, expr, order=None):
        terms = self._as_ordered_terms(expr, order=order)
        if not expr.free_symbols:  # numbers: the rational part first, as people write 1 + √2
            terms = [t for t in terms if t.is_Rational] + [t for t in terms if not t.is_Rational]
        out = []
        for t in terms:
            s = self._print(t)
            if s.startswith("-"):
                out.extend(["-", s[1:]])
            elif s.startswith("≈-"):  # an approximate term of an expression: "λ − ≈0.3"
                out.extend(["-", "≈" + s[2:]])
            else:
                out.extend(["+", s])
        if out and out[0] == "+":
            out.pop(0)
        elif out:
            out[:2] = ["-" + out[1]]
        return " ".join(out)

    def _print_MatrixBase(self, expr):
        return (
            "["
            + ", ".join(
                "[" + ", ".join(self._print(expr[i, j]) for j in range(expr.cols)) + "]"
                for i in range(expr.rows)
            )
            + "]"
        )

    _print_MutableDenseMatrix = _print_MatrixBase
    _print_ImmutableDenseMatrix = _print_MatrixBase

    def _print_Equality(self, expr):
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"

    def _print_Poly(self, expr):
        return self._print(expr.as_expr())

    def _print_Abs(self, expr):
        return f"|{self._print(expr.args[0])}|"

    def _print_UnevaluatedExpr(self, expr):
        # a value the engine records as one group (a fractional p in (Σ|xᵢ|^(3/2))^(1/(3/2)))
        return self._bracketed(expr.args[0])

    def _bracketed(self, x) -> str:
        s = self._print(x)
        return s if s.isalnum() else f"({s})"


_PRINTER = _TextPrinter({"order": "lex"})
_JUXTAPOSE = re.compile(r"(?<=[0-9)²³⁴⁵⁶⁷⁸⁹¹₀-₉])\*(?=[√∛a-zA-Zλμσπ(|])")
#: A root in any of the printer's forms: ``√2``, ``∛(1 + i)``, ``2^(1/4)``, ``(1 + i)^(1/5)``.
_GROUP = r"(?:\w+|\([^()]*\))"
_ROOT = rf"(?:[√∛]{_GROUP}|{_GROUP}\^\([^()]*\))"
#: A product of roots times i: ``√2*i``, ``∛2*i``, ``√2*2^(1/4)*i``.
_ROOT_TIMES_I = re.compile(rf"((?:{_ROOT}\*)*{_ROOT})\*i(?!\w)")
#: A root times a factor that would read as part of its radicand or exponent: ``√2*e`` is
#: not ``√2e`` (``√(2e)``), ``∛2*λ`` not ``∛2λ``, ``2^(1/4)*x`` not ``2^(1/4)x``.
_SPELLED_TIMES = re.compile(rf"({_ROOT})\*(?=[a-zA-Zλμσπ|])")
#: i times a letter, a root or a group; not the i of ``√i`` (``√i*x`` is not ``√ix``).
_I_TIMES = re.compile(r"(?<![√∛\w])i\*(?=[a-zλ√∛(|])")


def _i_first(m: re.Match) -> str:
    """``√2*i`` → ``i√2``, ``2^(1/4)*i`` → ``i·2^(1/4)`` (a power does not start with a glyph)."""
    roots = m.group(1)
    return ("i" if roots[0] in "√∛" else "i·") + roots


def _expr_text(x: sp.Basic) -> str:
    s = _PRINTER.doprint(x).replace("**", "^")
    s = _ROOT_TIMES_I.sub(_i_first, s)  # √2*i → i√2 (not √2i, which reads as √(2i)); √i*i → i√i
    s = _SPELLED_TIMES.sub(r"\1·", s)  # √2*π → √2·π, ∛2*λ → ∛2·λ
    s = _JUXTAPOSE.sub("", s)  # 2*√3 → 2√3, 5*λ → 5λ, 2*(…) → 2(…)
    s = _I_TIMES.sub("i", s)  # i*x₂ → ix₂
    s = s.replace("*", "·")
    return s.replace("-", "−")


@_printing_long_integers
def to_text(x: Any) -> str:
    """Unicode text of an exact value, a matrix, a relation, or a list of them.

    Floats (Python or NumPy, of any precision: ``np.float32(0.1)`` is ``≈0.1``) are
    approximate and printed with ``≈``; infinities are ``∞``/``−∞``; a 0-d array is its
    number, an array a matrix (a vector as a row), a 3-D array a list of matrices.

    Examples
    --------
    >>> import sympy as sp
    >>> from svdkit.exact.format import LAMBDA
    >>> to_text(LAMBDA**2 - 5 * LAMBDA + 6)
    'λ² − 5λ + 6'
    >>> to_text(sp.sqrt(sp.Rational(91, 2) + sp.sqrt(8065) / 2))
    '√(91/2 + √8065/2)'
    >>> to_text([sp.Integer(3), sp.sqrt(3) * sp.I / 2]), to_text(sp.Float(0.5973274736, 10))
    ('[3, i√3/2]', '≈0.5973274736')
    """
    if isinstance(x, Step):
        return x.key
    if isinstance(x, np.ndarray) and x.ndim == 0:  # a 0-d array is a number
        x = x[()]
    if isinstance(x, complex | np.complexfloating) and (text := _complex_text(x)) is not None:
        return text
    if isinstance(x, np.inexact):  # approximate, printed with the scalar's own precision
        return _expr_text(_sympify(x))
    if isinstance(x, np.generic):  # NumPy scalars by their Python value
        x = x.item()
    if isinstance(x, enum.Enum):
        return str(x.value)
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return _decimal(x).replace("-", "−")
    if isinstance(x, Fraction):
        text = _decimal(x.numerator) + ("" if x.denominator == 1 else f"/{_decimal(x.denominator)}")
        return text.replace("-", "−")
    if isinstance(x, str):
        return x
    if isinstance(x, tuple):
        return "(" + ", ".join(to_text(v) for v in x) + ")"
    if isinstance(x, list):
        return "[" + ", ".join(to_text(v) for v in x) + "]"
    if isinstance(x, float | complex):  # approximate: ≈, with − and without −0.0
        return _expr_text(_sympify(x))
    if isinstance(x, sp.Basic | sp.MatrixBase):
        return _expr_text(x)
    if isinstance(x, np.ndarray):  # a vector as a row, as to_latex and to_mathml show it
        if x.ndim > 2:  # a list of matrices
            return "[" + ", ".join(to_text(a) for a in x) + "]"
        return _expr_text(_sympify(x))
    return str(x)


class _LatexPrinter(_CompactIntegers, _Approximate, LatexPrinter):
    """SymPy's LaTeX printer; approximate values marked ``\\approx``, with 15 digits."""

    def _approximately(self, printed: str) -> str:
        return r"\approx " + printed

    def _print_Float(self, expr):
        return super()._print_Float(_short_float(expr))

    _times = " \\cdot "

    def _power_of_ten(self, k: int) -> str:
        return f"10^{{{k}}}"

    def _group(self, printed: str) -> str:
        return rf"\left({printed}\right)"

    def _print_Rational(self, expr) -> str:
        if expr.q == 1:
            return self._print_int(expr.p)
        sign = "- " if expr.p < 0 else ""
        return rf"{sign}\frac{{{self._print_int(abs(expr.p))}}}{{{self._print_int(expr.q)}}}"

    def _print_UnevaluatedExpr(self, expr):
        s = self._print(expr.args[0])
        return s if s.isalnum() else rf"\left({s}\right)"

    def _print_Pow(self, expr):
        base = expr.base
        if base.is_Integer and _compact(int(base)) and expr.exp != sp.S.Half:  # not 10^{20}^{3}
            return rf"\left({self._print(base)}\right)^{{{self._print(expr.exp)}}}"
        return super()._print_Pow(expr)


class _MathMLPrinter(_Approximate, MathMLPresentationPrinter):
    """SymPy's presentation MathML, with ``i`` for the imaginary unit (not ``ⅈ``),
    approximate values marked ``≈`` and printed with 15 digits."""

    def _approximately(self, printed):
        mrow = self.dom.createElement("mrow")
        mo = self.dom.createElement("mo")
        mo.appendChild(self.dom.createTextNode("≈"))
        mrow.appendChild(mo)
        mrow.appendChild(printed)
        return mrow

    def doprint(self, expr) -> str:
        # (SymPy's own doprint calls Printer._print, which would skip the mark of a whole value)
        return self._print(expr).toxml()

    def _print_ImaginaryUnit(self, expr):
        mi = self.dom.createElement("mi")
        mi.appendChild(self.dom.createTextNode("i"))
        return mi

    def _print_Float(self, expr):
        return super()._print_Float(_short_float(expr))

    def _print_UnevaluatedExpr(self, expr):
        inner = self._print(expr.args[0])
        if expr.args[0].is_Atom and expr.args[0].is_Integer and expr.args[0] >= 0:
            return inner
        mrow = self.dom.createElement("mrow")
        for part in ("(", inner, ")"):
            if isinstance(part, str):
                mo = self.dom.createElement("mo")
                mo.appendChild(self.dom.createTextNode(part))
                part = mo
            mrow.appendChild(part)
        return mrow


#: SymPy's ASCII minus signs in MathML: an operator, and a sign inside a number.
_MATHML_MINUS = re.compile(r"<mo>-</mo>")
_MATHML_NEGATIVE = re.compile(r"<mn>-([^<]*)</mn>")
#: Character references of the printer's (ASCII) output, but for XML's own five.
_MATHML_REFERENCE = re.compile(r"&#(?:x([0-9A-Fa-f]+)|([0-9]+));")


def _mathml_character(m: re.Match) -> str:
    code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
    return m.group() if chr(code) in "<>&\"'" else chr(code)


def _float(x: Any) -> sp.Expr:
    """A float of any precision (Python, ``float16`` … ``longdouble``) as a SymPy ``Float``
    by its shortest decimal (``np.float32(0.1)`` is ``0.1``, not ``0.100000001490116``);
    ``−0.0`` as ``0.0``, ``±inf`` as ``±∞``."""
    if x == 0:
        return sp.Float(0.0)
    if isinstance(x, float) and not isinstance(x, np.floating):
        return sp.Float(x)
    return sp.Float(str(x), max(15, np.finfo(x.dtype).precision + 2))


def _complex(re_part: Any, im_part: Any) -> sp.Expr:
    """``re + im·i`` with both parts kept (``nan + 1.0i``, not SymPy's ``nan``)."""
    a, b = _float(re_part), _float(im_part)
    if b is sp.nan:  # (SymPy's printers compare a coefficient nan with 0: i·nan)
        return sp.Add(a, sp.Mul(sp.I, b, evaluate=False), evaluate=False)
    if a is sp.nan or b.is_finite is False:
        return sp.Add(a, sp.Mul(b, sp.I, evaluate=False), evaluate=False)
    return a + b * sp.I


def _complex_text(z: Any) -> str | None:
    """The text of a complex number with a nan or infinite part (``≈nan + 1.0i``), which
    SymPy would reorder or absorb; None for a finite one."""
    if np.isfinite(z):
        return None
    re_part, im_part = _float(z.real), _float(z.imag)
    im_text = _expr_text(abs(im_part) if im_part is not sp.nan else im_part)
    sign = "−" if im_part is not sp.nan and im_part.is_extended_negative else "+"
    im_text = im_text.lstrip("≈") + ("i" if im_text[-1].isdigit() else "·i")  # 1.0i, ∞·i
    text = f"{_expr_text(re_part).lstrip('≈')} {sign} {im_text}"
    return ("≈" if re_part.has(sp.Float) or im_part.has(sp.Float) else "") + text


def _sympify(x: Any) -> Any:
    if isinstance(x, np.ndarray) and x.ndim == 0:  # a 0-d array is a number
        x = x[()]
    if isinstance(x, np.floating):
        return _float(x)
    if isinstance(x, np.complexfloating):
        return _complex(x.real, x.imag)
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, np.ndarray):  # a vector as a row; a 3-D array as a list of matrices
        if x.ndim > 2:
            return sp.Tuple(*(_sympify(a) for a in x))
        # (entry by entry: a float32 entry printed with its own precision, not widened)
        return sp.ImmutableMatrix([[_sympify(v) for v in row] for row in np.atleast_2d(x)])
    if isinstance(x, float):
        return _float(x)
    if isinstance(x, complex):
        return _complex(x.real, x.imag)
    if isinstance(x, enum.Enum):
        return sp.Symbol(str(x.value))
    if isinstance(x, list | tuple):
        return sp.Tuple(*(_sympify(v) for v in x))
    if isinstance(x, str):
        return sp.Symbol(x)
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    return sp.sympify(x)


@_printing_long_integers
def to_latex(x: Any) -> str:
    """SymPy's LaTeX of an exact value (``\\\\approx`` before approximate values).

    Examples
    --------
    >>> import sympy as sp
    >>> to_latex(sp.Matrix([[1, sp.I]]))
    '\\\\left[\\\\begin{matrix}1 & i\\\\end{matrix}\\\\right]'
    """
    if isinstance(x, str):
        return r"\text{" + x + "}"
    return _LatexPrinter({"imaginary_unit": "i"}).doprint(_sympify(x))


@_printing_long_integers
def to_mathml(x: Any) -> str:
    """SymPy's presentation MathML of an exact value, written as the report writes maths.

    The imaginary unit is ``<mi>i</mi>`` and a minus sign the operator ``<mo>−</mo>``
    (U+2212, also before a number: not ``<mn>-3</mn>``); an approximate value has
    one ``<mo>≈</mo>`` in front.

    Examples
    --------
    >>> import sympy as sp
    >>> to_mathml(sp.sqrt(2))
    '<msqrt><mn>2</mn></msqrt>'
    >>> to_mathml(1 - sp.I)
    '<mrow><mn>1</mn><mo>−</mo><mi>i</mi></mrow>'
    >>> to_mathml(sp.Integer(-3))
    '<mrow><mo>−</mo><mn>3</mn></mrow>'
    """
    markup = _MathMLPrinter().doprint(_sympify(x))
    markup = _MATHML_REFERENCE.sub(_mathml_character, markup)
    markup = _MATHML_MINUS.sub("<mo>−</mo>", markup)
    return _MATHML_NEGATIVE.sub(r"<mrow><mo>−</mo><mn>\1</mn></mrow>", markup)


@_printing_long_integers
def step_text(
    step: Step, template: str, formatter=to_text, catalogue: Mapping[str, str] | None = None
) -> str:
    """Fill a catalogue sentence's ``{placeholders}`` with a step's values.

    Parameters
    ----------
    step : Step
        A derivation step of the exact engine.
    template : str
        The sentence of ``step.key`` in some language's catalogue.
    formatter : callable
        How to write each value (default :func:`to_text`).
    catalogue : mapping, optional
        The same language's catalogue, to translate the kinds of definiteness
        (keys ``definiteness.kind.positive_definite`` …).

    Examples
    --------
    >>> import sympy as sp
    >>> s = Step("svd.sigma", {"index": 1, "value": sp.Integer(9), "sigma": sp.Integer(3)})
    >>> step_text(s, "σ{index} = √{value} = {sigma}")
    'σ1 = √9 = 3'
    """

    def fmt(v: Any) -> str:
        if catalogue is not None and isinstance(v, enum.Enum):
            key = f"definiteness.kind.{v.name.lower()}"
            if key in catalogue:
                return catalogue[key]
        return formatter(v)

    values = grouped_values(template, step.values)
    return template.format(**{k: fmt(v) for k, v in values.items()})


#: A placeholder whose value, a fraction, would run into its neighbours: after ``^`` or
#: ``/`` (``^{p}``, ``1/{p}``) or before ``-``, ``^`` or ``/`` (``{p}-norm``).
_GROUPED_PLACEHOLDER = re.compile(r"(?<=[\^/])\{(\w+)\}|\{(\w+)\}(?=[-^/])")


def grouped_values(template: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with each fraction that the sentence puts next to ``^``, ``/`` or ``-``
    wrapped for printing as one group.

    A step holds its numbers as they are (``p = 3/2``, a ``Rational``); only its sentence
    needs ``(Σ|xᵢ|^(3/2))^(1/(3/2))``, not ``(Σ|xᵢ|^3/2)^(1/3/2)``. The wrapper
    (``sympy.UnevaluatedExpr``) is printed in brackets by :func:`to_text`,
    :func:`to_latex` and :func:`to_mathml`.

    Examples
    --------
    >>> v = grouped_values("{p}-norm: (Σ|xᵢ|^{p})^(1/{p})", {"p": sp.Rational(3, 2)})
    >>> to_text(v["p"])
    '(3/2)'
    >>> grouped_values("{p}-norm", {"p": sp.Integer(3)})["p"]
    3
    """
    names = {a or b for a, b in _GROUPED_PLACEHOLDER.findall(template)}
    out = dict(values)
    for name in names & out.keys():
        v = out[name]
        if isinstance(v, Fraction):
            v = sp.Rational(v.numerator, v.denominator)
        if isinstance(v, sp.Rational) and (v.q != 1 or v < 0):
            out[name] = sp.UnevaluatedExpr(v)
    return out
