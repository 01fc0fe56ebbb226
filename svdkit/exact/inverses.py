"""The Moore–Penrose pseudo-inverse and minimum-norm least squares, exactly.

The pseudo-inverse comes from a *full-rank factorisation* ``A = CF``: ``C`` (m×r)
holds the pivot columns of A, ``F`` (r×n) the non-zero rows of its reduced row
echelon form (both of rank r), and

    A⁺ = Fᴴ (F Fᴴ)⁻¹ (Cᴴ C)⁻¹ Cᴴ

(C. R. Rao and S. K. Mitra, *Generalized Inverse of Matrices*, 1971, §3.3;
Ben-Israel and Greville, *Generalized Inverses*, Thm. 1.5). Only rational
operations on the entries are needed: a rational matrix has a rational
pseudo-inverse, found without any square root, unlike ``V Σ⁺ Uᴴ``. Special
cases: full column rank (``A⁺ = (AᴴA)⁻¹Aᴴ``), full row rank
(``A⁺ = Aᴴ(AAᴴ)⁻¹``), invertible (``A⁺ = A⁻¹``) and zero (``A⁺ = 0``). The four
Penrose conditions are checked exactly.

``lstsq`` returns ``x = A⁺b``: among all minimisers of ``‖Ax − b‖`` (the
solutions of the normal equations ``AᴴAx = Aᴴb``), the one of least norm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from svdkit.errors import ShapeError, check_bool
from svdkit.exact import _flint
from svdkit.exact._common import prepare, shape_text
from svdkit.exact._convert import as_exact
from svdkit.exact._field import (
    Field,
    Rows,
    conj_transpose,
    dot,
    identity,
    matmul,
    rows_of,
    rref_rows,
    sqrt_expr,
    to_matrix,
)
from svdkit.exact._precision import serialized
from svdkit.exact._record import Recorder
from svdkit.exact._results import ExactResult

__all__ = ["Lstsq", "PseudoInverse", "lstsq", "pinv"]

_PENROSE = ("AA⁺A = A", "A⁺AA⁺ = A⁺", "(AA⁺)ᴴ = AA⁺", "(A⁺A)ᴴ = A⁺A")


@dataclass(frozen=True, eq=False)
class PseudoInverse(ExactResult):
    """``A⁺``, the Moore–Penrose pseudo-inverse, exactly.

    Attributes
    ----------
    matrix : sympy.Matrix, shape (n, m)
        ``A⁺``.
    rank : int
        ``rank A``.
    """

    matrix: sp.Matrix
    rank: int

    _main: ClassVar[str] = "matrix"


@dataclass(frozen=True, eq=False)
class Lstsq(ExactResult):
    """Minimum-norm least-squares solution; unpacks as ``x, residuals, rank``.

    Attributes
    ----------
    x : sympy.Matrix, shape (n, k)
        ``A⁺b`` (one column per right-hand side).
    residuals : tuple of sympy.Expr
        ``‖Axⱼ − bⱼ‖₂`` per column, exactly (a square root of a rational for
        rational data).
    rank : int
        ``rank A``; the solution is unique when it is ``n``.
    """

    x: sp.Matrix
    residuals: tuple[sp.Expr, ...]
    rank: int

    _main: ClassVar[str] = "x"
    _unpack: ClassVar[tuple[str, ...]] = ("x", "residuals", "rank")


def _inverse_rows(F: Field, X: Rows) -> Rows:
    n = len(X)
    aug = [row + ident for row, ident in zip(X, identity(F, n), strict=True)]
    R, piv = rref_rows(F, aug, 2 * n, stop_col=n)
    if len(piv) < n:  # pragma: no cover - CᴴC and FFᴴ have full rank by construction
        raise ArithmeticError("a Gram matrix of full rank turned out singular")
    return [row[n:] for row in R]


def _factor(M: sp.Matrix, F: Field) -> tuple[Rows, Rows, tuple[int, ...], Rows]:
    """``(C, F, pivots, R)``: the full-rank factorisation from the reduced echelon form."""
    n = M.cols
    rows = rows_of(F, M)
    R, piv = rref_rows(F, rows, n)
    C = [[row[j] for j in piv] for row in rows]
    Fr = [list(R[i]) for i in range(len(piv))]
    return C, Fr, tuple(piv), R


def _pinv_rows(F: Field, C: Rows, Fr: Rows, m: int, n: int) -> tuple[Rows, Rows, Rows]:
    r = len(Fr)
    CH = conj_transpose(F, C, r)
    FH = conj_transpose(F, Fr, n)
    CHC = matmul(F, CH, C, m, r)
    FFH = matmul(F, Fr, FH, n, r)
    left = matmul(F, FH, _inverse_rows(F, FFH), r, r)  # n×r
    right = matmul(F, _inverse_rows(F, CHC), CH, r, m)  # r×m
    return matmul(F, left, right, r, m), CHC, FFH


def _pinv_flint(M: sp.Matrix, C: sp.Matrix, Fm: sp.Matrix) -> sp.Matrix:
    import flint

    def q(X: sp.Matrix):
        return flint.fmpq_mat(X.rows, X.cols, [flint.fmpq(int(e.p), int(e.q)) for e in X])

    c, f = q(C), q(Fm)
    ct, ft = c.transpose(), f.transpose()
    X = ft * (f * ft).inv() * (ct * c).inv() * ct
    return sp.Matrix(X.nrows(), X.ncols(), [sp.Rational(int(x.p), int(x.q)) for x in X.entries()])


def _penrose(F: Field, A: Rows, X: Rows, m: int, n: int) -> list[bool]:
    AX = matmul(F, A, X, n, m)  # m×m
    XA = matmul(F, X, A, m, n)  # n×n
    return [
        matmul(F, AX, A, m, n) == A,
        matmul(F, XA, X, n, m) == X,
        conj_transpose(F, AX, m) == AX,
        conj_transpose(F, XA, n) == XA,
    ]


@serialized
def pinv(A: Any, *, steps: bool = False) -> PseudoInverse:
    """Moore–Penrose pseudo-inverse by a full-rank factorisation, exactly.

    Parameters
    ----------
    A : matrix-like
        Any m×n matrix.
    steps : bool
        Record the reduced echelon form, the factors C and F, the Gram matrices
        ``CᴴC`` and ``FFᴴ``, the formula, and the four Penrose conditions.

    Returns
    -------
    PseudoInverse

    Examples
    --------
    >>> import svdkit.exact as ex
    >>> print(ex.pinv([[2, 0], [0, 0]]))
    [[1/2, 0], [0, 0]]
    >>> print(ex.pinv([[1, 2], [2, 4]]))
    [[1/25, 2/25], [2/25, 4/25]]
    >>> print(ex.pinv([[1, 3], [1, 2], [3, 1]]))
    [[−1/9, −1/45, 17/45], [5/18, 7/45, −13/90]]
    """
    steps = check_bool(steps, "steps")
    M, F = prepare(A, "pinv")
    F.require_decidable("pinv")
    rec = Recorder(steps)
    _, Xm, r = _pseudo_inverse(M, F, rec)
    return PseudoInverse(Xm, r, steps=rec.steps())


def _pseudo_inverse(M: sp.Matrix, F: Field, rec: Recorder) -> tuple[Rows | None, sp.Matrix, int]:
    """``(A⁺ as rows of F, or None; A⁺; rank)`` of ``M``, whose entries lie in ``F``,
    its derivation recorded in ``rec``. The rows stay in ``F`` for a caller that goes
    on computing there (:func:`lstsq`): converting the SymPy ``A⁺`` back into a field
    of six square roots took SymPy's ``field_isomorphism`` 26 s."""
    steps = rec.on
    m, n = M.shape
    C, Fr, piv, R = _factor(M, F)
    r = len(piv)
    rec.add(
        "pinv.rank",
        {"rank": r, "pivots": tuple(p + 1 for p in piv)},
        matrices={"R": to_matrix(F, R)},
    )
    if r == 0:
        rec.add("pinv.zero", {"m": m, "n": n})
        return [[F.zero] * m for _ in range(n)], sp.zeros(n, m), 0
    Cm, Fm = to_matrix(F, C), to_matrix(F, Fr)
    rec.add(
        "pinv.factor",
        {"rank": r},
        formula=sp.Eq(sp.Symbol("A"), sp.Symbol("CF")),
        matrices={"C": Cm, "F": Fm},
    )
    if r == m == n:
        rec.add("pinv.invertible", {"n": n})
    elif r == n:
        rec.add("pinv.full_column_rank", {"n": n})
    elif r == m:
        rec.add("pinv.full_row_rank", {"m": m})
    if not steps and F.rational and _flint.available():
        return None, _pinv_flint(M, Cm, Fm), r
    X, CHC, FFH = _pinv_rows(F, C, Fr, m, n)
    Xm = to_matrix(F, X)
    if rec.on:
        rec.add(
            "pinv.formula",
            {"rank": r},
            formula=sp.Eq(sp.Symbol("A⁺"), sp.Symbol("Fᴴ(FFᴴ)⁻¹(CᴴC)⁻¹Cᴴ")),
            matrices={"CᴴC": to_matrix(F, CHC), "FFᴴ": to_matrix(F, FFH), "A⁺": Xm},
        )
        checks = _penrose(F, rows_of(F, M), X, m, n)
        if not all(checks):  # pragma: no cover - the formula is a theorem
            raise ArithmeticError("a Penrose condition fails in svdkit.exact.pinv")
        for k, text in enumerate(_PENROSE, 1):
            rec.add("pinv.penrose", {"number": k, "condition": text})
    return X, Xm, r


