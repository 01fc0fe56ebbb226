"""python-flint fast paths for matrices of rationals (measured in ``bench/exact.py``).

FLINT's ``fmpz_mat`` / ``fmpq_mat`` do determinants, ranks, reduced echelon forms
and inverses of integer and rational matrices in C, orders of magnitude faster
than SymPy's expression matrices. They are used when the entries are all
rational and no steps are asked for; the results are the same exact numbers.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["available", "det", "inv", "is_integer", "is_rational", "rank", "rank_pivots", "rref"]


def available() -> bool:
    try:
        import flint  # noqa: F401
    except ImportError:  # pragma: no cover - python-flint is in the exact extra
        return False
    return True


def _domain_rep(M: sp.MatrixBase):
    """SymPy's own ``DomainMatrix`` of M when its entries are known to be in ZZ or QQ."""
    rep = getattr(M, "_rep", None)  # SymPy ≥ 1.13 keeps rational matrices over ZZ / QQ
    domain = getattr(rep, "domain", None)
    if domain is not None and (domain.is_ZZ or domain.is_QQ):
        return rep
    return None


def is_rational(M: sp.MatrixBase) -> bool:
    return _domain_rep(M) is not None or all(e.is_Rational for e in M.flat())


def is_integer(M: sp.MatrixBase) -> bool:
    rep = _domain_rep(M)
    if rep is not None:
        return bool(rep.domain.is_ZZ) or all(rep.domain.denom(x) == 1 for x in rep.to_list_flat())
    return all(e.is_Integer for e in M.flat())


def _fmpq_mat(M: sp.MatrixBase):
    import flint
    from sympy.polys.domains import QQ

    fmpq = flint.fmpq
    rep = _domain_rep(M)
    if rep is not None:
        K = rep.domain
        if K.is_ZZ:
            entries = [fmpq(int(x)) for x in rep.to_list_flat()]
        else:
            entries = [
                x if isinstance(x, fmpq) else fmpq(int(QQ.numer(x)), int(QQ.denom(x)))
                for x in rep.to_list_flat()
            ]
        return flint.fmpq_mat(M.rows, M.cols, entries)
    return flint.fmpq_mat(M.rows, M.cols, [fmpq(e.p, e.q) for e in M.flat()])


def _fmpz_mat(M: sp.MatrixBase):
    import flint
    from sympy.polys.domains import QQ

    rep = _domain_rep(M)
    if rep is not None:
        K = rep.domain
        flat = rep.to_list_flat()
        ints = [int(x) for x in flat] if K.is_ZZ else [int(QQ.numer(x)) for x in flat]
        return flint.fmpz_mat(M.rows, M.cols, ints)
    return flint.fmpz_mat(M.rows, M.cols, [e.p for e in M.flat()])


def _rational(x) -> sp.Rational:
    if hasattr(x, "q"):
        return sp.Rational(int(x.p), int(x.q))
    return sp.Integer(int(x))


def _to_sympy(X) -> sp.Matrix:
    return sp.Matrix(X.nrows(), X.ncols(), [_rational(x) for x in X.entries()])


def det(M: sp.MatrixBase) -> sp.Rational:
    """Determinant of a square rational matrix."""
    if is_integer(M):
        return _rational(_fmpz_mat(M).det())
    return _rational(_fmpq_mat(M).det())


def rank(M: sp.MatrixBase) -> int:
    if is_integer(M):
        return int(_fmpz_mat(M).rank())
    return int(_fmpq_mat(M).rank())


def _pivots(R, r: int) -> tuple[int, ...]:
    n = R.ncols()
    pivots = []
    j = 0
    for i in range(r):
        while R[i, j] == 0:
            j += 1
        pivots.append(j)
    return tuple(pivots) if n else ()


def rref(M: sp.MatrixBase) -> tuple[sp.Matrix, tuple[int, ...]]:
    """Reduced row echelon form and 0-based pivot columns."""
    R, r = _fmpq_mat(M).rref()
    return _to_sympy(R), _pivots(R, int(r))


def rank_pivots(M: sp.MatrixBase) -> tuple[int, tuple[int, ...]]:
    """Rank and 0-based pivot columns, without converting the echelon form back to SymPy."""
    R, r = _fmpq_mat(M).rref()
    return int(r), _pivots(R, int(r))


def inv(M: sp.MatrixBase) -> sp.Matrix | None:
    """Inverse of a square rational matrix, or None when it is singular."""
    try:
        return _to_sympy(_fmpq_mat(M).inv())
    except ZeroDivisionError:
        return None
