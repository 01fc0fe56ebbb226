"""The exact engine's front door: whatever a person calls a matrix becomes a SymPy ``Matrix``.

Integers, :class:`~fractions.Fraction`, :class:`~decimal.Decimal`, SymPy numbers,
nested lists, integer-valued NumPy arrays and matrix *text* are accepted. Text
goes through the same parser as :func:`svdkit.as_matrix`
(:func:`svdkit.inputs.parse_matrix_text`), and its syntax trees are walked into
SymPy: ``1/2`` is ``Rational(1, 2)``, ``0.1`` is ``1/10``, ``\\sqrt{2}/2`` is
``sqrt(2)/2``, ``1+2i`` is ``1 + 2*I``.

Array-likes (torch tensors, dask arrays, anything with ``__array__``) are read as
NumPy reads them, as by :func:`svdkit.as_matrix`.

A float that is not an integer is refused: the exact engine never rationalises
a float silently (``0.1`` as a float is ``3602879701896397/36028797018963968``,
not ``1/10``). Write the number as text (``"0.1"``), as a ``Fraction`` or as a
SymPy ``Rational`` instead. A float that is an integer is taken at its exact
binary value, in every precision (``np.longdouble`` included: never rounded to
float64 first).

Matrices of more than :data:`MAX_ENTRIES` entries are refused (a
:class:`~svdkit.errors.ShapeError`) before any entry is read.
"""

from __future__ import annotations

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
    ShapeError,
    SvdkitError,
)
from svdkit.exact._precision import serialized
from svdkit.inputs import _from_tensor, parse_matrix_text
from svdkit.inputs.expr import BinOp, Expr, ImaginaryUnit, Neg, Number, Pi, Sqrt
from svdkit.inputs.shape import (
    as_2d,
    check_rows,
    is_sequence,
    nested_entry_error,
    unmasked,
)
from svdkit.inputs.text import text_to_array

__all__ = ["MAX_ENTRIES", "InexactInputError", "NotAlgebraicError", "as_exact", "expr_to_sympy"]

#: An integer power ``b^e`` is computed exactly only while ``bits(b) · |e|`` stays below this.
MAX_POWER_BITS = 100_000

MAX_ENTRIES = 250_000
"""The most entries (rows × columns) :func:`as_exact` takes: 500×500.

Exact work grows fast with the size (on integers with one digit, 400×400: rank
1.2 s, det 1.8 s, inverse 25 s; the entries of a 1000×1000 matrix alone take 4 s
to read); a 20000×20000 sparse matrix ran for half an hour before this limit.
Larger matrices are refused before any entry is read, pointing to the numeric
functions (:mod:`svdkit.linalg`, :mod:`svdkit.lowrank`).
"""


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


def _check_size(shape: tuple[int, ...], name: str) -> None:
    """Raise :class:`ShapeError` when a matrix of ``shape`` has more than :data:`MAX_ENTRIES`.

    A 1-D shape is a column, a 0-D one 1×1; more than two dimensions are left to
    the checks that refuse them.
    """
    if len(shape) > 2:
        return
    m, n = (*shape, 1, 1)[:2]
    if m * n <= MAX_ENTRIES:
        return
    raise ShapeError(
        f"{name} is {m}×{n} ({m * n:,} entries); the exact engine takes at most "
        f"{MAX_ENTRIES:,} entries, as exact arithmetic on a matrix this large would run for "
        "minutes to hours. Use the numeric functions instead: svdkit.rank, svdkit.det, "
        "svdkit.svd, svdkit.inv, … (svdkit.linalg), or svdkit.lowrank for a truncated SVD "
        "of a large or sparse matrix"
    )


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


def _probe_text_size(text: str, name: str) -> None:
    """Refuse text holding more than :data:`MAX_ENTRIES` entries before the exact parse.

    Entries are separated by at least one character, so text shorter than
    ``2 · MAX_ENTRIES`` cannot hold too many. Longer text is measured by the numeric
    parser's fast path (a million plain numbers in under a second, where the exact
    parse takes about 15 s); a fault it finds is left to the exact parse to report.
    """
    if len(text) < 2 * MAX_ENTRIES:
        return
    try:
        a = text_to_array(text)
    except SvdkitError:
        return
    _check_size(a.shape, name)


