"""The exact engine's front door: whatever a person calls a matrix becomes a SymPy ``Matrix``.

Integers, :class:`~fractions.Fraction`, :class:`~decimal.Decimal`, SymPy numbers,
nested lists, integer-valued NumPy arrays and matrix *text* are accepted. Text
goes through the same parser as :func:`svdkit.as_matrix`
(:func:`svdkit.inputs.parse_matrix_text`), and its syntax trees are walked into
SymPy: ``1/2`` is ``Rational(1, 2)``, ``0.1`` is ``1/10``, ``\\sqrt{2}/2`` is
``sqrt(2)/2``, ``1+2i`` is ``1 + 2*I``.

A float that is not an integer is refused: the exact engine never rationalises
a float silently (``0.1`` as a float is ``3602879701896397/36028797018963968``,
not ``1/10``). Write the number as text (``"0.1"``), as a ``Fraction`` or as a
SymPy ``Rational`` instead.
"""

from __future__ import annotations

import math
import numbers
import os
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from svdkit.errors import (
    EmptyInputError,
    NonFiniteError,
    ParseError,
    SvdkitError,
)
from svdkit.exact._precision import serialized
from svdkit.inputs import parse_matrix_text
from svdkit.inputs.expr import BinOp, Expr, ImaginaryUnit, Neg, Number, Pi, Sqrt
from svdkit.inputs.shape import (
    as_2d,
    check_rows,
    is_sequence,
    nested_entry_error,
    unmasked,
)

__all__ = ["InexactInputError", "NotAlgebraicError", "as_exact", "expr_to_sympy"]

#: An integer power ``b^e`` is computed exactly only while ``bits(b) · |e|`` stays below this.
MAX_POWER_BITS = 100_000


class InexactInputError(SvdkitError):
    """A floating-point entry that is not an integer, given to the exact engine.

    The exact engine never turns a float into a fraction behind the caller's
    back: write ``0.1`` as the text ``"0.1"``, as ``Fraction(1, 10)`` or as
    ``sympy.Rational(1, 10)``.
    """

    __module__ = "svdkit.exact"


class NotAlgebraicError(SvdkitError):
    """Entries the exact engine cannot handle for this function.

    Eigenvalues, singular values and definiteness need algebraic entries
    (rationals, ``i``, square roots); ``π`` is transcendental. Entries that mix
    ``π`` with radicals leave SymPy without an exact zero test at all.
    """

    __module__ = "svdkit.exact"


def _pos(idx: tuple[int, int]) -> str:
    return f"row {idx[0] + 1}, column {idx[1] + 1}"


# --------------------------------------------------------------------------- text


def expr_to_sympy(node: Expr) -> sp.Expr:
    """Walk an entry's syntax tree (:mod:`svdkit.inputs.expr`) into a SymPy expression.

    ``Number`` → ``Rational``, ``ImaginaryUnit`` → ``I``, ``Pi`` → ``pi``,
    ``Sqrt`` → ``sqrt``, ``Neg`` → unary minus, ``BinOp`` → the operator.

    Raises
    ------
    ParseError
        Division by zero, ``0`` to a negative power, or an integer power too
        large to compute exactly.

    Examples
    --------
    >>> from svdkit.inputs.expr import parse_expr
    >>> expr_to_sympy(parse_expr(r"\\frac{1}{\\sqrt{2}}"))
    sqrt(2)/2
    >>> expr_to_sympy(parse_expr("0.1 + 2i"))
    1/10 + 2*I
    """
    if isinstance(node, Number):
        return sp.Rational(node.value.numerator, node.value.denominator)
    if isinstance(node, ImaginaryUnit):
        return sp.I
    if isinstance(node, Pi):
        return sp.pi
    if isinstance(node, Sqrt):
        return sp.sqrt(expr_to_sympy(node.arg))
    if isinstance(node, Neg):
        return -expr_to_sympy(node.arg)
    if isinstance(node, BinOp):
        a, b = expr_to_sympy(node.left), expr_to_sympy(node.right)
        if node.op == "+":
            return a + b
        if node.op == "-":
            return a - b
        if node.op == "*":
            return a * b
        if node.op == "/":
            if b.is_zero:
                raise ParseError(f"division by zero in {node}")
            return a / b
        if node.op == "^":
            return _power(a, b, node)
    raise TypeError(f"not an expression node: {node!r}")