@serialized
def lstsq(A: Any, b: Any, *, steps: bool = False) -> Lstsq:
    """Minimum-norm least-squares solution ``x = A⁺b`` of ``min ‖Ax − b‖₂``, exactly.

    Parameters
    ----------
    A : matrix-like
        m×n matrix, any rank.
    b : vector or matrix-like
        ``m`` entries (a column) or m×k (k right-hand sides).
    steps : bool
        Record the normal equations, whether the solution is unique, the
        pseudo-inverse derivation, the solution and the residual.

    Returns
    -------
    Lstsq

    Raises
    ------
    ShapeError
        ``b`` does not have m rows.

    Examples
    --------
    >>> import svdkit.exact as ex
    >>> from svdkit.exact.format import to_text
    >>> r = ex.lstsq([[1, 0], [0, 1], [1, 1]], [1, 1, 0])
    >>> print(r, to_text(r.residuals), r.rank)
    [[1/3], [1/3]] (2√3/3) 2
    >>> print(ex.lstsq([[1, 1], [1, 1]], [2, 0]))  # not unique: the shortest solution
    [[1/2], [1/2]]
    """
    steps = check_bool(steps, "steps")
    M, _ = prepare(A, "lstsq", field=False)
    B = as_exact(b, name="b")
    m, n = M.shape
    if B.rows != m:
        raise ShapeError(f"lstsq: b has {B.rows} rows but A ({shape_text(M.shape)}) has {m}")
    F = Field.of(list(M) + list(B))
    F.require_decidable("lstsq")
    rec = Recorder(steps)
    rows, brows = rows_of(F, M), rows_of(F, B)
    k = B.cols
    AH = conj_transpose(F, rows, n)
    if rec.on:
        rec.add(
            "lstsq.normal_equations",
            {"m": m, "n": n},
            formula=sp.Eq(sp.Symbol("AᴴAx"), sp.Symbol("Aᴴb")),
            matrices={
                "AᴴA": to_matrix(F, matmul(F, AH, rows, m, n)),
                "Aᴴb": to_matrix(F, matmul(F, AH, brows, m, k)),
            },
        )
    derivation = Recorder(steps)  # (recorded after the sentence on uniqueness)
    P, Pm, r = _pseudo_inverse(M, F, derivation)
    rec.add("lstsq.unique" if r == n else "lstsq.min_norm", {"rank": r, "n": n})
    rec.extend(derivation.steps())
    X = matmul(F, rows_of(F, Pm) if P is None else P, brows, m, k)
    Xm = to_matrix(F, X)
    AX = matmul(F, rows, X, n, k)
    residuals = []
    for j in range(k):
        res = [brows[i][j] - AX[i][j] for i in range(m)]
        residuals.append(sqrt_expr(F.to_sympy(dot(F, res, res))))
    rec.add(
        "lstsq.solution",
        {"rank": r},
        formula=sp.Eq(sp.Symbol("x"), sp.Symbol("A⁺b")),
        matrices={"x": Xm},
    )
    rec.add(
        "lstsq.residual",
        {"value": residuals[0] if k == 1 else tuple(residuals)},
        matrices={
            "Ax − b": to_matrix(F, [[AX[i][j] - brows[i][j] for j in range(k)] for i in range(m)])
        },
    )
    if all(x == 0 for x in residuals):
        rec.add("lstsq.consistent", {"rank": r})
    return Lstsq(Xm, tuple(residuals), r, steps=rec.steps())