def _from_text(text: str, name: str) -> sp.Matrix:
    _probe_text_size(text, name)
    grid = parse_matrix_text(text)
    _check_size((len(grid), max((len(r) for r in grid), default=0)), name)
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


def _binary(x: Any) -> float | np.longdouble:
    """A real float as a value whose ``as_integer_ratio`` is exact.

    ``np.longdouble`` is kept as it is (``float()`` would round its extra bits
    away); every other float converts to a Python float exactly.
    """
    return x if isinstance(x, np.longdouble) else float(x)


def _float_text(x: float | np.longdouble) -> str:
    """The shortest text that reads back as ``x`` in its own precision."""
    return repr(x) if isinstance(x, float) else str(x)


def _is_integer(x: float | np.longdouble) -> bool:
    return x.as_integer_ratio()[1] == 1


def _from_float(x: float | np.longdouble, where: str, name: str) -> sp.Integer:
    text = _float_text(x)
    if not np.isfinite(x):
        raise NonFiniteError(
            f"{name} has a non-finite entry at {where}: {text}; svdkit needs finite numbers"
        )
    p, q = x.as_integer_ratio()  # exact in every binary precision
    if q != 1:
        raise InexactInputError(
            f"{name}: the entry at {where} is the float {text}; the exact engine does not turn "
            f"floats into fractions (the float {text} is exactly {p}/{q}). Write it as text "
            f"('{text}' inside the matrix string), as a Fraction or as a sympy.Rational"
        )
    return sp.Integer(p)


def _from_complex(x: Any, where: str, name: str) -> sp.Expr:
    if isinstance(x, np.clongdouble):
        re, im, shown = x.real, x.imag, str(x)
    else:
        z = complex(x)
        re, im, shown = z.real, z.imag, repr(z)
    if np.isfinite(re) and np.isfinite(im) and not (_is_integer(re) and _is_integer(im)):
        # name the complex entry, not one part of it as "the float …"
        sign = "-" if np.signbit(im) else "+"
        text = f"{_float_text(re)}{sign}{_float_text(abs(im))}i"
        part, value = ("real", re) if not _is_integer(re) else ("imaginary", im)
        raise InexactInputError(
            f"{name}: the entry at {where} is the complex float {shown} (its {part} part is "
            f"the float {_float_text(value)}); the exact engine does not turn floats into "
            f"fractions. Write it as text ('{text}' inside the "
            "matrix string), with Fractions (Fraction(a) + Fraction(b)*sympy.I) or as "
            "sympy.Rational(a) + sympy.Rational(b)*sympy.I"
        )
    return _from_float(re, where, name) + sp.I * _from_float(im, where, name)


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
        return _from_float(_binary(x), where, name)
    if isinstance(x, complex | np.complexfloating):
        return _from_complex(x, where, name)
    if isinstance(x, numbers.Rational):
        return sp.Rational(int(x.numerator), int(x.denominator))
    # python-flint, gmpy2 and other rational types that are not registered ABCs
    p, q = getattr(x, "p", None), getattr(x, "q", None)
    if p is not None and q is not None:
        try:
            return sp.Rational(int(p), int(q))
        except (TypeError, ValueError):
            pass
    if _is_array_like(x):  # a 0-d tensor or array as one entry
        a = np.asanyarray(_from_tensor(x))
        if a.ndim == 0 and not isinstance(a, np.ma.MaskedArray):
            return _scalar(a[()], where, name)
    elif hasattr(x, "__index__"):
        try:
            return sp.Integer(x.__index__())
        except (TypeError, ValueError):
            pass
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
        if x.is_Float:  # its exact binary value, in its own precision (not float64's)
            r = sp.Rational(x)
            if r.is_Integer:
                return r
            raise InexactInputError(
                f"{name}: the entry at {where} is the float {x}; the exact engine does not turn "
                f"floats into fractions (the float {x} is exactly {r.p}/{r.q}). Write it as "
                "text inside the matrix string, as a Fraction or as a sympy.Rational"
            )
        raise InexactInputError(
            f"{name}: the entry at {where} ({x}) holds the float {floats[0]}; the exact engine "
            "does not turn floats into fractions (use sympy.Rational or sympy.nsimplify first)"
        )
    return _check_value(x, where, name)