def _power(a: sp.Expr, b: sp.Expr, node: Expr) -> sp.Expr:
    if a.is_zero and (b.is_negative or (b.is_zero is False and b.is_real is False)):
        raise ParseError(f"zero to a negative or complex power in {node}")
    if b.is_Integer and a.is_number:
        size = max(_bits(x) for x in (sp.re(a), sp.im(a)))
        if size * abs(int(b)) > MAX_POWER_BITS:
            raise ParseError(f"{node} is too large to compute exactly")
    return a**b


def _bits(x: sp.Expr) -> int:
    if x.is_Rational:
        return max(int(x.p).bit_length(), int(x.q).bit_length(), 1)
    return 64  # an irrational base: its powers stay symbolic, of bounded size


def _check_value(value: sp.Expr, where: str, name: str) -> sp.Expr:
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ParseError(f"{name}: the entry at {where} is not a finite number ({value})")
    return value


def _from_text(text: str, name: str) -> sp.Matrix:
    grid = parse_matrix_text(text)
    rows = []
    for i, row in enumerate(grid):
        out = []
        for j, node in enumerate(row):
            where = _pos((i, j))
            try:
                value = expr_to_sympy(node)
            except ParseError as err:
                raise ParseError(f"{name}: the entry at {where}: {err}") from None
            out.append(_check_value(value, where, name))
        rows.append(out)
    return sp.Matrix(rows)


# --------------------------------------------------------------------------- scalars


def _describe(x: object) -> str:
    r = repr(x)
    return f"{r[:60]}…" if len(r) > 60 else r


def _from_float(x: float, where: str, name: str) -> sp.Integer:
    if not math.isfinite(x):
        raise NonFiniteError(
            f"{name} has a non-finite entry at {where}: {x!r}; svdkit needs finite numbers"
        )
    if not x.is_integer():
        raise InexactInputError(
            f"{name}: the entry at {where} is the float {x!r}; the exact engine does not turn "
            f"floats into fractions (the float {x!r} is exactly "
            f"{Fraction(x).numerator}/{Fraction(x).denominator}). Write it as text "
            f"('{x!r}' inside the matrix string), as a Fraction or as a sympy.Rational"
        )
    return sp.Integer(int(x))


def _scalar(x: Any, where: str, name: str) -> sp.Expr:
    """One Python, NumPy or SymPy number → an exact SymPy number."""
    if isinstance(x, str | bytes):
        raise ParseError(
            f"{name}: the entry at {where} is the text {x!r}, not a number "
            "(to parse text, pass the whole matrix as one string)"
        )
    if isinstance(x, bool | np.bool_):
        return sp.Integer(int(x))
    if isinstance(x, numbers.Integral):
        return sp.Integer(int(x))
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    if isinstance(x, Decimal):
        if not x.is_finite():
            raise NonFiniteError(f"{name} has a non-finite entry at {where}: {x!r}")
        f = Fraction(x)
        return sp.Rational(f.numerator, f.denominator)
    if isinstance(x, sp.Basic):
        return _from_sympy(x, where, name)
    if isinstance(x, float | np.floating):
        return _from_float(float(x), where, name)
    if isinstance(x, complex | np.complexfloating):
        z = complex(x)
        if all(math.isfinite(t) for t in (z.real, z.imag)) and not (
            z.real.is_integer() and z.imag.is_integer()
        ):
            # name the complex entry, not one part of it as "the float …"
            text = f"{z.real!r}{'-' if math.copysign(1, z.imag) < 0 else '+'}{abs(z.imag)!r}i"
            part, value = ("real", z.real) if not z.real.is_integer() else ("imaginary", z.imag)
            raise InexactInputError(
                f"{name}: the entry at {where} is the complex float {z!r} (its {part} part is "
                f"the float {value!r}); the exact engine does not turn floats into fractions. "
                f"Write it as text ('{text}' inside the "
                "matrix string), with Fractions (Fraction(a) + Fraction(b)*sympy.I) or as "
                "sympy.Rational(a) + sympy.Rational(b)*sympy.I"
            )
        return _from_float(z.real, where, name) + sp.I * _from_float(z.imag, where, name)
    if isinstance(x, numbers.Rational):
        return sp.Rational(int(x.numerator), int(x.denominator))
    # python-flint, gmpy2 and other rational types that are not registered ABCs
    p, q = getattr(x, "p", None), getattr(x, "q", None)
    if p is not None and q is not None:
        try:
            return sp.Rational(int(p), int(q))
        except (TypeError, ValueError):
            pass
    if hasattr(x, "__index__"):
        return sp.Integer(x.__index__())
    raise ParseError(f"{name}: the entry at {where} is {_describe(x)}, not a number")


