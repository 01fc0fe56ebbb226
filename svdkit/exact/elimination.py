"""Determinant, trace, rank, reduced row echelon form and inverse, exactly.

* :func:`det` — by the Leibniz formula of the course notes (§6.1: the ``n!``
  signed products ``sgn(σ) ∏ a_{i,σ(i)}``, allowed up to ``n = 6``) or by
  Bareiss's fraction-free elimination (any ``n``, every division exact;
  E. H. Bareiss, *Sylvester's identity and multistep integer-preserving
  Gaussian elimination*, Math. Comp. 22, 1968).
* :func:`rref`, :func:`rank` — Gauss–Jordan elimination, pivot = first non-zero
  entry of the column, as by hand.
* :func:`inv` — Gauss–Jordan elimination on ``[A | I]``.
* :func:`trace` — ``Σ aᵢᵢ``.

With integer or rational entries and no steps asked for, the work is done by
python-flint (``fmpz_mat`` / ``fmpq_mat``), which is much faster than SymPy
(``bench/exact.py``); with ``steps=True`` it is done here, one recorded
operation at a time.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from svdkit.errors import SingularMatrixError, SvdkitError, check_bool
from svdkit.exact import _flint
from svdkit.exact._common import prepare, shape_text
from svdkit.exact._field import (
    Field,
    Rows,
    exact_sum,
    identity,
    is_zero_expr,
    matmul,
    rows_of,
    rref_rows,
    to_matrix,
)
from svdkit.exact._precision import serialized
from svdkit.exact._record import Recorder
from svdkit.exact._results import ExactResult
from svdkit.exact.steps import row_equivalent

__all__ = [
    "LEIBNIZ_MAX_N",
    "RREF",
    "Det",
    "Inverse",
    "Rank",
    "Trace",
    "det",
    "inv",
    "rank",
    "rref",
    "trace",
]

#: The Leibniz formula has ``n!`` terms: 720 for ``n = 6``, the largest order allowed.
LEIBNIZ_MAX_N = 6
#: ``method="auto"`` uses the Leibniz formula up to this order, Bareiss above.
LEIBNIZ_AUTO_MAX_N = 3

_DET = sp.Symbol("det(A)")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class Det(ExactResult):
    """``det A``, exactly.

    Attributes
    ----------
    value : sympy.Expr
        The determinant.
    method : str
        ``"leibniz"`` or ``"bareiss"``.
    backend : str
        ``"python-flint"`` (rational entries, no steps) or ``"svdkit"``.
    steps : tuple of Step
        ``det.leibniz*`` or ``det.bareiss*`` steps.
    """

    value: sp.Expr
    method: str
    backend: str


@dataclass(frozen=True, eq=False)
class Trace(ExactResult):
    """``Tr A = Σ aᵢᵢ``; ``value`` is exact."""

    value: sp.Expr


@dataclass(frozen=True, eq=False)
class Rank(ExactResult):
    """The exact rank, with the pivot columns of the reduced row echelon form.

    Attributes
    ----------
    value : int
        ``rank A`` (``int(result)`` gives it too).
    pivots : tuple of int
        0-based pivot columns (their columns of ``A`` are a basis of R(A)).
    """

    value: int
    pivots: tuple[int, ...]

    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value


@dataclass(frozen=True, eq=False)
class RREF(ExactResult):
    """The reduced row echelon form ``R`` of ``A``; unpacks as ``matrix, pivots``.

    Attributes
    ----------
    matrix : sympy.Matrix
        ``R``: each pivot is 1 and alone in its column.
    pivots : tuple of int
        0-based pivot columns.
    """

    matrix: sp.Matrix
    pivots: tuple[int, ...]

    _main: ClassVar[str] = "matrix"
    _unpack: ClassVar[tuple[str, ...]] = ("matrix", "pivots")

    @property
    def rank(self) -> int:
        """The number of pivots."""
        return len(self.pivots)


@dataclass(frozen=True, eq=False)
class Inverse(ExactResult):
    """``A⁻¹`` with ``A A⁻¹ = A⁻¹ A = I`` exactly; ``matrix`` holds it."""

    matrix: sp.Matrix

    _main: ClassVar[str] = "matrix"


# --------------------------------------------------------------------------- det


def _inversions(perm: tuple[int, ...]) -> int:
    return sum(1 for i in range(len(perm)) for j in range(i + 1, len(perm)) if perm[i] > perm[j])


def _leibniz(M: sp.Matrix, rec: Recorder) -> sp.Expr:
    n = M.rows
    rec.add("det.leibniz", {"n": n, "terms": math.factorial(n)})
    terms = []
    for k, perm in enumerate(itertools.permutations(range(n)), 1):
        inv = _inversions(perm)
        sign = -1 if inv % 2 else 1
        factors = tuple(M[i, perm[i]] for i in range(n))
        term = sign * sp.Mul(*factors)
        terms.append(term)
        rec.add(
            "det.leibniz_term",
            {
                "index": k,
                "permutation": tuple(p + 1 for p in perm),
                "inversions": inv,
                "signature": sign,
                "factors": factors,
                "value": term,
            },
        )
    total = exact_sum(terms)
    if is_zero_expr(total):  # a zero written otherwise: 0, as Bareiss and the rank find
        total = sp.Integer(0)
    if rec.on:
        rec.add(
            "det.leibniz_sum",
            {"value": total, "nonzero": sum(1 for t in terms if not is_zero_expr(t))},
            formula=sp.Eq(_DET, sp.Add(*terms, evaluate=False), evaluate=False),
        )
    return total


def _bareiss(F: Field, rows: Rows, rec: Recorder) -> Any:
    """Fraction-free elimination; returns det as an element of ``F``."""
    n = len(rows)
    A = [list(r) for r in rows]
    rec.add("det.bareiss", {"n": n}, matrices={"A": to_matrix(F, A)})
    sign = 1
    prev = F.one
    for k in range(n - 1):
        if F.is_zero(A[k][k]):
            p = next((i for i in range(k + 1, n) if not F.is_zero(A[i][k])), None)
            if p is None:
                rec.add(
                    "det.bareiss_zero_column",
                    {"column": k + 1, "value": sp.Integer(0)},
                    matrices={row_equivalent("A"): to_matrix(F, A)},
                )
                return F.zero
            A[k], A[p] = A[p], A[k]
            sign = -sign
            rec.add(
                "det.bareiss_swap",
                {"row_a": k + 1, "row_b": p + 1, "sign": sign},
                matrices={row_equivalent("A"): to_matrix(F, A)},
            )
        piv = A[k][k]
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                A[i][j] = (piv * A[i][j] - A[i][k] * A[k][j]) / prev
            A[i][k] = F.zero
        rec.add(
            "det.bareiss_step",
            {"step": k + 1, "pivot": F.to_sympy(piv), "previous": F.to_sympy(prev)},
            formula=_bareiss_formula(k + 1),
            matrices={f"A({k + 1})": to_matrix(F, A)},
        )
        prev = piv
    value = A[n - 1][n - 1] if sign > 0 else -A[n - 1][n - 1]
    rec.add(
        "det.bareiss_result",
        {"value": F.to_sympy(value), "last": F.to_sympy(A[n - 1][n - 1]), "sign": sign},
    )
    return value


def _bareiss_formula(k: int) -> sp.Eq:
    """``a⁽ᵏ⁾ᵢⱼ = (a⁽ᵏ⁻¹⁾ₖₖ a⁽ᵏ⁻¹⁾ᵢⱼ − a⁽ᵏ⁻¹⁾ᵢₖ a⁽ᵏ⁻¹⁾ₖⱼ) / a⁽ᵏ⁻²⁾ₖ₋₁,ₖ₋₁`` in symbols."""
    a = sp.IndexedBase(f"a^({k - 1})")
    i, j = sp.symbols("i j", integer=True)
    new = sp.IndexedBase(f"a^({k})")
    prev = sp.Symbol(f"p_{k - 1}")
    return sp.Eq(new[i, j], (a[k, k] * a[i, j] - a[i, k] * a[k, j]) / prev, evaluate=False)


@serialized
def det(A: Any, method: str = "auto", *, steps: bool = False) -> Det:
    """Determinant, exactly: Leibniz's ``n!`` signed products, or Bareiss elimination.

    Parameters
    ----------
    A : matrix-like
        A square matrix (anything :func:`svdkit.exact.as_exact` accepts).
    method : {"auto", "leibniz", "bareiss"}
        ``"leibniz"``: ``det A = Σ_{σ ∈ Sₙ} sgn(σ) ∏ᵢ a_{i,σ(i)}`` (notes §6.1),
        for ``n ≤ 6``. ``"bareiss"``: fraction-free Gaussian elimination, for
        any ``n`` (row swaps change the sign). ``"auto"``: Leibniz for
        ``n ≤ 3``, Bareiss above.
    steps : bool
        Record the derivation (the Leibniz terms with their permutations and
        signatures, or each elimination step with its pivot and row swaps).

    Returns
    -------
    Det

    Raises
    ------
    ShapeError
        A is not square.
    SvdkitError
        An unknown method, or Leibniz above ``n = 6``.

    Examples
    --------
    >>> import svdkit.exact as ex
    >>> print(ex.det([[1, 2], [3, 4]]))
    −2
    >>> r = ex.det("[[a, 1], [2, 3]]".replace("a", "1/2"), steps=True)
    >>> r.value, [s.values["value"] for s in r.steps if s.key == "det.leibniz_term"]
    (-1/2, [3/2, -2])
    >>> ex.det([[2, 1, 0, 0], [1, 2, 1, 0], [0, 1, 2, 1], [0, 0, 1, 2]]).value
    5
    """
    steps = check_bool(steps, "steps")
    if method not in ("auto", "leibniz", "bareiss"):
        raise SvdkitError(
            f"unknown determinant method {method!r}: use 'auto', 'leibniz' or 'bareiss'"
        )
    M, _ = prepare(A, "det", square=True, field=False)
    n = M.rows
    if method == "auto":
        method = "leibniz" if n <= LEIBNIZ_AUTO_MAX_N else "bareiss"
    rec = Recorder(steps)
    if method == "leibniz":
        if n > LEIBNIZ_MAX_N:
            raise SvdkitError(
                f"the Leibniz formula has n! terms ({math.factorial(n):,} for n = {n}); it is "
                f"allowed up to n = {LEIBNIZ_MAX_N}: use method='bareiss'"
            )
        return Det(_leibniz(M, rec), "leibniz", "svdkit", steps=rec.steps())
    if not steps and _flint.available() and _flint.is_rational(M):
        return Det(_flint.det(M), "bareiss", "python-flint")
    F = Field.of(list(M))
    F.require_decidable("det by elimination")
    value = _bareiss(F, rows_of(F, M), rec)
    return Det(F.to_sympy(value), "bareiss", "svdkit", steps=rec.steps())


@serialized
def trace(A: Any, *, steps: bool = False) -> Trace:
    """Trace ``Tr A = Σ aᵢᵢ`` of a square matrix, exactly.

    Examples
    --------
    >>> import svdkit.exact as ex
    >>> print(ex.trace([[4, 2], [3, 4]]))
    8
    >>> print(ex.trace("[[1/2, 0], [0, √2]]"))
    1/2 + √2
    """
    steps = check_bool(steps, "steps")
    M, _ = prepare(A, "trace", square=True, field=False)
    terms = tuple(M[i, i] for i in range(M.rows))
    value = exact_sum(terms)
    if is_zero_expr(value):  # a zero written otherwise (the entries are each non-zero)
        value = sp.Integer(0)
    rec = Recorder(steps)
    rec.add("trace.sum", {"terms": terms, "value": value}, formula=sp.Eq(sp.Symbol("Tr(A)"), value))
    return Trace(value, steps=rec.steps())


# --------------------------------------------------------------------------- rref, rank


def _row_op_recorder(F: Field, rec: Recorder, name: str = "A"):
    """Records each row operation with the matrix after it, row-equivalent to ``name``."""
    key = row_equivalent(name)

    def on_op(kind: str, info: dict, R: Rows) -> None:
        values = dict(info)
        if "factor" in values:
            values["factor"] = F.to_sympy(values["factor"])
        if "pivot" in values:
            values["pivot"] = F.to_sympy(values["pivot"])
        rec.add(f"rref.{kind}", values, matrices={key: to_matrix(F, R)})

    return on_op if rec.on else None


def _rref(M: sp.Matrix, steps: bool, what: str) -> tuple[sp.Matrix, tuple[int, ...], Recorder]:
    rec = Recorder(steps)
    if not steps and _flint.available() and _flint.is_rational(M):
        R, piv = _flint.rref(M)
        return R, piv, rec
    F = Field.of(list(M))
    F.require_decidable(what)
    rec.add("rref.start", {"rows": M.rows, "columns": M.cols}, matrices={"A": M})
    R, piv = rref_rows(F, rows_of(F, M), M.cols, _row_op_recorder(F, rec))
    R = to_matrix(F, R)
    rec.add(
        "rref.result", {"pivots": tuple(p + 1 for p in piv), "rank": len(piv)}, matrices={"R": R}
    )
    return R, tuple(piv), rec


@serialized
def rref(A: Any, *, steps: bool = False) -> RREF:
    """Reduced row echelon form by Gauss–Jordan elimination, with the pivot columns.

    Parameters
    ----------
    A : matrix-like
        Any m×n matrix.
    steps : bool
        Record each row operation (swap, scale, eliminate) with the matrix after it.

    Returns
    -------
    RREF

    Examples
    --------
    >>> import svdkit.exact as ex
    >>> r = ex.rref([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    >>> print(r, r.pivots)
    [[1, 0, −1], [0, 1, 2], [0, 0, 0]] (0, 1)
    >>> ex.rref([[0, 2], [1, 1]], steps=True).step_keys()
    ('rref.start', 'rref.swap', 'rref.scale', 'rref.eliminate', 'rref.result')
    """
    steps = check_bool(steps, "steps")
    M, _ = prepare(A, "rref", field=False)
    R, piv, rec = _rref(M, steps, "rref")
    return RREF(R, piv, steps=rec.steps())


@serialized
def rank(A: Any, *, steps: bool = False) -> Rank:
    """Exact rank: the number of pivots of the reduced row echelon form.

    Examples
    --------
    >>> import svdkit.exact as ex
    >>> r = ex.rank([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    >>> int(r), r.pivots
    (2, (0, 1))
    """
    steps = check_bool(steps, "steps")
    M, _ = prepare(A, "rank", field=False)
    if not steps and _flint.available() and _flint.is_rational(M):
        r, piv = _flint.rank_pivots(M)
        return Rank(r, piv)
    _, piv, rec = _rref(M, steps, "rank")
    rec.add("rank.result", {"rank": len(piv), "pivots": tuple(p + 1 for p in piv)})
    return Rank(len(piv), piv, steps=rec.steps())


# --------------------------------------------------------------------------- inverse


def _singular(M: sp.Matrix, r: int, column: int | None) -> SingularMatrixError:
    n = M.rows
    where = f"Gauss–Jordan elimination finds no pivot in column {column}; " if column else ""
    return SingularMatrixError(
        f"A ({shape_text(M.shape)}) is singular: {where}its rank is {r} < {n}, so det A = 0 and "
        "A has no inverse (its pseudo-inverse is svdkit.exact.pinv(A))"
    )


@serialized
def inv(A: Any, *, steps: bool = False) -> Inverse:
    """Inverse by Gauss–Jordan elimination on ``[A | I]``, exactly.

    Parameters
    ----------
    A : matrix-like
        A square matrix.
    steps : bool
        Record the augmented matrix, each row operation, and the check ``A A⁻¹ = I``.

    Returns
    -------
    Inverse

    Raises
    ------
    ShapeError
        A is not square.
    SingularMatrixError
        A is singular (naming the column without a pivot and the rank).

    Examples
    --------
    >>> import svdkit.exact as ex
    >>> print(ex.inv([[1, 1], [0, -1]]))
    [[1, 1], [0, −1]]
    >>> print(ex.inv([[2, 1], [1, 1]]))
    [[1, −1], [−1, 2]]
    >>> ex.inv([[1, 0], [0, 0]])
    Traceback (most recent call last):
    ...
    svdkit.errors.SingularMatrixError: A (2×2) is singular: ...
    """
    steps = check_bool(steps, "steps")
    M, _ = prepare(A, "inv", square=True, field=False)
    n = M.rows
    if not steps and _flint.available() and _flint.is_rational(M):
        X = _flint.inv(M)
        if X is None:
            R, piv = _flint.rref(M)
            col = next(c for c in range(n) if c not in piv) + 1
            raise _singular(M, len(piv), col)
        return Inverse(X)
    F = Field.of(list(M))
    F.require_decidable("inv")
    rec = Recorder(steps)
    aug = [row + ident for row, ident in zip(rows_of(F, M), identity(F, n), strict=True)]
    rec.add("inv.augment", {"n": n}, matrices={"[A | I]": to_matrix(F, aug)})
    R, piv = rref_rows(F, aug, 2 * n, _row_op_recorder(F, rec, "[A | I]"), stop_col=n)
    if len(piv) < n:
        col = next(c for c in range(n) if c not in piv) + 1
        rec.add(
            "inv.singular",
            {"column": col, "rank": len(piv), "n": n},
            matrices={"[R | B]": to_matrix(F, R)},
        )
        err = _singular(M, len(piv), col)
        err.steps = rec.steps()  # the derivation up to the failure, for explain
        raise err
    X = [row[n:] for row in R]
    Xm = to_matrix(F, X)
    rec.add("inv.result", {"n": n}, matrices={"[I | A⁻¹]": to_matrix(F, R), "A⁻¹": Xm})
    if rec.on:
        prod = matmul(F, rows_of(F, M), X, n, n)
        if prod != identity(F, n):  # pragma: no cover - Gauss–Jordan is exact
            raise ArithmeticError("A A⁻¹ ≠ I: an internal error of svdkit.exact.inv")
        rec.add(
            "inv.check",
            {"n": n},
            formula=sp.Eq(sp.MatMul(M, Xm, evaluate=False), sp.eye(n), evaluate=False),
            matrices={"A A⁻¹": to_matrix(F, prod)},
        )
    return Inverse(Xm, steps=rec.steps())