# --------------------------------------------------------------------------- containers


def _from_nested(obj: list | tuple, name: str) -> sp.Matrix:
    rows = list(obj)
    if not check_rows(rows, name):  # a vector is a column
        _check_size((len(rows),), name)
        return sp.Matrix([[_scalar(x, _pos((i, 0)), name)] for i, x in enumerate(rows)])
    if len(rows[0]) == 0:
        raise EmptyInputError(f"{name} is empty (its rows have no entries)")
    _check_size((len(rows), len(rows[0])), name)
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
    _check_size(a.shape, name)  # before any entry is read
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
    # raises for unknown extensions and missing files; sparse content stays sparse
    # until its size is checked
    raw = read_matrix_file(p, sparse=True)
    if isinstance(raw, list) or _is_sparse(raw):
        return as_exact(raw, name=label)
    return as_exact(np.asarray(raw), name=label)


def _is_sparse(obj: Any) -> bool:
    return hasattr(obj, "toarray") and type(obj).__module__.startswith("scipy.sparse")


def _is_array_like(obj: Any) -> bool:
    """Whether NumPy reads ``obj`` as an array (a tensor, a dask array, …), not a scalar."""
    if isinstance(obj, np.generic | sp.Basic):
        return False
    return any(hasattr(obj, a) for a in ("__array__", "__array_interface__", "__array_struct__"))


def _from_array_like(obj: Any, name: str) -> sp.Matrix:
    """A torch tensor, dask array or ``__array__`` object, read as :func:`svdkit.as_matrix` does.

    Its shape, when it states one, is checked before anything is computed or
    copied (a dask array is only computed when it is small enough).
    """
    shape = getattr(obj, "shape", None)
    if isinstance(shape, tuple) and all(isinstance(d, numbers.Integral) for d in shape):
        _check_size(tuple(int(d) for d in shape), name)
    try:
        a = np.asanyarray(_from_tensor(obj))
    except (ValueError, TypeError, RuntimeError) as err:
        raise ParseError(f"{name} cannot be read as an array: {err}") from None
    return _from_array(a, name)


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
    obj : int, Fraction, SymPy number or Matrix, nested lists, array-like, str or path
        Entries may be ints, bools, :class:`~fractions.Fraction`,
        :class:`~decimal.Decimal`, SymPy numbers (rationals, ``sqrt(2)``, ``I``,
        ``pi``), integer-valued floats of any precision (``np.longdouble``
        included, at its exact value), or complex numbers with integer parts.
        Array-likes are what :func:`svdkit.as_matrix` takes: NumPy arrays
        (``np.matrix``, masked, read-only, strided), SciPy sparse matrices,
        torch tensors (detached first), dask arrays (computed once their
        shape has passed the size check), objects with ``__array__``.
        Text is parsed by :func:`svdkit.inputs.parse_matrix_text` (Python,
        NumPy, MATLAB, LaTeX, CSV notations) and kept exact. A path is read
        by extension (text formats exactly). A 1-D input is a column vector,
        a scalar is 1×1. At most :data:`MAX_ENTRIES` entries.
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
    ShapeError
        More than :data:`MAX_ENTRIES` entries (refused before any entry is read;
        the message points to the numeric functions), or more than two dimensions.
    ParseError, RaggedError, EmptyInputError, NonFiniteError
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
        _check_size(obj.shape, name)
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
    if _is_sparse(obj):
        _check_size(obj.shape, name)  # before densifying
        return _from_array(np.asarray(obj.toarray()), name)
    if _is_array_like(obj):
        return _from_array_like(obj, name)
    return sp.Matrix([[_scalar(obj, _pos((0, 0)), name)]])