def _from_sympy(x: sp.Basic, where: str, name: str) -> sp.Expr:
    if x.is_Rational:
        return x
    if not isinstance(x, sp.Expr) or x.free_symbols:
        what = ", ".join(sorted(str(s) for s in x.free_symbols)) or type(x).__name__
        raise ParseError(
            f"{name}: the entry at {where} ({x}) is not a number: it holds {what}; "
            "the exact engine works on numbers (substitute values for the symbols first)"
        )
    floats = [f for f in x.atoms(sp.Float)]
    if floats:
        if x.is_Float:
            return _from_float(float(x), where, name)
        raise InexactInputError(
            f"{name}: the entry at {where} ({x}) holds the float {floats[0]}; the exact engine "
            "does not turn floats into fractions (use sympy.Rational or sympy.nsimplify first)"
        )
    return _check_value(x, where, name)


# --------------------------------------------------------------------------- containers


def _from_nested(obj: list | tuple, name: str) -> sp.Matrix:
    rows = list(obj)
    if not check_rows(rows, name):  # a vector is a column
        return sp.Matrix([[_scalar(x, _pos((i, 0)), name)] for i, x in enumerate(rows)])
    if len(rows[0]) == 0:
        raise EmptyInputError(f"{name} is empty (its rows have no entries)")
    out = []
    for i, row in enumerate(rows):
        cur = []
        for j, x in enumerate(row):
            if is_sequence(x):
                raise nested_entry_error(name, i, j)
            cur.append(_scalar(x, _pos((i, j)), name))
        out.append(cur)
    return sp.Matrix(out)


def _from_array(a: np.ndarray, name: str) -> sp.Matrix:
    if isinstance(a, np.ma.MaskedArray):
        a = unmasked(a, name, lambda idx: _pos((*idx, 0, 0)[:2]))  # a vector is a column
    a = as_2d(a, name)
    if a.dtype.kind in "US":
        raise ParseError(
            f"{name}: the entry at row 1, column 1 is the text {a.flat[0]!r}, not a number "
            "(to parse text, pass the whole matrix as one string)"
        )
    if a.dtype.kind not in "biufcO":
        raise ParseError(f"{name} has dtype {a.dtype}, which is not numeric")
    m, n = a.shape
    return sp.Matrix(
        [
            [
                _scalar(a[i, j].item() if a.dtype.kind != "O" else a[i, j], _pos((i, j)), name)
                for j in range(n)
            ]
            for i in range(m)
        ]
    )


def _from_path(path: os.PathLike, name: str) -> sp.Matrix:
    from svdkit.inputs.files import read_matrix_file

    p = Path(os.fspath(path))
    label = f"'{p}'"
    ext = p.suffix.lower()
    if ext in (".txt", ".csv", ".tsv", ".tex") and p.is_file():
        try:
            text = p.read_text("utf-8-sig")
        except (OSError, UnicodeDecodeError) as err:
            raise ParseError(f"{label} cannot be read as UTF-8 text: {err}") from None
        try:
            return _from_text(text, label)
        except SvdkitError as err:
            new = type(err)(f"{label}: {err}" if label not in str(err) else str(err))
            raise new from None
    # .json: the list as the file reader gives it (its number rules: at most 4000
    # digits, exponents up to 10000), then exactly; every other extension too
    raw = read_matrix_file(p)  # raises for unknown extensions and missing files
    if isinstance(raw, list):
        return as_exact(raw, name=label)
    if hasattr(raw, "toarray"):
        raw = raw.toarray()
    return as_exact(np.asarray(raw), name=label)


def _all_rational(M: sp.MatrixBase) -> bool:
    """Whether every entry is rational; SymPy keeps such matrices over ``ZZ`` or ``QQ``."""
    rep = getattr(M, "_rep", None)  # SymPy ≥ 1.13: the entries' domain, known without a walk
    domain = getattr(rep, "domain", None)
    if domain is not None and (domain.is_ZZ or domain.is_QQ):
        return True
    return all(e.is_Rational for e in M.flat())


@serialized
def as_exact(obj: Any, *, name: str = "A") -> sp.Matrix:
    """Turn anything a person calls a matrix into an exact SymPy ``Matrix``.

    Parameters
    ----------
    obj : int, Fraction, SymPy number or Matrix, nested lists, NumPy array, str or path
        Entries may be ints, bools, :class:`~fractions.Fraction`,
        :class:`~decimal.Decimal`, SymPy numbers (rationals, ``sqrt(2)``, ``I``,
        ``pi``), integer-valued floats, or complex numbers with integer parts.
        Text is parsed by :func:`svdkit.inputs.parse_matrix_text` (Python,
        NumPy, MATLAB, LaTeX, CSV notations) and kept exact. A path is read
        by extension (text formats exactly). A 1-D input is a column vector,
        a scalar is 1×1.
    name : str
        What to call the matrix in error messages.

    Returns
    -------
    sympy.Matrix
        Exact entries, no floats.

    Raises
    ------
    InexactInputError
        A float (or complex) entry that is not an integer.
    ParseError, RaggedError, EmptyInputError, ShapeError, NonFiniteError
        As for :func:`svdkit.as_matrix`, naming the row and column at fault.

    Examples
    --------
    >>> from fractions import Fraction
    >>> as_exact("[[1/2, 0.1], [\\\\sqrt{2}/2, 1+2i]]")
    Matrix([
    [      1/2,    1/10],
    [sqrt(2)/2, 1 + 2*I]])
    >>> as_exact([[1, Fraction(2, 3)], [2.0, 4]])
    Matrix([
    [1, 2/3],
    [2,   4]])
    >>> as_exact([[0.5]])
    Traceback (most recent call last):
    ...
    svdkit.exact.InexactInputError: A: the entry at row 1, column 1 is the float 0.5; ...
    """
    if isinstance(obj, sp.MatrixBase):
        if obj.rows == 0 or obj.cols == 0:
            raise EmptyInputError(f"{name} is empty (shape {obj.shape})")
        if _all_rational(obj):  # the common case, without a per-entry walk
            return obj.copy() if isinstance(obj, sp.MutableDenseMatrix) else obj.as_mutable()
        return sp.Matrix(obj.rows, obj.cols, lambda i, j: _scalar(obj[i, j], _pos((i, j)), name))
    if isinstance(obj, str):
        return _from_text(obj, name)
    if isinstance(obj, os.PathLike):
        return _from_path(obj, name)
    if isinstance(obj, np.ndarray):
        return _from_array(obj, name)
    if isinstance(obj, list | tuple):
        return _from_nested(obj, name)
    if hasattr(obj, "toarray") and type(obj).__module__.startswith("scipy.sparse"):
        return _from_array(np.asarray(obj.toarray()), name)
    return sp.Matrix([[_scalar(obj, _pos((0, 0)), name)]])
